// Storage faults under the real server (issue #6): with the disk full, writes
// or fsync failing, or the database locked longer than the busy timeout, each
// write call -- AddEntry, GrantConsent, WithdrawConsent, AcceptHandover --
// fails with a clear status, leaves no row and no audit event half-written, and
// succeeds once the fault clears. And the audit path fails closed: when the log
// cannot be appended to, a guarded read returns nothing and a guarded write is
// rolled back.

#include <sqlite3.h>

#include <cstdio>
#include <ostream>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "storage/fault_vfs.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using storage::FaultVfs;

// One fault VFS for the whole binary (SQLite's VFS registry is process-wide);
// each test arms and clears it.
FaultVfs& Vfs() {
  static FaultVfs* vfs = [] {
    auto v = FaultVfs::Register("relais-fault-injection");
    EXPECT_TRUE(v.ok()) << v.status();
    return v->release();
  }();
  return *vfs;
}

// Short, so that "locked longer than the timeout" takes little test time.
constexpr absl::Duration kBusyTimeout = absl::Milliseconds(300);

// Runs `sql` on the file through a separate read-only connection (SQLite's
// default VFS, so no injected fault touches it) and returns the first column
// of the first row as text.
std::string SqlScalar(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sql << ": " << sqlite3_errmsg(db);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void SqlExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

int64_t Count(const std::string& path, const std::string& sql) {
  return std::stoll(SqlScalar(path, sql));
}

// What the write calls under test can change, read straight from the file.
struct Snapshot {
  int64_t entries = 0, consents = 0, recipients = 0, withdrawn = 0, accepted = 0,
          accompaniments = 0, events = 0;
  std::string head_hash;
  bool operator==(const Snapshot&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Snapshot& s) {
  return os << "{entries=" << s.entries << " consents=" << s.consents
            << " recipients=" << s.recipients << " withdrawn=" << s.withdrawn
            << " accepted=" << s.accepted << " accompaniments=" << s.accompaniments
            << " events=" << s.events << " head=" << s.head_hash.substr(0, 12) << "}";
}

Snapshot Take(const std::string& path) {
  Snapshot s;
  s.entries = Count(path, "SELECT COUNT(*) FROM rec_entries");
  s.consents = Count(path, "SELECT COUNT(*) FROM care_consents");
  s.recipients = Count(path, "SELECT COUNT(*) FROM care_consent_recipients");
  s.withdrawn = Count(path, "SELECT COUNT(*) FROM care_consents WHERE withdrawn_at_us IS NOT NULL");
  s.accepted = Count(path, absl::StrCat("SELECT COUNT(*) FROM care_handovers WHERE state = ",
                                        v1::HANDOVER_STATE_ACCEPTED));
  s.accompaniments = Count(path, "SELECT COUNT(*) FROM care_accompaniments");
  s.events = Count(path, "SELECT COUNT(*) FROM audit_events");
  s.head_hash = SqlScalar(path, "SELECT hash FROM audit_events ORDER BY sequence DESC LIMIT 1");
  return s;
}

v1::VerifyLogResponse Verify(RelaisEnv& env) {
  v1::VerifyLogResponse resp;
  grpc::Status s = env.audit().VerifyLog(env.As(kAuditor).get(), v1::VerifyLogRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

enum class Call { kAddEntry, kGrantConsent, kWithdrawConsent, kAcceptHandover };

const char* CallName(Call c) {
  switch (c) {
    case Call::kAddEntry:
      return "AddEntry";
    case Call::kGrantConsent:
      return "GrantConsent";
    case Call::kWithdrawConsent:
      return "WithdrawConsent";
    case Call::kAcceptHandover:
      return "AcceptHandover";
  }
  return "?";
}

// A server on the fault VFS with a 15-year-old accompanied by the AMO, one
// entry, a consent to the SAJ and a handover to the SAJ awaiting acceptance:
// everything each call under test needs.
struct World {
  std::unique_ptr<RelaisEnv> env;
  std::string youth, entry, consent, handover;
};

std::string AddEntry(RelaisEnv& env, const std::string& youth, grpc::Status* status,
                     v1::Entry* out = nullptr) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  req.mutable_entry()->set_body("Rendez-vous pris avec l'école");
  v1::Entry entry;
  *status = env.record().AddEntry(env.As(kAmoCaseworker).get(), req, &entry);
  if (out != nullptr) *out = entry;
  return entry.id();
}

grpc::Status GrantConsent(RelaisEnv& env, const std::string& youth, v1::Consent* out) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(env.service_id("saj"));
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 180));
  return env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, out);
}

