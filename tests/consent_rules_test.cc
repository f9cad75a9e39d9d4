// The consent rules of DESIGN.md through gRPC: who may consent at which age,
// what a consent covers (recipients × categories × purposes × validity), that
// withdrawal is immediate, that CheckAccess explains a denial, and that every
// denial is in the audit log with the reason code the caller was given.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr absl::Duration kDay = absl::Hours(24);

std::string AddEntry(RelaisEnv& env, absl::string_view login, const std::string& youth,
                     v1::DataCategory category, v1::Visibility visibility) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(absl::StrCat("Note ", v1::DataCategory_Name(category)));
  v1::Entry entry;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &entry);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return entry.id();
}

// A 15-year-old accompanied by the AMO and the SAJ at the same time, with shared
// AMO entries of four categories and one AMO-private entry.
struct Shared {
  std::unique_ptr<RelaisEnv> env;
  std::string youth;
  std::string general, family, health, judicial, private_note;
};

Shared StartShared() {
  Shared s;
  s.env = RelaisEnv::Start();
  if (s.env == nullptr) return s;
  RelaisEnv& env = *s.env;
  s.youth = env.CreateYouth(15);
  env.Accompany(s.youth, kAmoCoordinator, kAmoCaseworker);
  env.Accompany(s.youth, kSajCoordinator, kSajCaseworker);
  s.general =
      AddEntry(env, kAmoCaseworker, s.youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED);
  s.family =
      AddEntry(env, kAmoCaseworker, s.youth, v1::DATA_CATEGORY_FAMILY, v1::VISIBILITY_SHARED);
  s.health =
      AddEntry(env, kAmoCaseworker, s.youth, v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED);
  s.judicial =
      AddEntry(env, kAmoCaseworker, s.youth, v1::DATA_CATEGORY_JUDICIAL, v1::VISIBILITY_SHARED);
  s.private_note = AddEntry(env, kAmoCaseworker, s.youth, v1::DATA_CATEGORY_GENERAL,
                            v1::VISIBILITY_SERVICE_PRIVATE);
  return s;
}

v1::Recipient ToService(const std::string& service_id) {
  v1::Recipient r;
  r.set_service_id(service_id);
  return r;
}

v1::Recipient ToSector(const std::string& sector_id) {
  v1::Recipient r;
  r.set_sector_id(sector_id);
  return r;
}

// The youth's own consent for coordination, valid six months, no categories yet.
v1::Consent YouthConsent(RelaisEnv& env, const std::string& youth, v1::Recipient to) {
  v1::Consent k;
  k.set_youth_id(youth);
  k.set_giver(v1::CONSENT_GIVER_YOUTH);
  *k.add_recipients() = std::move(to);
  k.add_purposes(v1::PURPOSE_COORDINATION);
  *k.mutable_valid_until() = common::ToProto(env.clock().Now() + 182 * kDay);
  return k;
}

grpc::Status Grant(RelaisEnv& env, const v1::Consent& k, v1::Consent* out,
                   absl::string_view login = kAmoCaseworker) {
  v1::GrantConsentRequest req;
  *req.mutable_consent() = k;
  return env.care().GrantConsent(env.As(login).get(), req, out);
}

v1::Consent GrantOk(RelaisEnv& env, const v1::Consent& k) {
  v1::Consent out;
  grpc::Status s = Grant(env, k, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

grpc::Status Withdraw(RelaisEnv& env, const std::string& consent_id, v1::Consent* out) {
  v1::WithdrawConsentRequest req;
  req.set_consent_id(consent_id);
  return env.care().WithdrawConsent(env.As(kAmoCaseworker).get(), req, out);
}

std::vector<v1::Consent> Consents(RelaisEnv& env, const std::string& youth) {
  v1::ListConsentsRequest req;
  req.set_youth_id(youth);
  v1::ListConsentsResponse resp;
  grpc::Status s = env.care().ListConsents(env.As(kAmoCaseworker).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.consents().begin(), resp.consents().end()};
}

grpc::Status Read(RelaisEnv& env, absl::string_view login, const std::string& entry,
                  v1::Purpose purpose = v1::PURPOSE_COORDINATION) {
  v1::GetEntryRequest req;
  req.set_entry_id(entry);
  req.set_purpose(purpose);
  v1::Entry out;
  grpc::Status s = env.record().GetEntry(env.As(login).get(), req, &out);
  if (!s.ok()) {
    EXPECT_TRUE(out.body().empty());
  }
  return s;
}

// Expects GetEntry to be refused with PERMISSION_DENIED and `reason`.
void ExpectReadDenied(RelaisEnv& env, absl::string_view login, const std::string& entry,
                      absl::string_view reason, v1::Purpose purpose = v1::PURPOSE_COORDINATION) {
  grpc::Status s = Read(env, login, entry, purpose);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), reason) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::StartsWith(absl::StrCat(reason, ":")));
}

