#ifndef RELAIS_STORAGE_DATABASE_H_
#define RELAIS_STORAGE_DATABASE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace relais::storage {

// Which engine a Database runs on: the embedded SQLite file (the default) or
// a PostgreSQL server (the path past one machine).
enum class Backend { kSqlite, kPostgres };

// True for a PostgreSQL connection URI (postgresql://... or postgres://...):
// Database::Open takes such a "path" as a PostgreSQL database.
bool IsPostgresUri(absl::string_view path);

// Checks a PostgreSQL URI before any connection: no password in it (a
// passfile holds it), and a server that is not on this machine is reached
// over TLS that checks its certificate (sslmode=verify-full or verify-ca).
// InvalidArgument with reason db_uri_invalid, db_password_in_uri or
// db_tls_required otherwise.
absl::Status CheckPostgresUri(const std::string& uri);

// One back end's prepared statement, behind Statement. Bind indexes start at
// 1, column indexes at 0.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual absl::Status BindInt64(int index, int64_t value) = 0;
  virtual absl::Status BindText(int index, absl::string_view text) = 0;
  virtual absl::Status BindBlob(int index, absl::string_view bytes) = 0;
  virtual absl::Status BindNull(int index) = 0;
  virtual absl::StatusOr<bool> Step() = 0;
  // Starts the statement before its first Step (see Statement::Send). A back
  // end without pipelining runs it at that Step, as always.
  virtual absl::Status Send() { return absl::OkStatus(); }
  // See Statement::Post. A back end without pipelining runs it here.
  virtual absl::Status Post();
  virtual int64_t ColumnInt64(int column) const = 0;
  virtual absl::string_view ColumnView(int column) const = 0;
  virtual std::string ColumnBlob(int column) const = 0;
  virtual bool ColumnIsNull(int column) const = 0;
  virtual int ColumnCount() const = 0;
  // Rewinds for another execution and clears bindings.
  virtual void Reset() = 0;
};

class Connection;

// A prepared statement. Move-only; not thread-safe; belongs to the Connection
// that made it and must not outlive it. Bind indexes start at 1, column indexes
// at 0. Dropping it resets it, clears its bindings and hands it back to the
// connection's cache for the next Prepare of the same SQL. The SQL is written
// once for both back ends: ? and ?N parameters, portable syntax.
class Statement {
 public:
  Statement(Statement&&) = default;
  Statement& operator=(Statement&&) = default;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);  // copied
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
  // Starts the bound statement: it runs as if here, and its first Step reads
  // its answer. On PostgreSQL the statements a connection sends before any of
  // them is stepped travel together, one round trip for all of them (libpq's
  // pipeline mode), and a statement stepped while others wait joins them: a
  // caller whose reads do not depend on each other sends them all, then steps
  // each. Each still answers on its own: one that failed fails its Step, and
  // the ones sent after it in the same transaction fail with the same status
  // (the transaction is then unusable, as it would be without Send). A
  // statement's rows are read by its Steps; step through a sent query before
  // writing to what it reads (SQLite reads its later rows then).
  absl::Status Send();
  // Steps to completion, expecting no rows.
  absl::Status Run();
  // Runs a statement that returns no rows, for a caller that does not need
  // its answer before the transaction ends. In a Database::Write group on
  // PostgreSQL it is queued (Send) and nobody waits for it: it travels with
  // what is sent next, a failure fails the transaction, and Write sees that
  // before its COMMIT (then runs the group again, where Post waits and
  // returns the status); Changes() counts it once answered. Elsewhere, and on
  // SQLite, it runs here and its status is returned.
  absl::Status Post();

  int64_t ColumnInt64(int column) const { return impl_->ColumnInt64(column); }
  std::string ColumnText(int column) const { return std::string(impl_->ColumnView(column)); }
  // The text without a copy: valid until the next Step, Reset or other
  // conversion of this column. For walks over many rows.
  absl::string_view ColumnView(int column) const { return impl_->ColumnView(column); }
  std::string ColumnBlob(int column) const { return impl_->ColumnBlob(column); }
  bool ColumnIsNull(int column) const { return impl_->ColumnIsNull(column); }
  int ColumnCount() const { return impl_->ColumnCount(); }

  // Rewinds for another execution and clears bindings.
  void Reset();

 private:
  friend class Connection;
  // Where a dropped statement goes: its SQL's free list in the connection's
  // cache, or nowhere (deleted) for one the cache does not keep.
  struct Recycler {
    std::vector<std::unique_ptr<StatementImpl>>* home = nullptr;
    void operator()(StatementImpl* s) const;
  };
  Statement(StatementImpl* impl, std::vector<std::unique_ptr<StatementImpl>>* home);

  std::unique_ptr<StatementImpl, Recycler> impl_;
  absl::Status bind_status_;
};

