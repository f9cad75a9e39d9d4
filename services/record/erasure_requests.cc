// RecordService's four-eyes erasure (GDPR art. 17) and two-person full export:
// a request by one person, an approval by a second one who does not belong to
// the requester's service, then (erasure) execution by the server once the
// grace period has passed. Every transition is idempotent and commits in one
// transaction with its audit event; reasons are sealed, never audited.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/directory/platform_auditor.h"
#include "services/record/gdpr_store.h"
#include "services/record/record_service.h"
#include "services/record/record_store.h"
#include "storage/wal_checkpoint.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;
using storage::crypto::FieldCrypto;

namespace {

// Who the server's own events name, as for the retention sweep.
constexpr char kServerActor[] = "relaisd";

absl::Status ErasureNotFound() {
  return common::NotFound("erasure_request_not_found", "no such erasure request");
}

absl::Status ExportRequestNotFound() {
  return common::NotFound("export_request_not_found", "no such full-export request");
}

// An event of the server itself, about one youth.
audit::EventInput ServerEvent(v1::Action action, absl::string_view youth_id,
                              absl::string_view object_id, v1::Decision decision,
                              absl::string_view reason_code) {
  audit::EventInput e;
  e.request_id = common::NewId("req");
  e.actor_member_id = kServerActor;
  e.action = action;
  e.youth_id = std::string(youth_id);
  e.object_id = std::string(object_id);
  e.decision = decision;
  e.reason =
      decision == v1::DECISION_ALLOW ? v1::ACCESS_REASON_ALLOWED : v1::ACCESS_REASON_UNSPECIFIED;
  e.reason_code = std::string(reason_code);
  return e;
}

// A second event of the caller's call (same request id), e.g. the restriction
// an erasure request sets.
audit::EventInput SideEvent(const audit::EventInput& call, v1::Action action,
                            absl::string_view object_id, absl::string_view reason_code) {
  audit::EventInput e = call;
  e.action = action;
  e.object_id = std::string(object_id);
  e.decision = v1::DECISION_ALLOW;
  e.reason = v1::ACCESS_REASON_ALLOWED;
  e.reason_code = std::string(reason_code);
  return e;
}

}  // namespace

absl::StatusOr<bool> RecordServiceImpl::IsPlatformAuditor(const Caller& caller) const {
  if (directory_ == nullptr) return false;
  return directory::IsPlatformAuditor(*directory_, caller);
}

absl::StatusOr<v1::ErasureRequest> RecordServiceImpl::LoadErasureRequest(
    absl::string_view id) const {
  std::optional<v1::ErasureRequest> found;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found, store::GetErasureRequest(c, id));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return ErasureNotFound();
  return *std::move(found);
}

absl::Status RecordServiceImpl::RequireErasureViewer(const Caller& caller, absl::string_view method,
                                                     absl::string_view youth_id,
                                                     CallAudit& call) const {
  RETURN_IF_ERROR(gate_->RequireRole(caller, method));
  if (caller.HasRole(v1::ROLE_ADMIN)) return absl::OkStatus();
  ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(caller));
  if (platform) return absl::OkStatus();
  if (caller.HasRole(v1::ROLE_COORDINATOR)) return RequireGdprActor(caller, youth_id, call);
  return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                     "only a platform auditor sees erasure requests among auditors");
}

// --- Step 1: the request (RecordService.EraseYouth) ---------------------------