void ExpectReadAllowed(RelaisEnv& env, absl::string_view login, const std::string& entry,
                       v1::Purpose purpose = v1::PURPOSE_COORDINATION) {
  grpc::Status s = Read(env, login, entry, purpose);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

void ExpectError(const grpc::Status& s, grpc::StatusCode code, absl::string_view reason) {
  EXPECT_EQ(s.error_code(), code) << s.error_message();
  EXPECT_EQ(ReasonCode(s), reason) << s.error_message();
}

// The youth's audit log holds a decision by `service` on `action` with
// `reason_code` (about `entry`, if given), denied unless the code is "allowed".
void ExpectAudited(RelaisEnv& env, const std::string& youth, const std::string& service,
                   v1::Action action, absl::string_view reason_code,
                   const std::string& entry = "") {
  bool found = false;
  for (const v1::AuditEvent& e : EventsOf(env, youth)) {
    if (e.actor_service_id() != service || e.action() != action || e.reason_code() != reason_code ||
        (!entry.empty() && e.entry_id() != entry)) {
      continue;
    }
    found = true;
    EXPECT_EQ(e.decision(), reason_code == "allowed" ? v1::DECISION_ALLOW : v1::DECISION_DENY)
        << e.DebugString();
  }
  EXPECT_TRUE(found) << "no audit event " << v1::Action_Name(action) << " " << reason_code << " by "
                     << service << " " << entry;
}

// A coordinator for the PMS (the seeded directory has only a PMS caseworker),
// so that the PMS can open an accompaniment of its own.
// The PMS opens an accompaniment; the AMO, which accompanies the youth,
// vouches for it.
void PmsAccompanies(RelaisEnv& env, const std::string& youth) {
  env.AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
  env.Accompany(youth, "pms.coord", kPmsCaseworker);
}

TEST(ConsentRules, ElevenYearOldCannotConsentAlone) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(11);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::Consent k = YouthConsent(*env, youth, ToService(env->service_id("saj")));
  k.set_all_non_special_categories(true);
  v1::Consent out;
  grpc::Status s = Grant(*env, k, &out);
  ExpectError(s, grpc::StatusCode::FAILED_PRECONDITION, "youth_below_self_consent_age");
  EXPECT_TRUE(out.id().empty());
  EXPECT_THAT(Consents(*env, youth), IsEmpty());
  ExpectAudited(*env, youth, env->service_id("amo"), v1::ACTION_GRANT_CONSENT,
                "youth_below_self_consent_age");
}

TEST(ConsentRules, GuardianAloneCannotConsentForAFifteenYearOld) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::Consent k = YouthConsent(*env, youth, ToService(env->service_id("saj")));
  k.set_all_non_special_categories(true);
  k.set_giver(v1::CONSENT_GIVER_GUARDIAN);
  k.set_guardian_id(env->GuardianOf(youth, kAmoCaseworker));
  k.set_youth_opinion(v1::YOUTH_OPINION_AGREES);
  v1::Consent out;
  ExpectError(Grant(*env, k, &out), grpc::StatusCode::FAILED_PRECONDITION, "youth_must_consent");
  EXPECT_THAT(Consents(*env, youth), IsEmpty());
  ExpectAudited(*env, youth, env->service_id("amo"), v1::ACTION_GRANT_CONSENT,
                "youth_must_consent");
}

