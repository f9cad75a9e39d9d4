// Stop relaisd, start it again on the same database file and key directory:
// every record, consent and handover is still there in the same state, the
// audit chain verifies and carries on, and tokens issued before still verify.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/testing/fresh_database.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAreArray;

constexpr char kNationalNumber[] = "11031400123";

struct Counts {
  int64_t youth = -1, entries = -1, consents = -1, handovers = -1, accompaniments = -1, events = -1;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{youth=" << c.youth << " entries=" << c.entries << " consents=" << c.consents
            << " handovers=" << c.handovers << " accompaniments=" << c.accompaniments
            << " events=" << c.events << "}";
}

int64_t CountRows(const std::string& path, const char* table) {
  return std::stoll(SqlText(path, absl::StrCat("SELECT COUNT(*) FROM ", table)));
}

Counts CountAll(const std::string& path) {
  return {CountRows(path, "rec_youth"),           CountRows(path, "rec_entries"),
          CountRows(path, "care_consents"),       CountRows(path, "care_handovers"),
          CountRows(path, "care_accompaniments"), CountRows(path, "audit_events")};
}

std::string AddEntry(RelaisEnv& env, absl::string_view login, const std::string& youth,
                     v1::DataCategory category, v1::Visibility visibility, absl::string_view body) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(std::string(body));
  v1::Entry entry;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &entry);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return entry.id();
}

v1::ListEntriesResponse List(RelaisEnv& env, grpc::ClientContext* ctx, const std::string& youth) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse resp;
  grpc::Status s = env.record().ListEntries(ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

std::vector<std::string> EntrySummaries(const v1::ListEntriesResponse& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries()) {
    out.push_back(absl::StrCat(e.id(), "|", e.author_service_id(), "|", e.category(), "|",
                               e.visibility(), "|", e.body()));
  }
  return out;
}

