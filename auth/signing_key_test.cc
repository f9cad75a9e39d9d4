#include "auth/signing_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace relais::auth {
namespace {

SigningKey MakeKey(std::string id = "k1") {
  absl::StatusOr<SigningKey> key = SigningKey::Generate(std::move(id));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

VerifyingKey PublicOf(const SigningKey& key) {
  absl::StatusOr<VerifyingKey> public_key = VerifyingKey::FromRaw(key.key_id(), key.PublicKeyRaw());
  EXPECT_TRUE(public_key.ok()) << public_key.status();
  return *std::move(public_key);
}

// PEM of a non-Ed25519 key, optionally encrypted with `passphrase`.
std::string OtherPem(const char* algorithm, const char* passphrase = nullptr) {
  EVP_PKEY* key = algorithm == std::string("EC")
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm);
  BIO* bio = BIO_new(BIO_s_mem());
  const EVP_CIPHER* cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
  PEM_write_bio_PrivateKey(bio, key, cipher, reinterpret_cast<const unsigned char*>(passphrase),
                           passphrase ? static_cast<int>(strlen(passphrase)) : 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(SigningKey, SignaturesVerifyUnderItsPublicKey) {
  const SigningKey key = MakeKey();
  EXPECT_EQ(key.key_id(), "k1");
  EXPECT_EQ(key.PublicKeyRaw().size(), kEd25519PublicKeyBytes);
  absl::StatusOr<std::string> signature = key.Sign("hello");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->size(), kEd25519SignatureBytes);
  EXPECT_TRUE(PublicOf(key).Verify("hello", *signature));
}

TEST(VerifyingKey, RejectsOtherDataSignaturesAndKeys) {
  const SigningKey key = MakeKey();
  const std::string signature = key.Sign("hello").value();
  const VerifyingKey public_key = PublicOf(key);
  EXPECT_FALSE(public_key.Verify("hellO", signature));
  std::string flipped = signature;
  flipped[10] ^= 0x01;
  EXPECT_FALSE(public_key.Verify("hello", flipped));
  EXPECT_FALSE(public_key.Verify("hello", signature.substr(1)));
  EXPECT_FALSE(public_key.Verify("hello", ""));
  EXPECT_FALSE(PublicOf(MakeKey("k2")).Verify("hello", signature));
}

TEST(SigningKey, PemRoundTripKeepsTheKey) {
  const SigningKey key = MakeKey();
  absl::StatusOr<std::string> pem = key.PrivatePem();
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_NE(pem->find("BEGIN PRIVATE KEY"), std::string::npos);
  absl::StatusOr<SigningKey> loaded = SigningKey::FromPrivatePem("k1", *pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->PublicKeyRaw(), key.PublicKeyRaw());
  EXPECT_TRUE(PublicOf(key).Verify("data", loaded->Sign("data").value()));
}

TEST(SigningKey, FromPrivatePemRefusesGarbageOtherTypesAndEncryption) {
  EXPECT_EQ(SigningKey::FromPrivatePem("k", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPrivatePem("k", "-----BEGIN PRIVATE KEY-----\nAA\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPrivatePem("k", OtherPem("EC")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPrivatePem("k", OtherPem("ED25519", "secret")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VerifyingKey, FromRawRequires32Bytes) {
  EXPECT_EQ(VerifyingKey::FromRaw("k", std::string(31, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyingKey::FromRaw("k", std::string(33, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace relais::auth
