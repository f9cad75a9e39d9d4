#ifndef RELAIS_TESTS_TAMPER_H_
#define RELAIS_TESTS_TAMPER_H_

// What the tampering tests do as an intruder with write access to the
// database file but no key.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "tests/test_env.h"

namespace relais::testing {

// Runs `sql` on a connection of its own to the test's database (the SQLite file
// or the PostgreSQL URI of RelaisEnv::db_path()), as an intruder with direct
// access to the database would.
void Sql(const std::string& db, const std::string& sql);

// The first column of the first row `sql` returns, as text ("" for none) or
// as a number (-1 for none).
std::string SqlText(const std::string& db, const std::string& sql);
int64_t SqlInt(const std::string& db, const std::string& sql);

// Rows of `table` whose `column` holds something other than a sealed blob: 0
// when every value is sealed (on PostgreSQL, when the column can hold nothing
// else).
int64_t UnsealedRows(const std::string& db, absl::string_view table, absl::string_view column);

// `s` as an SQL string literal (test values hold no quote).
std::string Q(absl::string_view s);

// Every byte a backup taken now would hold, as an intruder with that backup
// would read it: on PostgreSQL a base backup of the whole server with its WAL
// (pg_basebackup); on SQLite the database file and its WAL.
std::string BackupBytesNow(RelaisEnv& env);

// On PostgreSQL, the bytes of every file that holds the test's own schema
// (its tables, indexes and their TOAST), read from the server's data
// directory after a CHECKPOINT, as a base backup would copy them; "" on
// SQLite. The server's WAL is shared by every test of the run and not read.
std::string SchemaFileBytes(RelaisEnv& env);

// relais_integrity_violations_total{table="<table>"} as scraped, less its
// value when `env` started (other tests of the binary count too); -1 if absent.
int64_t Violations(RelaisEnv& env, absl::string_view table);

}  // namespace relais::testing

#endif  // RELAIS_TESTS_TAMPER_H_
