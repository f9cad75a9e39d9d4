#include "storage/crypto/aead.h"

#include <string>

#include "gtest/gtest.h"

namespace relais::storage::crypto {
namespace {

SecretKey NewKey() {
  absl::StatusOr<SecretKey> key = SecretKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

bool IsMismatch(const absl::Status& s) {
  return s.code() == absl::StatusCode::kDataLoss &&
         s.message().substr(0, 19) == "ciphertext_mismatch";
}

TEST(AesGcm, OpensWhatItSealedIncludingEmptyPlaintext) {
  const SecretKey key = NewKey();
  for (const std::string& plaintext : {std::string("rendez-vous chez le pédopsychiatre"),
                                       std::string(), std::string(100000, 'x')}) {
    absl::StatusOr<std::string> sealed = SealAesGcm(key, plaintext, "aad");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), plaintext.size() + kNonceBytes + kTagBytes);
    absl::StatusOr<std::string> opened = OpenAesGcm(key, *sealed, "aad");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(AesGcm, UsesAFreshNonceEachTime) {
  const SecretKey key = NewKey();
  absl::StatusOr<std::string> a = SealAesGcm(key, "same text", "aad");
  absl::StatusOr<std::string> b = SealAesGcm(key, "same text", "aad");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->substr(0, kNonceBytes), b->substr(0, kNonceBytes));
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find("same text"), std::string::npos);
}

TEST(AesGcm, RefusesAnotherAad) {
  const SecretKey key = NewKey();
  absl::StatusOr<std::string> sealed = SealAesGcm(key, "secret", "row-1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(IsMismatch(OpenAesGcm(key, *sealed, "row-2").status()));
  EXPECT_TRUE(IsMismatch(OpenAesGcm(key, *sealed, "").status()));
}

TEST(AesGcm, RefusesAnyAlteredByteOrTruncation) {
  const SecretKey key = NewKey();
  absl::StatusOr<std::string> sealed = SealAesGcm(key, "secret text", "aad");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_TRUE(IsMismatch(OpenAesGcm(key, tampered, "aad").status())) << "byte " << i;
  }
  EXPECT_TRUE(IsMismatch(OpenAesGcm(key, sealed->substr(0, sealed->size() - 1), "aad").status()));
  EXPECT_TRUE(IsMismatch(OpenAesGcm(key, "short", "aad").status()));
}

TEST(AesGcm, RefusesAnotherKey) {
  const SecretKey key = NewKey();
  absl::StatusOr<std::string> sealed = SealAesGcm(key, "secret", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(IsMismatch(OpenAesGcm(NewKey(), *sealed, "aad").status()));
}

TEST(SecretKey, IsWipedWhenMovedFromAndComparesByValue) {
  SecretKey a = NewKey();
  const SecretKey copy = a.Clone();
  EXPECT_TRUE(copy.Equals(a));
  SecretKey b = std::move(a);
  EXPECT_TRUE(b.Equals(copy));
  // The moved-from object keeps no copy of the key.
  EXPECT_EQ(a.bytes(), std::string(kKeyBytes, '\0'));  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(a.Equals(b));
  EXPECT_FALSE(SecretKey::FromBytes("too short").ok());
}

}  // namespace
}  // namespace relais::storage::crypto