grpc::ServerUnaryReactor* RecordServiceImpl::EraseYouth(grpc::CallbackServerContext* ctx,
                                                        const v1::EraseYouthRequest* req,
                                                        v1::ErasureRequest* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_REQUEST_ERASURE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.EraseYouth"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(common::CheckText("reason", req->reason(), common::kMaxReasonLength));
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(req->youth_id()));
        RETURN_IF_ERROR(RequireGdprActor(caller, youth.id, call));
        if (youth.legal_hold) {
          return common::Precondition("legal_hold", "a legal hold forbids erasing this record");
        }
        ASSIGN_OR_RETURN(bool mandate, care_->HasActiveMandate(youth.id));
        if (mandate) {
          return common::Precondition(
              "mandate_active", "an accompaniment under mandate is active; it must end first");
        }
        ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
        const absl::Time now = clock_->Now();
        v1::ErasureRequest request;
        request.set_id(common::NewId("erq"));
        request.set_youth_id(youth.id);
        request.set_state(v1::ERASURE_STATE_REQUESTED);
        request.set_requested_by_member_id(caller.member_id());
        request.set_requested_by_service_id(caller.service_id());
        *request.mutable_requested_at() = common::ToProto(now);
        return Commit(call, [&](Connection& c) -> absl::Status {
          // A hold set since the checks above wins: re-read inside the transaction.
          ASSIGN_OR_RETURN(std::optional<YouthFacts> current,
                           store::GetYouthFacts(c, *crypto, youth.id));
          if (!current.has_value() || current->erased) {
            return common::NotFound("erased", "the record has been erased");
          }
          if (current->legal_hold) {
            return common::Precondition("legal_hold", "a legal hold forbids erasing this record");
          }
          ASSIGN_OR_RETURN(std::optional<v1::ErasureRequest> pending,
                           store::PendingErasureRequest(c, youth.id));
          if (pending.has_value()) {  // idempotent: the pending request, unchanged
            call.event.object_id = pending->id();
            *resp = *std::move(pending);
            return absl::OkStatus();
          }
          request.set_restricted_by_request(!current->restricted);
          call.event.object_id = request.id();
          RETURN_IF_ERROR(store::InsertErasureRequest(c, *crypto, request, req->reason()));
          if (request.restricted_by_request()) {
            // Art. 18 at once, as RestrictYouth records it; the reason is the
            // request's (sealed there), so the change row stores none.
            store::GdprChange change{
                common::NewId("gdpr"), youth.id, "restrict", "", caller.member_id(),
                caller.service_id(),   now};
            RETURN_IF_ERROR(store::RecordGdprChange(c, *crypto, change));
            RETURN_IF_ERROR(store::SetYouthFlag(c, youth.id, store::YouthFlag::kRestricted, true));
            RETURN_IF_ERROR(
                rpc::AuditAppended(gate_->audit()
                                       ->Append(c, SideEvent(call.event, v1::ACTION_RESTRICT_YOUTH,
                                                             change.id, "erasure_requested"))
                                       .status()));
          }
          *resp = request;
          return absl::OkStatus();
        });
      });
}

// --- Step 2: the second person's approval ------------------------------------

grpc::ServerUnaryReactor* RecordServiceImpl::ApproveErasure(grpc::CallbackServerContext* ctx,
                                                            const v1::ApproveErasureRequest* req,
                                                            v1::ErasureRequest* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_APPROVE_ERASURE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.ApproveErasure"));
        RETURN_IF_ERROR(gate_->RequireRecentLogin(caller));  // irreversible: step-up
        RETURN_IF_ERROR(common::CheckId("request_id", req->request_id()));
        call.event.object_id = req->request_id();
        ASSIGN_OR_RETURN(v1::ErasureRequest request, LoadErasureRequest(req->request_id()));
        call.event.youth_id = request.youth_id();
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(request.youth_id()));
        ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(caller));
        // Four eyes: never the requester, nor anyone of the requester's service
        // but the DPO, whose independence is the point (GDPR art. 38(3)).
        if (caller.member_id() == request.requested_by_member_id() ||
            (caller.service_id() == request.requested_by_service_id() && !platform)) {
          return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                             "an erasure is approved by someone outside the requester's service");
        }
        if (!platform) {
          if (!caller.HasRole(v1::ROLE_COORDINATOR)) {
            return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                               "only a platform auditor approves an erasure among auditors");
          }
          RETURN_IF_ERROR(RequireGdprActor(caller, youth.id, call));
        }
        if (request.state() == v1::ERASURE_STATE_CANCELLED) {
          return common::Precondition("erasure_cancelled", "the erasure request was cancelled");
        }
        if (request.state() == v1::ERASURE_STATE_APPROVED) {  // idempotent repeat
          RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
          *resp = std::move(request);
          return absl::OkStatus();
        }
        const absl::Time now = clock_->Now();
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
          return store::ApproveErasureRequest(c, request.id(), caller.member_id(),
                                              caller.service_id(), now,
                                              now + options_.erasure_grace_period);
        }));
        if (options_.erasure_grace_period <= absl::ZeroDuration()) {
          absl::StatusOr<int> executed = ExecuteDueErasures();
          if (!executed.ok()) {
            common::LogError("erasure after approval failed; the schedule retries it",
                             {{"status", executed.status().ToString()}});
          }
        }
        ASSIGN_OR_RETURN(*resp, LoadErasureRequest(request.id()));
        return absl::OkStatus();
      });
}

