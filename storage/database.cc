#include "storage/database.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::storage {

absl::Status SqliteStatus(int code, absl::string_view context, sqlite3* db) {
  if (code == SQLITE_OK || code == SQLITE_DONE || code == SQLITE_ROW) {
    return absl::OkStatus();
  }
  // A stable reason code (common/reason.h) for clients and the audit log, not
  // SQLite's wording.
  auto error = [&](absl::StatusCode status_code, absl::string_view reason) {
    std::string msg = absl::StrCat(context, ": ", sqlite3_errstr(code));
    if (db != nullptr) absl::StrAppend(&msg, " (", sqlite3_errmsg(db), ")");
    return common::WithReason(status_code, reason, msg);
  };
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return error(absl::StatusCode::kUnavailable, "storage_busy");
    case SQLITE_IOERR:
      return error(absl::StatusCode::kUnavailable, "storage_io_error");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return error(absl::StatusCode::kDataLoss, "storage_corrupt");
    case SQLITE_FULL:
      return error(absl::StatusCode::kResourceExhausted, "storage_full");
    case SQLITE_CONSTRAINT:
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return error(absl::StatusCode::kAlreadyExists, "storage_conflict");
      }
      return error(absl::StatusCode::kFailedPrecondition, "storage_constraint");
    case SQLITE_INTERRUPT:
      return error(absl::StatusCode::kCancelled, "cancelled");
    default:
      return error(absl::StatusCode::kInternal, "storage_error");
  }
}

namespace {

// Free statements kept per SQL text: as many as one connection nests.
constexpr size_t kMaxFreePerSql = 4;

}  // namespace

void Statement::Finalizer::operator()(sqlite3_stmt* s) const {
  if (home == nullptr || home->size() >= kMaxFreePerSql) {
    sqlite3_finalize(s);
    return;
  }
  // Reset ends the statement's hold on its snapshot; clearing the bindings
  // drops the copies of bound values.
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  home->push_back(s);
}

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* home)
    : db_(db), stmt_(stmt, Finalizer{home}) {}

Statement& Statement::Bind(int index, int64_t value) {
  if (bind_status_.ok()) {
    bind_status_ = SqliteStatus(sqlite3_bind_int64(stmt_.get(), index, value), "bind", db_);
  }
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  if (bind_status_.ok()) {
    bind_status_ = SqliteStatus(sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(),
                                                    SQLITE_TRANSIENT, SQLITE_UTF8),
                                "bind", db_);
  }
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  if (bind_status_.ok()) {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    static const char kEmpty = 0;
    const void* data = bytes.empty() ? &kEmpty : bytes.data();
    bind_status_ = SqliteStatus(
        sqlite3_bind_blob64(stmt_.get(), index, data, bytes.size(), SQLITE_TRANSIENT), "bind", db_);
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (bind_status_.ok()) {
    bind_status_ = SqliteStatus(sqlite3_bind_null(stmt_.get(), index), "bind", db_);
  }
  return *this;
}

Statement& Statement::BindOptional(int index, absl::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

absl::StatusOr<bool> Statement::Step() {
  RETURN_IF_ERROR(bind_status_);
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(sqlite3_extended_errcode(db_), "step", db_);
}

absl::Status Statement::Run() {
  ASSIGN_OR_RETURN(bool row, Step());
  if (row) return absl::InternalError("statement returned a row where none was expected");
  return absl::OkStatus();
}

int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     sqlite3_column_bytes(stmt_.get(), column));
}

absl::string_view Statement::ColumnView(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return absl::string_view();
  return absl::string_view(reinterpret_cast<const char*>(text),
                           sqlite3_column_bytes(stmt_.get(), column));
}

std::string Statement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  if (data == nullptr) return std::string();
  return std::string(static_cast<const char*>(data), sqlite3_column_bytes(stmt_.get(), column));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_.get()); }

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_status_ = absl::OkStatus();
}