TEST(ConsentRules, GuardianConsentForAChildNeedsItsOpinionAndIsFlaggedWhenItTurnsTwelve) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string amo = env->service_id("amo");
  // Eleven today; the twelfth birthday is ten days away.
  const std::string youth = env->CreateYouth(12, kAmoCaseworker, /*days_before_birthday=*/10);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  const std::string guardian = env->GuardianOf(youth, kAmoCaseworker);
  ASSERT_FALSE(guardian.empty());
  v1::Consent k = YouthConsent(*env, youth, ToService(env->service_id("saj")));
  k.set_all_non_special_categories(true);
  k.set_giver(v1::CONSENT_GIVER_GUARDIAN);

  v1::Consent out;
  k.set_guardian_id(guardian);  // no opinion recorded
  ExpectError(Grant(*env, k, &out), grpc::StatusCode::INVALID_ARGUMENT, "youth_opinion_required");
  k.set_youth_opinion(v1::YOUTH_OPINION_AGREES);
  k.clear_guardian_id();  // no guardian named
  ExpectError(Grant(*env, k, &out), grpc::StatusCode::INVALID_ARGUMENT, "unknown_guardian");
  k.set_guardian_id("g_not_on_this_record");
  ExpectError(Grant(*env, k, &out), grpc::StatusCode::INVALID_ARGUMENT, "unknown_guardian");
  EXPECT_THAT(Consents(*env, youth), IsEmpty());

  k.set_guardian_id(guardian);
  const v1::Consent granted = GrantOk(*env, k);
  EXPECT_EQ(granted.state(), v1::CONSENT_STATE_ACTIVE);
  EXPECT_EQ(granted.giver(), v1::CONSENT_GIVER_GUARDIAN);
  EXPECT_EQ(granted.guardian_id(), guardian);
  EXPECT_EQ(granted.youth_opinion(), v1::YOUTH_OPINION_AGREES);
  EXPECT_FALSE(granted.needs_youth_confirmation());
  std::vector<v1::Consent> listed = Consents(*env, youth);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), granted.id());
  EXPECT_FALSE(listed[0].needs_youth_confirmation());

  // Age is evaluated at each decision: past the birthday, the youth must confirm.
  env->clock().Advance(11 * kDay);
  listed = Consents(*env, youth);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state(), v1::CONSENT_STATE_ACTIVE);
  EXPECT_TRUE(listed[0].needs_youth_confirmation());
  // ...and a guardian can no longer consent alone.
  ExpectError(Grant(*env, k, &out), grpc::StatusCode::FAILED_PRECONDITION, "youth_must_consent");

  ExpectAudited(*env, youth, amo, v1::ACTION_GRANT_CONSENT, "youth_opinion_required");
  ExpectAudited(*env, youth, amo, v1::ACTION_GRANT_CONSENT, "unknown_guardian");
  ExpectAudited(*env, youth, amo, v1::ACTION_GRANT_CONSENT, "youth_must_consent");
  ExpectAudited(*env, youth, amo, v1::ACTION_GRANT_CONSENT, "allowed");
}

TEST(ConsentRules, SpecialCategoriesAreNeverCoveredUnlessNamed) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  const std::string saj = env.service_id("saj");
  v1::Consent blanket = YouthConsent(env, s.youth, ToService(saj));
  blanket.set_all_non_special_categories(true);
  GrantOk(env, blanket);

  ExpectReadAllowed(env, kSajCaseworker, s.general);
  ExpectReadAllowed(env, kSajCaseworker, s.family);
  ExpectReadDenied(env, kSajCaseworker, s.health, "consent_category_not_covered");
  ExpectReadDenied(env, kSajCaseworker, s.judicial, "consent_category_not_covered");

  v1::ListEntriesRequest list;
  list.set_youth_id(s.youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse listed;
  ASSERT_TRUE(env.record().ListEntries(env.As(kSajCaseworker).get(), list, &listed).ok());
  std::vector<std::string> ids;
  for (const auto& e : listed.entries()) ids.push_back(e.id());
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(s.general, s.family));
  std::vector<std::pair<std::string, int>> withheld;
  for (const auto& w : listed.withheld()) withheld.emplace_back(w.reason_code(), w.count());
  EXPECT_THAT(withheld, ElementsAre(Pair("consent_category_not_covered", 2)));

  // Naming HEALTH covers health, and only health.
  v1::Consent health = YouthConsent(env, s.youth, ToService(saj));
  health.add_categories(v1::DATA_CATEGORY_HEALTH);
  GrantOk(env, health);
  ExpectReadAllowed(env, kSajCaseworker, s.health);
  ExpectReadDenied(env, kSajCaseworker, s.judicial, "consent_category_not_covered");

  ExpectAudited(env, s.youth, saj, v1::ACTION_READ_ENTRY, "consent_category_not_covered", s.health);
  ExpectAudited(env, s.youth, saj, v1::ACTION_READ_ENTRY, "consent_category_not_covered",
                s.judicial);
  ExpectAudited(env, s.youth, saj, v1::ACTION_READ_ENTRY, "allowed", s.health);
}

