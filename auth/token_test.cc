#include "auth/token.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "auth/base64url.h"
#include "auth/claims.pb.h"
#include "common/clock.h"
#include "common/reason.h"
#include "gtest/gtest.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kAudience = "relais-api";

struct Parts {
  std::string payload;    // decoded claims bytes
  std::string signature;  // decoded signature bytes
};

Parts Split(absl::string_view token) {
  const std::vector<std::string> pieces = absl::StrSplit(token, '.');
  EXPECT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0], "v1");
  return {internal::DecodeBase64Url(pieces.at(1)).value_or(""),
          internal::DecodeBase64Url(pieces.at(2)).value_or("")};
}

std::string Join(const Parts& parts) {
  return absl::StrCat("v1.", internal::EncodeBase64Url(parts.payload), ".",
                      internal::EncodeBase64Url(parts.signature));
}

TokenClaims ClaimsOf(absl::string_view token) {
  TokenClaims claims;
  EXPECT_TRUE(claims.ParseFromString(Split(token).payload));
  return claims;
}

class TokenTest : public ::testing::Test {
 protected:
  std::string IssueOrDie(absl::string_view member = "member-1") {
    absl::StatusOr<std::string> token = issuer_.Issue(member, "service-9", {"guardian", "reader"});
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  // Signs `claims` exactly as the issuer would, bypassing its validation.
  std::string SignRaw(const TokenClaims& claims) {
    const std::string payload = claims.SerializeAsString();
    const auto signed_by = ring_->SignWithCurrent(absl::StrCat("relais-token-v1.", payload));
    EXPECT_TRUE(signed_by.ok());
    return Join({payload, signed_by->second});
  }

  // Verifies `token` and expects rejection with `reason`; also checks the
  // message leaks no part of the token.
  void ExpectRejected(absl::string_view token, absl::string_view reason) {
    const absl::StatusOr<Principal> result = verifier_.Verify(token);
    ASSERT_FALSE(result.ok()) << "accepted; wanted " << reason;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(absl::StartsWith(result.status().message(), absl::StrCat(reason, ": ")))
        << result.status();
    EXPECT_EQ(TokenRejectionReason(result.status()), reason);
    for (absl::string_view piece : absl::StrSplit(token, '.')) {
      if (piece.size() >= 8) {
        EXPECT_FALSE(absl::StrContains(result.status().message(), piece));
      }
    }
  }

  common::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<KeyRing> ring_ = KeyRing::InMemory();
  TokenIssuer issuer_{ring_.get(), &clock_, std::string(kAudience)};
  TokenVerifier verifier_{ring_.get(), &clock_, std::string(kAudience)};
};

TEST_F(TokenTest, IssuedTokenVerifiesToItsPrincipal) {
  const std::string token = IssueOrDie();
  EXPECT_TRUE(absl::StartsWith(token, "v1."));
  EXPECT_FALSE(absl::StrContains(token, "="));
  absl::StatusOr<Principal> principal = verifier_.Verify(token);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->member_id, "member-1");
  EXPECT_EQ(principal->service_id, "service-9");
  EXPECT_EQ(principal->roles, (std::vector<std::string>{"guardian", "reader"}));
  EXPECT_TRUE(principal->HasRole("reader"));
  EXPECT_FALSE(principal->HasRole("admin"));
  EXPECT_EQ(principal->expires_at, clock_.Now() + absl::Minutes(15));
  EXPECT_EQ(principal->token_id.size(), 32u);
  EXPECT_EQ(issuer_.lifetime(), absl::Minutes(15));

  const TokenClaims claims = ClaimsOf(token);
  EXPECT_EQ(claims.key_id(), ring_->CurrentKeyId());
  EXPECT_EQ(claims.audience(), kAudience);
}

TEST_F(TokenTest, LoginTimeIsIssueTimeUnlessCarriedForward) {
  const absl::Time login = clock_.Now();
  absl::StatusOr<Principal> first = verifier_.Verify(IssueOrDie());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->issued_at, login);
  EXPECT_EQ(first->authenticated_at, login);

  clock_.Advance(absl::Minutes(10));
  absl::StatusOr<std::string> refreshed =
      issuer_.Issue("member-1", "service-9", {"reader"}, first->authenticated_at);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  absl::StatusOr<Principal> second = verifier_.Verify(*refreshed);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->issued_at, login + absl::Minutes(10));
  EXPECT_EQ(second->authenticated_at, login);
}

