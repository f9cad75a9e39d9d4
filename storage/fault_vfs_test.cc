// The fault VFS under storage::Database: each injected fault ends the write
// with its status and leaves nothing half-written; and a seeded power loss at
// any point loses no acknowledged transaction and corrupts nothing.
//
// RELAIS_LONG_TESTS=1 runs 1000 drop-all crash points (instead of 50) and 300
// reordered-writeback ones (instead of 20). RELAIS_FAULT_SEED picks another
// first seed (the default is fixed, so a CI failure reproduces).

#include "storage/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "tests/long_tests.h"

namespace relais::storage {
namespace {

using ::relais::testing::LongTests;

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix);
  }
}

std::string FreshPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  std::string path = absl::StrCat(::testing::TempDir(), "/fault_vfs_", name, "_", ::getpid(), "_",
                                  counter++, ".db");
  RemoveDatabase(path);
  return path;
}

uint64_t FirstSeed() {
  uint64_t seed = 20260611;
  const char* v = std::getenv("RELAIS_FAULT_SEED");
  if (v != nullptr && !absl::SimpleAtoi(v, &seed)) ADD_FAILURE() << "bad RELAIS_FAULT_SEED " << v;
  return seed;
}

// One VFS for the whole binary (SQLite's registry is process-wide).
FaultVfs& Vfs() {
  static FaultVfs* vfs = [] {
    auto v = FaultVfs::Register("relais-fault-test");
    EXPECT_TRUE(v.ok()) << v.status();
    return v->release();
  }();
  return *vfs;
}

std::unique_ptr<Database> OpenOnVfs(const std::string& path,
                                    absl::Duration busy_timeout = absl::Seconds(5)) {
  auto db = Database::Open({.path = path, .busy_timeout = busy_timeout, .vfs = Vfs().name()});
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

absl::StatusOr<int64_t> Scalar(const Database& db, absl::string_view sql) {
  int64_t n = -1;
  RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(sql));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) n = s.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return n;
}

absl::Status InsertNote(Database& db, absl::string_view body) {
  return db.Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
    s.Bind(1, body);
    RETURN_IF_ERROR(s.Run());
    // A second table in the same transaction: both or neither.
    ASSIGN_OR_RETURN(Statement t, c.Prepare("UPDATE note_count SET n = n + 1"));
    return t.Run();
  });
}

const std::vector<Migration> kNotes = {
    {1,
     "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
     "CREATE TABLE note_count(n INTEGER NOT NULL); INSERT INTO note_count VALUES (0);"}};

struct FaultCase {
  FaultVfs::Fault fault;
  absl::StatusCode code;
  const char* name;
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }

class FaultVfsFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultVfsFault, FailsTheWriteWithItsStatusLeavesNothingAndRecovers) {
  const FaultCase& param = GetParam();
  const std::string path = FreshPath(param.name);
  auto db = OpenOnVfs(path, absl::Milliseconds(200));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  ASSERT_TRUE(InsertNote(*db, "before").ok());

  Vfs().Inject(param.fault);
  const int64_t fired_before = Vfs().faults_fired();
  const absl::Time start = absl::Now();
  absl::Status failed = InsertNote(*db, "during");
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(failed.code(), param.code) << failed;
  EXPECT_GT(Vfs().faults_fired(), fired_before);
  if (param.fault == FaultVfs::Fault::kLocked) {
    // Locked longer than the busy timeout: SQLite waited it out, then gave up.
    EXPECT_GE(waited, absl::Milliseconds(150));
  }
  // Reads still work, and see neither half of the failed transaction.
  EXPECT_EQ(*Scalar(*db, "SELECT COUNT(*) FROM notes"), 1);
  EXPECT_EQ(*Scalar(*db, "SELECT n FROM note_count"), 1);

  Vfs().Clear();
  ASSERT_TRUE(InsertNote(*db, "after").ok());
  EXPECT_EQ(*Scalar(*db, "SELECT COUNT(*) FROM notes"), 2);
  EXPECT_EQ(*Scalar(*db, "SELECT n FROM note_count"), 2);
  db.reset();

