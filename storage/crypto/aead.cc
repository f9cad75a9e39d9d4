#include "storage/crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/reason.h"

namespace relais::storage::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Fetched once: EVP_aes_256_gcm() makes every init fetch it again from the
// provider, under a lock shared by every thread.
const EVP_CIPHER* Gcm() {
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// Keeps every length an exact int for EVP, with room to spare.
constexpr size_t kMaxInputBytes = size_t{1} << 30;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status OpenSslFailure(absl::string_view what) {
  // Leave no stale errors for the next OpenSSL user on this thread.
  ERR_clear_error();
  return absl::InternalError(absl::StrCat("AES-256-GCM ", what, " failed"));
}

}  // namespace

SecretKey::SecretKey() { bytes_.fill(0); }

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

absl::StatusOr<SecretKey> SecretKey::Generate() {
  SecretKey key;
  if (RAND_bytes(key.bytes_.data(), static_cast<int>(key.bytes_.size())) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed");
  }
  return key;
}

absl::StatusOr<SecretKey> SecretKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError("a key must be exactly 32 bytes");
  }
  SecretKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes_.begin());
  return key;
}

SecretKey SecretKey::Clone() const {
  SecretKey copy;
  copy.bytes_ = bytes_;
  return copy;
}

bool SecretKey::Equals(const SecretKey& other) const {
  return CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
}

absl::Status CiphertextMismatch() {
  return common::WithReason(absl::StatusCode::kDataLoss, "ciphertext_mismatch",
                            "stored ciphertext does not open under this key and context");
}

absl::StatusOr<std::string> SealAesGcm(const SecretKey& key, absl::string_view plaintext,
                                       absl::string_view aad) {
  if (plaintext.size() > kMaxInputBytes || aad.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError("input too large to seal");
  }
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  unsigned char* body = nonce + kNonceBytes;
  unsigned char* tag = body + plaintext.size();
  // A fresh random 96-bit nonce per message. Each data key seals at most a few
  // thousand fields, far below the 2^32 messages per key that random GCM
  // nonces allow.
  if (RAND_bytes(nonce, kNonceBytes) != 1) return OpenSslFailure("nonce generation");

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslFailure("context allocation");
  const auto* k = reinterpret_cast<const unsigned char*>(key.bytes().data());
  int len = 0;
  if (EVP_EncryptInit_ex2(ctx.get(), Gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k, nonce) != 1) {
    return OpenSslFailure("encrypt init");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslFailure("aad");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), body, &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return OpenSslFailure("encrypt");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), body + written, &len) != 1) {
    return OpenSslFailure("encrypt final");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) != 1) {
    return OpenSslFailure("tag");
  }
  return out;
}

absl::StatusOr<std::string> OpenAesGcm(const SecretKey& key, absl::string_view sealed,
                                       absl::string_view aad) {
  if (sealed.size() < kNonceBytes + kTagBytes) return CiphertextMismatch();
  if (sealed.size() > kMaxInputBytes + kNonceBytes + kTagBytes || aad.size() > kMaxInputBytes) {
    return CiphertextMismatch();
  }
  const unsigned char* nonce = Bytes(sealed);
  const absl::string_view body =
      sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; give it a copy.
  unsigned char tag[kTagBytes];
  std::copy(sealed.end() - kTagBytes, sealed.end(), tag);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslFailure("context allocation");
  const auto* k = reinterpret_cast<const unsigned char*>(key.bytes().data());
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx.get(), Gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k, nonce) != 1) {
    return OpenSslFailure("decrypt init");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslFailure("aad");
  }
  std::string plaintext(body.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  int written = 0;
  if (!body.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), out, &len, Bytes(body), static_cast<int>(body.size())) != 1) {
      return OpenSslFailure("decrypt");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) {
    return OpenSslFailure("set tag");
  }
  // The tag is checked here: nothing decrypted is returned unless it matches.
  if (EVP_DecryptFinal_ex(ctx.get(), out + written, &len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return CiphertextMismatch();
  }
  return plaintext;
}

}  // namespace relais::storage::crypto
