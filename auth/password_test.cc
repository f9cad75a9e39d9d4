#include "auth/password.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "auth/base64url.h"
#include "gtest/gtest.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kPassword = "correct horse battery staple";

std::string Hash(absl::string_view password) {
  absl::StatusOr<std::string> encoded = HashPassword(password, FastParamsForTests());
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return encoded.ok() ? *encoded : "";
}

// Replaces field `index` of a '$'-separated encoding.
std::string WithField(absl::string_view encoded, size_t index, absl::string_view value) {
  std::vector<std::string> fields = absl::StrSplit(encoded, '$');
  fields.at(index) = std::string(value);
  return absl::StrJoin(fields, "$");
}

TEST(HashPassword, ProducesSelfDescribingEncoding) {
  const std::string encoded = Hash(kPassword);
  const std::vector<std::string> fields = absl::StrSplit(encoded, '$');
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0], "scrypt");
  EXPECT_EQ(fields[1], "10");
  EXPECT_EQ(fields[2], "8");
  EXPECT_EQ(fields[3], "1");
  EXPECT_EQ(internal::DecodeBase64Url(fields[4]).value_or("").size(), 16u);
  EXPECT_EQ(internal::DecodeBase64Url(fields[5]).value_or("").size(), 32u);
}

TEST(HashPassword, DefaultParamsRoundTrip) {
  absl::StatusOr<std::string> encoded = HashPassword(kPassword);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_TRUE(absl::StartsWith(*encoded, "scrypt$15$8$1$"));
  EXPECT_TRUE(VerifyPassword(kPassword, *encoded));
}

TEST(VerifyPassword, AcceptsTheRightPassword) {
  EXPECT_TRUE(VerifyPassword(kPassword, Hash(kPassword)));
}

TEST(VerifyPassword, RejectsAWrongPassword) {
  const std::string encoded = Hash(kPassword);
  EXPECT_FALSE(VerifyPassword("correct horse battery stapler", encoded));
  EXPECT_FALSE(VerifyPassword("", encoded));
}

TEST(HashPassword, SaltsEveryHash) {
  const std::string first = Hash(kPassword);
  const std::string second = Hash(kPassword);
  EXPECT_NE(first, second);
  EXPECT_TRUE(VerifyPassword(kPassword, first));
  EXPECT_TRUE(VerifyPassword(kPassword, second));
}

TEST(HashPassword, RefusesOverlongPasswordsAndBadParams) {
  EXPECT_EQ(
      HashPassword(std::string(kMaxPasswordBytes + 1, 'a'), FastParamsForTests()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword(kPassword, ScryptParams{.n = 1000, .r = 8, .p = 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VerifyPassword, RejectsMalformedEncodings) {
  const std::string good = Hash(kPassword);
  ASSERT_TRUE(VerifyPassword(kPassword, good));
  const std::vector<std::string> bad = {
      "",
      "scrypt",
      "bcrypt$10$8$1$AAAA$AAAA",
      WithField(good, 0, "SCRYPT"),
      WithField(good, 1, ""),
      WithField(good, 1, "+10"),
      WithField(good, 1, "010"),
      WithField(good, 1, "-1"),
      WithField(good, 1, "ten"),
      WithField(good, 2, "0"),
      WithField(good, 3, "0"),
      WithField(good, 4, ""),
      WithField(good, 4, "c2FsdA"),  // 4-byte salt
      WithField(good, 4, "not base64!"),
      WithField(good, 4, internal::EncodeBase64Url(std::string(65, 's'))),
      WithField(good, 5, internal::EncodeBase64Url(std::string(65, 'h'))),
      WithField(good, 5, "AAAA"),  // 3-byte hash
      absl::StrCat(good, "$extra"),
      absl::StrCat(good, "="),  // padding is not canonical
  };
  for (const std::string& encoded : bad) {
    EXPECT_FALSE(VerifyPassword(kPassword, encoded)) << encoded;
  }
}

TEST(VerifyPassword, ChangingAnyParameterBreaksTheMatch) {
  const std::string good = Hash(kPassword);
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 1, "11")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 2, "4")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 3, "2")));
}