  // What is on disk agrees, and is sound.
  auto reopened = Database::Open({.path = path});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*Scalar(**reopened, "SELECT COUNT(*) FROM notes WHERE body = 'during'"), 0);
  EXPECT_EQ(*Scalar(**reopened, "SELECT COUNT(*) FROM notes"), 2);
  EXPECT_EQ(*Scalar(**reopened,
                    "SELECT COUNT(*) FROM pragma_integrity_check "
                    "WHERE integrity_check <> 'ok'"),
            0);
  reopened->reset();
  RemoveDatabase(path);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FaultVfsFault,
    ::testing::Values(
        FaultCase{FaultVfs::Fault::kDiskFull, absl::StatusCode::kResourceExhausted, "disk_full"},
        FaultCase{FaultVfs::Fault::kWriteError, absl::StatusCode::kUnavailable, "write_error"},
        FaultCase{FaultVfs::Fault::kSyncError, absl::StatusCode::kUnavailable, "fsync_error"},
        FaultCase{FaultVfs::Fault::kLocked, absl::StatusCode::kUnavailable, "locked"}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return std::string(info.param.name); });

// Group commit (database.h): a COMMIT whose fsync fails fails every call of
// the group, and none of their writes is there afterwards.
TEST(FaultVfs, AFailedGroupCommitFailsEveryCallOfTheGroup) {
  const std::string path = FreshPath("group_commit");
  auto db = OpenOnVfs(path);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  ASSERT_TRUE(InsertNote(*db, "before").ok());
  constexpr int kGroup = 4;
  std::atomic<bool> running{false};
  // Holds the writer (writing nothing, so its commit needs no fsync) until
  // the group has queued, then arms the fault for the group's commit.
  std::thread blocker([&] {
    EXPECT_TRUE(db->Write([&](Connection&) {
                    running = true;
                    while (db->queued_writes() < kGroup) std::this_thread::yield();
                    Vfs().Inject(FaultVfs::Fault::kSyncError);
                    return absl::OkStatus();
                  }).ok());
  });
  while (!running) std::this_thread::yield();
  const int64_t transactions = db->write_stats().transactions;
  std::vector<absl::Status> statuses(kGroup);
  std::vector<std::thread> group;
  for (int i = 0; i < kGroup; ++i) {
    group.emplace_back([&, i] { statuses[i] = InsertNote(*db, absl::StrCat("during ", i)); });
  }
  blocker.join();
  for (auto& t : group) t.join();
  Vfs().Clear();
  EXPECT_EQ(db->write_stats().transactions - transactions, 1);  // one group
  for (const absl::Status& s : statuses) EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(*Scalar(*db, "SELECT COUNT(*) FROM notes"), 1);
  EXPECT_EQ(*Scalar(*db, "SELECT n FROM note_count"), 1);
  // The writer recovers, and a reopened file holds the same.
  ASSERT_TRUE(InsertNote(*db, "after").ok());
  db.reset();
  db = OpenOnVfs(path);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*Scalar(*db, "SELECT COUNT(*) FROM notes"), 2);
  EXPECT_EQ(*Scalar(*db, "SELECT n FROM note_count"), 2);
}

