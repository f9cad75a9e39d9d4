#include "storage/wal_checkpoint.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace relais::storage {

absl::Status CheckpointAfterErasure(Database& db, absl::string_view after,
                                    const CheckpointRetry& retry) {
  absl::Duration backoff = retry.first_backoff;
  absl::Status status = absl::UnavailableError("no checkpoint attempted");
  for (int attempt = 1; attempt <= retry.attempts; ++attempt) {
    status = db.Checkpoint();
    // Only a reader's snapshot (BUSY) is worth waiting for.
    if (status.ok() || !absl::IsUnavailable(status)) break;
    if (attempt < retry.attempts) {
      absl::SleepFor(backoff);
      backoff *= 2;
    }
  }
  if (!status.ok()) {
    common::LogWarning("wal checkpoint after erasure did not complete",
                       {{"after", std::string(after)}, {"status", status.ToString()}});
  }
  return status;
}

}  // namespace relais::storage
