#include "services/common/commit.h"

#include <utility>

#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::rpc {

audit::EventInput Allowed(audit::EventInput event) {
  event.decision = v1::DECISION_ALLOW;
  event.reason = v1::ACCESS_REASON_ALLOWED;
  event.reason_code = "allowed";
  return event;
}

absl::Status AuditAppended(const absl::Status& append) {
  if (append.ok()) return append;
  common::LogError("audit append failed; refusing the call", {{"status", append.ToString()}});
  return common::AuditUnavailable();
}

absl::Status CommitAllowed(storage::Database& db, audit::AuditLog& log, CallAudit& call,
                           absl::FunctionRef<absl::Status(storage::Connection&)> fn) {
  RETURN_IF_ERROR(db.Write([&](storage::Connection& txn) -> absl::Status {
    RETURN_IF_ERROR(fn(txn));
    return AuditAppended(log.Append(txn, Allowed(call.event)).status());
  }));
  call.event = Allowed(std::move(call.event));
  call.recorded = true;
  return absl::OkStatus();
}

absl::Status RecordAllowed(audit::AuditLog& log, CallAudit& call) {
  RETURN_IF_ERROR(AuditAppended(log.AppendStandalone(Allowed(call.event)).status()));
  call.event = Allowed(std::move(call.event));
  call.recorded = true;
  return absl::OkStatus();
}

}  // namespace relais::rpc