TEST_F(TokenTest, TokenWithoutLoginTimeCountsFromItsIssue) {
  TokenClaims claims;
  claims.set_member_id("member-1");
  claims.set_service_id("service-9");
  claims.set_issued_at_unix(absl::ToUnixSeconds(clock_.Now()) - 60);
  claims.set_expires_at_unix(absl::ToUnixSeconds(clock_.Now()) + 60);
  claims.set_key_id(ring_->CurrentKeyId());
  claims.set_audience(std::string(kAudience));
  claims.set_token_id("00");
  absl::StatusOr<Principal> principal = verifier_.Verify(SignRaw(claims));
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->authenticated_at, clock_.Now() - absl::Seconds(60));
}

TEST_F(TokenTest, EveryTokenGetsAFreshId) {
  EXPECT_NE(verifier_.Verify(IssueOrDie())->token_id, verifier_.Verify(IssueOrDie())->token_id);
}

TEST_F(TokenTest, EmptyTokenIsMissing) { ExpectRejected("", kTokenMissing); }

TEST_F(TokenTest, ExpiresAtTheEndOfItsLifetime) {
  const std::string token = IssueOrDie();
  clock_.Advance(absl::Minutes(15) - absl::Seconds(1));
  EXPECT_TRUE(verifier_.Verify(token).ok());
  clock_.Advance(absl::Seconds(1));
  ExpectRejected(token, kTokenExpired);
}

TEST_F(TokenTest, FlippedSignatureByteIsInvalid) {
  Parts parts = Split(IssueOrDie());
  parts.signature[17] ^= 0x40;
  ExpectRejected(Join(parts), kTokenSignatureInvalid);
}

TEST_F(TokenTest, TamperedClaimsAreInvalid) {
  Parts parts = Split(IssueOrDie());
  TokenClaims claims;
  ASSERT_TRUE(claims.ParseFromString(parts.payload));
  claims.add_roles("admin");
  parts.payload = claims.SerializeAsString();
  ExpectRejected(Join(parts), kTokenSignatureInvalid);
}

TEST_F(TokenTest, SwappedPayloadIsInvalid) {
  const Parts alice = Split(IssueOrDie("alice"));
  const Parts mallory = Split(IssueOrDie("mallory"));
  ExpectRejected(Join({alice.payload, mallory.signature}), kTokenSignatureInvalid);
}

TEST_F(TokenTest, TokenFromAnotherKeyRingHasUnknownKey) {
  const std::unique_ptr<KeyRing> other = KeyRing::InMemory();
  const TokenIssuer foreign(other.get(), &clock_, std::string(kAudience));
  ExpectRejected(foreign.Issue("member-1", "service-9", {}).value(), kTokenUnknownKey);
}

TEST_F(TokenTest, TokenForAnotherAudienceIsRejected) {
  const TokenIssuer other(ring_.get(), &clock_, "relais-admin");
  ExpectRejected(other.Issue("member-1", "service-9", {}).value(), kTokenWrongAudience);
}

TEST_F(TokenTest, GarbageIsMalformed) {
  const std::string valid = IssueOrDie();
  const std::string sig64 = internal::EncodeBase64Url(std::string(64, 's'));
  const std::vector<std::string> garbage = {
      "x",
      "v1.",
      "v1..",
      "v1.abc",
      "v2.abc.def",
      "Bearer abc",
      "v1.!!!!." + sig64,
      "v1.AAAA.AAAA",  // short signature
      absl::StrCat("v1.", internal::EncodeBase64Url("\xff\xff\xff"), ".", sig64),
      absl::StrCat(valid, ".extra"),
      absl::StrCat(valid, "="),
      std::string(kMaxTokenBytes + 1, 'A'),
      absl::StrCat(valid, std::string(kMaxTokenBytes, 'A')),
  };
  for (const std::string& token : garbage) {
    SCOPED_TRACE(token.substr(0, 40));
    ExpectRejected(token, kTokenMalformed);
  }
}

TEST_F(TokenTest, SignedClaimsWithoutMemberAreMalformed) {
  TokenClaims claims = ClaimsOf(IssueOrDie());
  claims.clear_member_id();
  ExpectRejected(SignRaw(claims), kTokenMalformed);
}

