// Statement::Send: reads started together answer exactly as if each had been
// stepped on its own, on both back ends; on PostgreSQL they travel together.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "storage/testing/fresh_database.h"

namespace relais::storage {
namespace {

std::unique_ptr<Database> OpenNotes(int readers = 2) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/send_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + ".db";
  std::filesystem::remove(path);
  auto db = Database::Open({.path = testing::FreshDatabase(path), .readers = readers});
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("notes", {{1, "CREATE TABLE notes(n BIGINT NOT NULL, t TEXT)"}}).ok());
  EXPECT_TRUE((*db)
                  ->Write([](Connection& c) {
                    return c.Exec(
                        "INSERT INTO notes(n, t) VALUES (1, 'one'), (2, 'two'), (3, 'three'), "
                        "(4, 'four')");
                  })
                  .ok());
  return *std::move(db);
}

absl::StatusOr<Statement> Sent(Connection& c, absl::string_view sql, int64_t n) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(sql));
  s.Bind(1, n);
  RETURN_IF_ERROR(s.Send());
  return s;
}

// Every row's first column, as text.
absl::StatusOr<std::vector<std::string>> Rows(Statement& s) {
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.ColumnText(0));
  }
}

using Texts = std::vector<std::string>;

TEST(StatementSend, StatementsSentTogetherEachAnswerWithTheirOwnRowsInAnyOrder) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement above,
                                   Sent(c, "SELECT t FROM notes WHERE n > ?1 ORDER BY n", 2));
                  ASSIGN_OR_RETURN(Statement one, Sent(c, "SELECT t FROM notes WHERE n = ?1", 1));
                  ASSIGN_OR_RETURN(Statement none, Sent(c, "SELECT t FROM notes WHERE n = ?1", 9));
                  ASSIGN_OR_RETURN(Statement count,
                                   Sent(c, "SELECT COUNT(*) FROM notes WHERE n <= ?1", 3));
                  // Stepped in another order than sent.
                  EXPECT_EQ(Rows(count).value_or(Texts{"failed"}), Texts{"3"});
                  EXPECT_EQ(Rows(none).value_or(Texts{"failed"}), Texts{});
                  EXPECT_EQ(Rows(above).value_or(Texts{"failed"}), (Texts{"three", "four"}));
                  EXPECT_EQ(Rows(one).value_or(Texts{"failed"}), Texts{"one"});
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementSend, AStatementResetAfterSendingRunsAgainWithItsNewBinding) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s, Sent(c, "SELECT t FROM notes WHERE n = ?1", 1));
                  s.Reset();
                  s.Bind(1, 2);
                  RETURN_IF_ERROR(s.Send());
                  EXPECT_EQ(Rows(s).value_or(Texts{"failed"}), Texts{"two"});
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementSend, StatementsDroppedUnreadLeaveTheConnectionAnsweringTheNextOnes) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                    {
                      ASSIGN_OR_RETURN(Statement a, Sent(c, "SELECT t FROM notes WHERE n = ?1", 3));
                      ASSIGN_OR_RETURN(Statement b, Sent(c, "SELECT t FROM notes WHERE n = ?1", 4));
                    }  // neither stepped
                    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT t FROM notes WHERE n = ?1"));
                    s.Bind(1, 1);
                    EXPECT_EQ(Rows(s).value_or(Texts{"failed"}), Texts{"one"});
                    return absl::OkStatus();
                  }).ok());
  }
}

TEST(StatementSend, MoreStatementsThanOnePipelineHoldsAllAnswer) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  std::vector<Statement> sent;
                  for (int i = 0; i < 150; ++i) {
                    ASSIGN_OR_RETURN(Statement s,
                                     Sent(c, "SELECT COUNT(*) FROM notes WHERE n <= ?1", i % 5));
                    sent.push_back(std::move(s));
                  }
                  for (int i = 0; i < 150; ++i) {
                    EXPECT_EQ(Rows(sent[i]).value_or(Texts{"failed"}), Texts{std::to_string(i % 5)})
                        << i;
                  }
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementSend, ASentStatementRunsAsIfAtItsSendEvenWhenSteppedAfterALaterWrite) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Write([](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(Statement before, Sent(c, "SELECT COUNT(*) FROM notes WHERE n > ?1", 0));
          ASSIGN_OR_RETURN(Statement insert,
                           c.Prepare("INSERT INTO notes(n, t) VALUES (?1, 'six')"));
          insert.Bind(1, 6);
          RETURN_IF_ERROR(insert.Send());
          ASSIGN_OR_RETURN(Statement after, Sent(c, "SELECT COUNT(*) FROM notes WHERE n > ?1", 0));
          EXPECT_EQ(Rows(after).value_or(Texts{"failed"}), Texts{"5"});
          EXPECT_EQ(Rows(before).value_or(Texts{"failed"}), Texts{"4"});
          return insert.Run();
        }).ok());
}