// One connection to the database. Not thread-safe: a Connection is handed to
// one caller at a time by Database::Write / Database::Read.
class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual ~Connection();

  // A statement for `sql`, from the connection's cache when one is free: SQL is
  // parsed once per connection, not once per call. `sql` must be a fixed text
  // with ? parameters, never one holding values.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // Runs SQL without parameters (schema; several statements allowed), parsed
  // afresh each time. Never for values from a request.
  virtual absl::Status Exec(absl::string_view sql) = 0;
  // Runs one statement without parameters or rows (BEGIN, COMMIT ...), cached.
  absl::Status Run(absl::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  virtual int Changes() const = 0;
  Backend backend() const { return backend_; }
  // The database reached: the SQLite file's absolute path or the PostgreSQL
  // URI as opened. Keys per-database state (row MAC keys).
  virtual std::string Name() const = 0;

  // A value that the open write transaction's own writes determine (the audit
  // chain's head after an append), kept so that the next call of the same
  // group need not read it again: a round trip less on PostgreSQL. Database
  // forgets every such value when a write transaction begins and when a
  // call's failure is rolled back to its savepoint, so a value recalled inside
  // a write transaction is what the table holds.
  void Remember(absl::string_view key, std::string value) {
    memo_.insert_or_assign(key, std::move(value));
  }
  // The value remembered for `key` in this transaction, or null.
  const std::string* Recall(absl::string_view key) const {
    auto it = memo_.find(key);
    return it == memo_.end() ? nullptr : &it->second;
  }
  // Statement::Post may leave its statement unanswered: only during a write
  // group's first pass on PostgreSQL, which runs the group again if anything
  // failed (otherwise a posted statement runs at once and its caller gets its
  // status).
  bool posting() const { return posting_; }

 protected:
  explicit Connection(Backend backend) : backend_(backend) {}
  virtual absl::StatusOr<std::unique_ptr<StatementImpl>> PrepareNew(absl::string_view sql) = 0;
  // Drops the cached statements; a back end calls it before closing its handle.
  void ClearCache() { cache_.clear(); }

 private:
  friend class Database;
  // Transaction control, for Database only. BeginWrite serialises writers
  // across every process using the database; BeginRead opens one snapshot.
  virtual absl::Status BeginWrite() = 0;
  // BeginWrite whose BEGIN and lock may travel with the next statements
  // (PostgreSQL: queued, one round trip for them and the group's first reads;
  // should they fail, those statements fail with their status).
  virtual absl::Status SendBeginWrite() { return BeginWrite(); }
  virtual absl::Status BeginRead() = 0;
  // Ends a read transaction: COMMIT if `ok`, else ROLLBACK. A back end may
  // send a read's COMMIT without waiting for its answer (nothing was written,
  // so nothing can be lost), and read that answer at the connection's next use.
  virtual absl::Status EndRead(bool ok) { return Run(ok ? "COMMIT" : "ROLLBACK"); }
  // Inside a transaction (false once the engine abandoned one by itself).
  virtual bool InTransaction() const = 0;
  // A statement failed inside the open transaction and the engine refuses any
  // other until a rollback (PostgreSQL); SQLite never is in this state.
  virtual bool TransactionFailed() const { return false; }
  // Statements are queued, their answers not read yet (PostgreSQL).
  virtual bool Queued() const { return false; }
  // Before a transaction: reconnects a connection the server dropped.
  virtual absl::Status EnsureOpen() { return absl::OkStatus(); }
  // Database-wide objects the migrations rely on, made once (under BeginWrite).
  virtual absl::string_view BootstrapSql() const = 0;
  // Drops what the server prepared for this session, after a migration
  // changed the tables (PostgreSQL refuses a prepared statement whose result
  // changed shape; SQLite prepares again by itself).
  virtual void ForgetPrepared() {}

  const Backend backend_;
  // Database::schema_epoch_ when this connection last forgot its prepared
  // statements.
  int64_t schema_epoch_ = 0;
  // Free statements by SQL text. Nodes stay put, so a Statement can point at
  // its free list. Bounded: past kMaxCachedSql texts new ones are not kept.
  static constexpr size_t kMaxCachedSql = 512;
  absl::node_hash_map<std::string, std::vector<std::unique_ptr<StatementImpl>>> cache_;
  // Remember()'s values; Database clears them (Forget) as said there.
  absl::flat_hash_map<std::string, std::string> memo_;
  void Forget() { memo_.clear(); }
  bool posting_ = false;
};

// A forward-only schema step of one component (a service's tables).
struct Migration {
  int version;      // 1, 2, 3 ... in order, never reused
  std::string sql;  // one or more statements
};

