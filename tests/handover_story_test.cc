// The handover story of issue #2, end to end through gRPC: an AMO hands a
// 15-year-old over to a SAJ, consent decides what the SAJ sees, and the audit
// log tells the whole story and detects tampering.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Story {
  std::unique_ptr<RelaisEnv> env;
  std::string youth;
  std::string general, health, private_note;
};

std::string AddEntry(RelaisEnv& env, absl::string_view login, const std::string& youth,
                     v1::DataCategory category, v1::Visibility visibility, absl::string_view body,
                     absl::string_view handover_id = "") {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(handover_id.empty() ? v1::ENTRY_KIND_NOTE
                                                    : v1::ENTRY_KIND_CONCERTATION);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(std::string(body));
  req.mutable_entry()->set_handover_id(std::string(handover_id));
  v1::Entry entry;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &entry);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return entry.id();
}

grpc::Status List(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::ListEntriesResponse* out) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().ListEntries(env.As(login).get(), req, out);
}

std::vector<std::string> Ids(const v1::ListEntriesResponse& r) {
  std::vector<std::string> ids;
  for (const auto& e : r.entries()) ids.push_back(e.id());
  return ids;
}

std::vector<std::pair<std::string, int>> Withheld(const v1::ListEntriesResponse& r) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& w : r.withheld()) out.emplace_back(w.reason_code(), w.count());
  return out;
}

// A consent recorded by `holder`'s service: it shares that service's entries.
std::string Consent(RelaisEnv& env, const std::string& youth, const std::string& service_id,
                    std::vector<v1::DataCategory> categories,
                    absl::string_view holder = kAmoCaseworker) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(service_id);
  for (auto c : categories) k->add_categories(c);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 182));
  v1::Consent out;
  grpc::Status s = env.care().GrantConsent(env.As(holder).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.state(), v1::CONSENT_STATE_ACTIVE);
  return out.id();
}

struct Expected {
  std::string service;  // actor service id
  v1::Action action;
  std::string entry;  // "" = any
  std::string reason_code;
};

// Each expected decision appears in the log, in this order.
void ExpectInOrder(const std::vector<v1::AuditEvent>& events, const std::vector<Expected>& want) {
  size_t at = 0;
  for (const Expected& w : want) {
    bool found = false;
    for (; at < events.size() && !found; ++at) {
      const v1::AuditEvent& e = events[at];
      found = e.actor_service_id() == w.service && e.action() == w.action &&
              (w.entry.empty() || e.entry_id() == w.entry) && e.reason_code() == w.reason_code;
    }
    EXPECT_TRUE(found) << "missing, in order: " << v1::Action_Name(w.action) << " " << w.reason_code
                       << " " << w.entry;
  }
}

