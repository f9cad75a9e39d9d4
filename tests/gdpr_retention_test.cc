// Issue #4 item 6, through gRPC: per-category retention periods counted from
// the end of the youth's last accompaniment, the sweep (dry run, on demand,
// scheduled), legal holds, and what the audit log keeps.

#include <map>
#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr absl::Duration kYear = absl::Hours(24 * 365);

grpc::Status AddEntry(RelaisEnv& env, const std::string& youth, v1::DataCategory category,
                      v1::Entry* out) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SERVICE_PRIVATE);
  req.mutable_entry()->set_body("suivi de la situation");
  return env.record().AddEntry(env.As(kAmoCaseworker).get(), req, out);
}

// Opens an AMO accompaniment; returns its id.
std::string Open(RelaisEnv& env, const std::string& youth) {
  v1::OpenAccompanimentRequest req;
  req.set_youth_id(youth);
  req.set_referent_member_id(env.member_id(kAmoCaseworker));
  req.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment acc;
  grpc::Status s = env.care().OpenAccompaniment(env.As(kAmoCoordinator).get(), req, &acc);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return acc.id();
}

void End(RelaisEnv& env, const std::string& accompaniment) {
  v1::EndAccompanimentRequest req;
  req.set_accompaniment_id(accompaniment);
  v1::Accompaniment acc;
  grpc::Status s = env.care().EndAccompaniment(env.As(kAmoCoordinator).get(), req, &acc);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

grpc::Status Sweep(RelaisEnv& env, absl::string_view login, bool dry_run,
                   v1::SweepRetentionResponse* out) {
  v1::SweepRetentionRequest req;
  req.set_dry_run(dry_run);
  return env.record().SweepRetention(env.As(login).get(), req, out);
}

v1::SweepRetentionResponse SweepOk(RelaisEnv& env, bool dry_run) {
  v1::SweepRetentionResponse resp;
  grpc::Status s = Sweep(env, kAdmin, dry_run, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.dry_run(), dry_run);
  return resp;
}

// youth id -> "whole" or "CATEGORY=count,...", plus ":skip=<reason>".
std::map<std::string, std::string> Summary(const v1::SweepRetentionResponse& r) {
  std::map<std::string, std::string> out;
  for (const v1::RetentionItem& item : r.items()) {
    std::string s = item.whole_youth() ? "whole" : "";
    for (const v1::RetentionCategoryCount& c : item.entries()) {
      if (item.whole_youth()) continue;
      if (!s.empty()) s += ",";
      s += absl::StrCat(v1::DataCategory_Name(c.category()), "=", c.count());
    }
    if (!item.skipped_reason().empty()) s += ":skip=" + item.skipped_reason();
    out[item.youth_id()] = s;
  }
  return out;
}

int64_t ErasedEntries(RelaisEnv& env) {
  return SqlInt(env.db_path(),
                "SELECT COUNT(*) FROM rec_entries WHERE erased_at_us IS NOT NULL "
                "AND length(body) = 0");
}

int64_t ErasedYouths(RelaisEnv& env) {
  return SqlInt(env.db_path(), "SELECT COUNT(*) FROM rec_youth WHERE erased = 1");
}

std::vector<v1::AuditEvent> Events(RelaisEnv& env, const std::string& youth,
                                   const std::string& actor = "") {
  std::vector<v1::AuditEvent> all;
  std::string token;
  do {
    v1::QueryEventsRequest req;
    req.set_youth_id(youth);
    req.set_actor_member_id(actor);
    req.set_page_size(200);
    req.set_page_token(token);
    v1::QueryEventsResponse resp;
    grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    for (const auto& e : resp.events()) all.push_back(e);
    token = resp.next_page_token();
  } while (!token.empty());
  return all;
}

int CountEvents(const std::vector<v1::AuditEvent>& events, v1::Action action, v1::Decision decision,
                absl::string_view reason_code) {
  int n = 0;
  for (const v1::AuditEvent& e : events) {
    n += e.action() == action && e.decision() == decision && e.reason_code() == reason_code;
  }
  return n;
}

void ExpectChainVerifies(RelaisEnv& env) {
  v1::VerifyLogResponse verify;
  ASSERT_TRUE(env.audit().VerifyLog(env.As(kAuditor).get(), v1::VerifyLogRequest(), &verify).ok());
  EXPECT_TRUE(verify.ok());
}

grpc::Status GetYouth(RelaisEnv& env, const std::string& youth) {
  v1::GetYouthRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Youth y;
  return env.record().GetYouth(env.As(kAmoCaseworker).get(), req, &y);
}

TEST(GdprRetention, CategoriesFallDueThenTheWholeYouth) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  // Closed: accompanied, four entries, accompaniment ended now.
  const std::string closed = env->CreateYouth(15);
  const std::string acc = Open(*env, closed);
  std::map<v1::DataCategory, std::string> entry;
  for (v1::DataCategory c : {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION,
                             v1::DATA_CATEGORY_HEALTH, v1::DATA_CATEGORY_JUDICIAL}) {
    v1::Entry e;
    ASSERT_TRUE(AddEntry(*env, closed, c, &e).ok());
    entry[c] = e.id();
  }
  v1::Entry second_general;
  ASSERT_TRUE(AddEntry(*env, closed, v1::DATA_CATEGORY_GENERAL, &second_general).ok());
  End(*env, acc);
  // Still accompanied: never swept, however long.
  const std::string active = env->CreateYouth(14);
  Open(*env, active);
  v1::Entry active_entry;
  ASSERT_TRUE(AddEntry(*env, active, v1::DATA_CATEGORY_GENERAL, &active_entry).ok());
  // Never accompanied: its clock starts when the record was created.
  const std::string never = env->CreateYouth(16);

  // Before the shortest period (5 years by default): nothing.
  env->clock().Advance(5 * kYear - absl::Hours(24));
  EXPECT_TRUE(SweepOk(*env, /*dry_run=*/true).items().empty());
  EXPECT_TRUE(SweepOk(*env, /*dry_run=*/false).items().empty());

  // After it: the ordinary categories of the closed youth, and only them.
  env->clock().Advance(absl::Hours(48));
  const v1::SweepRetentionResponse dry = SweepOk(*env, /*dry_run=*/true);
  const std::map<std::string, std::string> expected = {
      {closed, "DATA_CATEGORY_GENERAL=2,DATA_CATEGORY_EDUCATION=1"}};
  EXPECT_EQ(Summary(dry), expected);
  EXPECT_EQ(dry.entries_erased(), 3);
  EXPECT_EQ(dry.youths_erased(), 0);
  ASSERT_EQ(dry.items_size(), 1);
  EXPECT_EQ(common::FromProto(dry.items(0).due_since()),
            common::FromProto(dry.items(0).clock_start()) + 5 * kYear);
  EXPECT_EQ(ErasedEntries(*env), 0) << "a dry run erases nothing";

  const v1::SweepRetentionResponse real = SweepOk(*env, /*dry_run=*/false);
  EXPECT_EQ(Summary(real), expected) << "the real run erases what the dry run listed";
  EXPECT_EQ(real.entries_erased(), 3);
  EXPECT_EQ(ErasedEntries(*env), 3);
  for (v1::DataCategory kept : {v1::DATA_CATEGORY_HEALTH, v1::DATA_CATEGORY_JUDICIAL}) {
    EXPECT_EQ(
        SqlInt(env->db_path(), absl::StrCat("SELECT length(body) > 0 AND erased_at_us IS NULL FROM "
                                            "rec_entries WHERE id = '",
                                            entry[kept], "'")),
        1);
  }
  // The tombstone keeps id, category and dates.
  EXPECT_EQ(SqlInt(env->db_path(),
                   absl::StrCat("SELECT category FROM rec_entries WHERE id = '",
                                entry[v1::DATA_CATEGORY_GENERAL], "' AND created_at_us > 0")),
            v1::DATA_CATEGORY_GENERAL);
  // Idempotent: a second run erases nothing more.
  const v1::SweepRetentionResponse again = SweepOk(*env, /*dry_run=*/false);
  EXPECT_TRUE(again.items().empty());
  EXPECT_EQ(ErasedEntries(*env), 3);

  // One erase event per entry, by the server, coded retention_due.
  std::vector<v1::AuditEvent> events = Events(*env, closed);
  EXPECT_EQ(CountEvents(events, v1::ACTION_RETENTION_ERASE, v1::DECISION_ALLOW, "retention_due"),
            3);
  for (const v1::AuditEvent& e : events) {
    if (e.action() != v1::ACTION_RETENTION_ERASE) continue;
    EXPECT_EQ(e.actor_member_id(), "relaisd");
    EXPECT_THAT(e.entry_id(),
                ::testing::AnyOf(entry[v1::DATA_CATEGORY_GENERAL],
                                 entry[v1::DATA_CATEGORY_EDUCATION], second_general.id()));
  }
  std::vector<v1::AuditEvent> sweeps = Events(*env, "", env->member_id(kAdmin));
  EXPECT_EQ(CountEvents(sweeps, v1::ACTION_RETENTION_SWEEP, v1::DECISION_ALLOW, "dry_run"), 2);
  EXPECT_EQ(CountEvents(sweeps, v1::ACTION_RETENTION_SWEEP, v1::DECISION_ALLOW, "allowed"), 3);

  // After the longest period (10 years): the closed youth and the one never
  // accompanied are erased whole, as by EraseYouth; the active one is not.
  env->clock().Advance(5 * kYear);
  const v1::SweepRetentionResponse whole = SweepOk(*env, /*dry_run=*/false);
  EXPECT_EQ(Summary(whole),
            (std::map<std::string, std::string>{{closed, "whole"}, {never, "whole"}}));
  EXPECT_EQ(whole.youths_erased(), 2);
  for (const std::string& y : {closed, never}) {
    grpc::Status s = GetYouth(*env, y);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(ReasonCode(s), "erased");
  }
  EXPECT_EQ(SqlInt(env->db_path(), absl::StrCat("SELECT COUNT(*) FROM rec_gdpr_changes WHERE "
                                                "kind = 'erase' AND member_id = 'relaisd' AND "
                                                "youth_id = '",
                                                closed, "'")),
            1);
  EXPECT_EQ(SqlInt(env->db_path(), absl::StrCat("SELECT COUNT(*) FROM rec_data_keys WHERE "
                                                "youth_id = '",
                                                closed,
                                                "' AND wrapped_key IS NULL "
                                                "AND destroyed_at_us IS NOT NULL")),
            1);
  EXPECT_TRUE(GetYouth(*env, active).ok());
  v1::Entry still;
  v1::GetEntryRequest get;
  get.set_entry_id(active_entry.id());
  get.set_purpose(v1::PURPOSE_COORDINATION);
  EXPECT_TRUE(env->record().GetEntry(env->As(kAmoCaseworker).get(), get, &still).ok());
  EXPECT_EQ(CountEvents(Events(*env, never), v1::ACTION_RETENTION_ERASE, v1::DECISION_ALLOW,
                        "retention_due"),
            1);
  EXPECT_TRUE(SweepOk(*env, /*dry_run=*/false).items().empty());
  ExpectChainVerifies(*env);
}