// --- Cancellation, until execution -------------------------------------------

grpc::ServerUnaryReactor* RecordServiceImpl::CancelErasure(grpc::CallbackServerContext* ctx,
                                                           const v1::CancelErasureRequest* req,
                                                           v1::ErasureRequest* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_CANCEL_ERASURE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.CancelErasure"));
        RETURN_IF_ERROR(common::CheckId("request_id", req->request_id()));
        call.event.object_id = req->request_id();
        RETURN_IF_ERROR(common::CheckText("reason", req->reason(), common::kMaxReasonLength));
        ASSIGN_OR_RETURN(v1::ErasureRequest request, LoadErasureRequest(req->request_id()));
        call.event.youth_id = request.youth_id();
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(request.youth_id()));
        ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(caller));
        if (!platform) {
          if (!caller.HasRole(v1::ROLE_COORDINATOR) && !caller.HasRole(v1::ROLE_ADMIN)) {
            return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                               "only a platform auditor cancels an erasure among auditors");
          }
          if (caller.service_id() != request.requested_by_service_id()) {
            return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                               "only the requester's service or the DPO cancels an erasure");
          }
        }
        if (request.state() == v1::ERASURE_STATE_CANCELLED) {  // idempotent repeat
          RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
          *resp = std::move(request);
          return absl::OkStatus();
        }
        if (request.state() == v1::ERASURE_STATE_EXECUTED) {
          return common::Precondition("erasure_executed", "the record has been erased");
        }
        ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
        const absl::Time now = clock_->Now();
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
          RETURN_IF_ERROR(store::CancelErasureRequest(c, *crypto, request, caller.member_id(),
                                                      caller.service_id(), now, req->reason(),
                                                      "cancelled"));
          if (!request.restricted_by_request()) return absl::OkStatus();
          ASSIGN_OR_RETURN(std::optional<YouthFacts> current,
                           store::GetYouthFacts(c, *crypto, youth.id));
          if (!current.has_value() || !current->restricted) return absl::OkStatus();
          // The restriction was this request's: it goes with it.
          store::GdprChange change{
              common::NewId("gdpr"), youth.id, "lift_restriction", "", caller.member_id(),
              caller.service_id(),   now};
          RETURN_IF_ERROR(store::RecordGdprChange(c, *crypto, change));
          RETURN_IF_ERROR(store::SetYouthFlag(c, youth.id, store::YouthFlag::kRestricted, false));
          return rpc::AuditAppended(
              gate_->audit()
                  ->Append(c, SideEvent(call.event, v1::ACTION_LIFT_RESTRICTION, change.id,
                                        "erasure_cancelled"))
                  .status());
        }));
        ASSIGN_OR_RETURN(*resp, LoadErasureRequest(request.id()));
        return absl::OkStatus();
      });
}

// --- Reading the requests -----------------------------------------------------