void Connection::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Connection::Connection(sqlite3* db) : db_(db) {}

Connection::~Connection() {
  for (auto& [sql, free] : cache_) {
    for (sqlite3_stmt* s : free) sqlite3_finalize(s);
  }
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  std::vector<sqlite3_stmt*>* home = nullptr;
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    home = &it->second;
    if (!home->empty()) {
      sqlite3_stmt* cached = home->back();
      home->pop_back();
      return Statement(db_.get(), cached, home);
    }
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(sqlite3_extended_errcode(db_.get()), "prepare", db_.get());
  }
  if (home == nullptr && cache_.size() < kMaxCachedSql) home = &cache_[sql];
  return Statement(db_.get(), stmt, home);
}

absl::Status Connection::Run(absl::string_view sql) {
  ASSIGN_OR_RETURN(Statement s, Prepare(sql));
  return s.Run();
}

absl::Status Connection::Exec(absl::string_view sql) {
  const std::string owned(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), owned.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    return SqliteStatus(sqlite3_extended_errcode(db_.get()), "exec", db_.get());
  }
  return absl::OkStatus();
}

int64_t Connection::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }

int Connection::Changes() const { return sqlite3_changes(db_.get()); }

namespace {

absl::StatusOr<std::unique_ptr<Connection>> OpenConnection(const std::string& path,
                                                           const std::string& vfs, bool writer,
                                                           absl::Duration busy_timeout,
                                                           Connection* (*make)(sqlite3*)) {
  // Before SQLite initialises (later it is refused, harmlessly): its memory
  // statistics take a global mutex on every allocation, which showed in the
  // read path's profile, and nothing here reads them.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  sqlite3* raw = nullptr;
  const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs.empty() ? nullptr : vfs.c_str());
  std::unique_ptr<Connection> conn(make(raw));
  if (rc != SQLITE_OK) {
    return SqliteStatus(rc, absl::StrCat("open ", writer ? "writer" : "reader"), raw);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  // WAL: readers never block the writer. synchronous=FULL: a committed
  // transaction survives power loss, so nothing acknowledged is lost.
  if (writer) RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(conn->Exec("PRAGMA secure_delete=ON"));
  return conn;
}

}  // namespace

Database::Database(std::string path, std::unique_ptr<Connection> writer,
                   std::vector<std::unique_ptr<Connection>> readers)
    : path_(std::move(path)), writer_(std::move(writer)), readers_(std::move(readers)) {
  for (auto& r : readers_) free_readers_.push_back(r.get());
}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("database path is empty");
  if (options.readers < 1) return absl::InvalidArgumentError("need at least one reader");
  auto make = [](sqlite3* db) { return new Connection(db); };
  ASSIGN_OR_RETURN(auto writer,
                   OpenConnection(options.path, options.vfs, true, options.busy_timeout, make));
  RETURN_IF_ERROR(writer->Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at_us INTEGER NOT NULL,"
      " PRIMARY KEY (component, version))"));
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.readers; ++i) {
    ASSIGN_OR_RETURN(auto reader,
                     OpenConnection(options.path, options.vfs, false, options.busy_timeout, make));
    readers.push_back(std::move(reader));
  }
  auto db = absl::WrapUnique(new Database(options.path, std::move(writer), std::move(readers)));
  db->vfs_ = options.vfs;
  db->max_group_ = options.group_commit ? std::max(1, options.max_group) : 1;
  struct stat st;
  if (::stat(options.path.c_str(), &st) == 0) {
    db->file_dev_ = st.st_dev;
    db->file_ino_ = st.st_ino;
  }
  return db;
}

absl::Status Database::Checkpoint() {
  absl::MutexLock lock(&write_mu_);
  // The pragma returns one row (busy, wal pages, checkpointed pages); busy = 1
  // means a reader kept the WAL from being reset.
  ASSIGN_OR_RETURN(Statement s, writer_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row && s.ColumnInt64(0) != 0) {
    return absl::UnavailableError("wal checkpoint: a reader holds the WAL");
  }
  return absl::OkStatus();
}