TEST(FaultVfs, OpensThroughTheNamedVfsOnlyAndRefusesAnUnknownOne) {
  const std::string path = FreshPath("named");
  auto unknown = Database::Open({.path = path, .vfs = "no-such-vfs"});
  EXPECT_FALSE(unknown.ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  const int before = Vfs().open_files();
  auto db = OpenOnVfs(path);
  ASSERT_NE(db, nullptr);
  EXPECT_GT(Vfs().open_files(), before);  // the writer and readers, and the WAL
  db.reset();
  EXPECT_EQ(Vfs().open_files(), before);
  RemoveDatabase(path);
}

TEST(FaultVfs, AOneShotFaultFailsOneWriteOnly) {
  const std::string path = FreshPath("one_shot");
  auto db = OpenOnVfs(path);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  Vfs().Inject(FaultVfs::Fault::kDiskFull, 1);
  EXPECT_EQ(InsertNote(*db, "a").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(InsertNote(*db, "b").ok());
  Vfs().Clear();
  EXPECT_EQ(*Scalar(*db, "SELECT COUNT(*) FROM notes"), 1);
  db.reset();
  RemoveDatabase(path);
}

// Rows written without any sync vanish with the power; synced ones stay. The
// test that would pass with the simulation deleted is the one below it, so
// this one checks the simulation itself.
TEST(FaultVfs, PowerLossDropsWhatWasNotSynced) {
  const std::string path = FreshPath("unsynced");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            Vfs().name().c_str()),
            SQLITE_OK);
  auto exec = [&](const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(raw, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc;
  };
  ASSERT_EQ(exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE t(x); INSERT INTO t VALUES ('synced');"),
            SQLITE_OK);
  Vfs().TrackUnsyncedWrites(true);
  ASSERT_EQ(exec("PRAGMA synchronous=OFF; INSERT INTO t VALUES ('cached'); "
                 "INSERT INTO t VALUES ('cached too');"),
            SQLITE_OK);
  Vfs().CrashNow();
  EXPECT_NE(exec("INSERT INTO t VALUES ('after the crash')"), SQLITE_OK);
  sqlite3_close_v2(raw);
  absl::StatusOr<FaultVfs::CrashReport> report = Vfs().RestoreAfterCrash();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->writes_dropped, 2);
  Vfs().TrackUnsyncedWrites(false);

  auto db = Database::Open({.path = path});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*Scalar(**db, "SELECT COUNT(*) FROM t"), 1);
  EXPECT_EQ(*Scalar(**db,
                    "SELECT COUNT(*) FROM pragma_integrity_check "
                    "WHERE integrity_check <> 'ok'"),
            0);
  db->reset();
  RemoveDatabase(path);
}

TEST(FaultVfs, RestoreRefusesWhileFilesAreOpen) {
  const std::string path = FreshPath("open_files");
  auto db = OpenOnVfs(path);
  ASSERT_NE(db, nullptr);
  Vfs().TrackUnsyncedWrites(true);
  Vfs().CrashNow();
  EXPECT_EQ(Vfs().RestoreAfterCrash().status().code(), absl::StatusCode::kFailedPrecondition);
  db.reset();
  EXPECT_TRUE(Vfs().RestoreAfterCrash().ok());
  Vfs().TrackUnsyncedWrites(false);
  RemoveDatabase(path);
}

// --- seeded power loss ------------------------------------------------------

constexpr int kTransactions = 24;

const std::vector<Migration> kLedger = {
    {1,
     "CREATE TABLE txn(id INTEGER PRIMARY KEY, items INTEGER NOT NULL);"
     "CREATE TABLE item(txn INTEGER NOT NULL, k INTEGER NOT NULL, payload BLOB NOT NULL,"
     " PRIMARY KEY (txn, k));"
     "CREATE INDEX item_by_size ON item(length(payload));"
     "CREATE TABLE counter(n INTEGER NOT NULL); INSERT INTO counter VALUES (0);"
     "CREATE TABLE scratch(b BLOB);"}};

int ItemsOf(int txn) { return 1 + txn % 4; }

// Sizes depend on (txn, k) only, so every seed makes the same number of VFS
// operations; contents depend on the seed too.
std::string Payload(uint64_t seed, int txn, int k) {
  const size_t size = 40 + static_cast<size_t>((txn * 7919 + k * 104729) % 5000);
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(txn) * 131 + k);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

absl::Status WriteTransaction(Database& db, uint64_t seed, int txn) {
  return db.Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement t, c.Prepare("INSERT INTO txn(id, items) VALUES (?1, ?2)"));
    t.Bind(1, int64_t{txn}).Bind(2, int64_t{ItemsOf(txn)});
    RETURN_IF_ERROR(t.Run());
    ASSIGN_OR_RETURN(Statement i, c.Prepare("INSERT INTO item(txn, k, payload) VALUES (?1,?2,?3)"));
    for (int k = 0; k < ItemsOf(txn); ++k) {
      i.Reset();
      i.Bind(1, int64_t{txn}).Bind(2, int64_t{k}).BindBlob(3, Payload(seed, txn, k));
      RETURN_IF_ERROR(i.Run());
    }
    // A hot page rewritten by every transaction, and pages freed and reused.
    RETURN_IF_ERROR(c.Exec("UPDATE counter SET n = n + 1"));
    RETURN_IF_ERROR(c.Exec("DELETE FROM scratch"));
    return c.Exec("INSERT INTO scratch VALUES (zeroblob(3000))");
  });
}

