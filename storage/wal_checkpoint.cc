#include "storage/wal_checkpoint.h"

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace relais::storage {
namespace {

// `step` until it succeeds, fails for good, or the attempts are spent.
absl::Status Retried(absl::FunctionRef<absl::Status()> step, const CheckpointRetry& retry) {
  absl::Duration backoff = retry.first_backoff;
  absl::Status status = absl::UnavailableError("nothing attempted");
  for (int attempt = 1; attempt <= retry.attempts; ++attempt) {
    status = step();
    // Only a reader's snapshot or a lock (UNAVAILABLE) is worth waiting for.
    if (status.ok() || !absl::IsUnavailable(status)) break;
    if (attempt < retry.attempts) {
      absl::SleepFor(backoff);
      backoff *= 2;
    }
  }
  return status;
}

}  // namespace

absl::Status CheckpointAfterErasure(Database& db, absl::string_view after,
                                    std::initializer_list<absl::string_view> tables,
                                    const CheckpointRetry& retry) {
  absl::Status status = Retried([&] { return db.Checkpoint(); }, retry);
  if (!status.ok()) {
    common::LogWarning("wal checkpoint after erasure did not complete",
                       {{"after", std::string(after)}, {"status", status.ToString()}});
  }
  for (absl::string_view table : tables) {
    absl::Status compacted = db.Compact(table);
    if (!compacted.ok()) {
      common::LogWarning("table rewrite after erasure did not complete",
                         {{"after", std::string(after)},
                          {"table", std::string(table)},
                          {"status", compacted.ToString()}});
      status.Update(compacted);
    }
  }
  return status;
}

}  // namespace relais::storage