World Prepare() {
  World w;
  w.env = RelaisEnv::StartOnVfs(Vfs().name(), kBusyTimeout);
  if (w.env == nullptr) return w;
  RelaisEnv& env = *w.env;
  w.youth = env.CreateYouth(15);
  env.Accompany(w.youth, kAmoCoordinator, kAmoCaseworker);
  grpc::Status s;
  w.entry = AddEntry(env, w.youth, &s);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::Consent consent;
  s = GrantConsent(env, w.youth, &consent);
  EXPECT_TRUE(s.ok()) << s.error_message();
  w.consent = consent.id();
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(w.youth);
  propose.set_to_service_id(env.service_id("saj"));
  propose.set_reason("Mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(env.clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  v1::Handover handover;
  s = env.care().ProposeHandover(env.As(kAmoCaseworker).get(), propose, &handover);
  EXPECT_TRUE(s.ok()) << s.error_message();
  w.handover = handover.id();
  return w;
}

// Makes the call under test; `returned_something` tells whether the reply
// carries data (it must not when the call fails).
grpc::Status MakeCall(World& w, Call call, bool* returned_something) {
  RelaisEnv& env = *w.env;
  grpc::Status s;
  switch (call) {
    case Call::kAddEntry: {
      v1::Entry entry;
      AddEntry(env, w.youth, &s, &entry);
      *returned_something = !entry.id().empty() || !entry.body().empty();
      return s;
    }
    case Call::kGrantConsent: {
      v1::Consent k;
      s = GrantConsent(env, w.youth, &k);
      *returned_something = !k.id().empty();
      return s;
    }
    case Call::kWithdrawConsent: {
      v1::WithdrawConsentRequest req;
      req.set_consent_id(w.consent);
      v1::Consent k;
      s = env.care().WithdrawConsent(env.As(kAmoCaseworker).get(), req, &k);
      *returned_something = !k.id().empty();
      return s;
    }
    case Call::kAcceptHandover: {
      v1::AcceptHandoverRequest req;
      req.set_handover_id(w.handover);
      req.set_referent_member_id(env.member_id(kSajCaseworker));
      v1::Handover h;
      s = env.care().AcceptHandover(env.As(kSajCoordinator).get(), req, &h);
      *returned_something = !h.id().empty();
      return s;
    }
  }
  return s;
}

// What a successful call adds.
Snapshot After(Snapshot s, Call call) {
  switch (call) {
    case Call::kAddEntry:
      ++s.entries;
      break;
    case Call::kGrantConsent:
      ++s.consents;
      ++s.recipients;
      break;
    case Call::kWithdrawConsent:
      ++s.withdrawn;
      break;
    case Call::kAcceptHandover:
      ++s.accepted;
      ++s.accompaniments;
      break;
  }
  ++s.events;  // its ALLOW event
  return s;
}

struct FaultKind {
  FaultVfs::Fault fault;
  const char* name;
  // The status of the call when the fault hits only its own transaction (the
  // denial is then audited): the storage error itself.
  grpc::StatusCode one_shot_code;
};

constexpr FaultKind kFaults[] = {
    {FaultVfs::Fault::kDiskFull, "DiskFull", grpc::StatusCode::RESOURCE_EXHAUSTED},
    {FaultVfs::Fault::kWriteError, "WriteError", grpc::StatusCode::UNAVAILABLE},
    {FaultVfs::Fault::kSyncError, "FsyncError", grpc::StatusCode::UNAVAILABLE},
    {FaultVfs::Fault::kLocked, "LockedPastTimeout", grpc::StatusCode::UNAVAILABLE},
};
// Readable test names in ctest ("GetParam() = (DiskFull, AddEntry)").
void PrintTo(const FaultKind& f, std::ostream* os) { *os << f.name; }
void PrintTo(Call c, std::ostream* os) { *os << CallName(c); }

// A lock refused once is simply waited for (LockShorterThanTheTimeoutIsWaitedOut).
constexpr FaultKind kOneShotFaults[] = {kFaults[0], kFaults[1], kFaults[2]};
constexpr Call kCalls[] = {Call::kAddEntry, Call::kGrantConsent, Call::kWithdrawConsent,
                           Call::kAcceptHandover};

class StorageFault : public ::testing::TestWithParam<std::tuple<FaultKind, Call>> {
 protected:
  void TearDown() override { Vfs().Clear(); }
};
class OneShotStorageFault : public StorageFault {};

std::string ParamName(const ::testing::TestParamInfo<std::tuple<FaultKind, Call>>& info) {
  return absl::StrCat(std::get<0>(info.param).name, "During", CallName(std::get<1>(info.param)));
}

// The fault lasts: the call fails, and so does the audit of its failure, so
// the call is refused as "audit_unavailable" (the audit path fails closed)
// and nothing at all is written. Then the fault clears and the same call works.
TEST_P(StorageFault, LastingFaultFailsTheCallWritesNothingAndTheRetrySucceeds) {
  const auto& [fault, call] = GetParam();
  World w = Prepare();
  ASSERT_NE(w.env, nullptr);
  const std::string& path = w.env->db_path();
  const Snapshot before = Take(path);

  Vfs().Inject(fault.fault);
  const int64_t fired = Vfs().faults_fired();
  bool returned_something = true;
  const absl::Time start = absl::Now();
  grpc::Status failed = MakeCall(w, call, &returned_something);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GT(Vfs().faults_fired(), fired) << "the fault never hit";
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_EQ(ReasonCode(failed), "audit_unavailable");
  EXPECT_FALSE(returned_something);
  if (fault.fault == FaultVfs::Fault::kLocked) {
    EXPECT_GE(took, kBusyTimeout);  // waited the busy timeout out, then gave up
  }
  // Nothing half-written: no row, no audit event, the same chain head.
  EXPECT_EQ(Take(path), before);

  Vfs().Clear();
  EXPECT_EQ(Take(path), before);
  grpc::Status retried = MakeCall(w, call, &returned_something);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_TRUE(returned_something);
  const Snapshot after = Take(path);
  Snapshot want = After(before, call);
  want.head_hash = after.head_hash;
  EXPECT_EQ(after, want);
  EXPECT_NE(after.head_hash, before.head_hash);
  v1::VerifyLogResponse verified = Verify(*w.env);
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.events_checked(), after.events);
  std::printf(
      "[fault] %s during %s: %s %s (%.0f ms), rows and audit chain unchanged; "
      "after clearing: OK, chain of %lld events verifies\n",
      fault.name, CallName(call), "UNAVAILABLE", ReasonCode(failed).c_str(),
      absl::ToDoubleMilliseconds(took), static_cast<long long>(verified.events_checked()));
}

