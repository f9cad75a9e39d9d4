#include "storage/database.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace relais::storage {
namespace {

std::string FreshPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/storage_" + std::string(name) + "_" +
                     std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".db";
  std::filesystem::remove(path);
  return path;
}

std::unique_ptr<Database> OpenOrDie(const std::string& path) {
  auto db = Database::Open({.path = path});
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

absl::StatusOr<int64_t> CountRows(Database& db, absl::string_view table_sql) {
  int64_t n = -1;
  RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(table_sql));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) n = s.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return n;
}

const std::vector<Migration> kNotes = {
    {1, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)"},
    {2, "ALTER TABLE notes ADD COLUMN tag TEXT"},
};

TEST(Database, OpensInWalModeWithFullSync) {
  auto db = OpenOrDie(FreshPath("wal"));
  std::string mode;
  int64_t sync = -1;
  ASSERT_TRUE(db->Read([&](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s, c.Prepare("PRAGMA journal_mode"));
                  ASSIGN_OR_RETURN(bool row, s.Step());
                  if (row) mode = s.ColumnText(0);
                  ASSIGN_OR_RETURN(Statement t, c.Prepare("PRAGMA synchronous"));
                  ASSIGN_OR_RETURN(row, t.Step());
                  if (row) sync = t.ColumnInt64(0);
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(sync, 2);  // FULL
}

TEST(Database, MigrationsApplyOnceAndAreRecorded) {
  const std::string path = FreshPath("migrate");
  {
    auto db = OpenOrDie(path);
    ASSERT_TRUE(db->Migrate("notes", {kNotes[0]}).ok());
    EXPECT_EQ(*db->SchemaVersion("notes"), 1);
  }
  auto db = OpenOrDie(path);
  // Re-running applies only the new step; the ALTER would fail if re-run.
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  EXPECT_EQ(*db->SchemaVersion("notes"), 2);
  EXPECT_EQ(*db->SchemaVersion("other"), 0);
}

TEST(Database, MisnumberedMigrationsAreRefused) {
  auto db = OpenOrDie(FreshPath("misnumbered"));
  EXPECT_EQ(db->Migrate("x", {{2, "CREATE TABLE x(a)"}}).code(), absl::StatusCode::kInternal);
}

TEST(Database, FailedWriteRollsBackEverything) {
  auto db = OpenOrDie(FreshPath("rollback"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  absl::Status s = db->Write([](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
    RETURN_IF_ERROR(ins.Bind(1, "first").Run());
    return absl::AbortedError("caller gave up");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 0);
  // The writer is usable again afterwards.
  EXPECT_TRUE(db->Write([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
                  return ins.Bind(1, "second").Run();
                }).ok());
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 1);
}

TEST(Database, UniqueViolationIsAlreadyExistsAndLeavesNothingHalfWritten) {
  auto db = OpenOrDie(FreshPath("unique"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  absl::Status s = db->Write([](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
    RETURN_IF_ERROR(ins.Bind(1, "same").Run());
    ins.Reset();
    return ins.Bind(1, "same").Run();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 0);
}

TEST(Database, BadSqlIsAnErrorNotACrash) {
  auto db = OpenOrDie(FreshPath("badsql"));
  absl::Status s =
      db->Read([](Connection& c) -> absl::Status { return c.Prepare("SELEKT nonsense").status(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
}

TEST(Database, ReadersSeeCommittedDataWhileWriterHoldsATransaction) {
  auto db = OpenOrDie(FreshPath("concurrent"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  std::atomic<bool> in_write{false};
  std::atomic<bool> done_reading{false};
  std::thread writer([&] {
    ASSERT_TRUE(db->Write([&](Connection& c) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement ins,
                                     c.Prepare("INSERT INTO notes(body) VALUES ('pending')"));
                    RETURN_IF_ERROR(ins.Run());
                    in_write = true;
                    while (!done_reading) std::this_thread::yield();
                    return absl::OkStatus();
                  }).ok());
  });
  while (!in_write) std::this_thread::yield();
  // The uncommitted row is invisible and the read does not block.
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 0);
  done_reading = true;
  writer.join();
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 1);
}

TEST(Database, ManyThreadsWritingLoseNothing) {
  auto db = OpenOrDie(FreshPath("threads"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        absl::Status s = db->Write([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
          return ins.Bind(1, std::to_string(t) + "-" + std::to_string(i)).Run();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 200);
}

// Holds the writer inside its transaction until `waiting` more calls queue
// behind it, so the test knows they will commit as one group. Returns once the
// blocking call is the one running.
class Blocker {
 public:
  Blocker(Database& db, int waiting) : db_(db) {
    const int64_t calls = db.write_stats().calls;
    thread_ = std::thread([this, waiting] {
      status_ = db_.Write([&](Connection&) -> absl::Status {
        running_ = true;
        while (db_.queued_writes() < waiting) std::this_thread::yield();
        return absl::OkStatus();
      });
    });
    while (!running_ || db.write_stats().calls == calls) std::this_thread::yield();
  }
  ~Blocker() {
    if (thread_.joinable()) thread_.join();
  }
  absl::Status Join() {
    thread_.join();
    return status_;
  }

 private:
  Database& db_;
  std::atomic<bool> running_{false};
  absl::Status status_;
  std::thread thread_;
};

absl::Status Insert(Database& db, absl::string_view body) {
  return db.Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
    return ins.Bind(1, body).Run();
  });
}

TEST(GroupCommit, CallsQueuedDuringACommitShareTheNextTransaction) {
  auto db = OpenOrDie(FreshPath("group"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  const Database::WriteStats before = db->write_stats();
  Blocker blocker(*db, 7);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 7; ++i) {
    threads.emplace_back([&, i] {
      if (!Insert(*db, "note " + std::to_string(i)).ok()) ++failures;
    });
  }
  EXPECT_TRUE(blocker.Join().ok());
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 7);
  const Database::WriteStats after = db->write_stats();
  EXPECT_EQ(after.calls - before.calls, 8);
  // The blocker alone, then the seven together.
  EXPECT_EQ(after.transactions - before.transactions, 2);
}

TEST(GroupCommit, AFailingCallRollsBackOnlyItsOwnWrites) {
  auto db = OpenOrDie(FreshPath("group_fail"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  ASSERT_TRUE(Insert(*db, "taken").ok());
  Blocker blocker(*db, 3);
  absl::Status ok_status, refused, duplicate;
  std::thread a([&] { ok_status = Insert(*db, "kept"); });
  std::thread b([&] {
    refused = db->Write([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES ('undone')"));
      RETURN_IF_ERROR(ins.Run());
      return absl::FailedPreconditionError("changed its mind");
    });
  });
  std::thread d([&] { duplicate = Insert(*db, "taken"); });
  EXPECT_TRUE(blocker.Join().ok());
  a.join();
  b.join();
  d.join();
  EXPECT_TRUE(ok_status.ok()) << ok_status;
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes WHERE body = 'kept'"), 1);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes WHERE body = 'undone'"), 0);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 2);
}

TEST(GroupCommit, AThrowingCallThrowsInItsOwnCallerOnly) {
  auto db = OpenOrDie(FreshPath("group_throw"));
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());
  Blocker blocker(*db, 2);
  absl::Status kept;
  bool thrown = false;
  std::thread a([&] { kept = Insert(*db, "kept"); });
  std::thread b([&] {
    try {
      (void)db->Write([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO notes(body) VALUES ('undone')"));
        RETURN_IF_ERROR(ins.Run());
        throw std::runtime_error("bug");
      });
    } catch (const std::runtime_error&) {
      thrown = true;
    }
  });
  EXPECT_TRUE(blocker.Join().ok());
  a.join();
  b.join();
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(kept.ok()) << kept;
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes WHERE body = 'undone'"), 0);
  EXPECT_EQ(*CountRows(*db, "SELECT COUNT(*) FROM notes"), 1);
  EXPECT_TRUE(Insert(*db, "after").ok());
}

TEST(GroupCommit, OffMeansOneTransactionPerCall) {
  auto opened = Database::Open({.path = FreshPath("group_off"), .group_commit = false});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Database& db = **opened;
  ASSERT_TRUE(db.Migrate("notes", kNotes).ok());
  const Database::WriteStats before = db.write_stats();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(Insert(db, absl::StrCat(t, "-", i)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  const Database::WriteStats after = db.write_stats();
  EXPECT_EQ(after.calls - before.calls, 100);
  EXPECT_EQ(after.transactions - before.transactions, 100);
  EXPECT_EQ(*CountRows(db, "SELECT COUNT(*) FROM notes"), 100);
}

TEST(StatementCache, AReusedStatementKeepsNoBindingOrRowOfItsLastUse) {
  auto db = OpenOrDie(FreshPath("cache_bind"));
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  {
                    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT ?1"));
                    s.Bind(1, "secret");
                    ASSIGN_OR_RETURN(bool row, s.Step());
                    EXPECT_TRUE(row);
                    EXPECT_EQ(s.ColumnText(0), "secret");
                  }
                  ASSIGN_OR_RETURN(Statement again, c.Prepare("SELECT ?1"));
                  ASSIGN_OR_RETURN(bool row, again.Step());
                  EXPECT_TRUE(row);
                  EXPECT_TRUE(again.ColumnIsNull(0));
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementCache, TheSameSqlNestedGivesTwoIndependentStatements) {
  auto db = OpenOrDie(FreshPath("cache_nest"));
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement outer, c.Prepare("SELECT ?1"));
                  ASSIGN_OR_RETURN(Statement inner, c.Prepare("SELECT ?1"));
                  outer.Bind(1, int64_t{1});
                  inner.Bind(1, int64_t{2});
                  EXPECT_TRUE(*outer.Step());
                  EXPECT_TRUE(*inner.Step());
                  EXPECT_EQ(outer.ColumnInt64(0), 1);
                  EXPECT_EQ(inner.ColumnInt64(0), 2);
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementCache, ACachedStatementFollowsASchemaChange) {
  auto db = OpenOrDie(FreshPath("cache_schema"));
  ASSERT_TRUE(db->Migrate("notes", {kNotes[0]}).ok());
  ASSERT_TRUE(Insert(*db, "one").ok());
  auto columns = [&]() -> int {
    int n = -1;
    EXPECT_TRUE(db->Read([&](Connection& c) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT * FROM notes"));
                    ASSIGN_OR_RETURN(bool row, s.Step());
                    if (row) n = s.ColumnCount();
                    return absl::OkStatus();
                  }).ok());
    return n;
  };
  EXPECT_EQ(columns(), 2);
  ASSERT_TRUE(db->Migrate("notes", kNotes).ok());  // adds a column
  EXPECT_EQ(columns(), 3);
}

TEST(SqliteStatus, MapsCodesToTheMostSpecificStatus) {
  EXPECT_EQ(SqliteStatus(SQLITE_BUSY, "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(SQLITE_CORRUPT, "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqliteStatus(SQLITE_FULL, "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(SqliteStatus(SQLITE_CONSTRAINT_UNIQUE, "x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(SqliteStatus(SQLITE_CONSTRAINT_FOREIGNKEY, "x").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(SqliteStatus(SQLITE_OK, "x").ok());
}

}  // namespace
}  // namespace relais::storage