// The database: one writer connection (serialised by a mutex) and a pool of
// reader connections. Thread-safe.
//
// SQLite (the embedded default): a file in WAL mode with synchronous=FULL,
// foreign keys on and a busy timeout. PostgreSQL (`path` is a postgresql://
// URI, see docs/postgresql.md): every write transaction first takes one
// transaction-scoped advisory lock, so writers are serialised across every
// process on the database exactly as SQLite's file lock serialises them (the
// stores' read-then-write steps and the audit chain rely on it); reads run in
// REPEATABLE READ READ ONLY transactions, one snapshot each.
class Database {
 public:
  struct Options {
    std::string path;
    // Reader connections; 0: 4 on SQLite, 8 on PostgreSQL, where a reader
    // waits a round trip for each call's reads (measured: GetEntry +9 % with
    // 8 readers instead of 4 on PostgreSQL, no change on SQLite).
    int readers = 0;
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

  // Opens or creates the file, or connects to the PostgreSQL database. Fails
  // with the mapped engine status.
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
  // its own caller waits, so it must not depend on thread-local state. On
  // PostgreSQL, if a call of the group failed (or a statement did), the
  // group's work is rolled back and the group runs again a call at a time,
  // under the same lock: `fn` may run twice, so it must act only through the
  // connection and through captures it sets afresh on every run (no
  // appending, no counting).
  // Must not be called from inside another Write or Read callback.
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
  // Inside a ReadTogether of this database on the same thread, `fn` runs in
  // that scope's transaction instead.
  absl::Status Read(absl::FunctionRef<absl::Status(Connection&)> fn) const;

  // The second half of a check whose statement was sent (Statement::Send):
  // steps it and returns the check's verdict. Run once.
  using Deferred = absl::AnyInvocable<absl::Status() &&>;
  // For a check that guards what a call does rather than what it reads (a
  // token's revocation): runs `send` like Read(). Inside a ReadTogether of
  // this database on this thread the check `send` returns is completed later,
  // so that on PostgreSQL its statement travels with the call's first reads:
  // at the latest when this thread next starts a Write(), Compact() or
  // Checkpoint() on any database, and when the scope settles (Settle) or
  // ends. A failed check fails that Write (nothing is written) and every
  // later one while the scope lasts. Elsewhere the check is completed at once
  // and its verdict returned.
  absl::Status ReadDeferred(absl::FunctionRef<absl::StatusOr<Deferred>(Connection&)> send) const;

  // Makes the Read() calls of this thread on `db` share one read transaction
  // (one snapshot, one BEGIN and one COMMIT) until the scope ends, so that one
  // call's access decision costs one transaction instead of one per store it
  // consults. The reader is taken at the first Read() and handed back when a
  // Write() on `db` starts on this thread (a write must not wait holding a
  // snapshot, and what the call reads after it must see it: the next Read()
  // begins anew), when Compact() or Checkpoint() starts on this thread (they
  // wait for older snapshots), when a Read() fails with the transaction
  // unusable, and when the scope ends. A scope inside another for the same database does nothing;
  // `db` may be null (nothing to share). Not movable; ends on its own thread.
  class ReadTogether {
   public:
    explicit ReadTogether(const Database* db);
    ReadTogether(const ReadTogether&) = delete;
    ReadTogether& operator=(const ReadTogether&) = delete;
    ~ReadTogether();

    // Completes the checks deferred in this scope (ReadDeferred) and returns
    // the first failure, which stays the scope's answer from then on.
    absl::Status Settle();

   private:
    friend class Database;
    absl::Status Run(absl::FunctionRef<absl::Status(Connection&)> fn);
    // Ends the transaction (COMMIT if `ok`, else ROLLBACK) and hands the
    // reader back; the next Run() begins anew.
    void End(bool ok);
    const Database* const db_;
    ReadTogether* const outer_;       // the thread's enclosing scope, of any database
    Connection* c_ = nullptr;         // while a transaction is open
    int depth_ = 0;                   // Run() calls under way on this thread
    std::vector<Deferred> deferred_;  // their statements were sent on c_
    absl::Status settled_;
  };

  // Applies the component's migrations newer than its recorded version, each in
  // its own transaction together with its row in `schema_migrations`: the
  // `sqlite` list on SQLite, the `postgres` list on PostgreSQL. Both are
  // numbered in order and end at the same version; the PostgreSQL list may
  // start later (a baseline that creates the schema the SQLite history reaches).
  absl::Status Migrate(absl::string_view component, const std::vector<Migration>& sqlite,
                       const std::vector<Migration>& postgres);
  // The same SQL on both back ends (portable DDL only).
  absl::Status Migrate(absl::string_view component, const std::vector<Migration>& migrations) {
    return Migrate(component, migrations, migrations);
  }

  Backend backend() const { return backend_; }

  // The highest applied version of a component (0 if none).
  absl::StatusOr<int> SchemaVersion(absl::string_view component) const;

  const std::string& path() const { return path_; }

