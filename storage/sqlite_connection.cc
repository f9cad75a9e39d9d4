#include "storage/sqlite_connection.h"

#include <sqlite3.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
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

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  absl::Status BindInt64(int index, int64_t value) override {
    return SqliteStatus(sqlite3_bind_int64(stmt_, index, value), "bind", db_);
  }
  absl::Status BindText(int index, absl::string_view text) override {
    return SqliteStatus(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        "bind", db_);
  }
  absl::Status BindBlob(int index, absl::string_view bytes) override {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    static const char kEmpty = 0;
    const void* data = bytes.empty() ? &kEmpty : bytes.data();
    return SqliteStatus(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT),
                        "bind", db_);
  }
  absl::Status BindNull(int index) override {
    return SqliteStatus(sqlite3_bind_null(stmt_, index), "bind", db_);
  }
  absl::StatusOr<bool> Step() override {
    if (first_.has_value()) {
      absl::StatusOr<bool> first = *std::move(first_);
      first_.reset();
      return first;
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(sqlite3_extended_errcode(db_), "step", db_);
  }
  // Runs the first step now, so that the statement sees the database as it
  // is at its Send, as on PostgreSQL; the first Step returns its outcome.
  absl::Status Send() override {
    first_.reset();
    first_ = Step();
    return absl::OkStatus();
  }
  int64_t ColumnInt64(int column) const override { return sqlite3_column_int64(stmt_, column); }
  absl::string_view ColumnView(int column) const override {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return absl::string_view();
    return absl::string_view(reinterpret_cast<const char*>(text),
                             sqlite3_column_bytes(stmt_, column));
  }
  std::string ColumnBlob(int column) const override {
    const void* data = sqlite3_column_blob(stmt_, column);
    if (data == nullptr) return std::string();
    return std::string(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, column));
  }
  bool ColumnIsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  int ColumnCount() const override { return sqlite3_column_count(stmt_); }
  // Reset ends the statement's hold on its snapshot; clearing the bindings
  // drops the copies of bound values.
  void Reset() override {
    first_.reset();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  // The first step's outcome, taken at Send and not returned by Step yet.
  std::optional<absl::StatusOr<bool>> first_;
};

}  // namespace

SqliteConnection::SqliteConnection(sqlite3* db) : Connection(Backend::kSqlite), db_(db) {}

SqliteConnection::~SqliteConnection() {
  // The cached statements are finalized before the handle closes.
  ClearCache();
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<StatementImpl>> SqliteConnection::PrepareNew(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(sqlite3_extended_errcode(db_), "prepare", db_);
  }
  return std::make_unique<SqliteStatement>(db_, stmt);
}

absl::Status SqliteConnection::Exec(absl::string_view sql) {
  const std::string owned(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(sqlite3_extended_errcode(db_), "exec", db_);
  return absl::OkStatus();
}

int SqliteConnection::Changes() const { return sqlite3_changes(db_); }

std::string SqliteConnection::Name() const {
  const char* name = sqlite3_db_filename(db_, "main");
  return name == nullptr ? std::string() : std::string(name);
}

// IMMEDIATE: the file's write lock from the start, so a transaction never
// fails halfway for want of it.
absl::Status SqliteConnection::BeginWrite() { return Run("BEGIN IMMEDIATE"); }

absl::Status SqliteConnection::BeginRead() { return Run("BEGIN"); }

bool SqliteConnection::InTransaction() const { return !sqlite3_get_autocommit(db_); }

absl::string_view SqliteConnection::BootstrapSql() const {
  return "CREATE TABLE IF NOT EXISTS schema_migrations ("
         " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at_us INTEGER NOT NULL,"
         " PRIMARY KEY (component, version))";
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> OpenSqliteConnection(
    const std::string& path, const std::string& vfs, bool writer, absl::Duration busy_timeout) {
  // Before SQLite initialises (later it is refused, harmlessly): its memory
  // statistics take a global mutex on every allocation, which showed in the
  // read path's profile, and nothing here reads them.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  sqlite3* raw = nullptr;
  const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs.empty() ? nullptr : vfs.c_str());
  auto conn = std::make_unique<SqliteConnection>(raw);
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

}  // namespace relais::storage
