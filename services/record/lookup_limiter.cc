#include "services/record/lookup_limiter.h"

#include <algorithm>

#include "common/status_macros.h"

namespace relais::record {

LookupLimiter::LookupLimiter(storage::Database* db, int per_window, absl::Duration window)
    : db_(db), per_window_(std::max(1, per_window)), window_(window) {}

absl::StatusOr<bool> LookupLimiter::TryAcquire(absl::string_view member_id, absl::Time now) {
  bool acquired = false;
  RETURN_IF_ERROR(db_->Write([&](storage::Connection& txn) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    acquired = false;
    const int64_t since_us = absl::ToUnixMicros(now - window_);
    ASSIGN_OR_RETURN(storage::Statement prune,
                     txn.Prepare("DELETE FROM rec_lookups WHERE at_us <= ?1"));
    RETURN_IF_ERROR(prune.Bind(1, since_us).Run());
    ASSIGN_OR_RETURN(storage::Statement count,
                     txn.Prepare("SELECT COUNT(*) FROM rec_lookups WHERE member_id = ?1"));
    count.Bind(1, member_id);
    ASSIGN_OR_RETURN(const bool row, count.Step());
    if (row && count.ColumnInt64(0) >= per_window_) return absl::OkStatus();
    ASSIGN_OR_RETURN(storage::Statement insert,
                     txn.Prepare("INSERT INTO rec_lookups (member_id, at_us) VALUES (?1, ?2)"));
    RETURN_IF_ERROR(insert.Bind(1, member_id).Bind(2, absl::ToUnixMicros(now)).Run());
    acquired = true;
    return absl::OkStatus();
  }));
  return acquired;
}

}  // namespace relais::record