  // Copies every committed page of the WAL back into the database file and
  // truncates the WAL to zero bytes (PRAGMA wal_checkpoint(TRUNCATE)) on the
  // writer, outside any transaction. Unavailable (BUSY) if a reader still holds
  // a snapshot that prevents it. Called once the server has stopped. Nothing
  // to do on PostgreSQL (the server checkpoints its own WAL).
  absl::Status Checkpoint();

  // Rewrites `table` so that its files hold its live rows only: no earlier
  // version of a row (a destroyed key, an erased body) stays for a later base
  // backup to copy. VACUUM FULL on PostgreSQL, on a connection of its own
  // (this process's writes go on), once no snapshot older than the call is
  // open anywhere on the server (one would keep the old versions); then a new
  // WAL segment. UNAVAILABLE if such a snapshot is still open after 0.5 s, or
  // the table's exclusive lock is not had within 1 s (its readers wait behind
  // it meanwhile); the table is then pending (CompactPending()). Nothing on
  // SQLite, where secure_delete and Checkpoint() leave no old copy. `table` is
  // a plain lower-case identifier (INVALID_ARGUMENT otherwise). Thread-safe.
  absl::Status Compact(absl::string_view table);
  // Compacts the tables whose last Compact() failed (the sweep calls it);
  // returns the first failure. They are kept in memory only: a restart forgets
  // them, and the next erasure compacts its table again.
  absl::Status CompactPending();
  std::vector<std::string> PendingCompactions() const;

  // A liveness probe for health checking: a trivial read on a reader
  // connection, and on SQLite the file at path() must still be the one opened
  // (not removed, renamed away or replaced, e.g. an unmounted volume).
  // Unavailable if not; other statuses as the engine's errors map. Thread-safe.
  absl::Status Probe() const;

  // The database file and its WAL, in bytes (0 for a missing WAL); on
  // PostgreSQL the database's size as the server reports it.
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
  // On PostgreSQL a pg_dump archive of Relais's schema, made in the same way
  // (storage/postgres_backup.h); restored with pg_restore (docs/postgresql.md).
  absl::StatusOr<BackupInfo> Backup(const std::string& dest_path,
                                    const BackupOptions& options) const;
  absl::StatusOr<BackupInfo> Backup(const std::string& dest_path) const {
    return Backup(dest_path, BackupOptions());
  }

 private:
  Database(std::string path, Backend backend, std::unique_ptr<Connection> writer,
           std::vector<std::unique_ptr<Connection>> readers);
  Connection* AcquireReader() const;
  void ReleaseReader(Connection* c) const;
  // Takes a reader and begins a read transaction on it (handed back on failure).
  absl::StatusOr<Connection*> BeginReader() const;
  // This thread's innermost ReadTogether of this database, or null.
  ReadTogether* Together() const;
  // Before anything that waits for other transactions or changes data (a
  // write, a compaction, a checkpoint): completes the deferred checks of
  // every scope of this thread (their first failure is returned, and nothing
  // else is done), then ends this thread's shared read on this database.
  absl::Status EndReadTogether() const;
  struct WriteRequest;
  // Runs a group of queued calls in one transaction, under write_mu_.
  void RunGroup(const std::vector<WriteRequest*>& group);
  // On PostgreSQL: no call waits for the answers to what it posted
  // (Statement::Post); they travel with the next call's statements, the last
  // ones with the COMMIT, and no call has a savepoint of its own. If a call
  // failed or a statement did, the group's work is rolled back to a savepoint
  // taken after the lock (the lock is kept: nothing changes meanwhile) and
  // false returned: the group runs again, carefully (`begun` false: the
  // connection was lost before the COMMIT, nothing was written, and the
  // careful pass opens it again and begins anew). true: the group is done.
  bool RunGroupPipelined(const std::vector<WriteRequest*>& group, bool& begun)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // A call at a time, each call's answers read before the next runs;
  // `begun`: inside the transaction RunGroupPipelined began.
  void RunGroupCareful(const std::vector<WriteRequest*>& group, bool begun)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Fails every call of a group whose transaction failed, rolling it back.
  void FailGroup(const std::vector<WriteRequest*>& group, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const std::string path_;
  const Backend backend_;
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
  // Migrations applied through this Database since it opened (see
  // Connection::ForgetPrepared).
  std::atomic<int64_t> schema_epoch_{0};
  // Brings `c` up to schema_epoch_, before a transaction on it.
  void ForgetStalePrepared(Connection& c) const;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> transactions_{0};
  mutable absl::Mutex compact_mu_;
  std::set<std::string> pending_compactions_ ABSL_GUARDED_BY(compact_mu_);
  // Device and inode of the file when opened, for Probe().
  uint64_t file_dev_ = 0;
  uint64_t file_ino_ = 0;
};

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_DATABASE_H_