absl::Status Database::Probe() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("database file unreachable: ", strerror(errno)));
  }
  if (file_ino_ != 0 && (static_cast<uint64_t>(st.st_dev) != file_dev_ ||
                         static_cast<uint64_t>(st.st_ino) != file_ino_)) {
    return absl::UnavailableError("database file was replaced");
  }
  return Read([](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM schema_migrations"));
    return s.Step().status();
  });
}

int64_t Database::FileBytes() const {
  int64_t total = 0;
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) total += st.st_size;
  if (::stat((path_ + "-wal").c_str(), &st) == 0) total += st.st_size;
  return total;
}

struct Database::WriteRequest {
  absl::FunctionRef<absl::Status(Connection&)> fn;
  absl::Status status{};
  std::exception_ptr exception{};
  bool done = false;
};

absl::Status Database::Write(absl::FunctionRef<absl::Status(Connection&)> fn) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  WriteRequest request{fn};
  {
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(&request);
    // Wait until a leader has run this call, or until there is no leader.
    struct Waiter {
      const Database* db;
      const WriteRequest* request;
    } waiter{this, &request};
    queue_mu_.Await(absl::Condition(
        +[](Waiter* w)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->request->done || !w->db->leader_active_; },
        &waiter));
    if (!request.done) leader_active_ = true;
  }
  // The leader runs what is queued, a group at a time, until its own call is
  // done; then the next waiting caller takes over.
  while (!request.done) {
    std::vector<WriteRequest*> group;
    {
      absl::MutexLock lock(&queue_mu_);
      while (!queue_.empty() && static_cast<int>(group.size()) < max_group_) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunGroup(group);
    absl::MutexLock lock(&queue_mu_);
    for (WriteRequest* r : group) r->done = true;
    if (request.done) leader_active_ = false;
  }
  if (request.exception) std::rethrow_exception(request.exception);
  return request.status;
}
namespace {

// Runs one queued call, turning an exception into an error for its caller.
absl::Status RunCall(absl::FunctionRef<absl::Status(Connection&)> fn, Connection& c,
                     std::exception_ptr& exception) {
  try {
    return fn(c);
  } catch (...) {
    exception = std::current_exception();
    return absl::InternalError("write callback threw");
  }
}

}  // namespace

void Database::RunGroup(const std::vector<WriteRequest*>& group) {
  absl::MutexLock lock(&write_mu_);
  transactions_.fetch_add(1, std::memory_order_relaxed);
  if (absl::Status begin = writer_->Run("BEGIN IMMEDIATE"); !begin.ok()) {
    FailGroup(group, begin);
    return;
  }
  // A lone call needs no savepoint: its failure rolls back the transaction.
  const bool savepoints = group.size() > 1;
  for (WriteRequest* r : group) {
    if (savepoints) {
      if (absl::Status s = writer_->Run("SAVEPOINT call"); !s.ok()) return FailGroup(group, s);
    }
    r->status = RunCall(r->fn, *writer_, r->exception);
    // SQLite abandons the whole transaction on some errors (I/O, full disk):
    // what the group wrote before is gone too.
    if (sqlite3_get_autocommit(writer_->raw())) {
      return FailGroup(
          group, r->status.ok() ? absl::UnavailableError("transaction abandoned") : r->status);
    }
    if (!savepoints) break;
    absl::Status end =
        r->status.ok() ? writer_->Run("RELEASE call") : writer_->Run("ROLLBACK TO call");
    if (end.ok() && !r->status.ok()) end = writer_->Run("RELEASE call");
    if (!end.ok()) return FailGroup(group, end);
  }
  if (!savepoints && !group.front()->status.ok()) {
    if (absl::Status rb = writer_->Run("ROLLBACK"); !rb.ok()) {
      common::LogError("rollback failed", {{"status", rb.ToString()}});
    }
    return;
  }
  if (absl::Status commit = writer_->Run("COMMIT"); !commit.ok()) FailGroup(group, commit);
}