struct RunResult {
  std::vector<int> acknowledged;  // transactions whose Write() returned OK
  int attempted = 0;
  bool crashed = false;
};

// Creates the ledger (durably), then, with the crash armed at `crash_at`
// (0: never), runs the transactions and closes the database.
RunResult RunLedger(const std::string& path, uint64_t seed, int64_t crash_at) {
  RunResult result;
  auto db = OpenOnVfs(path);
  if (db == nullptr) return result;
  EXPECT_TRUE(db->Migrate("ledger", kLedger).ok());
  // Small WAL: checkpoints (database-file writes and syncs) happen mid-run too.
  EXPECT_TRUE(db->Write([](Connection& c) { return c.Exec("PRAGMA wal_autocheckpoint=6"); }).ok());
  Vfs().TrackUnsyncedWrites(true);
  Vfs().ArmCrash(crash_at);
  for (int txn = 1; txn <= kTransactions; ++txn) {
    ++result.attempted;
    if (WriteTransaction(*db, seed, txn).ok()) result.acknowledged.push_back(txn);
    if (Vfs().crashed()) break;  // the process is dead: nobody issues more
  }
  db.reset();  // its close-time checkpoint happens (or fails) here
  result.crashed = Vfs().crashed();
  return result;
}

struct Totals {
  int points = 0;
  int crashed = 0;
  int64_t attempted = 0;
  int64_t acknowledged = 0;
  int64_t present = 0;
  int64_t present_unacknowledged = 0;
  int64_t lost = 0;
  int64_t corrupt = 0;
  int64_t writes_dropped = 0;
  int64_t bytes_dropped = 0;
  int64_t writes_kept = 0;
};

// Reopens `path` through the default VFS (as a restarted relaisd would) and
// checks it against what was acknowledged.
void CheckAfterCrash(const std::string& path, uint64_t seed, const RunResult& run, Totals& t) {
  auto db = Database::Open({.path = path});
  ASSERT_TRUE(db.ok()) << "seed " << seed << ": " << db.status();
  std::vector<std::string> problems;
  ASSERT_TRUE(
      (*db)
          ->Read([&](Connection& c) -> absl::Status {
            ASSIGN_OR_RETURN(Statement ic, c.Prepare("PRAGMA integrity_check"));
            while (true) {
              ASSIGN_OR_RETURN(bool row, ic.Step());
              if (!row) break;
              if (ic.ColumnText(0) != "ok") problems.push_back("integrity: " + ic.ColumnText(0));
            }
            std::set<int> present;
            ASSIGN_OR_RETURN(Statement txns, c.Prepare("SELECT id, items FROM txn ORDER BY id"));
            ASSIGN_OR_RETURN(Statement items,
                             c.Prepare("SELECT k, payload FROM item WHERE txn = ?1 ORDER BY k"));
            while (true) {
              ASSIGN_OR_RETURN(bool row, txns.Step());
              if (!row) break;
              const int id = static_cast<int>(txns.ColumnInt64(0));
              present.insert(id);
              items.Reset();
              items.Bind(1, int64_t{id});
              int k = 0;
              while (true) {
                ASSIGN_OR_RETURN(bool item, items.Step());
                if (!item) break;
                if (items.ColumnInt64(0) != k || items.ColumnBlob(1) != Payload(seed, id, k)) {
                  problems.push_back(absl::StrCat("txn ", id, " item ", k, " altered"));
                }
                ++k;
              }
              if (k != txns.ColumnInt64(1)) {
                problems.push_back(absl::StrCat("txn ", id, " half there: ", k, " items"));
              }
            }
            ASSIGN_OR_RETURN(Statement counter, c.Prepare("SELECT n FROM counter"));
            ASSIGN_OR_RETURN(bool row, counter.Step());
            if (!row || counter.ColumnInt64(0) != static_cast<int64_t>(present.size())) {
              problems.push_back("counter disagrees with the transactions present");
            }
            // Transactions are serial: what survives is a prefix 1..m.
            int expect = 1;
            for (int id : present) {
              if (id != expect++ || id > run.attempted) {
                problems.push_back(absl::StrCat("txn ", id, " present out of order"));
              }
            }
            for (int id : run.acknowledged) {
              if (present.count(id) == 0) {
                ++t.lost;
                problems.push_back(absl::StrCat("acknowledged txn ", id, " lost"));
              }
            }
            t.present += static_cast<int64_t>(present.size());
            t.present_unacknowledged += static_cast<int64_t>(present.size()) -
                                        static_cast<int64_t>(run.acknowledged.size());
            return absl::OkStatus();
          })
          .ok());
  if (!problems.empty()) ++t.corrupt;
  for (const std::string& p : problems) ADD_FAILURE() << "seed " << seed << ": " << p;
}

