#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/database.h"
#include "storage/postgres_connection.h"

namespace relais::storage {
namespace {

constexpr absl::Duration kCompactLockTimeout = absl::Seconds(1);
constexpr absl::Duration kHorizonWait = absl::Milliseconds(500);

// Sessions (walsenders included: they carry a standby's feedback), slots and
// prepared transactions whose snapshot may still see a row version deleted
// before transaction ?1. VACUUM FULL copies such "recently dead" versions into
// the rewritten table. Other roles' sessions show only to a member of
// pg_read_all_stats (docs/postgresql.md).
constexpr char kOlderSnapshots[] = R"sql(
SELECT (SELECT COUNT(*) FROM pg_stat_activity
         WHERE (datname = current_database() OR datname IS NULL) AND pid <> pg_backend_pid()
           AND (age(backend_xmin) >= age(CAST(?1 AS xid))
                OR age(backend_xid) >= age(CAST(?1 AS xid))))
     + (SELECT COUNT(*) FROM pg_replication_slots WHERE age(xmin) >= age(CAST(?1 AS xid)))
     + (SELECT COUNT(*) FROM pg_prepared_xacts WHERE age(transaction) >= age(CAST(?1 AS xid))))sql";

// Waits until no snapshot taken before now is left, or `wait` has passed
// (UNAVAILABLE). What was deleted before the call is then removable.
absl::Status AwaitNewerSnapshots(Connection& conn, absl::Duration wait) {
  std::string now_xid;
  {
    // A transaction id of its own, newer than every deletion already committed.
    ASSIGN_OR_RETURN(Statement s, conn.Prepare("SELECT CAST(txid_current() % 4294967296 AS TEXT)"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::InternalError("compaction: no transaction id");
    now_xid = s.ColumnText(0);
  }
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    ASSIGN_OR_RETURN(Statement s, conn.Prepare(kOlderSnapshots));
    ASSIGN_OR_RETURN(bool row, s.Bind(1, now_xid).Step());
    if (row && s.ColumnInt64(0) == 0) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::UnavailableError("compaction: a snapshot older than the erasure is open");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status Rewrite(const std::string& uri, absl::string_view table) {
  // A connection of its own, not the writer: this process's writes go on
  // meanwhile. While VACUUM FULL waits for its exclusive lock, readers of the
  // table queue behind it: a short lock timeout bounds that wait.
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresConnection> conn,
                   PostgresConnection::Open(uri, kCompactLockTimeout));
  RETURN_IF_ERROR(AwaitNewerSnapshots(*conn, kHorizonWait));
  RETURN_IF_ERROR(conn->Exec(absl::StrCat("VACUUM FULL ", table)));
  // The WAL segment being written still holds the old rows, and a base backup
  // starts its WAL at the beginning of the current segment: start a new one.
  // Needs GRANT EXECUTE ON FUNCTION pg_switch_wal() (docs/postgresql.md).
  if (absl::Status switched = conn->Exec("SELECT pg_switch_wal()"); !switched.ok()) {
    common::LogWarning("pg_switch_wal refused: the current WAL segment keeps the old rows",
                       {{"status", switched.ToString()}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Database::Compact(absl::string_view table) {
  // This thread's own snapshot and table locks would hold it back.
  RETURN_IF_ERROR(EndReadTogether());
  if (table.empty() || !std::all_of(table.begin(), table.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    return absl::InvalidArgumentError("Compact: not a table name");
  }
  if (backend_ == Backend::kSqlite) return absl::OkStatus();
  absl::Status status = Rewrite(path_, table);
  absl::MutexLock lock(&compact_mu_);
  if (status.ok()) {
    pending_compactions_.erase(std::string(table));
  } else {
    pending_compactions_.insert(std::string(table));
  }
  return status;
}

absl::Status Database::CompactPending() {
  std::vector<std::string> tables = PendingCompactions();
  absl::Status status;
  for (const std::string& table : tables) status.Update(Compact(table));
  return status;
}

std::vector<std::string> Database::PendingCompactions() const {
  absl::MutexLock lock(&compact_mu_);
  return {pending_compactions_.begin(), pending_compactions_.end()};
}

}  // namespace relais::storage
