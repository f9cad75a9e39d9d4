#include "access/consent_rule.h"

#include "gtest/gtest.h"

namespace relais::access {
namespace {

constexpr int kSelfConsentAge = 12;

TEST(ConsentRule, BelowTheSelfConsentAgeOnlyAGuardianConsents) {
  const ConsentGiverVerdict youth =
      DecideConsentGiver(v1::CONSENT_GIVER_YOUTH, 11, kSelfConsentAge);
  EXPECT_FALSE(youth.allowed);
  EXPECT_EQ(youth.reason_code, "youth_below_self_consent_age");
  EXPECT_TRUE(DecideConsentGiver(v1::CONSENT_GIVER_GUARDIAN, 11, kSelfConsentAge).allowed);
  EXPECT_TRUE(DecideConsentGiver(v1::CONSENT_GIVER_GUARDIAN, 0, kSelfConsentAge).allowed);
}

TEST(ConsentRule, FromTheSelfConsentAgeOnlyTheYouthConsents) {
  EXPECT_TRUE(DecideConsentGiver(v1::CONSENT_GIVER_YOUTH, 12, kSelfConsentAge).allowed);
  EXPECT_TRUE(DecideConsentGiver(v1::CONSENT_GIVER_YOUTH, 17, kSelfConsentAge).allowed);
  const ConsentGiverVerdict guardian =
      DecideConsentGiver(v1::CONSENT_GIVER_GUARDIAN, 12, kSelfConsentAge);
  EXPECT_FALSE(guardian.allowed);
  EXPECT_EQ(guardian.reason_code, "youth_must_consent");
  EXPECT_EQ(guardian.explanation, "from 12 the youth consents personally");
}

TEST(ConsentRule, TheSelfConsentAgeIsConfigurable) {
  EXPECT_FALSE(DecideConsentGiver(v1::CONSENT_GIVER_YOUTH, 13, 14).allowed);
  EXPECT_TRUE(DecideConsentGiver(v1::CONSENT_GIVER_GUARDIAN, 13, 14).allowed);
  EXPECT_EQ(DecideConsentGiver(v1::CONSENT_GIVER_YOUTH, 13, 14).explanation,
            "below 14 a guardian gives consent");
}

TEST(ConsentRule, AGuardiansConsentNeedsConfirmationOnceTheYouthReachesTheAge) {
  EXPECT_FALSE(NeedsYouthConfirmation(v1::CONSENT_GIVER_GUARDIAN, 11, kSelfConsentAge));
  EXPECT_TRUE(NeedsYouthConfirmation(v1::CONSENT_GIVER_GUARDIAN, 12, kSelfConsentAge));
  EXPECT_FALSE(NeedsYouthConfirmation(v1::CONSENT_GIVER_YOUTH, 15, kSelfConsentAge));
}

}  // namespace
}  // namespace relais::access