std::vector<std::string> ConsentSummaries(RelaisEnv& env, const std::string& youth) {
  v1::ListConsentsRequest req;
  req.set_youth_id(youth);
  v1::ListConsentsResponse resp;
  grpc::Status s = env.care().ListConsents(env.As(kAmoCaseworker).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> out;
  for (const auto& k : resp.consents()) {
    out.push_back(absl::StrCat(k.id(), "|", v1::ConsentState_Name(k.state()), "|",
                               k.recipients_size(), "|", k.categories_size(), "|",
                               k.valid_until().seconds()));
  }
  return out;
}

v1::Handover GetHandover(RelaisEnv& env, absl::string_view login, const std::string& id) {
  v1::GetHandoverRequest req;
  req.set_handover_id(id);
  v1::Handover h;
  grpc::Status s = env.care().GetHandover(env.As(login).get(), req, &h);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return h;
}

v1::VerifyLogResponse Verify(RelaisEnv& env) {
  v1::VerifyLogResponse resp;
  grpc::Status s = env.audit().VerifyLog(env.As(kAuditor).get(), v1::VerifyLogRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

// Events with sequence > `after`, oldest first.
std::vector<v1::AuditEvent> EventsAfter(RelaisEnv& env, int64_t after) {
  v1::QueryEventsRequest req;
  req.set_page_token(absl::StrCat(after));
  req.set_page_size(1000);
  v1::QueryEventsResponse resp;
  grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.events().begin(), resp.events().end()};
}

std::string LoginToken(RelaisEnv& env, absl::string_view login) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(kPassword);
  v1::LoginResponse resp;
  grpc::Status s = env.auth().Login(env.Anonymous().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.token();
}

std::unique_ptr<RelaisEnv> Restart(std::unique_ptr<RelaisEnv> env) {
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  env->Stop();
  env.reset();
  return RelaisEnv::Start(db, /*seed=*/false, keys);
}

TEST(Restart, EverythingIsStillThereAndTheChainVerifiesAndContinues) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string saj = env->service_id("saj");

  // A youth (findable by national number), accompanied by the AMO, with entries.
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Lina");
  create.mutable_youth()->set_date_of_birth("2011-03-14");
  create.mutable_youth()->add_guardians()->set_display_name("Mère de Lina");
  create.set_national_number(kNationalNumber);
  v1::Youth youth;
  ASSERT_TRUE(env->record().CreateYouth(env->As(kAmoCaseworker).get(), create, &youth).ok());
  env->Accompany(youth.id(), kAmoCoordinator, kAmoCaseworker);
  AddEntry(*env, kAmoCaseworker, youth.id(), v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED,
           "Suivi scolaire");
  AddEntry(*env, kAmoCaseworker, youth.id(), v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED,
           "Suivi psychologique");
  AddEntry(*env, kAmoCaseworker, youth.id(), v1::DATA_CATEGORY_FAMILY,
           v1::VISIBILITY_SERVICE_PRIVATE, "Note interne");

  // The youth consents to the SAJ; the AMO hands over to the SAJ, which accepts.
  v1::GrantConsentRequest grant;
  v1::Consent* k = grant.mutable_consent();
  k->set_youth_id(youth.id());
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(saj);
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env->clock().Now() + absl::Hours(24 * 182));
  v1::Consent consent;
  ASSERT_TRUE(env->care().GrantConsent(env->As(kAmoCaseworker).get(), grant, &consent).ok());
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth.id());
  propose.set_to_service_id(saj);
  propose.set_reason("Mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(env->clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env->clock().Now() + absl::Hours(24 * 30));
  v1::Handover handover;
  ASSERT_TRUE(env->care().ProposeHandover(env->As(kAmoCaseworker).get(), propose, &handover).ok());
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(handover.id());
  accept.set_referent_member_id(env->member_id(kSajCaseworker));
  ASSERT_TRUE(env->care().AcceptHandover(env->As(kSajCoordinator).get(), accept, &handover).ok());
  ASSERT_EQ(handover.state(), v1::HANDOVER_STATE_ACCEPTED);

  // What each side sees, and the state of the log, before the restart.
  const std::vector<std::string> amo_sees =
      EntrySummaries(List(*env, env->As(kAmoCaseworker).get(), youth.id()));
  const std::vector<std::string> saj_sees =
      EntrySummaries(List(*env, env->As(kSajCaseworker).get(), youth.id()));
  ASSERT_EQ(amo_sees.size(), 3u);
  ASSERT_EQ(saj_sees.size(), 1u);  // the general entry only
  const std::vector<std::string> consents = ConsentSummaries(*env, youth.id());
  ASSERT_EQ(consents.size(), 1u);
  const v1::Handover handover_before = GetHandover(*env, kSajCoordinator, handover.id());
  const std::string old_token = LoginToken(*env, kAmoCaseworker);
  ASSERT_FALSE(old_token.empty());
  const v1::VerifyLogResponse before = Verify(*env);  // appends its own event after checking
  ASSERT_TRUE(before.ok()) << before.problem();
  ASSERT_GT(before.events_checked(), 10);
  const Counts counts_before = CountAll(env->db_path());
  EXPECT_EQ(counts_before.events, before.events_checked() + 1);

  env = Restart(std::move(env));
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(CountAll(env->db_path()), counts_before) << "starting writes nothing";

  // The same entries, with the same bodies, for each side.
  EXPECT_THAT(EntrySummaries(List(*env, env->As(kAmoCaseworker).get(), youth.id())),
              ElementsAreArray(amo_sees));
  EXPECT_THAT(EntrySummaries(List(*env, env->As(kSajCaseworker).get(), youth.id())),
              ElementsAreArray(saj_sees));
  // The identity reads back, and the national number still finds the record.
  v1::GetYouthRequest get_youth;
  get_youth.set_youth_id(youth.id());
  get_youth.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Youth youth_after;
  ASSERT_TRUE(env->record().GetYouth(env->As(kAmoCaseworker).get(), get_youth, &youth_after).ok());
  EXPECT_EQ(youth_after.display_name(), "Lina");
  EXPECT_EQ(youth_after.date_of_birth(), "2011-03-14");
  ASSERT_EQ(youth_after.guardians_size(), 1);
  EXPECT_EQ(youth_after.guardians(0).display_name(), "Mère de Lina");
  v1::FindYouthRequest find;
  find.set_national_number(kNationalNumber);
  v1::FindYouthResponse found;
  grpc::Status find_status = env->record().FindYouth(env->As(kSajCaseworker).get(), find, &found);
  EXPECT_TRUE(find_status.ok()) << find_status.error_message();
  EXPECT_EQ(found.youth_id(), youth.id());
  // The consent and the handover, in the same state.
  EXPECT_THAT(ConsentSummaries(*env, youth.id()), ElementsAreArray(consents));
  const v1::Handover handover_after = GetHandover(*env, kSajCoordinator, handover.id());
  EXPECT_EQ(handover_after.state(), v1::HANDOVER_STATE_ACCEPTED);
  EXPECT_EQ(handover_after.SerializeAsString(), handover_before.SerializeAsString());

  // A token issued before the restart still verifies (the keys were persisted;
  // the new fake clock starts at the same epoch, so it has not expired).
  auto old_ctx = env->Anonymous(absl::StrCat("Bearer ", old_token));
  EXPECT_EQ(List(*env, old_ctx.get(), youth.id()).entries_size(), 3);

  // The chain verifies and continues from the head it had before the restart.
  const v1::VerifyLogResponse after = Verify(*env);
  EXPECT_TRUE(after.ok()) << after.problem() << " at " << after.first_bad_sequence();
  EXPECT_GE(after.events_checked(), before.events_checked());
  const std::vector<v1::AuditEvent> since = EventsAfter(*env, before.events_checked());
  ASSERT_GE(since.size(), 3u);
  EXPECT_EQ(since[0].sequence(), before.events_checked() + 1);
  EXPECT_EQ(since[0].action(), v1::ACTION_VERIFY_AUDIT);  // the last event before the stop
  EXPECT_EQ(since[0].prev_hash(), before.head_hash());
  for (size_t i = 1; i < since.size(); ++i) {
    EXPECT_EQ(since[i].sequence(), since[i - 1].sequence() + 1);
    EXPECT_EQ(since[i].prev_hash(), since[i - 1].hash()) << "at " << since[i].sequence();
  }

  // New writes after the restart land and verify too.
  const std::string later = AddEntry(*env, kSajCaseworker, youth.id(), v1::DATA_CATEGORY_GENERAL,
                                     v1::VISIBILITY_SHARED, "Premier entretien au SAJ");
  EXPECT_FALSE(later.empty());
  const v1::VerifyLogResponse last = Verify(*env);
  EXPECT_TRUE(last.ok()) << last.problem() << " at " << last.first_bad_sequence();
  EXPECT_GT(last.events_checked(), after.events_checked());
  EXPECT_EQ(CountAll(env->db_path()).entries, counts_before.entries + 1);

  // The file is sound, while served and once stopped.
  const bool sqlite = !storage::testing::OnPostgres();  // PostgreSQL checks its own pages
  if (sqlite) {
    EXPECT_EQ(SqlText(env->db_path(), "PRAGMA integrity_check"), "ok");
  }
  const std::string db = env->db_path();
  env->Stop();
  if (sqlite) {
    EXPECT_EQ(SqlText(db, "PRAGMA integrity_check"), "ok");
  }
}

