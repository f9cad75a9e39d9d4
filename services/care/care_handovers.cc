// CareService: the handover handlers. The state machine and its rules are
// Handovers' (handovers.h).

#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/handover_text.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

namespace {

absl::Status CheckReason(absl::string_view field, absl::string_view reason) {
  return common::CheckText(field, reason, common::kMaxReasonLength);
}

}  // namespace

absl::Status CareServiceImpl::Transition(const Caller& caller, CallAudit& call,
                                         absl::string_view handover_id, Handovers::Side side,
                                         const Handovers::Move& move, v1::Handover* resp) {
  RETURN_IF_ERROR(common::CheckId("handover_id", handover_id));
  call.event.object_id = std::string(handover_id);
  v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
  absl::StatusOr<v1::Handover> loaded =
      handovers_.LoadFor(caller.service_id(), handover_id, side, &deny, &call.event.youth_id);
  if (!loaded.ok()) {
    call.event.reason = deny;
    return loaded.status();
  }
  call.event.youth_id = loaded->youth_id();
  RETURN_IF_ERROR(RequireChangeable(loaded->youth_id()));
  RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
    // A cited convention must still hold when the receiving service accepts.
    if (move.kind == Handovers::Move::kAccept && loaded->state() == v1::HANDOVER_STATE_PROPOSED) {
      RETURN_IF_ERROR(conventions_.CheckHandover(
          c, loaded->convention_id(), loaded->from_service_id(), loaded->to_service_id(),
          common::FromProto(loaded->overlap_start()), common::FromProto(loaded->overlap_end()),
          move.now));
    }
    ASSIGN_OR_RETURN(*resp, handovers_.Transition(c, handover_id, move));
    return NoticeHandover(c, *resp);
  }));
  // Reasons are stored sealed; the party sees them in clear.
  return OpenHandoverText(*records_, *resp);
}

grpc::ServerUnaryReactor* CareServiceImpl::ProposeHandover(grpc::CallbackServerContext* ctx,
                                                           const v1::ProposeHandoverRequest* req,
                                                           v1::Handover* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_PROPOSE_HANDOVER,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ProposeHandover"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(common::CheckId("to_service_id", req->to_service_id()));
        RETURN_IF_ERROR(CheckReason("reason", req->reason()));
        if (!req->has_overlap_start()) {
          return common::InvalidField("overlap_start", "field_required", "is required");
        }
        if (!req->has_overlap_end()) {
          return common::InvalidField("overlap_end", "field_required", "is required");
        }
        const absl::Time now = clock_->Now();
        ASSIGN_OR_RETURN(const absl::Time start,
                         common::TimeFromRequest("overlap_start", req->overlap_start()));
        ASSIGN_OR_RETURN(const absl::Time end,
                         common::TimeFromRequest("overlap_end", req->overlap_end()));
        RETURN_IF_ERROR(handovers_.CheckWindow(start, end, now));
        if (req->to_service_id() == caller.service_id()) {
          return common::InvalidField("to_service_id", "handover_to_self",
                                      "a service cannot hand over to itself");
        }
        absl::StatusOr<directory::ServiceInfo> to = directory_->GetService(req->to_service_id());
        if (!to.ok() && !absl::IsNotFound(to.status())) return to.status();  // integrity_violation
        if (!to.ok())
          return common::NotFound("service_not_found", "the receiving service is unknown");
        RETURN_IF_ERROR(RequireWrite(caller, req->youth_id()));
        const Handovers::Proposal proposal{
            req->youth_id(), caller.service_id(),  req->to_service_id(), caller.member_id(),
            req->reason(),   req->overlap_start(), req->overlap_end(),   req->convention_id()};
        return Commit(call, [&](Connection& c) -> absl::Status {
          RETURN_IF_ERROR(conventions_.CheckHandover(c, req->convention_id(), caller.service_id(),
                                                     req->to_service_id(), start, end, now));
          ASSIGN_OR_RETURN(*resp, handovers_.Propose(c, proposal, now));
          call.event.object_id = resp->id();
          return NoticeHandover(c, *resp);
        });
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::AcceptHandover(grpc::CallbackServerContext* ctx,
                                                          const v1::AcceptHandoverRequest* req,
                                                          v1::Handover* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_ACCEPT_HANDOVER,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.AcceptHandover"));
        RETURN_IF_ERROR(common::CheckId("referent_member_id", req->referent_member_id()));
        RETURN_IF_ERROR(RequireReferent(caller, req->referent_member_id()));
        const Handovers::Move move{
            Handovers::Move::kAccept,  caller.member_id(), caller.service_id(),
            req->referent_member_id(), /*reason=*/"",      clock_->Now()};
        return Transition(caller, call, req->handover_id(), Handovers::Side::kTo, move, resp);
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::DeclineHandover(grpc::CallbackServerContext* ctx,
                                                           const v1::DeclineHandoverRequest* req,
                                                           v1::Handover* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_DECLINE_HANDOVER,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.DeclineHandover"));
        RETURN_IF_ERROR(CheckReason("reason", req->reason()));
        const Handovers::Move move{
            Handovers::Move::kDecline, caller.member_id(), "", "", req->reason(), clock_->Now()};
        return Transition(caller, call, req->handover_id(), Handovers::Side::kTo, move, resp);
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::CancelHandover(grpc::CallbackServerContext* ctx,
                                                          const v1::CancelHandoverRequest* req,
                                                          v1::Handover* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_CANCEL_HANDOVER,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CancelHandover"));
        RETURN_IF_ERROR(CheckReason("reason", req->reason()));
        const Handovers::Move move{
            Handovers::Move::kCancel, caller.member_id(), "", "", req->reason(), clock_->Now()};
        return Transition(caller, call, req->handover_id(), Handovers::Side::kFrom, move, resp);
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::CompleteHandover(grpc::CallbackServerContext* ctx,
                                                            const v1::CompleteHandoverRequest* req,
                                                            v1::Handover* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_COMPLETE_HANDOVER,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CompleteHandover"));
        const Handovers::Move move{
            Handovers::Move::kComplete, caller.member_id(), "", "", "", clock_->Now()};
        return Transition(caller, call, req->handover_id(), Handovers::Side::kFrom, move, resp);
      });
}

absl::StatusOr<int> CareServiceImpl::CompleteDueHandovers() {
  const absl::Time now = clock_->Now();
  int completed = 0;
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    completed = 0;
    ASSIGN_OR_RETURN(std::vector<v1::Handover> due, handovers_.CompleteDue(c, now));
    for (const v1::Handover& h : due) {
      audit::EventInput e;
      e.actor_member_id = "relaisd";
      e.action = v1::ACTION_COMPLETE_HANDOVER;
      e.youth_id = h.youth_id();
      e.object_id = h.id();
      e.decision = v1::DECISION_ALLOW;
      e.reason = v1::ACCESS_REASON_ALLOWED;
      e.reason_code = "overlap_window_closed";
      RETURN_IF_ERROR(gate_->audit()->Append(c, e).status());
      ++completed;
    }
    return absl::OkStatus();
  }));
  return completed;
}