TEST_F(TokenTest, TokenIssuedFarInTheFutureIsMalformed) {
  TokenClaims claims = ClaimsOf(IssueOrDie());
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  claims.set_issued_at_unix(now + 4 * 60);
  claims.set_expires_at_unix(now + 3600);
  EXPECT_TRUE(verifier_.Verify(SignRaw(claims)).ok());  // within skew
  claims.set_issued_at_unix(now + 6 * 60);
  ExpectRejected(SignRaw(claims), kTokenMalformed);
}

TEST_F(TokenTest, RotationKeepsOldTokensValidAndSignsWithNewKey) {
  const std::string before = IssueOrDie();
  const std::string old_key = ClaimsOf(before).key_id();
  ASSERT_TRUE(ring_->Rotate().ok());
  const std::string after = IssueOrDie();
  EXPECT_NE(ClaimsOf(after).key_id(), old_key);
  EXPECT_EQ(ClaimsOf(after).key_id(), ring_->CurrentKeyId());
  EXPECT_TRUE(verifier_.Verify(before).ok());
  EXPECT_TRUE(verifier_.Verify(after).ok());
}

TEST_F(TokenTest, IssueRefusesWhatVerifyWouldReject) {
  EXPECT_EQ(issuer_.Issue("", "service-9", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_.Issue("member-1", "", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_.Issue("member-1", "service-9", {"bad\xc3"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      issuer_.Issue("member-1", "service-9", std::vector<std::string>(100, std::string(40, 'r')))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  const TokenIssuer instant(ring_.get(), &clock_, std::string(kAudience), absl::Milliseconds(500));
  EXPECT_EQ(instant.Issue("member-1", "service-9", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenTest, ARememberedTokenStillExpiresOnTime) {
  const std::string token = IssueOrDie();
  ASSERT_TRUE(verifier_.Verify(token).ok());
  EXPECT_EQ(verifier_.cached(), 1u);
  clock_.Advance(absl::Minutes(15) - absl::Seconds(1));
  EXPECT_EQ(verifier_.Verify(token)->member_id, "member-1");
  clock_.Advance(absl::Seconds(1));
  ExpectRejected(token, kTokenExpired);
  // Forgotten once refused: it cannot come back.
  EXPECT_EQ(verifier_.cached(), 0u);
  ExpectRejected(token, kTokenExpired);
}

TEST_F(TokenTest, AChangedByteIsNeverServedFromTheCache) {
  const std::string token = IssueOrDie();
  ASSERT_TRUE(verifier_.Verify(token).ok());
  Parts parts = Split(token);
  parts.signature[5] ^= 0x01;
  ExpectRejected(Join(parts), kTokenSignatureInvalid);
  TokenClaims claims;
  ASSERT_TRUE(claims.ParseFromString(Split(token).payload));
  claims.add_roles("admin");
  ExpectRejected(Join({claims.SerializeAsString(), Split(token).signature}),
                 kTokenSignatureInvalid);
  // The genuine token is still accepted, with its own roles only.
  const absl::StatusOr<Principal> again = verifier_.Verify(token);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->HasRole("admin"));
}

TEST_F(TokenTest, ARememberedTokenOfARetiredKeyIsRefused) {
  const std::string token = IssueOrDie();
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_TRUE(ring_->Rotate().ok());
  EXPECT_TRUE(verifier_.Verify(token).ok());  // the old key verifies until retired
  // Retire the old key: its successor was created long enough ago.
  ASSERT_EQ(ring_->RetireExpired(absl::Now() + absl::Hours(1), absl::Minutes(15)).value(), 1);
  ExpectRejected(token, kTokenUnknownKey);
}

TEST_F(TokenTest, TheCacheStaysBounded) {
  const TokenVerifier small(ring_.get(), &clock_, std::string(kAudience), nullptr, 32);
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) tokens.push_back(IssueOrDie(absl::StrCat("member-", i)));
  for (const std::string& token : tokens) ASSERT_TRUE(small.Verify(token).ok());
  EXPECT_LE(small.cached(), 32u);
  EXPECT_GT(small.cached(), 0u);
  // Forgotten tokens verify again, in full.
  for (const std::string& token : tokens) {
    EXPECT_EQ(small.Verify(token)->member_id, ClaimsOf(token).member_id());
  }
  const TokenVerifier none(ring_.get(), &clock_, std::string(kAudience), nullptr, 0);
  EXPECT_TRUE(none.Verify(tokens[0]).ok());
  EXPECT_EQ(none.cached(), 0u);
}

TEST(TokenRejectionReason, IsEmptyForOtherStatuses) {
  EXPECT_EQ(TokenRejectionReason(absl::OkStatus()), "");
  EXPECT_EQ(TokenRejectionReason(absl::InternalError("token_expired: x")), "");
  EXPECT_EQ(TokenRejectionReason(absl::UnauthenticatedError("nope")), "");
}

// Revocation records in memory: revoked token ids and member generations.
class FakeRevocations final : public RevocationList {
 public:
  absl::StatusOr<int64_t> Generation(absl::string_view member_id) const override {
    auto it = generations_.find(std::string(member_id));
    return it == generations_.end() ? 0 : it->second;
  }
  absl::Status CheckNotRevoked(absl::string_view member_id, absl::string_view token_id,
                               int64_t generation) const override {
    if (unavailable_) return absl::UnavailableError("records unreadable");
    if (revoked_.count(std::string(token_id)) > 0 || generation < Generation(member_id).value()) {
      return common::Unauthenticated(kTokenRevoked, "revoked");
    }
    return absl::OkStatus();
  }
  std::map<std::string, int64_t> generations_;
  std::set<std::string> revoked_;
  bool unavailable_ = false;
};

TEST(TokenRevocation, ARevokedTokenIsRefusedAndTheNextOneWorksInTheSameSecond) {
  const std::unique_ptr<KeyRing> ring = KeyRing::InMemory();
  common::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  FakeRevocations revocations;
  const TokenIssuer issuer(ring.get(), &clock, "aud", kDefaultTokenLifetime, &revocations);
  const TokenVerifier verifier(ring.get(), &clock, "aud", &revocations);

  const std::string before = issuer.Issue("m1", "s1", {}).value();
  ASSERT_TRUE(verifier.Verify(before).ok());
  EXPECT_EQ(verifier.Verify(before)->generation, 0);
  // Revoke-all of m1 (generation 0 -> 1), then a token at the very same
  // instant: the old one is refused, the new one accepted.
  revocations.generations_["m1"] = 1;
  const std::string after = issuer.Issue("m1", "s1", {}).value();
  const absl::Status refused = verifier.Verify(before).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(TokenRejectionReason(refused), kTokenRevoked);
  ASSERT_TRUE(verifier.Verify(after).ok());
  EXPECT_EQ(verifier.Verify(after)->generation, 1);
  // A generation read before a revoke-all and passed in is revoked with it.
  const std::string raced = issuer.Issue("m1", "s1", {}, absl::InfinitePast(), 0).value();
  EXPECT_EQ(TokenRejectionReason(verifier.Verify(raced).status()), kTokenRevoked);

  // One token revoked by id; others of the member untouched.
  const std::string other = issuer.Issue("m1", "s1", {}).value();
  revocations.revoked_.insert(verifier.Verify(after)->token_id);
  EXPECT_EQ(TokenRejectionReason(verifier.Verify(after).status()), kTokenRevoked);
  EXPECT_TRUE(verifier.Verify(other).ok());
  // Records that cannot be read refuse the token (fail closed).
  revocations.unavailable_ = true;
  EXPECT_EQ(verifier.Verify(other).status().code(), absl::StatusCode::kUnavailable);
  // A remembered token is checked against the records on every call.
  revocations.unavailable_ = false;
  const std::string fresh = issuer.Issue("m1", "s1", {}).value();
  ASSERT_TRUE(verifier.Verify(fresh).ok());
  ASSERT_TRUE(verifier.Verify(fresh).ok());
  revocations.revoked_.insert(verifier.Verify(fresh)->token_id);
  EXPECT_EQ(TokenRejectionReason(verifier.Verify(fresh).status()), kTokenRevoked);
  revocations.unavailable_ = true;
  // An expired token says so before any revocation look-up.
  clock.Advance(kDefaultTokenLifetime);
  EXPECT_EQ(TokenRejectionReason(verifier.Verify(other).status()), kTokenExpired);
}

}  // namespace
}  // namespace relais::auth
