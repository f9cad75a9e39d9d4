#ifndef RELAIS_STORAGE_WAL_CHECKPOINT_H_
#define RELAIS_STORAGE_WAL_CHECKPOINT_H_

// After an erasure, old copies of the erased rows (wrapped keys, sealed
// fields, free text) may remain: on SQLite as page images in the WAL file,
// which is folded into the database file and truncated; on PostgreSQL as dead
// row versions in the tables' files, which are rewritten (Database::Compact)
// once no snapshot could still see them. Retried while a reader's snapshot or a
// lock is in the way, so that no file a backup copies keeps the data.

#include <initializer_list>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

namespace relais::storage {

struct CheckpointRetry {
  int attempts = 8;
  absl::Duration first_backoff = absl::Milliseconds(5);  // doubled after each try
};

// Database::Checkpoint() until it succeeds or `retry.attempts` are spent (at
// most ~1.3 s of back-off with the defaults), then Database::Compact() of each
// of `tables` (the ones the erasure changed), once: it waits for old snapshots
// itself, and a table it could not rewrite stays pending for the sweep. Returns
// the first failure; on failure logs a warning naming `after` (what was erased:
// "erasure", "retention sweep"); the sweep (or, on SQLite, the shutdown
// checkpoint) tries again. Thread-safe; never call inside a Write or Read
// callback.
absl::Status CheckpointAfterErasure(Database& db, absl::string_view after,
                                    std::initializer_list<absl::string_view> tables = {},
                                    const CheckpointRetry& retry = CheckpointRetry());

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_WAL_CHECKPOINT_H_
