// The PostgreSQL back end's own behaviour; what both back ends share is in
// database_test.cc, which runs on both.

#include "storage/postgres_connection.h"

#include <libpq-fe.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "storage/testing/fresh_database.h"

namespace relais::storage {
namespace {

std::string Translate(absl::string_view sql, int* params) {
  return ToPostgresParameters(sql, params);
}

TEST(PostgresParameters, NumberedAndBareParametersBecomeDollarNumbers) {
  int n = 0;
  EXPECT_EQ(Translate("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1", &n),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1");
  EXPECT_EQ(n, 2);
  // A bare ? takes the largest number so far plus one, as in SQLite.
  EXPECT_EQ(Translate("VALUES (?, ?, ?5, ?)", &n), "VALUES ($1, $2, $5, $6)");
  EXPECT_EQ(n, 6);
}

TEST(PostgresParameters, QuotedTextIdentifiersAndCommentsAreLeftAlone) {
  int n = 0;
  EXPECT_EQ(Translate("SELECT 'it''s ?1', \"col?\" -- why?\nFROM t WHERE x = ?", &n),
            "SELECT 'it''s ?1', \"col?\" -- why?\nFROM t WHERE x = $1");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(Translate("SELECT 1", &n), "SELECT 1");
  EXPECT_EQ(n, 0);
}

TEST(PostgresUri, APasswordInTheUriIsRefused) {
  const absl::Status s = CheckPostgresUri("postgresql://relais:secret@db.example/relais");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(common::ReasonOf(s), "db_password_in_uri");
  EXPECT_EQ(s.message().find("secret"), absl::string_view::npos);
  EXPECT_EQ(CheckPostgresUri("postgresql:///relais?host=/tmp&password=x").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PostgresUri, AServerOnAnotherMachineNeedsVerifiedTls) {
  for (const char* uri : {"postgresql://db.example/relais", "postgresql://10.0.0.5/relais",
                          "postgresql://db.example/relais?sslmode=require",
                          "postgresql://localhost,db2.example/relais?sslmode=prefer"}) {
    const absl::Status s = CheckPostgresUri(uri);
    EXPECT_EQ(common::ReasonOf(s), "db_tls_required") << uri;
  }
  for (const char* uri :
       {"postgresql:///relais?host=/run/postgresql", "postgresql://localhost/relais",
        "postgresql://127.0.0.1:5433/relais", "postgresql://db.example/relais?sslmode=verify-full",
        "postgresql://db1.example,db2.example/relais?sslmode=verify-ca&passfile=/etc/relais/"
        "pgpass"}) {
    EXPECT_TRUE(CheckPostgresUri(uri).ok()) << uri;
  }
  EXPECT_EQ(CheckPostgresUri("postgresql://[broken").code(), absl::StatusCode::kInvalidArgument);
}

TEST(PostgresUri, OpenRefusesBeforeConnecting) {
  auto db = Database::Open({.path = "postgresql://relais:secret@db.example/relais"});
  EXPECT_EQ(db.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PostgresUri, AnUnreachableServerIsUnavailable) {
  auto db = Database::Open({.path = "postgresql:///relais?host=/nonexistent&connect_timeout=2"});
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(common::ReasonOf(db.status()), "storage_unreachable");
}

// What only a server can show.
class PostgresServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::OnPostgres()) GTEST_SKIP() << "runs against PostgreSQL (the @pg variant)";
    // A name of our own, to find and drop this test's connections only.
    uri_ = absl::StrCat(testing::FreshDatabase(""), "&application_name=", app_);
    auto db = Database::Open({.path = uri_, .readers = 1});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Migrate("notes", {{1, "CREATE TABLE notes(body TEXT NOT NULL UNIQUE)"}}).ok());
  }
  absl::Status Insert(absl::string_view body) {
    return db_->Write([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
      return s.Bind(1, body).Run();
    });
  }
  int64_t Count() {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](Connection& c) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM notes"));
                     ASSIGN_OR_RETURN(bool row, s.Step());
                     if (row) n = s.ColumnInt64(0);
                     return absl::OkStatus();
                   })
                    .ok());
    return n;
  }
  // Ends this test's server connections, as a restarted or failed-over
  // server would.
  void DropConnections() {
    PGconn* admin = PQconnectdb(testing::FreshDatabase("").c_str());
    // The wait: gone, not only told to go.
    PGresult* r = PQexec(admin, absl::StrCat("SELECT pg_terminate_backend(pid, 5000) FROM "
                                             "pg_stat_activity WHERE application_name = '",
                                             app_, "'")
                                    .c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(admin);
    EXPECT_EQ(PQntuples(r), 2);  // the writer and the reader
    PQclear(r);
    PQfinish(admin);
  }

  // This test's connections as the server sees them: state and whether each
  // holds a snapshot, one line per connection, sorted.
  std::vector<std::string> Sessions() {
    std::vector<std::string> out;
    PGconn* admin = PQconnectdb(testing::FreshDatabase("").c_str());
    PGresult* r = PQexec(admin, absl::StrCat("SELECT state || ' ' || (backend_xmin IS NOT NULL) "
                                             "FROM pg_stat_activity WHERE application_name = '",
                                             app_, "' ORDER BY 1")
                                    .c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(admin);
    for (int i = 0; i < PQntuples(r); ++i) out.push_back(PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(admin);
    return out;
  }

  const std::string app_ = absl::StrCat("relais_test_", ::getpid());
  std::string uri_;
  std::unique_ptr<Database> db_;
};

TEST_F(PostgresServer, ACallThatHidesAFailedStatementIsRefusedAndLeavesNothing) {
  ASSERT_TRUE(Insert("taken").ok());
  const absl::Status s = db_->Write([](Connection& c) -> absl::Status {
    RETURN_IF_ERROR(c.Run("INSERT INTO notes(body) VALUES ('mine')"));
    (void)c.Run("INSERT INTO notes(body) VALUES ('taken')");  // fails, ignored
    return absl::OkStatus();
  });
  // PostgreSQL would turn the COMMIT into a silent ROLLBACK: the caller must
  // not hear OK for writes that are not there.
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(Insert("after").ok());
}

// The server answers the COMMIT of a failed transaction with a ROLLBACK, as a
// success: the caller hears a failure.
TEST_F(PostgresServer, ACommitOfAFailedTransactionFailsInsteadOfRollingBackSilently) {
  absl::Status commit;
  (void)db_->Read([&](Connection& c) -> absl::Status {
    (void)c.Run("SELECT 1/0");
    commit = c.Run("COMMIT");
    return commit;
  });
  EXPECT_EQ(commit.code(), absl::StatusCode::kAborted) << commit;
  EXPECT_EQ(Count(), 0);  // the reader serves the next read
}

TEST_F(PostgresServer, ReconnectsOnItsOwnAfterTheServerDropsTheConnections) {
  ASSERT_TRUE(Insert("before").ok());
  ASSERT_EQ(Count(), 1);  // the reader now waits in the pool, its next read begun
  DropConnections();
  // Its statements were prepared in the session that is gone: prepared again.
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(Insert("after").ok());
  EXPECT_EQ(Count(), 2);
}

// The write lock is taken in the round trip of the group's first statements:
// held elsewhere past the timeout, every call of the group hears
// storage_busy (UNAVAILABLE), none INTERNAL, and nothing is written.
TEST_F(PostgresServer, AWriteLockHeldElsewhereFailsEveryCallOfTheGroupBusyAndWritesNothing) {
  auto impatient = Database::Open({.path = uri_, .busy_timeout = absl::Milliseconds(200)});
  ASSERT_TRUE(impatient.ok()) << impatient.status();
  PGconn* holder = PQconnectdb(uri_.c_str());
  PGresult* r = PQexec(holder,
                       "BEGIN; SELECT pg_advisory_xact_lock(hashtext('relais:' || "
                       "current_database() || '.' || COALESCE(current_schema(), '')))");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(holder);
  PQclear(r);
  std::vector<absl::Status> statuses(4);
  {
    std::vector<std::thread> writers;
    for (size_t i = 0; i < statuses.size(); ++i) {
      writers.emplace_back([&, i] {
        statuses[i] = (*impatient)->Write([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO notes(body) VALUES (?1)"));
          RETURN_IF_ERROR(s.Bind(1, absl::StrCat("blocked ", i)).Post());
          ASSIGN_OR_RETURN(Statement n, c.Prepare("SELECT COUNT(*) FROM notes"));
          return n.Step().status();
        });
      });
    }
    for (std::thread& t : writers) t.join();
  }
  for (const absl::Status& s : statuses) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_EQ(common::ReasonOf(s), "storage_busy") << s;
  }
  PQclear(PQexec(holder, "ROLLBACK"));
  PQfinish(holder);
  EXPECT_EQ(Count(), 0);
  // The lock free again, the same database writes.
  EXPECT_TRUE(
      (*impatient)
          ->Write([](Connection& c) { return c.Run("INSERT INTO notes(body) VALUES ('ok')"); })
          .ok());
  EXPECT_EQ(Count(), 1);
}

TEST_F(PostgresServer, AReaderWaitingInThePoolHoldsNoSnapshotAndReadsWhatCameAfter) {
  ASSERT_EQ(Count(), 0);
  // Begun for its next read, but no snapshot taken: nothing held back for
  // VACUUM, an erasure's rewrite or a backup.
  EXPECT_EQ(Sessions(), (std::vector<std::string>{"idle false", "idle in transaction false"}));
  ASSERT_TRUE(Insert("written after the last read").ok());
  EXPECT_EQ(Count(), 1);
  ASSERT_TRUE(Insert("and another").ok());
  EXPECT_EQ(Count(), 2);
}

TEST_F(PostgresServer, TheConnectionNamesItsDatabaseByUri) {
  ASSERT_TRUE(db_->Read([&](Connection& c) -> absl::Status {
                   EXPECT_EQ(c.Name(), uri_);
                   EXPECT_EQ(c.backend(), Backend::kPostgres);
                   return absl::OkStatus();
                 })
                  .ok());
}

}  // namespace
}  // namespace relais::storage