TEST(GdprRetention, AReturningYouthSeesOnlyWhatIsKept) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  const std::string acc = Open(*env, youth);
  v1::Entry general, health;
  ASSERT_TRUE(AddEntry(*env, youth, v1::DATA_CATEGORY_GENERAL, &general).ok());
  ASSERT_TRUE(AddEntry(*env, youth, v1::DATA_CATEGORY_HEALTH, &health).ok());
  End(*env, acc);
  env->clock().Advance(6 * kYear);
  EXPECT_EQ(SweepOk(*env, /*dry_run=*/false).entries_erased(), 1);

  // The youth comes back: the service sees the health entry, and the general
  // one only as counted erased.
  Open(*env, youth);
  v1::ListEntriesRequest list;
  list.set_youth_id(youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse listed;
  ASSERT_TRUE(env->record().ListEntries(env->As(kAmoCaseworker).get(), list, &listed).ok());
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).id(), health.id());
  EXPECT_EQ(listed.entries(0).body(), "suivi de la situation");
  ASSERT_EQ(listed.withheld_size(), 1);
  EXPECT_EQ(listed.withheld(0).reason_code(), "record_erased");
  EXPECT_EQ(listed.withheld(0).count(), 1);
  v1::GetEntryRequest get;
  get.set_entry_id(general.id());
  get.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry out;
  grpc::Status s = env->record().GetEntry(env->As(kAmoCaseworker).get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(s), "erased");
  EXPECT_EQ(CountEvents(Events(*env, youth), v1::ACTION_READ_ENTRY, v1::DECISION_DENY, "erased"),
            1);
  // The youth's export (art. 15/20) shows the erased entry as a tombstone
  // (exported by the accompanying AMO's coordinator: an admin's export holds
  // metadata only).
  v1::ExportYouthRequest export_req;
  export_req.set_youth_id(youth);
  auto export_ctx = env->As(kAmoCoordinator);
  auto reader = env->record().ExportYouth(export_ctx.get(), export_req);
  std::map<std::string, v1::ExportedEntry> exported;
  v1::ExportYouthItem item;
  while (reader->Read(&item)) {
    if (item.has_entry()) exported[item.entry().entry().id()] = item.entry();
  }
  grpc::Status finished = reader->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_TRUE(exported[general.id()].withheld());
  EXPECT_EQ(exported[general.id()].withheld_reason(), "record_erased");
  EXPECT_TRUE(exported[general.id()].entry().body().empty());
  EXPECT_FALSE(exported[health.id()].withheld());
  EXPECT_EQ(exported[health.id()].entry().body(), "suivi de la situation");

  // Accompanied again: nothing more is swept, even past every period.
  env->clock().Advance(20 * kYear);
  EXPECT_TRUE(SweepOk(*env, /*dry_run=*/false).items().empty());
  get.set_entry_id(health.id());
  EXPECT_TRUE(env->record().GetEntry(env->As(kAmoCaseworker).get(), get, &out).ok());
  ExpectChainVerifies(*env);
}

