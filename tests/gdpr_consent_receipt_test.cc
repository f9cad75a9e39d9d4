// Issue #4, item 4, through gRPC: consent receipts (GDPR art. 7, proof of
// consent) on GrantConsent and WithdrawConsent, and CareService.GetConsentReceipt.

#include <string>

#include "absl/strings/match.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;

v1::GrantConsentRequest ConsentFor(RelaisEnv& env, const std::string& youth) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(env.service_id("saj"));
  k->add_recipients()->set_sector_id("enseignement");
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_categories(v1::DATA_CATEGORY_FAMILY);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  return req;
}

TEST(GdprConsentReceipt, GrantWithdrawAndFetchCarryAReadableReceipt) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  v1::Consent granted;
  grpc::Status s =
      env->care().GrantConsent(env->As(kAmoCaseworker).get(), ConsentFor(*env, youth), &granted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::ConsentReceipt& r = granted.receipt();
  EXPECT_EQ(r.consent_id(), granted.id());
  EXPECT_EQ(r.youth_id(), youth);
  EXPECT_EQ(r.state(), v1::CONSENT_STATE_ACTIVE);
  EXPECT_EQ(r.giver(), v1::CONSENT_GIVER_YOUTH);
  ASSERT_EQ(r.recipients_size(), 2);
  EXPECT_EQ(r.recipients(0).service_id(), env->service_id("saj"));
  EXPECT_FALSE(r.recipients(0).name().empty());
  EXPECT_NE(r.recipients(0).name(), env->service_id("saj"));  // a name, not an id
  EXPECT_EQ(r.recipients(1).sector_id(), "enseignement");
  EXPECT_EQ(r.recipients(1).name(), "Enseignement");
  EXPECT_EQ(r.recorded_by_service_id(), env->service_id("amo"));
  EXPECT_FALSE(r.recorded_by_service_name().empty());
  EXPECT_EQ(r.recorded_by_member_id(), env->member_id(kAmoCaseworker));
  EXPECT_FALSE(r.has_withdrawn_at());
  // The text, in French then English.
  EXPECT_THAT(r.text(), HasSubstr("Reçu de consentement " + granted.id()));
  EXPECT_THAT(r.text(), HasSubstr("Consent receipt " + granted.id()));
  EXPECT_THAT(r.text(), HasSubstr(r.recipients(0).name()));
  EXPECT_THAT(r.text(), HasSubstr("secteur « Enseignement »"));
  EXPECT_THAT(r.text(), HasSubstr("sector \"Education\""));
  EXPECT_THAT(r.text(), HasSubstr("situation familiale"));
  EXPECT_THAT(r.text(), HasSubstr("family situation"));
  EXPECT_THAT(r.text(), HasSubstr("Donné par toi-même"));
  EXPECT_THAT(r.text(), HasSubstr("au 2026-12-25"));  // TestEpoch + 30 days
  EXPECT_THAT(r.text(), HasSubstr(r.recorded_by_service_name()));

  // Withdrawal: the receipt says so.
  v1::WithdrawConsentRequest w;
  w.set_consent_id(granted.id());
  env->clock().Advance(absl::Hours(24));
  v1::Consent withdrawn;
  ASSERT_TRUE(env->care().WithdrawConsent(env->As(kAmoCaseworker).get(), w, &withdrawn).ok());
  EXPECT_EQ(withdrawn.receipt().state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_TRUE(withdrawn.receipt().has_withdrawn_at());
  EXPECT_EQ(withdrawn.receipt().withdrawn_by_member_id(), env->member_id(kAmoCaseworker));
  EXPECT_THAT(withdrawn.receipt().text(), HasSubstr("Retiré le 2026-11-26"));
  EXPECT_THAT(withdrawn.receipt().text(), HasSubstr("Withdrawn on 2026-11-26"));

  // Fetched later: same receipt; only for a service that may read the youth's care.
  v1::GetConsentReceiptRequest get;
  get.set_consent_id(granted.id());
  v1::ConsentReceipt fetched;
  s = env->care().GetConsentReceipt(env->As(kAmoCoordinator).get(), get, &fetched);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(fetched.text(), withdrawn.receipt().text());
  s = env->care().GetConsentReceipt(env->As(kSajCaseworker).get(), get, &fetched);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  s = env->care().GetConsentReceipt(env->As(kAuditor).get(), get, &fetched);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  get.set_consent_id("cst_unknown");
  s = env->care().GetConsentReceipt(env->As(kAmoCaseworker).get(), get, &fetched);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(s), "consent_not_found");

  // Audited: the allowed fetch and the refusals, against the consent.
  v1::QueryEventsRequest q;
  q.set_youth_id(youth);
  q.set_page_size(200);
  v1::QueryEventsResponse events;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &events).ok());
  int allowed = 0, denied = 0;
  for (const v1::AuditEvent& e : events.events()) {
    if (e.action() != v1::ACTION_READ_CARE || e.object_id() != granted.id()) continue;
    (e.decision() == v1::DECISION_ALLOW ? allowed : denied)++;
  }
  EXPECT_EQ(allowed, 1);
  EXPECT_EQ(denied, 1);  // the SAJ's; the auditor's is refused before the youth is known
}

TEST(GdprConsentReceipt, GuardianConsentSaysSoInBothLanguages) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(9);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::GrantConsentRequest req = ConsentFor(*env, youth);
  req.mutable_consent()->set_giver(v1::CONSENT_GIVER_GUARDIAN);
  req.mutable_consent()->set_guardian_id(env->GuardianOf(youth, kAmoCaseworker));
  req.mutable_consent()->set_youth_opinion(v1::YOUTH_OPINION_AGREES);
  v1::Consent granted;
  grpc::Status s = env->care().GrantConsent(env->As(kAmoCaseworker).get(), req, &granted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(granted.receipt().giver(), v1::CONSENT_GIVER_GUARDIAN);
  EXPECT_EQ(granted.receipt().youth_opinion(), v1::YOUTH_OPINION_AGREES);
  EXPECT_THAT(granted.receipt().text(), HasSubstr("responsables légaux"));
  EXPECT_THAT(granted.receipt().text(), HasSubstr("legal guardians"));
}

}  // namespace
}  // namespace relais::testing