TEST(ValidateScryptParams, RejectsAbsurdParametersWithoutAllocating) {
  EXPECT_TRUE(ValidateScryptParams({}).ok());
  EXPECT_TRUE(ValidateScryptParams(FastParamsForTests()).ok());
  const ScryptParams absurd[] = {
      {.n = 0, .r = 8, .p = 1},
      {.n = 1, .r = 8, .p = 1},
      {.n = 3000, .r = 8, .p = 1},               // not a power of two
      {.n = uint64_t{1} << 21, .r = 1, .p = 1},  // n too large
      {.n = uint64_t{1} << 62, .r = 8, .p = 1},
      {.n = uint64_t{1} << 16, .r = 1, .p = 1},  // n >= 2^(16r)
      {.n = uint64_t{1} << 20, .r = 8, .p = 1},  // 1 GiB
      {.n = uint64_t{1} << 14, .r = 0, .p = 1},
      {.n = uint64_t{1} << 14, .r = 1u << 30, .p = 1},
      {.n = uint64_t{1} << 14, .r = 8, .p = 0},
      {.n = uint64_t{1} << 14, .r = 8, .p = 1u << 30},
  };
  for (const ScryptParams& params : absurd) {
    EXPECT_EQ(ValidateScryptParams(params).code(), absl::StatusCode::kInvalidArgument)
        << params.n << " " << params.r << " " << params.p;
  }
}

TEST(VerifyPassword, RejectsHostileStoredParameters) {
  const std::string good = Hash(kPassword);
  // Each would need gigabytes (or overflow) if scrypt were attempted.
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 1, "20")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 1, "63")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 1, "999999999")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 2, "999999999")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 3, "999999999")));
  EXPECT_FALSE(VerifyPassword(kPassword, WithField(good, 1, "99999999999999999999")));
}

TEST(VerifyPassword, RefusesOverlongPasswords) {
  const std::string encoded = Hash("short");
  EXPECT_FALSE(VerifyPassword(std::string(kMaxPasswordBytes + 1, 'a'), encoded));
}

TEST(CheckNewPassword, RefusesFewerThanTwelveCharacters) {
  EXPECT_EQ(CheckNewPassword("kx9-vq2-lm7").reason, "password_too_short");
  EXPECT_TRUE(CheckNewPassword("kx9-vq2-lm7z").ok());
}

TEST(CheckNewPassword, RefusesMoreThan128Characters) {
  EXPECT_TRUE(CheckNewPassword(std::string(128, 'q')).ok());
  EXPECT_EQ(CheckNewPassword(std::string(129, 'q')).reason, "password_too_long");
  // 128 characters of 4 bytes each (512 bytes) are still 128 characters.
  std::string emoji;
  for (int i = 0; i < 128; ++i) emoji += "\xF0\x9F\x90\xA2";
  EXPECT_TRUE(CheckNewPassword(emoji).ok());
  EXPECT_EQ(CheckNewPassword(emoji + "\xF0\x9F\x90\xA2").reason, "password_too_long");
}

TEST(CheckNewPassword, CountsCharactersNotBytes) {
  // Eleven two-byte characters: 22 bytes but only 11 characters.
  EXPECT_EQ(CheckNewPassword("ééééééééééé").reason, "password_too_short");
  EXPECT_TRUE(CheckNewPassword("éééééééééééé").ok());
}

TEST(CheckNewPassword, RefusesCommonPasswordsWhateverTheirCase) {
  // Both are on the shipped list and long enough to pass the length bound.
  EXPECT_EQ(CheckNewPassword("1qaz2wsx3edc").reason, "password_too_common");
  EXPECT_EQ(CheckNewPassword("LeaveMeAlone").reason, "password_too_common");
  EXPECT_EQ(CheckNewPassword("QWERTY123456").reason, "password_too_common");
}

TEST(CheckNewPassword, AcceptsALongPassphrase) {
  EXPECT_TRUE(CheckNewPassword("la relève du mardi sent le café froid").ok());
}

TEST(CommonPasswords, TheShippedListHoldsAtLeastTenThousandEntries) {
  EXPECT_GE(CommonPasswordCount(), 10'000u);
  EXPECT_TRUE(IsCommonPassword("password"));
  EXPECT_TRUE(IsCommonPassword("PassWord"));
  EXPECT_FALSE(IsCommonPassword("# The 30,000 most common passwords"));  // header skipped
}

TEST(CheckPasswordStrength, CarriesTheReasonCodeAndNeverEchoesThePassword) {
  const absl::Status status = CheckPasswordStrength("hunter2");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "password_too_short: ")) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), "hunter2"));
}

TEST(GenerateOneTimePassword, IsTwentySixBase32CharactersAndFresh) {
  absl::StatusOr<std::string> a = GenerateOneTimePassword();
  absl::StatusOr<std::string> b = GenerateOneTimePassword();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), kOneTimePasswordChars);
  EXPECT_EQ(a->find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos) << *a;
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace relais::auth
