#ifndef RELAIS_STORAGE_POSTGRES_CONNECTION_H_
#define RELAIS_STORAGE_POSTGRES_CONNECTION_H_

// The PostgreSQL back end of storage::Connection (libpq). Internal to storage/.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

struct pg_conn;
struct pg_result;

namespace relais::storage {

// Maps a libpq result (nullptr: the connection failed) to a status by its
// SQLSTATE: unique_violation -> AlreadyExists, other integrity violations and
// the schema's own refusals -> FailedPrecondition, a lost or refused connection,
// a lock timeout, a serialisation failure or a read-only server (a standby) ->
// Unavailable, disk full -> ResourceExhausted, corruption -> DataLoss, a
// cancelled query -> Cancelled, the rest -> Internal.
absl::Status PostgresStatus(const pg_result* result, pg_conn* conn, absl::string_view context);

// `sql` with SQLite's ? and ?N parameters written as PostgreSQL's $N (a bare ?
// takes the largest number so far plus one, as in SQLite); quoted text,
// identifiers and comments are left alone. `params` gets the largest number.
std::string ToPostgresParameters(absl::string_view sql, int* params);

class PostgresConnection final : public Connection {
 public:
  // Connects to `uri`; `lock_timeout` bounds the wait for the write lock.
  static absl::StatusOr<std::unique_ptr<PostgresConnection>> Open(const std::string& uri,
                                                                  absl::Duration lock_timeout);
  ~PostgresConnection() override;

  absl::Status Exec(absl::string_view sql) override;
  int Changes() const override { return changes_; }
  std::string Name() const override { return uri_; }

  // For PostgresStatement: runs a statement and records its changes.
  pg_result* Execute(const std::string& sql, int params, const unsigned int* types,
                     const char* const* values, const int* lengths, const int* formats);
  pg_conn* raw() const { return conn_; }

 private:
  PostgresConnection(std::string uri, pg_conn* conn, absl::Duration lock_timeout);
  absl::StatusOr<std::unique_ptr<StatementImpl>> PrepareNew(absl::string_view sql) override;
  absl::Status BeginWrite() override;
  absl::Status BeginRead() override;
  absl::Status EndRead(bool ok) override;
  bool InTransaction() const override;
  bool TransactionFailed() const override;
  absl::Status EnsureOpen() override;
  absl::string_view BootstrapSql() const override;
  // Runs `sql` (a BEGIN), reconnecting first if the server dropped us.
  absl::Status Begin(absl::string_view sql);
  // Session settings, after connecting and after every reconnection.
  absl::Status Configure();
  // Reads the answer to a read's COMMIT sent by EndRead, before any other use.
  void AwaitCommit() const;

  const std::string uri_;
  pg_conn* conn_;
  const absl::Duration lock_timeout_;
  int changes_ = 0;
  // A read's COMMIT was sent and its answer not read yet (EndRead).
  mutable bool commit_in_flight_ = false;
};

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_POSTGRES_CONNECTION_H_