grpc::ServerUnaryReactor* RecordServiceImpl::GetErasureRequest(
    grpc::CallbackServerContext* ctx, const v1::GetErasureRequestRequest* req,
    v1::ErasureRequest* resp) {
  // Audited as a read of the record's GDPR state.
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_YOUTH,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.GetErasureRequest"));
        RETURN_IF_ERROR(common::CheckId("request_id", req->request_id()));
        call.event.object_id = req->request_id();
        ASSIGN_OR_RETURN(v1::ErasureRequest request, LoadErasureRequest(req->request_id()));
        call.event.youth_id = request.youth_id();
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(request.youth_id()));
        RETURN_IF_ERROR(
            RequireErasureViewer(caller, "RecordService.GetErasureRequest", youth.id, call));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        *resp = std::move(request);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RecordServiceImpl::ListErasureRequests(
    grpc::CallbackServerContext* ctx, const v1::ListErasureRequestsRequest* req,
    v1::ListErasureRequestsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_YOUTH,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.ListErasureRequests"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(req->youth_id()));
        RETURN_IF_ERROR(
            RequireErasureViewer(caller, "RecordService.ListErasureRequests", youth.id, call));
        std::vector<v1::ErasureRequest> requests;
        RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(requests, store::ListErasureRequests(c, youth.id));
          return absl::OkStatus();
        }));
        ASSIGN_OR_RETURN(std::string next,
                         rpc::TakePage(requests, req->page_size(), req->page_token(),
                                       [](const v1::ErasureRequest& r) { return r.id(); }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (v1::ErasureRequest& r : requests) *resp->add_erasure_requests() = std::move(r);
        resp->set_next_page_token(next);
        return absl::OkStatus();
      });
}

// --- Execution, by the server -------------------------------------------------

absl::StatusOr<int> RecordServiceImpl::ExecuteDueErasures() {
  if (care_ == nullptr) return absl::FailedPreconditionError("erasure: no care service");
  RETURN_IF_ERROR(Crypto().status());
  const absl::Time now = clock_->Now();
  std::vector<std::string> due;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(due, store::DueErasureRequests(c, now));
    return absl::OkStatus();
  }));
  int executed = 0;
  for (const std::string& id : due) {
    ASSIGN_OR_RETURN(const bool erased, ExecuteErasure(id, now));
    if (erased) ++executed;
  }
  if (executed > 0) {
    // Old page images of the wrapped keys leave the WAL.
    (void)storage::CheckpointAfterErasure(*db_, "erasure", {"rec_data_keys"});
  }
  return executed;
}

absl::StatusOr<bool> RecordServiceImpl::ExecuteErasure(absl::string_view id, absl::Time now) {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  ASSIGN_OR_RETURN(v1::ErasureRequest listed, LoadErasureRequest(id));
  // Refused at execution as at request time: the mandate is care's, read
  // before the transaction; the hold is re-read inside it.
  absl::StatusOr<bool> mandate = care_->HasActiveMandate(listed.youth_id());
  if (!mandate.ok() && mandate.status().code() != absl::StatusCode::kNotFound) {
    return mandate.status();
  }
  bool erased = false;
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    erased = false;
    ASSIGN_OR_RETURN(std::optional<v1::ErasureRequest> request, store::GetErasureRequest(c, id));
    if (!request.has_value() || request->state() != v1::ERASURE_STATE_APPROVED) {
      return absl::OkStatus();  // cancelled or executed meanwhile
    }
    const std::string& youth_id = request->youth_id();
    ASSIGN_OR_RETURN(std::optional<YouthFacts> youth, store::GetYouthFacts(c, *crypto, youth_id));
    if (!youth.has_value() || youth->erased) {  // e.g. by retention meanwhile
      RETURN_IF_ERROR(store::MarkErasureExecuted(c, id, now));
      return gate_->audit()
          ->Append(c, ServerEvent(v1::ACTION_ERASE_YOUTH, youth_id, id, v1::DECISION_ALLOW,
                                  "already_erased"))
          .status();
    }
    std::string refused;
    if (youth->legal_hold) {
      refused = "legal_hold";
    } else if (mandate.ok() && *mandate) {
      refused = "mandate_active";
    }
    if (!refused.empty()) {
      // The server cancels it (the restriction stays: a person lifts it).
      RETURN_IF_ERROR(
          store::CancelErasureRequest(c, *crypto, *request, kServerActor, "", now, "", refused));
      RETURN_IF_ERROR(gate_->audit()
                          ->Append(c, ServerEvent(v1::ACTION_ERASE_YOUTH, youth_id, id,
                                                  v1::DECISION_DENY, refused))
                          .status());
      return gate_->audit()
          ->Append(
              c, ServerEvent(v1::ACTION_CANCEL_ERASURE, youth_id, id, v1::DECISION_ALLOW, refused))
          .status();
    }
    // Crypto-shredding, as the retention sweep's whole-youth erasure.
    RETURN_IF_ERROR(store::RecordGdprChange(
        c, *crypto, {common::NewId("gdpr"), youth_id, "erase", "", kServerActor, "", now}));
    RETURN_IF_ERROR(store::MarkErasureExecuted(c, id, now));
    RETURN_IF_ERROR(care_->EraseCareText(c, youth_id));
    RETURN_IF_ERROR(store::EraseYouth(c, youth_id, now));
    RETURN_IF_ERROR(gate_->audit()
                        ->Append(c, ServerEvent(v1::ACTION_ERASE_YOUTH, youth_id, id,
                                                v1::DECISION_ALLOW, "erasure_approved"))
                        .status());
    erased = true;
    return absl::OkStatus();
  }));
  if (erased) keys_.Forget(listed.youth_id());
  return erased;
}