TEST(StatementSend, AReadSentInsideAWriteSeesTheTransactionsOwnWrites) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Write([](Connection& c) -> absl::Status {
          RETURN_IF_ERROR(c.Exec("INSERT INTO notes(n, t) VALUES (5, 'five')"));
          ASSIGN_OR_RETURN(Statement s, Sent(c, "SELECT t FROM notes WHERE n = ?1", 5));
          ASSIGN_OR_RETURN(Statement n, Sent(c, "SELECT COUNT(*) FROM notes WHERE n > ?1", 0));
          EXPECT_EQ(Rows(s).value_or(Texts{"failed"}), Texts{"five"});
          EXPECT_EQ(Rows(n).value_or(Texts{"failed"}), Texts{"5"});
          // A write after them still counts its own rows.
          ASSIGN_OR_RETURN(Statement u, c.Prepare("UPDATE notes SET t = 'FIVE' WHERE n >= ?1"));
          u.Bind(1, 4);
          RETURN_IF_ERROR(u.Run());
          EXPECT_EQ(c.Changes(), 2);
          return absl::OkStatus();
        }).ok());
}

// A statement that fails only when it runs, on both engines: the absolute
// value of the smallest 64-bit integer does not fit.
constexpr absl::string_view kOverflows = "SELECT abs(?1) FROM notes WHERE n = 1";

TEST(StatementSend, AStatementFailingAmongOthersFailsItsOwnStepAndTheReadButNotTheNextRead) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  absl::Status failed_step;
  absl::StatusOr<Texts> before, after;
  const absl::Status read = db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement a, Sent(c, "SELECT t FROM notes WHERE n = ?1", 1));
    ASSIGN_OR_RETURN(Statement bad, Sent(c, kOverflows, std::numeric_limits<int64_t>::min()));
    ASSIGN_OR_RETURN(Statement b, Sent(c, "SELECT t FROM notes WHERE n = ?1", 2));
    before = Rows(a);
    failed_step = bad.Step().status();
    after = Rows(b);
    return failed_step;
  });
  EXPECT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before.value_or(Texts{"failed"}), Texts{"one"});
  EXPECT_FALSE(failed_step.ok());
  EXPECT_EQ(read, failed_step);
  if (testing::OnPostgres()) {
    // The transaction was aborted by the failure: what was sent after it
    // answers with the same status, not with rows nor with another error.
    EXPECT_EQ(after.status(), failed_step);
  } else {
    EXPECT_TRUE(after.ok()) << after.status();
  }
  ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s, Sent(c, "SELECT t FROM notes WHERE n = ?1", 3));
                  EXPECT_EQ(Rows(s).value_or(Texts{"failed"}), Texts{"three"});
                  return absl::OkStatus();
                }).ok());
}

TEST(StatementSend, ASentStatementTheServerCannotPrepareFailsEachTimeAndNothingElse) {
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  for (int round = 0; round < 2; ++round) {
    absl::Status bad_status;
    const absl::Status read = db->Read([&](Connection& c) -> absl::Status {
      absl::StatusOr<Statement> bad = c.Prepare("SELECT no_such_column FROM notes WHERE n = ?1");
      if (!bad.ok()) {  // SQLite compiles at Prepare
        bad_status = bad.status();
        return bad_status;
      }
      bad->Bind(1, 1);
      RETURN_IF_ERROR(bad->Send());
      bad_status = bad->Step().status();
      return bad_status;
    });
    EXPECT_FALSE(bad_status.ok()) << "round " << round;
    EXPECT_EQ(read, bad_status);
    // The same error the second time (not a statement the server never
    // prepared), and the connection answers well-formed statements.
    if (round == 1) {
      EXPECT_NE(bad_status.message().find("no_such_column"), std::string::npos) << bad_status;
    }
    ASSERT_TRUE(db->Read([](Connection& c) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement s, Sent(c, "SELECT t FROM notes WHERE n = ?1", 4));
                    EXPECT_EQ(Rows(s).value_or(Texts{"failed"}), Texts{"four"});
                    return absl::OkStatus();
                  }).ok());
  }
}

