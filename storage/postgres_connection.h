#ifndef RELAIS_STORAGE_POSTGRES_CONNECTION_H_
#define RELAIS_STORAGE_POSTGRES_CONNECTION_H_

// The PostgreSQL back end of storage::Connection (libpq). Internal to storage/.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

struct pg_conn;
struct pg_result;

namespace relais::storage {

class PostgresStatement;

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

  // For PostgresStatement::Send: queues the statement in this connection's
  // pipeline (its answer is read by Settle). false: not queued (the first
  // statement of a read begun in the pool, which must be able to reconnect),
  // so it runs at its Step as usual.
  bool Enqueue(PostgresStatement* statement, const std::string& sql, int params,
               const unsigned int* types, const char* const* values, const int* lengths,
               const int* formats);
  // The statement is dropped while queued: its answer will be read and
  // dropped (a failure still fails the transaction: TransactionFailed).
  void Disown(const PostgresStatement* statement);
  // Reads every answer the server still owes this connection: the queued
  // statements' (each handed to its statement), then a read's COMMIT (EndRead).
  // Before any other use of the connection.
  void Settle() const;
  // Statements are queued and not answered yet.
  bool Queued() const override { return in_pipeline_; }

 private:
  PostgresConnection(std::string uri, pg_conn* conn, absl::Duration lock_timeout);
  absl::StatusOr<std::unique_ptr<StatementImpl>> PrepareNew(absl::string_view sql) override;
  absl::Status BeginWrite() override;
  absl::Status SendBeginWrite() override;
  // Whether the server has kept this idle connection open; found without a
  // round trip (SendBeginWrite, BeginRead from the pool).
  bool StillOpen();
  absl::Status BeginRead() override;
  absl::Status EndRead(bool ok) override;
  bool InTransaction() const override;
  bool TransactionFailed() const override;
  absl::Status EnsureOpen() override;
  absl::string_view BootstrapSql() const override;
  void ForgetPrepared() override;
  // Runs `sql` (a BEGIN), reconnecting first if the server dropped us.
  absl::Status Begin(absl::string_view sql);
  // Session settings, after connecting and after every reconnection.
  absl::Status Configure();
  // Execute's statement, prepared on the server at its first use.
  pg_result* Send(const std::string& sql, int params, const unsigned int* types,
                  const char* const* values, const int* lengths, const int* formats);
  // Reads the answers to what EndRead sent, before any other use.
  void AwaitCommit() const;
  // Reads the answers to the queued statements and leaves pipeline mode.
  void Drain() const;
  // Keeps an INSERT, UPDATE or DELETE's row count for Changes().
  void CountChanges(const pg_result* r) const;

  const std::string uri_;
  pg_conn* conn_;
  const absl::Duration lock_timeout_;
  mutable int changes_ = 0;
  // A read's COMMIT and the next read's BEGIN were sent and their answers
  // not read yet (EndRead).
  mutable bool commit_in_flight_ = false;
  // The connection sits in a begun read transaction that has run nothing.
  mutable bool read_begun_ = false;
  // BeginRead found it so: the next statement is the transaction's first.
  bool fresh_read_ = false;
  // Statements sent (Enqueue) whose answers are not read yet, in order;
  // `prepare`: the PREPARE sent before one. `key` is its entry in prepared_,
  // forgotten if the server refused it. A null statement: nobody waits for
  // the answer (a PREPARE, or a statement dropped while queued).
  struct QueuedStatement {
    PostgresStatement* statement;
    std::string key;
    bool prepare;
  };
  mutable std::vector<QueuedStatement> queued_;
  mutable bool in_pipeline_ = false;
  // Statements prepared on the server in this session: SQL and parameter
  // types -> statement name. Mutable: Settle forgets those the server refused.
  mutable absl::flat_hash_map<std::string, std::string> prepared_;
  int64_t prepared_count_ = 0;
};

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_POSTGRES_CONNECTION_H_