TEST(ConsentRules, ExpiredConsentCoversNothing) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  v1::Consent k = YouthConsent(env, s.youth, ToService(env.service_id("saj")));
  k.set_all_non_special_categories(true);
  *k.mutable_valid_until() = common::ToProto(env.clock().Now() + 2 * kDay);
  const v1::Consent granted = GrantOk(env, k);
  ExpectReadAllowed(env, kSajCaseworker, s.general);

  env.clock().Advance(2 * kDay + absl::Minutes(1));
  ExpectReadDenied(env, kSajCaseworker, s.general, "no_consent");
  std::vector<v1::Consent> listed = Consents(env, s.youth);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), granted.id());
  EXPECT_EQ(listed[0].state(), v1::CONSENT_STATE_EXPIRED);
  ExpectAudited(env, s.youth, env.service_id("saj"), v1::ACTION_READ_ENTRY, "no_consent",
                s.general);
}

TEST(ConsentRules, ConsentStartingInTheFutureCoversNothingYet) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  v1::Consent k = YouthConsent(env, s.youth, ToService(env.service_id("saj")));
  k.set_all_non_special_categories(true);
  *k.mutable_valid_from() = common::ToProto(env.clock().Now() + 5 * kDay);
  const v1::Consent granted = GrantOk(env, k);
  EXPECT_EQ(granted.state(), v1::CONSENT_STATE_NOT_YET_VALID);
  ExpectReadDenied(env, kSajCaseworker, s.general, "no_consent");
  std::vector<v1::Consent> listed = Consents(env, s.youth);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state(), v1::CONSENT_STATE_NOT_YET_VALID);

  env.clock().Advance(5 * kDay + absl::Minutes(1));
  ExpectReadAllowed(env, kSajCaseworker, s.general);
  ExpectAudited(env, s.youth, env.service_id("saj"), v1::ACTION_READ_ENTRY, "no_consent",
                s.general);
}

TEST(ConsentRules, ConsentForHandoverDoesNotCoverCoordination) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  v1::Consent k = YouthConsent(env, s.youth, ToService(env.service_id("saj")));
  k.set_all_non_special_categories(true);
  k.clear_purposes();
  k.add_purposes(v1::PURPOSE_HANDOVER);
  GrantOk(env, k);
  ExpectReadDenied(env, kSajCaseworker, s.general, "consent_purpose_not_covered",
                   v1::PURPOSE_COORDINATION);
  ExpectReadAllowed(env, kSajCaseworker, s.general, v1::PURPOSE_HANDOVER);
  ExpectAudited(env, s.youth, env.service_id("saj"), v1::ACTION_READ_ENTRY,
                "consent_purpose_not_covered", s.general);
}

TEST(ConsentRules, SectorConsentCoversOnlyServicesOfThatSector) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  PmsAccompanies(env, s.youth);
  v1::Consent k = YouthConsent(env, s.youth, ToSector("aide_jeunesse"));
  k.set_all_non_special_categories(true);
  GrantOk(env, k);
  ExpectReadAllowed(env, kSajCaseworker, s.general);               // SAJ: aide_jeunesse
  ExpectReadDenied(env, kPmsCaseworker, s.general, "no_consent");  // PMS: enseignement
  ExpectAudited(env, s.youth, env.service_id("saj"), v1::ACTION_READ_ENTRY, "allowed", s.general);
  ExpectAudited(env, s.youth, env.service_id("pms"), v1::ACTION_READ_ENTRY, "no_consent",
                s.general);
}

TEST(ConsentRules, WithdrawalTakesEffectForTheNextDecisionAndIsKeptAsHistory) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  v1::Consent k = YouthConsent(env, s.youth, ToService(env.service_id("saj")));
  k.set_all_non_special_categories(true);
  const v1::Consent granted = GrantOk(env, k);
  ExpectReadAllowed(env, kSajCaseworker, s.general);

  v1::Consent first;
  ASSERT_TRUE(Withdraw(env, granted.id(), &first).ok());
  EXPECT_EQ(first.state(), v1::CONSENT_STATE_WITHDRAWN);
  ASSERT_TRUE(first.has_withdrawn_at());
  EXPECT_EQ(first.withdrawn_by_member_id(), env.member_id(kAmoCaseworker));
  ExpectReadDenied(env, kSajCaseworker, s.general, "no_consent");  // no clock move

  env.clock().Advance(absl::Hours(1));
  v1::Consent second;
  ASSERT_TRUE(Withdraw(env, granted.id(), &second).ok());
  EXPECT_EQ(second.state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_EQ(common::FromProto(second.withdrawn_at()), common::FromProto(first.withdrawn_at()));

  std::vector<v1::Consent> listed = Consents(env, s.youth);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), granted.id());
  EXPECT_EQ(listed[0].state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_EQ(common::FromProto(listed[0].withdrawn_at()), common::FromProto(first.withdrawn_at()));
  ExpectAudited(env, s.youth, env.service_id("saj"), v1::ACTION_READ_ENTRY, "no_consent",
                s.general);
  ExpectAudited(env, s.youth, env.service_id("amo"), v1::ACTION_WITHDRAW_CONSENT, "allowed");
}

