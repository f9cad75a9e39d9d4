#include "storage/database.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

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