TEST(GdprRetention, LegalHoldAndRestrictionAreSkippedUntilLifted) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string held = env->CreateYouth(15);
  const std::string restricted = env->CreateYouth(15);
  for (const std::string& y : {held, restricted}) {
    const std::string acc = Open(*env, y);
    v1::Entry e;
    ASSERT_TRUE(AddEntry(*env, y, v1::DATA_CATEGORY_GENERAL, &e).ok());
    End(*env, acc);
  }
  v1::RestrictYouthRequest restrict;
  restrict.set_youth_id(restricted);
  restrict.set_reason("le jeune s'oppose à l'effacement");
  v1::RecordState restricted_state;
  ASSERT_TRUE(env->record().RestrictYouth(env->As(kAdmin).get(), restrict, &restricted_state).ok());
  v1::SetLegalHoldRequest hold;
  hold.set_youth_id(held);
  hold.set_reason("réquisition du parquet");
  v1::RecordState state;
  ASSERT_TRUE(env->record().SetLegalHold(env->As(kAdmin).get(), hold, &state).ok());

  env->clock().Advance(11 * kYear);
  const std::map<std::string, std::string> skipped = {{held, "whole:skip=legal_hold"},
                                                      {restricted, "whole:skip=restricted"}};
  EXPECT_EQ(Summary(SweepOk(*env, /*dry_run=*/true)), skipped);
  const v1::SweepRetentionResponse real = SweepOk(*env, /*dry_run=*/false);
  EXPECT_EQ(Summary(real), skipped);
  EXPECT_EQ(real.youths_skipped(), 2);
  EXPECT_EQ(real.youths_erased(), 0);
  EXPECT_EQ(ErasedYouths(*env), 0);
  EXPECT_EQ(ErasedEntries(*env), 0);

  v1::LiftLegalHoldRequest lift;
  lift.set_youth_id(held);
  lift.set_reason("le dossier judiciaire est clôturé");
  ASSERT_TRUE(env->record().LiftLegalHold(env->As(kAdmin).get(), lift, &state).ok());
  EXPECT_EQ(
      Summary(SweepOk(*env, /*dry_run=*/false)),
      (std::map<std::string, std::string>{{held, "whole"}, {restricted, "whole:skip=restricted"}}));
  EXPECT_EQ(ErasedYouths(*env), 1);
  EXPECT_EQ(ReasonCode(GetYouth(*env, held)), "erased");
  ExpectChainVerifies(*env);
}

