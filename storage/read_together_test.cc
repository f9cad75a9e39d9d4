// Database::ReadTogether: one call's reads in one transaction (issue #15's
// read path), on both back ends.

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "storage/testing/fresh_database.h"

namespace relais::storage {
namespace {

std::unique_ptr<Database> OpenNotes(int readers) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/together_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + ".db";
  std::filesystem::remove(path);
  auto db = Database::Open({.path = testing::FreshDatabase(path), .readers = readers});
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("notes", {{1, "CREATE TABLE notes(n BIGINT NOT NULL)"}}).ok());
  return *std::move(db);
}

absl::Status Insert(Database& db, int64_t n) {
  return db.Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO notes(n) VALUES (?1)"));
    s.Bind(1, n);
    return s.Run();
  });
}

// Rows in notes, read through Database::Read.
int64_t Count(const Database& db) {
  int64_t n = -1;
  absl::Status s = db.Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT COUNT(*) FROM notes"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) n = q.ColumnInt64(0);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return n;
}

// Rows in notes, counted on another thread (which shares no scope).
int64_t CountElsewhere(const Database& db) {
  int64_t n = -1;
  std::thread([&] { n = Count(db); }).join();
  return n;
}

// A read whose statement fails (an unknown column): on PostgreSQL it also
// leaves the transaction refusing any other statement.
absl::Status FailingRead(const Database& db) {
  return db.Read([](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT no_such_column FROM notes"));
    return s.Step().status();
  });
}

TEST(ReadTogether, ReadsOfOneScopeSeeOneSnapshotAndTheNextScopeSeesWhatCameAfter) {
  auto db = OpenNotes(/*readers=*/2);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Insert(*db, 1).ok());
  {
    Database::ReadTogether together(db.get());
    EXPECT_EQ(Count(*db), 1);
    std::thread([&] { ASSERT_TRUE(Insert(*db, 2).ok()); }).join();
    EXPECT_EQ(Count(*db), 1) << "the second read of the scope left its snapshot";
    EXPECT_EQ(CountElsewhere(*db), 2);
  }
  EXPECT_EQ(Count(*db), 2);
}

TEST(ReadTogether, AScopeHoldsOneReaderHoweverManyReadsItMakes) {
  auto db = OpenNotes(/*readers=*/2);
  ASSERT_NE(db, nullptr);
  Database::ReadTogether together(db.get());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Count(*db), 0);
  // The pool's other reader is free: another thread reads without waiting.
  EXPECT_EQ(CountElsewhere(*db), 0);
  // A read inside a read of the scope runs in the same transaction.
  int64_t inner = -1;
  ASSERT_TRUE(db->Read([&](Connection&) -> absl::Status {
                  inner = Count(*db);
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(inner, 0);
  EXPECT_EQ(CountElsewhere(*db), 0);
}

TEST(ReadTogether, AWriteOnTheSameThreadEndsTheSnapshotAndWhatFollowsSeesTheWrite) {
  // One reader: had the write kept it, the read on another thread would wait forever.
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  Database::ReadTogether together(db.get());
  EXPECT_EQ(Count(*db), 0);
  ASSERT_TRUE(Insert(*db, 1).ok());
  EXPECT_EQ(CountElsewhere(*db), 1);
  EXPECT_EQ(Count(*db), 1) << "a read after the call's write did not see it";
}

TEST(ReadTogether, AFailedStatementDoesNotSpoilTheReadsAfterIt) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Insert(*db, 1).ok());
  Database::ReadTogether together(db.get());
  EXPECT_EQ(Count(*db), 1);
  EXPECT_FALSE(FailingRead(*db).ok());
  EXPECT_EQ(Count(*db), 1);
  // An error of the caller's own (not the engine's) keeps the transaction.
  EXPECT_EQ(db->Read([](Connection&) { return absl::NotFoundError("nothing"); }).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Count(*db), 1);
}

TEST(ReadTogether, AStatementFailingInsideANestedReadEndsTheTransactionOnlyWhenTheOuterReadEnds) {
  auto db = OpenNotes(/*readers=*/2);
  ASSERT_NE(db, nullptr);
  Database::ReadTogether together(db.get());
  absl::Status inner;
  ASSERT_TRUE(db->Read([&](Connection&) -> absl::Status {
                  inner = FailingRead(*db);
                  return absl::OkStatus();  // the outer read shrugs the failure off
                }).ok());
  EXPECT_FALSE(inner.ok());
  // PostgreSQL refused the rest of that transaction: the next read begins anew.
  EXPECT_EQ(Count(*db), 0);
  EXPECT_EQ(CountElsewhere(*db), 0);
}