v1::VerifyLogResponse Verify(RelaisEnv& env) {
  v1::VerifyLogResponse resp;
  grpc::Status s = env.audit().VerifyLog(env.As(kAuditor).get(), v1::VerifyLogRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

TEST(HandoverStory, FromAmoToSajWithConsentAuditAndTamperDetection) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string amo = env->service_id("amo");
  const std::string saj = env->service_id("saj");

  // An AMO accompanies a 15-year-old and writes three entries.
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  const std::string general = AddEntry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL,
                                       v1::VISIBILITY_SHARED, "Suivi scolaire");
  const std::string health = AddEntry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_HEALTH,
                                      v1::VISIBILITY_SHARED, "Suivi psychologique");
  const std::string note = AddEntry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL,
                                    v1::VISIBILITY_SERVICE_PRIVATE, "Note interne");

  // The youth agrees that the AMO share its general and family entries with
  // the SAJ.
  const std::string saj_consent =
      Consent(*env, youth, saj, {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_FAMILY});

  // The AMO proposes a handover to the SAJ with a 30-day overlap.
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth);
  propose.set_to_service_id(saj);
  propose.set_reason("Mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(env->clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env->clock().Now() + absl::Hours(24 * 30));
  v1::Handover handover;
  ASSERT_TRUE(env->care().ProposeHandover(env->As(kAmoCaseworker).get(), propose, &handover).ok());
  EXPECT_EQ(handover.state(), v1::HANDOVER_STATE_PROPOSED);

  // Before acceptance the SAJ sees nothing.
  v1::ListEntriesResponse listed;
  grpc::Status denied = List(*env, kSajCaseworker, youth, &listed);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(denied), "no_active_accompaniment");
  EXPECT_THAT(denied.error_message(), ::testing::StartsWith("no_active_accompaniment"));

  // The SAJ coordinator accepts.
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(handover.id());
  accept.set_referent_member_id(env->member_id(kSajCaseworker));
  ASSERT_TRUE(env->care().AcceptHandover(env->As(kSajCoordinator).get(), accept, &handover).ok());
  EXPECT_EQ(handover.state(), v1::HANDOVER_STATE_ACCEPTED);

  // The SAJ sees the general entry, is told one is withheld for its category,
  // and finds no trace of the private note.
  listed.Clear();
  ASSERT_TRUE(List(*env, kSajCaseworker, youth, &listed).ok());
  EXPECT_THAT(Ids(listed), ElementsAre(general));
  EXPECT_THAT(Withheld(listed),
              ElementsAre(std::pair<std::string, int>("consent_category_not_covered", 1)));
  for (const auto& e : listed.entries()) EXPECT_NE(e.id(), note);

  // The SAJ, holder of what it writes, shares its general entries with the AMO.
  Consent(*env, youth, amo, {v1::DATA_CATEGORY_GENERAL}, kSajCaseworker);

  // Both write to the concertation thread and see each other's shared entries.
  const std::string saj_minutes =
      AddEntry(*env, kSajCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED,
               "Concertation: point de vue du SAJ", handover.id());
  const std::string amo_minutes =
      AddEntry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED,
               "Concertation: point de vue de l'AMO", handover.id());
  listed.Clear();
  ASSERT_TRUE(List(*env, kSajCaseworker, youth, &listed).ok());
  EXPECT_THAT(Ids(listed), ElementsAre(amo_minutes, saj_minutes, general));
  listed.Clear();
  ASSERT_TRUE(List(*env, kAmoCaseworker, youth, &listed).ok());
  EXPECT_THAT(Ids(listed), ElementsAre(amo_minutes, saj_minutes, note, health, general));
  EXPECT_THAT(Withheld(listed), IsEmpty());

  // The youth withdraws the SAJ's consent: the SAJ keeps only its own entries.
  v1::WithdrawConsentRequest withdraw;
  withdraw.set_consent_id(saj_consent);
  v1::Consent withdrawn;
  ASSERT_TRUE(
      env->care().WithdrawConsent(env->As(kAmoCaseworker).get(), withdraw, &withdrawn).ok());
  EXPECT_EQ(withdrawn.state(), v1::CONSENT_STATE_WITHDRAWN);
  listed.Clear();
  ASSERT_TRUE(List(*env, kSajCaseworker, youth, &listed).ok());
  EXPECT_THAT(Ids(listed), ElementsAre(saj_minutes));
  EXPECT_THAT(Withheld(listed), ElementsAre(std::pair<std::string, int>("no_consent", 3)));
  v1::GetEntryRequest get;
  get.set_entry_id(general);
  get.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry entry;
  grpc::Status get_denied = env->record().GetEntry(env->As(kSajCaseworker).get(), get, &entry);
  EXPECT_EQ(get_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(get_denied), "no_consent");
  EXPECT_TRUE(entry.body().empty());

  // The clock passes the end of the window: the AMO's accompaniment has ended.
  env->clock().Advance(absl::Hours(24 * 30) + absl::Minutes(1));
  listed.Clear();
  grpc::Status amo_denied = List(*env, kAmoCaseworker, youth, &listed);
  EXPECT_EQ(amo_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(amo_denied), "no_active_accompaniment");
  ASSERT_EQ(*env->host().care().CompleteDueHandovers(), 1);
  v1::GetHandoverRequest get_handover;
  get_handover.set_handover_id(handover.id());
  ASSERT_TRUE(
      env->care().GetHandover(env->As(kSajCoordinator).get(), get_handover, &handover).ok());
  EXPECT_EQ(handover.state(), v1::HANDOVER_STATE_COMPLETED);
  listed.Clear();
  EXPECT_TRUE(List(*env, kSajCaseworker, youth, &listed).ok());  // the SAJ carries on

  // The audit log holds each decision, in order, with its reason code.
  const std::vector<v1::AuditEvent> events = EventsOf(*env, youth);
  ExpectInOrder(events, {
                            {amo, v1::ACTION_ADD_ENTRY, general, "allowed"},
                            {amo, v1::ACTION_PROPOSE_HANDOVER, "", "allowed"},
                            {saj, v1::ACTION_LIST_ENTRIES, "", "no_active_accompaniment"},
                            {saj, v1::ACTION_ACCEPT_HANDOVER, "", "allowed"},
                            {saj, v1::ACTION_LIST_ENTRIES, "", "allowed"},
                            {saj, v1::ACTION_READ_ENTRY, health, "consent_category_not_covered"},
                            {saj, v1::ACTION_READ_ENTRY, general, "allowed"},
                            {saj, v1::ACTION_ADD_ENTRY, saj_minutes, "allowed"},
                            {amo, v1::ACTION_WITHDRAW_CONSENT, "", "allowed"},
                            {saj, v1::ACTION_READ_ENTRY, general, "no_consent"},
                            {saj, v1::ACTION_READ_ENTRY, general, "no_consent"},  // the GetEntry
                            {amo, v1::ACTION_LIST_ENTRIES, "", "no_active_accompaniment"},
                            {"", v1::ACTION_COMPLETE_HANDOVER, "", "overlap_window_closed"},
                        });
  for (const auto& e : events) {
    EXPECT_EQ(e.youth_id(), youth);
    EXPECT_THAT(e.DebugString(), ::testing::Not(::testing::HasSubstr("Concertation")));
  }

  // The chain verifies; an altered event is named; so is a deleted one.
  v1::VerifyLogResponse ok = Verify(*env);
  EXPECT_TRUE(ok.ok()) << ok.problem();
  EXPECT_GT(ok.events_checked(), 30);
  int64_t denial = 0;
  for (const auto& e : events) {
    if (e.reason_code() == "no_active_accompaniment") denial = e.sequence();
  }
  ASSERT_GT(denial, 0);
  Sql(env->db_path(), absl::StrCat("UPDATE audit_events SET reason_code = 'allowed', decision = ",
                                   v1::DECISION_ALLOW, " WHERE sequence = ", denial));
  v1::VerifyLogResponse altered = Verify(*env);
  EXPECT_FALSE(altered.ok());
  EXPECT_EQ(altered.first_bad_sequence(), denial);
  EXPECT_EQ(altered.problem(), "hash_mismatch");
  Sql(env->db_path(),
      absl::StrCat("UPDATE audit_events SET reason_code = 'no_active_accompaniment',"
                   " decision = ",
                   v1::DECISION_DENY, " WHERE sequence = ", denial));
  EXPECT_TRUE(Verify(*env).ok());
  Sql(env->db_path(), absl::StrCat("DELETE FROM audit_events WHERE sequence = ", denial - 1));
  v1::VerifyLogResponse gap = Verify(*env);
  EXPECT_FALSE(gap.ok());
  EXPECT_EQ(gap.first_bad_sequence(), denial - 1);
  EXPECT_EQ(gap.problem(), "sequence_gap");
}

TEST(HandoverStory, CaseworkersCannotReadTheAuditLog) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::QueryEventsResponse resp;
  grpc::Status s =
      env->audit().QueryEvents(env->As(kAmoCaseworker).get(), v1::QueryEventsRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  EXPECT_EQ(resp.events_size(), 0);
}

}  // namespace
}  // namespace relais::testing
