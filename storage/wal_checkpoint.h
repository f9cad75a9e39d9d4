#ifndef RELAIS_STORAGE_WAL_CHECKPOINT_H_
#define RELAIS_STORAGE_WAL_CHECKPOINT_H_

// After an erasure, old page images of the erased rows (wrapped keys, sealed
// fields, free text) may still sit in the WAL file. This folds the WAL into
// the database file and truncates it, retrying while a reader's snapshot keeps
// it (bounded, with a doubling backoff), so that no WAL frame keeps the data.

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
// most ~1.3 s with the defaults). Returns the last status; on failure logs a
// warning naming `after` (what was erased: "erasure", "retention sweep"), and
// the next erasure or the shutdown checkpoint tries again. Thread-safe; never
// call inside a Write or Read callback.
absl::Status CheckpointAfterErasure(Database& db, absl::string_view after,
                                    const CheckpointRetry& retry = CheckpointRetry());

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_WAL_CHECKPOINT_H_
