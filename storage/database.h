#ifndef RELAIS_STORAGE_DATABASE_H_
#define RELAIS_STORAGE_DATABASE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct sqlite3;
struct sqlite3_stmt;

namespace relais::storage {

// Maps an SQLite (extended) result code to a status: BUSY/LOCKED -> Unavailable,
// CORRUPT/NOTADB -> DataLoss, FULL -> ResourceExhausted, CONSTRAINT_UNIQUE and
// CONSTRAINT_PRIMARYKEY -> AlreadyExists, other CONSTRAINT -> FailedPrecondition,
// IOERR -> Unavailable, the rest -> Internal. `context` names the operation.
absl::Status SqliteStatus(int code, absl::string_view context, sqlite3* db = nullptr);

class Connection;

// A prepared statement. Move-only; not thread-safe; belongs to the Connection
// that made it and must not outlive it. Bind indexes start at 1, column indexes
// at 0. Dropping it resets it, clears its bindings and hands it back to the
// connection's cache for the next Prepare of the same SQL.
class Statement {
 public:
  Statement(Statement&&) = default;
  Statement& operator=(Statement&&) = default;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);  // copied (SQLITE_TRANSIENT)
  Statement& Bind(int index, const char* text) { return Bind(index, absl::string_view(text)); }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, absl::string_view(text));
  }
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);
  // Binds NULL when `text` is empty.
  Statement& BindOptional(int index, absl::string_view text);

  // Runs one step. true: a row is ready; false: done. A bind error recorded
  // earlier is returned here.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();

  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  // The text without a copy: valid until the next Step, Reset or other
  // conversion of this column. For walks over many rows.
  absl::string_view ColumnView(int column) const;
  std::string ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;
  int ColumnCount() const;

  // Rewinds for another execution and clears bindings.
  void Reset();

 private:
  friend class Connection;
  // Where a dropped statement goes: its SQL's free list in the connection's
  // cache, or nowhere (finalized) for one the cache does not keep.
  struct Finalizer {
    std::vector<sqlite3_stmt*>* home = nullptr;
    void operator()(sqlite3_stmt* s) const;
  };
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* home);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  absl::Status bind_status_;
};

// One SQLite connection. Not thread-safe: a Connection is handed to one caller
// at a time by Database::Write / Database::Read.
class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // A statement for `sql`, from the connection's cache when one is free: SQL is
  // parsed once per connection, not once per call. `sql` must be a fixed text
  // with ? parameters, never one holding values. SQLite re-prepares a cached
  // statement by itself after a schema change.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // Runs SQL without parameters (schema, pragmas; several statements allowed),
  // parsed afresh each time. Never for values from a request.
  absl::Status Exec(absl::string_view sql);
  // Runs one statement without parameters or rows (BEGIN, COMMIT ...), cached.
  absl::Status Run(absl::string_view sql);
  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int Changes() const;
  sqlite3* raw() const { return db_.get(); }

 private:
  friend class Database;
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  explicit Connection(sqlite3* db);
  // Free statements by SQL text. Nodes stay put, so a Statement can point at
  // its free list. Bounded: past kMaxCachedSql texts new ones are not kept.
  static constexpr size_t kMaxCachedSql = 512;
  absl::node_hash_map<std::string, std::vector<sqlite3_stmt*>> cache_;
  // Declared last, destroyed first: the cached statements are finalized in
  // ~Connection before the handle closes.
  std::unique_ptr<sqlite3, Closer> db_;
};

// A forward-only schema step of one component (a service's tables).
struct Migration {
  int version;      // 1, 2, 3 ... in order, never reused
  std::string sql;  // one or more statements
};

// The embedded database: one writer connection (serialised by a mutex) and a
// pool of reader connections, in WAL mode with synchronous=FULL, foreign keys on
// and a busy timeout. Thread-safe.
class Database {
 public:
  struct Options {
    std::string path;
    int readers = 4;
    absl::Duration busy_timeout = absl::Seconds(5);
    // The name of a registered SQLite VFS to open the file through (e.g. a
    // storage::FaultVfs in tests); empty: SQLite's default VFS.
    std::string vfs{};
    // Group commit: concurrent Write() calls share one transaction and one
    // fsync (see Write). false: one transaction per call, for comparison.
    bool group_commit = true;
    // Most Write() calls in one group.
    int max_group = 128;
  };

  // Opens or creates the file. Fails with the mapped SQLite status.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options);
  ~Database();

  // Runs `fn` inside a write transaction on the writer connection and returns
  // once that transaction has committed (durably: synchronous=FULL) or rolled
  // back. If `fn` returns an error (or throws: the exception is rethrown here)
  // its writes are rolled back and the error returned.
  //
  // Group commit: calls that arrive while a transaction is committing wait, and
  // the next one runs all of them, each `fn` in a SAVEPOINT of its own, in
  // arrival order, then commits once. One `fn` failing rolls back only its own
  // savepoint. If the transaction itself fails (BEGIN, a savepoint, COMMIT, or
  // SQLite abandoning it), every call of the group fails with that status and
  // none of their writes remains. `fn` may run on another caller's thread while
  // its own caller waits, so it must not depend on thread-local state. Must not
  // be called from inside another Write or Read callback.
  absl::Status Write(absl::FunctionRef<absl::Status(Connection&)> fn);