// The fault hits the call's own transaction only (a write or fsync fails
// once): the call fails with the storage error's own status, its rows are
// rolled back, and its failure is audited as one DENY event.
TEST_P(OneShotStorageFault, FailsTheCallWithItsStatusAndAuditsTheFailure) {
  const auto& [fault, call] = GetParam();
  World w = Prepare();
  ASSERT_NE(w.env, nullptr);
  const std::string& path = w.env->db_path();
  const Snapshot before = Take(path);

  Vfs().Inject(fault.fault, 1);
  bool returned_something = true;
  grpc::Status failed = MakeCall(w, call, &returned_something);
  EXPECT_EQ(failed.error_code(), fault.one_shot_code) << failed.error_message();
  // A stable reason code a client can act on, never SQLite's wording.
  EXPECT_EQ(ReasonCode(failed),
            fault.fault == FaultVfs::Fault::kDiskFull ? "storage_full" : "storage_io_error");
  EXPECT_FALSE(returned_something);
  const Snapshot during = Take(path);
  Snapshot want = before;
  ++want.events;
  want.head_hash = during.head_hash;
  EXPECT_EQ(during, want);
  EXPECT_EQ(SqlScalar(path, "SELECT decision FROM audit_events ORDER BY sequence DESC LIMIT 1"),
            absl::StrCat(v1::DECISION_DENY));

  grpc::Status retried = MakeCall(w, call, &returned_something);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_TRUE(Verify(*w.env).ok());
  std::printf(
      "[fault] one %s during %s: %s (reason %s), rows unchanged, failure audited\n", fault.name,
      CallName(call),
      failed.error_code() == grpc::StatusCode::UNAVAILABLE ? "UNAVAILABLE" : "RESOURCE_EXHAUSTED",
      ReasonCode(failed).c_str());
}

