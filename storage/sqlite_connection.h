#ifndef RELAIS_STORAGE_SQLITE_CONNECTION_H_
#define RELAIS_STORAGE_SQLITE_CONNECTION_H_

// The SQLite back end of storage::Connection. Internal to storage/.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

struct sqlite3;

namespace relais::storage {

// Maps an SQLite (extended) result code to a status: BUSY/LOCKED -> Unavailable,
// CORRUPT/NOTADB -> DataLoss, FULL -> ResourceExhausted, CONSTRAINT_UNIQUE and
// CONSTRAINT_PRIMARYKEY -> AlreadyExists, other CONSTRAINT -> FailedPrecondition,
// IOERR -> Unavailable, the rest -> Internal. `context` names the operation.
absl::Status SqliteStatus(int code, absl::string_view context, sqlite3* db = nullptr);

class SqliteConnection final : public Connection {
 public:
  // Takes ownership of `db` (closed with sqlite3_close_v2).
  explicit SqliteConnection(sqlite3* db);
  ~SqliteConnection() override;

  absl::Status Exec(absl::string_view sql) override;
  int Changes() const override;
  std::string Name() const override;
  sqlite3* raw() const { return db_; }

 private:
  absl::StatusOr<std::unique_ptr<StatementImpl>> PrepareNew(absl::string_view sql) override;
  absl::Status BeginWrite() override;
  absl::Status BeginRead() override;
  bool InTransaction() const override;
  absl::string_view BootstrapSql() const override;

  sqlite3* db_;
};

// Opens a connection to the file at `path` through `vfs` (empty: the default)
// in WAL mode with synchronous=FULL, foreign keys and secure_delete on.
absl::StatusOr<std::unique_ptr<SqliteConnection>> OpenSqliteConnection(const std::string& path,
                                                                       const std::string& vfs,
                                                                       bool writer,
                                                                       absl::Duration busy_timeout);

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_SQLITE_CONNECTION_H_
