#include "storage/testing/fresh_database.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/database.h"

namespace relais::storage::testing {
namespace {

// RELAIS_TEST_POSTGRES names the file tests/postgres/cluster.sh wrote:
// KEY=VALUE lines, the server's URIs.
std::string ClusterValue(absl::string_view key) {
  const char* file = std::getenv("RELAIS_TEST_POSTGRES");
  if (file == nullptr || file[0] == '\0') return std::string();
  std::ifstream in(file);
  if (!in) throw std::runtime_error(absl::StrCat("no PostgreSQL cluster file at ", file));
  const std::string prefix = absl::StrCat(key, "=");
  for (std::string line; std::getline(in, line);) {
    if (absl::StartsWith(line, prefix)) return line.substr(prefix.size());
  }
  throw std::runtime_error(absl::StrCat(file, " has no ", key));
}

const std::string& ServerUri() {
  static const std::string* uri = new std::string(ClusterValue("POSTGRES_SOCKET_URI"));
  return *uri;
}

}  // namespace

bool OnPostgres() { return !ServerUri().empty(); }

std::string PostgresTlsUri() { return ClusterValue("POSTGRES_TLS_URI"); }

std::string PostgresServerUri() { return ServerUri(); }

std::string FreshDatabase(absl::string_view sqlite_path) {
  const std::string& server = ServerUri();
  if (server.empty()) return std::string(sqlite_path);
  // A schema, not a database: a new database copies its template (megabytes
  // and a checkpoint per test), a schema is a catalogue row.
  static std::atomic<int> counter{0};
  static const uint32_t tag = std::random_device()();
  const std::string schema = absl::StrCat("t_", ::getpid(), "_", absl::Hex(tag), "_", counter++);
  PGconn* conn = PQconnectdb(server.c_str());
  PGresult* r = PQexec(conn, absl::StrCat("CREATE SCHEMA ", schema).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok) throw std::runtime_error(absl::StrCat("test database: ", error));
  const absl::string_view base(server);
  return absl::StrCat(base, base.find('?') == absl::string_view::npos ? "?" : "&",
                      "options=-csearch_path%3D", schema);
}

std::string DropTrigger(absl::string_view trigger, absl::string_view table) {
  if (OnPostgres()) return absl::StrCat("DROP TRIGGER ", trigger, " ON ", table, ";");
  return absl::StrCat("DROP TRIGGER ", trigger, ";");
}

std::string BlobLiteral(absl::string_view hex) {
  if (OnPostgres()) return absl::StrCat("'\\x", hex, "'::bytea");
  return absl::StrCat("x'", hex, "'");
}

absl::StatusOr<std::string> RawSql(const std::string& db, const std::string& sql) {
  std::string first;
  bool have = false;
  if (IsPostgresUri(db)) {
    PGconn* conn = PQconnectdb(db.c_str());
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    absl::Status result;
    if (status == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) {
      first = PQgetvalue(r, 0, 0);
    } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      result = absl::InternalError(absl::StrCat(sql, ": ", PQerrorMessage(conn)));
    }
    PQclear(r);
    PQfinish(conn);
    if (!result.ok()) return result;
    return first;
  }
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    return absl::InternalError(absl::StrCat("open ", db));
  }
  sqlite3_busy_timeout(handle, 5000);
  struct Row {
    std::string* first;
    bool* have;
  } row{&first, &have};
  char* err = nullptr;
  const int rc = sqlite3_exec(
      handle, sql.c_str(),
      [](void* p, int n, char** values, char**) {
        auto* r = static_cast<Row*>(p);
        if (!*r->have && n > 0) {
          *r->first = values[0] != nullptr ? values[0] : "";
          *r->have = true;
        }
        return 0;
      },
      &row, &err);
  const std::string why = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(handle);
  if (rc != SQLITE_OK) return absl::InternalError(absl::StrCat(sql, ": ", why));
  return first;
}

}  // namespace relais::storage::testing
