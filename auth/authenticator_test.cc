#include "auth/authenticator.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace relais::auth {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  // Authenticates metadata built from (key, value) pairs.
  absl::StatusOr<Principal> Authenticate(
      const std::vector<std::pair<std::string, std::string>>& entries) {
    std::multimap<grpc::string_ref, grpc::string_ref> metadata;
    for (const auto& [key, value] : entries) {
      metadata.emplace(grpc::string_ref(key), grpc::string_ref(value));
    }
    return AuthenticateMetadata(verifier_, metadata);
  }

  static absl::string_view Reason(const absl::StatusOr<Principal>& result) {
    return TokenRejectionReason(result.status());
  }

  common::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<KeyRing> ring_ = KeyRing::InMemory();
  TokenIssuer issuer_{ring_.get(), &clock_, "relais-api"};
  TokenVerifier verifier_{ring_.get(), &clock_, "relais-api"};
  std::string token_ = issuer_.Issue("member-1", "service-9", {"reader"}).value();
};

TEST_F(AuthenticatorTest, AcceptsABearerToken) {
  const auto result = Authenticate({{"user-agent", "test"}, {"authorization", "Bearer " + token_}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->member_id, "member-1");
  EXPECT_TRUE(result->HasRole("reader"));
}

TEST_F(AuthenticatorTest, SchemeIsCaseInsensitive) {
  EXPECT_TRUE(Authenticate({{"authorization", "bearer " + token_}}).ok());
}

TEST_F(AuthenticatorTest, MissingHeaderOrTokenIsTokenMissing) {
  EXPECT_EQ(Reason(Authenticate({})), kTokenMissing);
  EXPECT_EQ(Reason(Authenticate({{"x-other", "Bearer " + token_}})), kTokenMissing);
  EXPECT_EQ(Reason(Authenticate({{"authorization", "Bearer"}})), kTokenMissing);
  EXPECT_EQ(Reason(Authenticate({{"authorization", "Bearer "}})), kTokenMissing);
}

TEST_F(AuthenticatorTest, OtherSchemesAreMalformed) {
  EXPECT_EQ(Reason(Authenticate({{"authorization", "Basic dXNlcjpwdw=="}})), kTokenMalformed);
  EXPECT_EQ(Reason(Authenticate({{"authorization", token_}})), kTokenMalformed);
  EXPECT_EQ(Reason(Authenticate({{"authorization", "Bearer" + token_}})), kTokenMalformed);
  EXPECT_EQ(Reason(Authenticate({{"authorization", ""}})), kTokenMalformed);
}

TEST_F(AuthenticatorTest, SeveralAuthorizationEntriesAreMalformed) {
  EXPECT_EQ(Reason(Authenticate(
                {{"authorization", "Bearer " + token_}, {"authorization", "Bearer " + token_}})),
            kTokenMalformed);
}

TEST_F(AuthenticatorTest, PassesVerifierReasonsThrough) {
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Reason(Authenticate({{"authorization", "Bearer " + token_}})), kTokenExpired);
}

}  // namespace
}  // namespace relais::auth
