// RecordService.SweepRetention (docs/retention.md): the on-demand sweep. The
// sweep itself is RetentionSweeper's (retention_sweeper.h).

#include "common/ids.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/record/record_service.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

grpc::ServerUnaryReactor* RecordServiceImpl::SweepRetention(grpc::CallbackServerContext* ctx,
                                                            const v1::SweepRetentionRequest* req,
                                                            v1::SweepRetentionResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_RETENTION_SWEEP,
                    [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.SweepRetention"));
                      call.event.object_id = common::NewId("sweep");
                      // Who asked is on record before anything is erased; a dry run is coded so.
                      call.event.decision = v1::DECISION_ALLOW;
                      call.event.reason = v1::ACCESS_REASON_ALLOWED;
                      call.event.reason_code = req->dry_run() ? "dry_run" : "allowed";
                      RETURN_IF_ERROR(db_->Write([&](Connection& c) {
                        return rpc::AuditAppended(gate_->audit()->Append(c, call.event).status());
                      }));
                      call.recorded = true;
                      ASSIGN_OR_RETURN(*resp, retention_.Sweep(req->dry_run(), call.event));
                      return absl::OkStatus();
                    });
}

absl::StatusOr<v1::SweepRetentionResponse> RecordServiceImpl::RunScheduledRetentionSweep() {
  return retention_.RunScheduled();
}

}  // namespace relais::record
