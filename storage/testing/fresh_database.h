#ifndef RELAIS_STORAGE_TESTING_FRESH_DATABASE_H_
#define RELAIS_STORAGE_TESTING_FRESH_DATABASE_H_

// Test support: the one place that decides which back end a test's database
// is on. The suite runs once on SQLite and, registered again with
// RELAIS_TEST_POSTGRES set (tests/postgres/cluster.sh starts that server),
// once on PostgreSQL.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::storage::testing {

// True when this test process runs against PostgreSQL.
bool OnPostgres();

// The database a test opens, empty: `sqlite_path` itself on SQLite; on
// PostgreSQL the URI of a new schema of the server's database, unique to this
// call (open it as often as the test needs: a restart reuses the string).
std::string FreshDatabase(absl::string_view sqlite_path);

// The server's database over TCP with TLS (sslmode=verify-full) and a passfile,
// as a deployment reaches it; empty on SQLite.
std::string PostgresTlsUri();

// The server itself over its Unix socket as its administrator (who may also
// take a base backup); empty on SQLite.
std::string PostgresServerUri();

// Runs `sql` (several statements allowed) on a connection of its own to `db`,
// the SQLite file or the PostgreSQL URI, as someone with direct access to the
// database would: no relaisd, no key. The first column of the first row of the
// last statement that returned rows, as text ("" for none or NULL).
absl::StatusOr<std::string> RawSql(const std::string& db, const std::string& sql);

// The SQL that removes one of the schema's guard triggers, as an intruder
// would: PostgreSQL names the trigger's table too.
std::string DropTrigger(absl::string_view trigger, absl::string_view table);

// An SQL literal of the bytes written in `hex` (SQLite x'..', PostgreSQL
// '\x..'::bytea).
std::string BlobLiteral(absl::string_view hex);

}  // namespace relais::storage::testing

// Skips the current test on PostgreSQL, saying why (e.g. it tampers with the
// SQLite file itself).
#define RELAIS_SQLITE_ONLY(why)                                          \
  do {                                                                   \
    if (::relais::storage::testing::OnPostgres()) GTEST_SKIP() << (why); \
  } while (0)

#endif  // RELAIS_STORAGE_TESTING_FRESH_DATABASE_H_