// On PostgreSQL the statements sent before a Step are answered by that Step:
// a statement sent after the first has already run once the first is read.
// Seen from another session: an advisory lock the second statement takes.
TEST(StatementSend, OnPostgresTheStatementsSentBeforeAStepRunInItsRoundTrip) {
  if (!testing::OnPostgres()) GTEST_SKIP() << "SQLite runs each statement at its own Step";
  auto db = OpenNotes();
  ASSERT_NE(db, nullptr);
  constexpr int64_t kLock = 0x5e4d;
  auto held_elsewhere = [&] {
    std::string held;
    std::thread([&] {
      absl::StatusOr<std::string> n = testing::RawSql(
          db->path(), absl::StrCat("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                                   "AND granted AND objid = ",
                                   kLock));
      held = n.value_or("failed");
    }).join();
    return held;
  };
  ASSERT_TRUE(db->Read([&](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement first, Sent(c, "SELECT t FROM notes WHERE n = ?1", 1));
                  ASSIGN_OR_RETURN(Statement lock,
                                   Sent(c, "SELECT pg_try_advisory_xact_lock(?1)", kLock));
                  EXPECT_EQ(Rows(first).value_or(Texts{"failed"}), Texts{"one"});
                  EXPECT_EQ(held_elsewhere(), "1") << "the second statement ran with the first";
                  EXPECT_EQ(Rows(lock).value_or(Texts{"failed"}), Texts{"t"});
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(held_elsewhere(), "0");
}

// A server that drops the connection while statements are queued (a failover,
// a restart): they fail as unreachable, and the connection, reconnected, serves
// the next read.
TEST(StatementSend,
     OnPostgresAConnectionLostWithStatementsQueuedServesTheNextReadAfterReconnecting) {
  if (!testing::OnPostgres()) GTEST_SKIP() << "no server to lose";
  auto db = OpenNotes(/*readers=*/1);
  ASSERT_NE(db, nullptr);
  absl::Status lost;
  const absl::Status read = db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement pid, c.Prepare("SELECT pg_backend_pid()"));
    ASSIGN_OR_RETURN(bool row, pid.Step());
    if (!row) return absl::InternalError("no pid");
    const std::string backend = pid.ColumnText(0);
    std::string ended;
    std::thread([&] {
      ended = testing::RawSql(db->path(),
                              absl::StrCat("SELECT pg_terminate_backend(", backend, ", 5000)"))
                  .value_or("failed");
    }).join();
    EXPECT_EQ(ended, "t");
    ASSIGN_OR_RETURN(Statement a, Sent(c, "SELECT t FROM notes WHERE n = ?1", 1));
    ASSIGN_OR_RETURN(Statement b, Sent(c, "SELECT t FROM notes WHERE n = ?1", 2));
    lost = a.Step().status();
    EXPECT_EQ(b.Step().status().code(), lost.code());
    return lost;
  });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_EQ(read.code(), absl::StatusCode::kUnavailable) << read;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Texts> rows;
    EXPECT_TRUE(db->Read([&](Connection& c) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement first, c.Prepare("SELECT COUNT(*) FROM notes"));
                    RETURN_IF_ERROR(first.Step().status());
                    ASSIGN_OR_RETURN(Statement s, Sent(c, "SELECT t FROM notes WHERE n = ?1", 3));
                    rows = Rows(s);
                    return rows.status();
                  }).ok())
        << i;
    EXPECT_EQ(rows.value_or(Texts{"failed"}), Texts{"three"});
  }
}

}  // namespace
}  // namespace relais::storage
