// RecordService's GDPR calls on a whole record: restriction (art. 18), legal
// hold (art. 17(3)) and export (art. 15/20; youth_export.cc). Erasure (art. 17,
// four eyes) is in erasure_requests.cc.
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/record/gdpr_store.h"
#include "services/record/record_service.h"
#include "services/record/record_store.h"
#include "services/record/youth_export.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;
using storage::crypto::FieldCrypto;

absl::Status RecordServiceImpl::RequireGdprActor(const Caller& caller, absl::string_view youth_id,
                                                 CallAudit& call) const {
  ASSIGN_OR_RETURN(access::AccessFacts facts, care_->GatherFacts(caller.service_id(), youth_id));
  call.event.break_glass = facts.break_glass;
  if (caller.HasRole(v1::ROLE_ADMIN)) return absl::OkStatus();
  // Rule 2 (a pending accompaniment says so); restriction is the caller's to judge.
  const access::Verdict v = access::DecideRecordRead(facts, {});
  if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
  return absl::OkStatus();
}

absl::Status RecordServiceImpl::ChangeGdprFlag(const Caller& caller, CallAudit& call,
                                               absl::string_view youth_id, absl::string_view reason,
                                               GdprOp op, v1::RecordState* resp) {
  call.event.youth_id = std::string(youth_id);
  const bool hold = op == GdprOp::kSetLegalHold || op == GdprOp::kLiftLegalHold;
  const char* method = op == GdprOp::kRestrict          ? "RecordService.RestrictYouth"
                       : op == GdprOp::kLiftRestriction ? "RecordService.LiftRestriction"
                       : op == GdprOp::kSetLegalHold    ? "RecordService.SetLegalHold"
                                                        : "RecordService.LiftLegalHold";
  RETURN_IF_ERROR(gate_->RequireRole(caller, method));
  RETURN_IF_ERROR(common::CheckId("youth_id", youth_id));
  RETURN_IF_ERROR(common::CheckText("reason", reason, common::kMaxReasonLength));
  ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(youth_id));
  if (!hold) RETURN_IF_ERROR(RequireGdprActor(caller, youth.id, call));
  const bool target = op == GdprOp::kRestrict || op == GdprOp::kSetLegalHold;
  bool& flag = hold ? youth.legal_hold : youth.restricted;
  resp->set_youth_id(youth.id);
  std::string kind;
  switch (op) {
    case GdprOp::kRestrict:
      kind = "restrict";
      break;
    case GdprOp::kLiftRestriction:
      kind = "lift_restriction";
      break;
    case GdprOp::kSetLegalHold:
      kind = "legal_hold";
      break;
    case GdprOp::kLiftLegalHold:
      kind = "lift_legal_hold";
      break;
  }
  if (flag == target) {  // idempotent repeat: audited, nothing recorded
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
  } else {
    ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
    store::GdprChange change{common::NewId("gdpr"), youth.id,           kind,
                             std::string(reason),   caller.member_id(), caller.service_id(),
                             clock_->Now()};
    call.event.object_id = change.id;
    RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
      RETURN_IF_ERROR(store::RecordGdprChange(c, *crypto, change));
      return store::SetYouthFlag(
          c, youth.id, hold ? store::YouthFlag::kLegalHold : store::YouthFlag::kRestricted, target);
    }));
    flag = target;
    resp->set_change_id(change.id);
  }
  resp->set_restricted(youth.restricted);
  resp->set_legal_hold(youth.legal_hold);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RecordServiceImpl::RestrictYouth(grpc::CallbackServerContext* ctx,
                                                           const v1::RestrictYouthRequest* req,
                                                           v1::RecordState* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_RESTRICT_YOUTH,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return ChangeGdprFlag(caller, call, req->youth_id(), req->reason(),
                                            GdprOp::kRestrict, resp);
                    });
}

grpc::ServerUnaryReactor* RecordServiceImpl::LiftRestriction(grpc::CallbackServerContext* ctx,
                                                             const v1::LiftRestrictionRequest* req,
                                                             v1::RecordState* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_LIFT_RESTRICTION,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return ChangeGdprFlag(caller, call, req->youth_id(), req->reason(),
                                            GdprOp::kLiftRestriction, resp);
                    });
}

grpc::ServerUnaryReactor* RecordServiceImpl::SetLegalHold(grpc::CallbackServerContext* ctx,
                                                          const v1::SetLegalHoldRequest* req,
                                                          v1::RecordState* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_SET_LEGAL_HOLD,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return ChangeGdprFlag(caller, call, req->youth_id(), req->reason(),
                                            GdprOp::kSetLegalHold, resp);
                    });
}

grpc::ServerUnaryReactor* RecordServiceImpl::LiftLegalHold(grpc::CallbackServerContext* ctx,
                                                           const v1::LiftLegalHoldRequest* req,
                                                           v1::RecordState* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_LIFT_LEGAL_HOLD,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return ChangeGdprFlag(caller, call, req->youth_id(), req->reason(),
                                            GdprOp::kLiftLegalHold, resp);
                    });
}

grpc::ServerWriteReactor<v1::ExportYouthItem>* RecordServiceImpl::ExportYouth(
    grpc::CallbackServerContext* ctx, const v1::ExportYouthRequest* req) {
  return StartYouthExport(
      {.db = db_, .keys = &keys_, .clock = clock_, .gate = gate_, .care = care_, .records = this},
      ctx, *req);
}

}  // namespace relais::record
