// The signer lease of AuditLog (audit_log.h): one row, taken and released in
// write transactions, so instances sharing the database never sign at once.

#include "absl/time/time.h"
#include "common/status_macros.h"
#include "services/audit/audit_log.h"

namespace relais::audit {

absl::StatusOr<bool> AuditLog::TakeSignerLease(absl::string_view holder, absl::Duration ttl) {
  bool taken = false;
  RETURN_IF_ERROR(db_->Write([&](storage::Connection& txn) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    taken = false;
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(storage::Statement current,
                     txn.Prepare("SELECT holder, expires_us FROM audit_signer_lease WHERE id = 1"));
    ASSIGN_OR_RETURN(const bool row, current.Step());
    if (row && current.ColumnText(0) != holder &&
        absl::FromUnixMicros(current.ColumnInt64(1)) > now) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        storage::Statement take,
        txn.Prepare("INSERT INTO audit_signer_lease (id, holder, expires_us)"
                    " VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE"
                    " SET holder = excluded.holder, expires_us = excluded.expires_us"));
    take.Bind(1, holder).Bind(2, absl::ToUnixMicros(now + ttl));
    RETURN_IF_ERROR(take.Run());
    taken = true;
    return absl::OkStatus();
  }));
  return taken;
}

absl::Status AuditLog::ReleaseSignerLease(absl::string_view holder) {
  return db_->Write([&](storage::Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement release,
                     txn.Prepare("DELETE FROM audit_signer_lease WHERE id = 1 AND holder = ?1"));
    release.Bind(1, holder);
    return release.Run();
  });
}

}  // namespace relais::audit