TEST(ReadTogether, AnExceptionHandsTheReaderBack) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  Database::ReadTogether together(db.get());
  EXPECT_THROW((void)db->Read([](Connection&) -> absl::Status { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(CountElsewhere(*db), 0) << "the only reader was not handed back";
  EXPECT_EQ(Count(*db), 0);
}

TEST(ReadTogether, ScopesNestAndOnlyTheOutermostEnds) {
  auto db = OpenNotes(/*readers=*/2);
  auto other = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  ASSERT_NE(other, nullptr);
  Database::ReadTogether outer(db.get());
  EXPECT_EQ(Count(*db), 0);
  {
    Database::ReadTogether inner(db.get());
    Database::ReadTogether elsewhere(other.get());  // another database: its own scope
    Database::ReadTogether none(nullptr);
    EXPECT_EQ(Count(*other), 0);
    ASSERT_TRUE(Insert(*other, 1).ok());
    EXPECT_EQ(Count(*other), 1);
  }
  std::thread([&] { ASSERT_TRUE(Insert(*db, 1).ok()); }).join();
  EXPECT_EQ(Count(*db), 0) << "the inner scope ended the outer one's snapshot";
  EXPECT_EQ(CountElsewhere(*other), 1);
}

TEST(ReadTogether, ACompactionOnTheSameThreadIsNotHeldBackByTheScopesOwnSnapshot) {
  if (!testing::OnPostgres()) GTEST_SKIP() << "nothing to compact on SQLite";
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Insert(*db, 1).ok());
  Database::ReadTogether together(db.get());
  EXPECT_EQ(Count(*db), 1);  // a snapshot, and a lock on the table until it ends
  absl::Status compacted = db->Compact("notes");
  EXPECT_TRUE(compacted.ok()) << compacted;
  EXPECT_TRUE(db->PendingCompactions().empty());
  EXPECT_EQ(Count(*db), 1);
}

// A check that guards what follows (a token's revocation): refuses once notes
// holds a row, read with Send and answered later. `answered` counts its answers.
absl::Status CheckNoNotes(const Database& db, std::atomic<int>* answered) {
  return db.ReadDeferred([&](Connection& c) -> absl::StatusOr<Database::Deferred> {
    ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT COUNT(*) FROM notes"));
    RETURN_IF_ERROR(q.Send());
    return [q = std::move(q), answered]() mutable -> absl::Status {
      ++*answered;
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::InternalError("no count");
      if (q.ColumnInt64(0) > 0) return absl::UnauthenticatedError("refused");
      return absl::OkStatus();
    };
  });
}

TEST(ReadDeferred, OutsideAScopeTheCheckAnswersAtOnce) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  std::atomic<int> answered{0};
  EXPECT_TRUE(CheckNoNotes(*db, &answered).ok());
  ASSERT_TRUE(Insert(*db, 1).ok());
  EXPECT_EQ(CheckNoNotes(*db, &answered).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(answered, 2);
}

TEST(ReadDeferred, AFailedCheckRefusesEveryWriteOfTheScopeAndWritesNothing) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Insert(*db, 1).ok());
  std::atomic<int> answered{0};
  {
    Database::ReadTogether together(db.get());
    // The verdict is not given yet: the caller goes on reading.
    ASSERT_TRUE(CheckNoNotes(*db, &answered).ok());
    EXPECT_EQ(Count(*db), 1);
    // A write waits for it, and the refusal is the write's answer.
    EXPECT_EQ(Insert(*db, 2).code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(answered, 1);
    EXPECT_EQ(Insert(*db, 3).code(), absl::StatusCode::kUnauthenticated) << "not remembered";
    EXPECT_EQ(together.Settle().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(answered, 1) << "a check is answered once";
  }
  EXPECT_EQ(CountElsewhere(*db), 1) << "a refused scope wrote";
  EXPECT_TRUE(Insert(*db, 4).ok()) << "the refusal outlived its scope";
}

TEST(ReadDeferred, APassingCheckLetsTheWritesThrough) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  std::atomic<int> answered{0};
  Database::ReadTogether together(db.get());
  ASSERT_TRUE(CheckNoNotes(*db, &answered).ok());
  EXPECT_EQ(Count(*db), 0);
  // Answered before the write, in the snapshot it was sent in: the write that
  // follows does not change the verdict.
  EXPECT_TRUE(Insert(*db, 1).ok());
  EXPECT_TRUE(Insert(*db, 2).ok());
  EXPECT_TRUE(together.Settle().ok());
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(CountElsewhere(*db), 2);
}

TEST(ReadDeferred, AWriteToAnotherDatabaseWaitsForTheVerdictToo) {
  auto db = OpenNotes(/*readers=*/1);
  auto other = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(Insert(*db, 1).ok());
  std::atomic<int> answered{0};
  {
    Database::ReadTogether together(db.get());
    ASSERT_TRUE(CheckNoNotes(*db, &answered).ok());
    EXPECT_EQ(Insert(*other, 1).code(), absl::StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(CountElsewhere(*other), 0);
}

TEST(ReadDeferred, TheScopesEndAnswersTheCheckBeforeHandingTheReaderBack) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  std::atomic<int> answered{0};
  {
    Database::ReadTogether together(db.get());
    ASSERT_TRUE(CheckNoNotes(*db, &answered).ok());
  }
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(CountElsewhere(*db), 0) << "the one reader was not handed back";
}

TEST(ReadDeferred, AStatementFailingAfterTheCheckDoesNotSpoilItsAnswer) {
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  std::atomic<int> answered{0};
  Database::ReadTogether together(db.get());
  ASSERT_TRUE(CheckNoNotes(*db, &answered).ok());
  // On PostgreSQL both travel together; the check, sent first, was answered.
  EXPECT_FALSE(FailingRead(*db).ok());
  EXPECT_TRUE(together.Settle().ok());
  EXPECT_EQ(answered, 1);
  EXPECT_TRUE(Insert(*db, 1).ok());
}

}  // namespace
}  // namespace relais::storage