  // What the writer has done since Open(): calls, and transactions committed or
  // rolled back for them (calls / transactions = the mean group size).
  struct WriteStats {
    int64_t calls = 0;
    int64_t transactions = 0;
  };
  WriteStats write_stats() const {
    return {calls_.load(std::memory_order_relaxed), transactions_.load(std::memory_order_relaxed)};
  }
  // Write() calls waiting for a transaction right now.
  int64_t queued_writes() const;

  // Runs `fn` on a reader connection inside one read transaction, so it sees one
  // consistent snapshot. Readers run concurrently with each other and the writer.
  absl::Status Read(absl::FunctionRef<absl::Status(Connection&)> fn) const;

  // Applies the component's migrations newer than its recorded version, each in
  // its own transaction together with its row in `schema_migrations`.
  absl::Status Migrate(absl::string_view component, const std::vector<Migration>& migrations);

  // The highest applied version of a component (0 if none).
  absl::StatusOr<int> SchemaVersion(absl::string_view component) const;

  const std::string& path() const { return path_; }

  // Copies every committed page of the WAL back into the database file and
  // truncates the WAL to zero bytes (PRAGMA wal_checkpoint(TRUNCATE)) on the
  // writer, outside any transaction. Unavailable (BUSY) if a reader still holds
  // a snapshot that prevents it. Called once the server has stopped.
  absl::Status Checkpoint();

  // A liveness probe for health checking: a trivial read on a reader
  // connection, and the file at path() must still be the one opened (not
  // removed, renamed away or replaced, e.g. an unmounted volume). Unavailable
  // if not; other statuses as SqliteStatus() maps them. Thread-safe.
  absl::Status Probe() const;

  // The database file and its WAL, in bytes (0 for a missing WAL).
  int64_t FileBytes() const;

  // What Backup() wrote.
  struct BackupInfo {
    int64_t bytes = 0;  // size of the copy
    int64_t pages = 0;
    absl::Duration elapsed;
  };
  struct BackupOptions {
    // Told the pages copied so far and the total after each step; returning
    // false cancels the backup (Cancelled). Empty: no progress.
    std::function<bool(int64_t done, int64_t total)> progress{};
    // Runs on the source connection inside the snapshot being copied, before
    // the copy: what it reads is exactly what the copy holds. Its error
    // aborts the backup. Empty: nothing.
    std::function<absl::Status(Connection&)> on_snapshot{};
  };

  // An online copy of the whole database with SQLite's backup API, on a
  // connection of its own, while other connections keep reading and writing:
  // the copy is one committed snapshot (the state when the backup started).
  // Writes `dest_path`.tmp (0600), fsyncs it, checks it with PRAGMA
  // integrity_check, renames it to `dest_path` and fsyncs the directory; on
  // any failure nothing is left at either path. The copy is in rollback-journal
  // mode (one self-contained file); relaisd turns WAL back on when it opens it.
  // DataLoss if the copy fails the integrity check; Cancelled if `progress`
  // said so; otherwise as SqliteStatus() maps, or Unavailable for file errors.
  absl::StatusOr<BackupInfo> Backup(const std::string& dest_path,
                                    const BackupOptions& options) const;
  absl::StatusOr<BackupInfo> Backup(const std::string& dest_path) const {
    return Backup(dest_path, BackupOptions());
  }

 private:
  Database(std::string path, std::unique_ptr<Connection> writer,
           std::vector<std::unique_ptr<Connection>> readers);
  Connection* AcquireReader() const;
  void ReleaseReader(Connection* c) const;
  struct WriteRequest;
  // Runs a group of queued calls in one transaction, under write_mu_.
  void RunGroup(const std::vector<WriteRequest*>& group);
  // Fails every call of a group whose transaction failed, rolling it back.
  void FailGroup(const std::vector<WriteRequest*>& group, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const std::string path_;
  std::string vfs_;  // as opened; Backup() opens its source connection through it
  mutable absl::Mutex write_mu_;
  std::unique_ptr<Connection> writer_ ABSL_GUARDED_BY(write_mu_);
  mutable absl::Mutex read_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;  // owned; fixed after Open
  mutable std::vector<Connection*> free_readers_ ABSL_GUARDED_BY(read_mu_);
  // Group commit: calls wait in queue_; one of them at a time (the leader)
  // takes the queue and runs it as a group.
  int max_group_ = 1;
  mutable absl::Mutex queue_mu_;
  std::deque<WriteRequest*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leader_active_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> transactions_{0};
  // Device and inode of the file when opened, for Probe().
  uint64_t file_dev_ = 0;
  uint64_t file_ino_ = 0;
};

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_DATABASE_H_