void Database::FailGroup(const std::vector<WriteRequest*>& group, const absl::Status& status) {
  // If SQLite already rolled back by itself there is nothing left to undo.
  if (!sqlite3_get_autocommit(writer_->raw())) {
    if (absl::Status rb = writer_->Run("ROLLBACK"); !rb.ok()) {
      common::LogError("rollback failed", {{"status", rb.ToString()}});
    }
  }
  // A call whose own error is already the answer keeps it; every other call
  // learns that nothing of it was written.
  for (WriteRequest* r : group) {
    if (r->status.ok()) r->status = status;
  }
}

int64_t Database::queued_writes() const {
  absl::MutexLock lock(&queue_mu_);
  return static_cast<int64_t>(queue_.size());
}

Connection* Database::AcquireReader() const {
  absl::MutexLock lock(&read_mu_);
  read_mu_.Await(absl::Condition(
      +[](std::vector<Connection*>* free) { return !free->empty(); }, &free_readers_));
  Connection* c = free_readers_.back();
  free_readers_.pop_back();
  return c;
}

void Database::ReleaseReader(Connection* c) const {
  absl::MutexLock lock(&read_mu_);
  free_readers_.push_back(c);
}

namespace {

// Ends a reader's snapshot and hands the reader back to the pool however the
// scope is left, an exception included.
class ReaderLease {
 public:
  ReaderLease(Connection* c, absl::FunctionRef<void(Connection*)> release)
      : c_(c), release_(release) {}
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  ~ReaderLease() {
    if (!sqlite3_get_autocommit(c_->raw())) (void)c_->Run("ROLLBACK");
    release_(c_);
  }

 private:
  Connection* c_;
  absl::FunctionRef<void(Connection*)> release_;
};

}  // namespace

absl::Status Database::Read(absl::FunctionRef<absl::Status(Connection&)> fn) const {
  Connection* c = AcquireReader();
  auto release = [this](Connection* r) { ReleaseReader(r); };
  ReaderLease lease(c, release);
  absl::Status status = c->Run("BEGIN");
  if (status.ok()) {
    status = fn(*c);
    absl::Status end = c->Run(status.ok() ? "COMMIT" : "ROLLBACK");
    if (status.ok()) status = end;
  }
  return status;
}

absl::StatusOr<int> Database::SchemaVersion(absl::string_view component) const {
  int version = 0;
  RETURN_IF_ERROR(Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                            "schema_migrations WHERE component = ?1"));
    s.Bind(1, component);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) version = static_cast<int>(s.ColumnInt64(0));
    return absl::OkStatus();
  }));
  return version;
}

absl::Status Database::Migrate(absl::string_view component,
                               const std::vector<Migration>& migrations) {
  int expected = 1;
  for (const Migration& m : migrations) {
    if (m.version != expected++) {
      return absl::InternalError(
          absl::StrCat("migrations of ", component, " are not numbered 1..n"));
    }
  }
  for (const Migration& m : migrations) {
    RETURN_IF_ERROR(Write([&](Connection& c) -> absl::Status {
      // Read the version inside the write transaction so two processes racing
      // on the same file cannot both apply a step.
      ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                              "schema_migrations WHERE component = ?1"));
      q.Bind(1, component);
      ASSIGN_OR_RETURN(bool row, q.Step());
      const int64_t current = row ? q.ColumnInt64(0) : 0;
      if (current >= m.version) return absl::OkStatus();
      RETURN_IF_ERROR(c.Exec(m.sql));
      ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO schema_migrations(component, version, "
                                                "applied_at_us) VALUES (?1, ?2, ?3)"));
      ins.Bind(1, component).Bind(2, int64_t{m.version}).Bind(3, absl::ToUnixMicros(absl::Now()));
      return ins.Run();
    }));
  }
  return absl::OkStatus();
}

}  // namespace relais::storage