TEST(GdprRetention, OnlyAnAdminMaySweepAndEveryRefusalIsAudited) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->clock().Advance(11 * kYear);
  for (absl::string_view login : {kAmoCaseworker, kAmoCoordinator, kAuditor}) {
    for (bool dry_run : {true, false}) {
      v1::SweepRetentionResponse resp;
      grpc::Status s = Sweep(*env, login, dry_run, &resp);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << login;
      EXPECT_EQ(ReasonCode(s), "role_not_permitted") << login;
      EXPECT_TRUE(resp.items().empty());
    }
    EXPECT_EQ(CountEvents(Events(*env, "", env->member_id(login)), v1::ACTION_RETENTION_SWEEP,
                          v1::DECISION_DENY, "role_not_permitted"),
              2)
        << login;
  }
  v1::SweepRetentionRequest req;
  v1::SweepRetentionResponse resp;
  grpc::Status s = env->record().SweepRetention(env->Anonymous().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  int anonymous = 0;
  v1::QueryEventsRequest q;
  q.set_decision(v1::DECISION_DENY);
  q.set_page_size(1000);
  v1::QueryEventsResponse denied;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &denied).ok());
  for (const v1::AuditEvent& e : denied.events()) {
    anonymous += e.action() == v1::ACTION_RETENTION_SWEEP && e.actor_member_id().empty();
  }
  EXPECT_EQ(anonymous, 1);
  // Nothing was erased by the refused calls.
  EXPECT_EQ(ErasedYouths(*env), 0);
  EXPECT_EQ(ErasedEntries(*env), 0);
  ExpectChainVerifies(*env);
}

TEST(GdprRetention, RelaisdSweepsOnItsSchedule) {
  record::RetentionPolicy policy = record::RetentionPolicy::Defaults();
  policy.sweep_interval = absl::Milliseconds(50);
  auto env = RelaisEnv::StartWithRetention(policy);
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  const std::string acc = Open(*env, youth);
  v1::Entry e;
  ASSERT_TRUE(AddEntry(*env, youth, v1::DATA_CATEGORY_FAMILY, &e).ok());
  End(*env, acc);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(ErasedEntries(*env), 0);

  env->clock().Advance(10 * kYear + absl::Hours(24));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (ErasedYouths(*env) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(ErasedYouths(*env), 1);
  EXPECT_EQ(ReasonCode(GetYouth(*env, youth)), "erased");
  std::vector<v1::AuditEvent> server = Events(*env, "", "relaisd");
  EXPECT_GE(CountEvents(server, v1::ACTION_RETENTION_SWEEP, v1::DECISION_ALLOW, "scheduled"), 1);
  EXPECT_EQ(CountEvents(server, v1::ACTION_RETENTION_ERASE, v1::DECISION_ALLOW, "retention_due"),
            1);
  ExpectChainVerifies(*env);
}

}  // namespace
}  // namespace relais::testing
