#include "auth/signing_key.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

namespace relais::auth {
namespace internal {
void PkeyDeleter::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }
}  // namespace internal

namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Larger inputs are not keys we wrote; also keeps the int cast below exact.
constexpr size_t kMaxPemBytes = 16 * 1024;

// Refuses encrypted PEMs instead of letting OpenSSL prompt on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string RawPublicKey(const EVP_PKEY* key) {
  std::string raw(kEd25519PublicKeyBytes, '\0');
  size_t len = raw.size();
  // Cannot fail for an Ed25519 key, which both classes guarantee.
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != kEd25519PublicKeyBytes) {
    return std::string();
  }
  return raw;
}

}  // namespace

SigningKey::SigningKey(std::string key_id, internal::PkeyPtr key)
    : key_id_(std::move(key_id)), key_(std::move(key)) {}

absl::StatusOr<SigningKey> SigningKey::Generate(std::string key_id) {
  internal::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) return absl::InternalError("Ed25519 keygen failed");
  return SigningKey(std::move(key_id), std::move(key));
}

absl::StatusOr<SigningKey> SigningKey::FromPrivatePem(std::string key_id, absl::string_view pem) {
  if (pem.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError("PEM too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  internal::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    // Leave no stale errors for the next OpenSSL user on this thread.
    ERR_clear_error();
    return absl::InvalidArgumentError("not an unencrypted PEM private key");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("private key is not Ed25519");
  }
  return SigningKey(std::move(key_id), std::move(key));
}

absl::StatusOr<std::string> SigningKey::PrivatePem() const {
  // The secure-memory BIO wipes its buffer when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr) return absl::InternalError("BIO_new failed");
  if (PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError("PEM_write_bio_PrivateKey failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return absl::InternalError("empty PEM output");
  }
  return std::string(data, static_cast<size_t>(len));
}

std::string SigningKey::PublicKeyRaw() const { return RawPublicKey(key_.get()); }

absl::StatusOr<std::string> SigningKey::Sign(absl::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  // Ed25519 hashes internally, hence no digest.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return absl::InternalError("EVP_DigestSignInit failed");
  }
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(data), data.size()) != 1 ||
      len != kEd25519SignatureBytes) {
    return absl::InternalError("EVP_DigestSign failed");
  }
  return signature;
}

VerifyingKey::VerifyingKey(std::string key_id, internal::PkeyPtr key)
    : key_id_(std::move(key_id)), key_(std::move(key)) {}

absl::StatusOr<VerifyingKey> VerifyingKey::FromRaw(std::string key_id, absl::string_view raw32) {
  if (raw32.size() != kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  internal::PkeyPtr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw32), raw32.size()));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("invalid Ed25519 public key");
  }
  return VerifyingKey(std::move(key_id), std::move(key));
}

bool VerifyingKey::Verify(absl::string_view data, absl::string_view signature) const {
  if (signature.size() != kEd25519SignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return false;
  }
  const bool valid = EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(data),
                                      data.size()) == 1;
  if (!valid) ERR_clear_error();
  return valid;
}

std::string VerifyingKey::Raw() const { return RawPublicKey(key_.get()); }

}  // namespace relais::auth