TEST(Restart, AProposalMadeBeforeARestartIsAcceptedAfterIt) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth);
  propose.set_to_service_id(env->service_id("saj"));
  propose.set_reason("Orientation vers le SAJ");
  *propose.mutable_overlap_start() = common::ToProto(env->clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env->clock().Now() + absl::Hours(24 * 14));
  v1::Handover handover;
  ASSERT_TRUE(env->care().ProposeHandover(env->As(kAmoCaseworker).get(), propose, &handover).ok());

  env = Restart(std::move(env));
  ASSERT_NE(env, nullptr);

  // Repeating the same proposal finds the open one (idempotence survives).
  v1::Handover again;
  ASSERT_TRUE(env->care().ProposeHandover(env->As(kAmoCaseworker).get(), propose, &again).ok());
  EXPECT_EQ(again.id(), handover.id());
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(handover.id());
  accept.set_referent_member_id(env->member_id(kSajCaseworker));
  v1::Handover accepted;
  grpc::Status s = env->care().AcceptHandover(env->As(kSajCoordinator).get(), accept, &accepted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(accepted.state(), v1::HANDOVER_STATE_ACCEPTED);
  // Both services now accompany the youth.
  v1::ListAccompanimentsRequest list;
  list.set_youth_id(youth);
  v1::ListAccompanimentsResponse accs;
  ASSERT_TRUE(env->care().ListAccompaniments(env->As(kSajCaseworker).get(), list, &accs).ok());
  int active = 0;
  for (const auto& a : accs.accompaniments()) active += a.active() ? 1 : 0;
  EXPECT_EQ(active, 2);
  EXPECT_TRUE(Verify(*env).ok());
}

TEST(Restart, AnEventAlteredWhileTheServerWasStoppedIsFoundAfterRestart) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  AddEntry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED, "Note");
  const v1::VerifyLogResponse before = Verify(*env);
  ASSERT_TRUE(before.ok());
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  env->Stop();
  env.reset();

  const int64_t victim = before.events_checked() / 2;
  ASSERT_GT(victim, 0);
  Sql(db,
      absl::StrCat("UPDATE audit_events SET reason_code = 'tampered' WHERE sequence = ", victim));
  EXPECT_EQ(SqlInt(db, "SELECT COUNT(*) FROM audit_events WHERE reason_code = 'tampered'"), 1);

  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  const v1::VerifyLogResponse after = Verify(*env);
  EXPECT_FALSE(after.ok());
  EXPECT_EQ(after.first_bad_sequence(), victim);
  EXPECT_EQ(after.problem(), "hash_mismatch");
}

}  // namespace
}  // namespace relais::testing