INSTANTIATE_TEST_SUITE_P(Faults, StorageFault,
                         ::testing::Combine(::testing::ValuesIn(kFaults),
                                            ::testing::ValuesIn(kCalls)),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Faults, OneShotStorageFault,
                         ::testing::Combine(::testing::ValuesIn(kOneShotFaults),
                                            ::testing::ValuesIn(kCalls)),
                         ParamName);

TEST(StorageFault, LockShorterThanTheTimeoutIsWaitedOut) {
  World w = Prepare();
  ASSERT_NE(w.env, nullptr);
  const Snapshot before = Take(w.env->db_path());
  Vfs().Inject(FaultVfs::Fault::kLocked, 3);  // three refused attempts, then free
  bool returned_something = false;
  grpc::Status s = MakeCall(w, Call::kAddEntry, &returned_something);
  Vfs().Clear();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Take(w.env->db_path()).entries, before.entries + 1);
}

// The lock is really held by another connection (say an administrator's
// sqlite3 shell in a write transaction) for longer than the busy timeout.
TEST(StorageFault, WriteLockHeldByAnotherConnectionFailsTheCallUntilReleased) {
  World w = Prepare();
  ASSERT_NE(w.env, nullptr);
  const std::string& path = w.env->db_path();
  const Snapshot before = Take(path);
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  bool returned_something = true;
  grpc::Status failed = MakeCall(w, Call::kAddEntry, &returned_something);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_FALSE(returned_something);
  EXPECT_EQ(Take(path), before);
  ASSERT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  grpc::Status retried = MakeCall(w, Call::kAddEntry, &returned_something);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(Take(path).entries, before.entries + 1);
  EXPECT_TRUE(Verify(*w.env).ok());
}

// --- the audit path fails closed -------------------------------------------

constexpr char kBlockAudit[] =
    "CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;";
constexpr char kUnblockAudit[] = "DROP TRIGGER test_audit_down;";

TEST(AuditFailsClosed, GuardedReadsReturnNothingAndGuardedWritesRollBack) {
  World w = Prepare();
  ASSERT_NE(w.env, nullptr);
  RelaisEnv& env = *w.env;
  const std::string& path = env.db_path();
  SqlExec(path, kBlockAudit);
  const Snapshot before = Take(path);

  v1::GetEntryRequest get;
  get.set_entry_id(w.entry);
  get.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry entry;
  grpc::Status s = env.record().GetEntry(env.As(kAmoCaseworker).get(), get, &entry);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "audit_unavailable");
  EXPECT_TRUE(entry.body().empty());
  EXPECT_TRUE(entry.id().empty());

  v1::ListEntriesRequest list;
  list.set_youth_id(w.youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse listed;
  s = env.record().ListEntries(env.As(kAmoCaseworker).get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(listed.entries_size(), 0);

  for (Call call : kCalls) {
    bool returned_something = true;
    s = MakeCall(w, call, &returned_something);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << CallName(call);
    EXPECT_EQ(ReasonCode(s), "audit_unavailable") << CallName(call);
    EXPECT_FALSE(returned_something) << CallName(call);
  }
  // Every guarded write was rolled back with its missing audit event.
  EXPECT_EQ(Take(path), before);

  SqlExec(path, kUnblockAudit);
  entry.Clear();
  s = env.record().GetEntry(env.As(kAmoCaseworker).get(), get, &entry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(entry.body().empty());
  bool returned_something = false;
  s = MakeCall(w, Call::kAddEntry, &returned_something);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Take(path).entries, before.entries + 1);
  v1::VerifyLogResponse verified = Verify(env);
  EXPECT_TRUE(verified.ok()) << verified.problem();
}

}  // namespace
}  // namespace relais::testing