// --- Two-person full export ---------------------------------------------------

grpc::ServerUnaryReactor* RecordServiceImpl::RequestFullExport(
    grpc::CallbackServerContext* ctx, const v1::RequestFullExportRequest* req,
    v1::FullExportRequest* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_REQUEST_FULL_EXPORT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.RequestFullExport"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(common::CheckText("reason", req->reason(), common::kMaxReasonLength));
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(req->youth_id()));
        ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
        v1::FullExportRequest request;
        request.set_id(common::NewId("fxr"));
        request.set_youth_id(youth.id);
        request.set_state(v1::FULL_EXPORT_STATE_REQUESTED);
        request.set_requested_by_member_id(caller.member_id());
        *request.mutable_requested_at() = common::ToProto(clock_->Now());
        call.event.object_id = request.id();
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) {
          return store::InsertFullExportRequest(c, *crypto, request, caller.service_id(),
                                                req->reason());
        }));
        *resp = std::move(request);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RecordServiceImpl::ApproveFullExport(
    grpc::CallbackServerContext* ctx, const v1::ApproveFullExportRequest* req,
    v1::FullExportRequest* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_APPROVE_FULL_EXPORT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.ApproveFullExport"));
        RETURN_IF_ERROR(gate_->RequireRecentLogin(caller));  // bulk disclosure: step-up
        RETURN_IF_ERROR(common::CheckId("request_id", req->request_id()));
        call.event.object_id = req->request_id();
        const absl::Time now = clock_->Now();
        std::optional<v1::FullExportRequest> request;
        RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(request, store::GetFullExportRequest(c, req->request_id(), now));
          return absl::OkStatus();
        }));
        if (!request.has_value()) return ExportRequestNotFound();
        call.event.youth_id = request->youth_id();
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(request->youth_id()));
        ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(caller));
        if (!platform) {
          return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                             "only a platform auditor (the DPO) approves a full export");
        }
        if (caller.member_id() == request->requested_by_member_id()) {
          return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                             "a full export is approved by someone other than its requester");
        }
        if (request->state() != v1::FULL_EXPORT_STATE_REQUESTED) {  // idempotent repeat
          RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
          *resp = *std::move(request);
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) {
          return store::ApproveFullExportRequest(c, request->id(), caller.member_id(), now);
        }));
        RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(request, store::GetFullExportRequest(c, req->request_id(), now));
          return absl::OkStatus();
        }));
        if (!request.has_value()) return ExportRequestNotFound();
        (void)youth;
        *resp = *std::move(request);
        return absl::OkStatus();
      });
}

}  // namespace relais::record