TEST(ConsentRules, CheckAccessExplainsTheMissingConsentAndHidesPrivateEntries) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  const std::string saj = env.service_id("saj");
  v1::CheckAccessRequest req;
  req.set_youth_id(s.youth);
  req.set_entry_id(s.family);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::CheckAccessResponse resp;
  grpc::Status status = env.care().CheckAccess(env.As(kSajCaseworker).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_DENY);
  EXPECT_EQ(resp.reason(), v1::ACCESS_REASON_NO_CONSENT);
  EXPECT_EQ(resp.reason_code(), "no_consent");
  EXPECT_FALSE(resp.explanation().empty());
  EXPECT_EQ(resp.suggested_recipient().service_id(), saj);
  EXPECT_EQ(resp.suggested_category(), v1::DATA_CATEGORY_FAMILY);
  EXPECT_EQ(resp.suggested_purpose(), v1::PURPOSE_COORDINATION);

  // Another service's private entry is not revealed, not even by CheckAccess.
  req.set_entry_id(s.private_note);
  resp.Clear();
  status = env.care().CheckAccess(env.As(kSajCaseworker).get(), req, &resp);
  ExpectError(status, grpc::StatusCode::NOT_FOUND, "entry_not_found");
  EXPECT_EQ(resp.reason_code(), "");
  grpc::Status read = Read(env, kSajCaseworker, s.private_note);
  ExpectError(read, grpc::StatusCode::NOT_FOUND, "entry_not_found");

  ExpectAudited(env, s.youth, saj, v1::ACTION_CHECK_ACCESS, "no_consent", s.family);
  ExpectAudited(env, s.youth, saj, v1::ACTION_CHECK_ACCESS, "entry_not_found", s.private_note);
}

TEST(ConsentRules, ServiceWithoutAccompanimentCannotGrantConsent) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::Consent k = YouthConsent(*env, youth, ToService(env->service_id("saj")));
  k.set_all_non_special_categories(true);
  v1::Consent out;
  ExpectError(Grant(*env, k, &out, kPmsCaseworker), grpc::StatusCode::PERMISSION_DENIED,
              "no_active_accompaniment");
  EXPECT_TRUE(out.id().empty());
  EXPECT_THAT(Consents(*env, youth), IsEmpty());
  ExpectAudited(*env, youth, env->service_id("pms"), v1::ACTION_GRANT_CONSENT,
                "no_active_accompaniment");
}

// Issue #10: the holder shares its own entries; a recipient never records or
// widens a consent that lets it read another service's.
TEST(ConsentRules, AServiceCannotGrantItselfAnotherServicesEntries) {
  Shared s = StartShared();
  ASSERT_NE(s.env, nullptr);
  RelaisEnv& env = *s.env;
  PmsAccompanies(env, s.youth);
  // Naming itself is refused outright.
  v1::Consent k = YouthConsent(env, s.youth, ToService(env.service_id("pms")));
  k.set_all_non_special_categories(true);
  k.add_categories(v1::DATA_CATEGORY_HEALTH);
  v1::Consent out;
  ExpectError(Grant(env, k, &out, kPmsCaseworker), grpc::StatusCode::INVALID_ARGUMENT,
              "recipient_is_holder");
  // Naming its own sector records a consent held by the PMS: it covers the
  // PMS's entries only, so the AMO's stay out of reach.
  k = YouthConsent(env, s.youth, ToSector("enseignement"));
  k.set_all_non_special_categories(true);
  ASSERT_TRUE(Grant(env, k, &out, kPmsCaseworker).ok());
  EXPECT_EQ(out.recorded_by_service_id(), env.service_id("pms"));
  EXPECT_THAT(out.receipt().text(), HasSubstr("Centre PMS de Charleroi"));
  ExpectReadDenied(env, kPmsCaseworker, s.general, "no_consent");
  // The AMO's own consent to the PMS's sector is what shares the AMO's entry.
  GrantOk(env, k);
  ExpectReadAllowed(env, kPmsCaseworker, s.general);
}

}  // namespace
}  // namespace relais::testing