grpc::ServerUnaryReactor* CareServiceImpl::GetHandover(grpc::CallbackServerContext* ctx,
                                                       const v1::GetHandoverRequest* req,
                                                       v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GetHandover"));
                      RETURN_IF_ERROR(common::CheckId("handover_id", req->handover_id()));
                      call.event.object_id = req->handover_id();
                      RETURN_IF_ERROR(CompleteDueHandovers().status());
                      v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
                      absl::StatusOr<v1::Handover> h = handovers_.LoadFor(
                          caller.service_id(), req->handover_id(), Handovers::Side::kFrom, &deny);
                      if (!h.ok() && deny == v1::ACCESS_REASON_WRONG_SERVICE) {
                        h = handovers_.LoadFor(caller.service_id(), req->handover_id(),
                                               Handovers::Side::kTo, &deny);
                      }
                      RETURN_IF_ERROR(h.status());
                      call.event.youth_id = h->youth_id();
                      RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
                      RETURN_IF_ERROR(OpenHandoverText(*records_, *h));
                      *resp = *std::move(h);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListHandovers(grpc::CallbackServerContext* ctx,
                                                         const v1::ListHandoversRequest* req,
                                                         v1::ListHandoversResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListHandovers"));
        if (!req->youth_id().empty()) {
          RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
          call.event.youth_id = req->youth_id();
        }
        if (req->ending_within_days() < 0 || req->ending_within_days() > 366) {
          return common::InvalidField("ending_within_days", "out_of_range", "must be 0 to 366");
        }
        RETURN_IF_ERROR(CompleteDueHandovers().status());
        const absl::Time now = clock_->Now();
        ASSIGN_OR_RETURN(std::vector<v1::Handover> list,
                         handovers_.List(caller.service_id(), req->youth_id()));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(
                             list, req->page_size(), req->page_token(),
                             [](const v1::Handover& h) { return h.id(); },
                             [&](const v1::Handover& h) {
                               return Handovers::EndsWithin(h, now, req->ending_within_days());
                             }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (v1::Handover& h : list) {
          RETURN_IF_ERROR(OpenHandoverText(*records_, h));  // only the page returned
          *resp->add_handovers() = std::move(h);
        }
        return absl::OkStatus();
      });
}

}  // namespace relais::care
