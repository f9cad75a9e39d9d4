#ifndef RELAIS_SERVICES_COMMON_COMMIT_H_
#define RELAIS_SERVICES_COMMON_COMMIT_H_

// The allowed end of a call: its ALLOW event, appended in the same transaction
// as its write (or before a read returns data), with one rule when the access
// log cannot take it: UNAVAILABLE "audit_unavailable" (common::AuditUnavailable),
// nothing written, the reason logged. CallGate::AuditDenial follows the same
// rule for denials.

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "services/audit/audit_log.h"
#include "services/common/rpc.h"
#include "storage/database.h"

namespace relais::rpc {

// `event` marked allowed: DECISION_ALLOW, ACCESS_REASON_ALLOWED, "allowed".
audit::EventInput Allowed(audit::EventInput event);

// OK if `append` (the status of an audit append) is; otherwise logs it and
// returns common::AuditUnavailable().
absl::Status AuditAppended(const absl::Status& append);

// Runs `fn` and appends call.event, marked allowed, in one write transaction
// of `db`; `fn` may complete the event first (e.g. the id it made). Once
// committed, marks call.event allowed and sets call.recorded. Returns `fn`'s
// error as is, UNAVAILABLE audit_unavailable if the event cannot be appended
// (both roll back), or the storage status of a failed commit.
absl::Status CommitAllowed(storage::Database& db, audit::AuditLog& log, CallAudit& call,
                           absl::FunctionRef<absl::Status(storage::Connection&)> fn);

// For a read: appends call.event, marked allowed, in its own transaction,
// before any data is returned; then marks it allowed and sets call.recorded.
// UNAVAILABLE audit_unavailable if it cannot be appended.
absl::Status RecordAllowed(audit::AuditLog& log, CallAudit& call);

}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_COMMIT_H_