void RunCrashPoints(int points, double keep_probability, absl::string_view label) {
  // Dry run: how many mutating operations the workload makes, close included.
  const std::string dry = FreshPath("dry");
  RunResult full = RunLedger(dry, 0, 0);
  const int64_t total_ops = Vfs().operations();
  Vfs().TrackUnsyncedWrites(false);
  RemoveDatabase(dry);
  ASSERT_EQ(static_cast<int>(full.acknowledged.size()), kTransactions);
  ASSERT_GT(total_ops, kTransactions);

  Totals t;
  const uint64_t first_seed = FirstSeed();
  const absl::Time start = absl::Now();
  for (int i = 0; i < points; ++i) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(i);
    std::mt19937_64 rng(seed);
    const int64_t crash_at = std::uniform_int_distribution<int64_t>(1, total_ops)(rng);
    const std::string path = FreshPath("crash");
    RunResult run = RunLedger(path, seed, crash_at);
    ++t.points;
    t.attempted += run.attempted;
    t.acknowledged += static_cast<int64_t>(run.acknowledged.size());
    if (run.crashed) {
      ++t.crashed;
      absl::StatusOr<FaultVfs::CrashReport> report =
          Vfs().RestoreAfterCrash(seed, keep_probability);
      ASSERT_TRUE(report.ok()) << report.status();
      t.writes_dropped += report->writes_dropped;
      t.bytes_dropped += report->bytes_dropped;
      t.writes_kept += report->writes_kept;
    }
    Vfs().TrackUnsyncedWrites(false);
    CheckAfterCrash(path, seed, run, t);
    RemoveDatabase(path);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::printf(
      "[power loss, %s] %d crash points (seeds %llu..%llu, %lld VFS operations per run), "
      "%d crashed; transactions: %lld attempted, %lld acknowledged, %lld present after "
      "reopen (%lld committed but unacknowledged); lost acknowledged: %lld; corrupt or "
      "half-written databases: %lld; unsynced writes dropped: %lld (%lld bytes), kept: %lld; "
      "%.1f s\n",
      std::string(label).c_str(), t.points, static_cast<unsigned long long>(first_seed),
      static_cast<unsigned long long>(first_seed + points - 1), static_cast<long long>(total_ops),
      t.crashed, static_cast<long long>(t.attempted), static_cast<long long>(t.acknowledged),
      static_cast<long long>(t.present), static_cast<long long>(t.present_unacknowledged),
      static_cast<long long>(t.lost), static_cast<long long>(t.corrupt),
      static_cast<long long>(t.writes_dropped), static_cast<long long>(t.bytes_dropped),
      static_cast<long long>(t.writes_kept), absl::ToDoubleSeconds(absl::Now() - start));
  std::fflush(stdout);
  EXPECT_EQ(t.lost, 0);
  EXPECT_EQ(t.corrupt, 0);
  // Every chosen point lies within the workload, so every run crashed, and
  // the simulation did drop writes (a no-op simulation would prove nothing).
  EXPECT_EQ(t.crashed, t.points);
  EXPECT_GT(t.writes_dropped, 0);
}

TEST(PowerLoss, NoAcknowledgedTransactionIsLostWhenUnsyncedWritesAreDropped) {
  RunCrashPoints(LongTests() ? 1000 : 50, /*keep_probability=*/0, "drop all unsynced");
}

// A disk cache may also have written back some unsynced pages, in any order.
TEST(PowerLoss, NoAcknowledgedTransactionIsLostWhenSomeUnsyncedWritesSurvive) {
  RunCrashPoints(LongTests() ? 300 : 20, /*keep_probability=*/0.5, "keep a random half");
}

}  // namespace
}  // namespace relais::storage
