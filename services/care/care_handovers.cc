// CareService: the handover state machine.
//
//   proposed --accept--> accepted --(window ends | complete)--> completed
//   proposed --decline--> declined        proposed --cancel--> cancelled
//
// Repeating a transition that already happened returns the handover unchanged
// (idempotent); any other transition is FAILED_PRECONDITION "illegal_transition".

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/care_store.h"
#include "services/care/handover_text.h"
#include "services/common/ids.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::Caller;
using rpc::CallAudit;
using storage::Connection;

namespace {

absl::Status IllegalTransition(const v1::Handover& h, absl::string_view verb) {
  return rpc::Precondition("illegal_transition",
                           absl::StrCat("cannot ", verb, " a handover in state ",
                                        v1::HandoverState_Name(h.state())));
}

absl::Status CheckReason(absl::string_view field, absl::string_view reason) {
  return rpc::CheckText(field, reason, rpc::kMaxReasonLength);
}

}  // namespace

absl::StatusOr<v1::Handover> CareServiceImpl::LoadHandoverFor(const Caller& caller,
                                                              absl::string_view handover_id,
                                                              Side side, v1::AccessReason* deny,
                                                              std::string* youth_id) const {
  std::optional<v1::Handover> h;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(h, store::GetHandover(c, handover_id));
    return absl::OkStatus();
  }));
  const bool party = h.has_value() && (h->from_service_id() == caller.service_id() ||
                                       h->to_service_id() == caller.service_id());
  if (!party) return rpc::NotFound("handover_not_found", "no such handover for your service");
  // A party may learn the youth id; the audit event is then filed under it.
  if (youth_id != nullptr) *youth_id = h->youth_id();
  const std::string& needed = side == Side::kFrom ? h->from_service_id() : h->to_service_id();
  if (needed != caller.service_id()) {
    *deny = v1::ACCESS_REASON_WRONG_SERVICE;
    return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                       side == Side::kFrom ? "only the proposing service may do this"
                                           : "only the receiving service may do this");
  }
  return *h;
}

absl::Status CareServiceImpl::Transition(
    const Caller& caller, CallAudit& call, absl::string_view handover_id, Side side,
    v1::Handover* resp,
    absl::FunctionRef<absl::Status(Connection&, v1::Handover&, bool*)> apply) {
  RETURN_IF_ERROR(rpc::CheckId("handover_id", handover_id));
  call.event.object_id = std::string(handover_id);
  v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
  absl::StatusOr<v1::Handover> loaded =
      LoadHandoverFor(caller, handover_id, side, &deny, &call.event.youth_id);
  if (!loaded.ok()) {
    call.event.reason = deny;
    return loaded.status();
  }
  call.event.youth_id = loaded->youth_id();
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(loaded->youth_id()));
  if (youth.erased) return rpc::Denied(v1::ACCESS_REASON_RECORD_ERASED, "record erased");
  if (youth.restricted) {
    return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED,
                       "processing of this record is restricted");
  }
  RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
    // Re-read inside the write transaction: the state may have moved since.
    ASSIGN_OR_RETURN(auto h, store::GetHandover(c, handover_id));
    if (!h.has_value()) return absl::InternalError("handover vanished");
    bool changed = false;
    RETURN_IF_ERROR(apply(c, *h, &changed));
    if (changed) {
      h->set_decided_by_member_id(h->decided_by_member_id().empty() ? caller.member_id()
                                                                    : h->decided_by_member_id());
      *h->mutable_updated_at() = rpc::ToProto(clock_->Now());
      RETURN_IF_ERROR(store::UpdateHandover(c, *h));
    }
    *resp = *h;
    return absl::OkStatus();
  }));
  // Reasons are stored sealed; the party sees them in clear.
  return OpenHandoverText(*records_, *resp);
}

grpc::ServerUnaryReactor* CareServiceImpl::ProposeHandover(grpc::CallbackServerContext* ctx,
                                                           const v1::ProposeHandoverRequest* req,
                                                           v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_PROPOSE_HANDOVER,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    call.event.youth_id = req->youth_id();
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ProposeHandover"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    RETURN_IF_ERROR(rpc::CheckId("to_service_id", req->to_service_id()));
    RETURN_IF_ERROR(CheckReason("reason", req->reason()));
    if (!req->has_overlap_start()) {
      return rpc::InvalidField("overlap_start", "field_required", "is required");
    }
    if (!req->has_overlap_end()) {
      return rpc::InvalidField("overlap_end", "field_required", "is required");
    }
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(const absl::Time start,
                     rpc::TimeFromRequest("overlap_start", req->overlap_start()));
    ASSIGN_OR_RETURN(const absl::Time end,
                     rpc::TimeFromRequest("overlap_end", req->overlap_end()));
    if (start < now - absl::Minutes(1)) {
      return rpc::InvalidField("overlap_start", "in_the_past", "must not be in the past");
    }
    if (end <= start) {
      return rpc::InvalidField("overlap_end", "window_empty", "must be after overlap_start");
    }
    if (end - start > options_.max_overlap) {
      return rpc::InvalidField(
          "overlap_end", "overlap_too_long",
          absl::StrCat("the overlap may last at most ",
                       absl::ToInt64Hours(options_.max_overlap) / 24, " days"));
    }
    if (req->to_service_id() == caller.service_id()) {
      return rpc::InvalidField("to_service_id", "handover_to_self",
                               "a service cannot hand over to itself");
    }
    absl::StatusOr<directory::ServiceInfo> to = directory_->GetService(req->to_service_id());
    if (!to.ok() && !absl::IsNotFound(to.status())) return to.status();  // integrity_violation
    if (!to.ok()) return rpc::NotFound("service_not_found", "the receiving service is unknown");
    RETURN_IF_ERROR(RequireWrite(caller, req->youth_id()));
    return Commit(call, [&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(auto from_acc, store::ActiveAccompaniment(c, caller.service_id(),
                                                                 req->youth_id(), now));
      if (!from_acc.has_value()) {
        return rpc::Denied(v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
                           "your service does not accompany this youth");
      }
      ASSIGN_OR_RETURN(auto open, store::FindOpenHandover(c, req->youth_id(), caller.service_id(),
                                                          req->to_service_id(), now));
      if (open.has_value()) {
        RETURN_IF_ERROR(OpenHandoverText(*records_, *open));
        const bool same = open->reason() == req->reason() &&
                          rpc::FromProto(open->overlap_start()) == start &&
                          rpc::FromProto(open->overlap_end()) == end;
        if (!same) {
          return common::AlreadyExists("handover_already_open",
                                       "a handover to this service is already open");
        }
        call.event.object_id = open->id();
        *resp = *open;  // idempotent repeat of the same proposal
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(auto target_acc, store::ActiveAccompaniment(c, req->to_service_id(),
                                                                   req->youth_id(), now));
      if (target_acc.has_value()) {
        return rpc::Precondition("already_accompanying",
                                 "the receiving service already accompanies this youth");
      }
      v1::Handover h;
      h.set_id(rpc::NewId("ho"));
      h.set_youth_id(req->youth_id());
      h.set_from_service_id(caller.service_id());
      h.set_to_service_id(req->to_service_id());
      h.set_reason(req->reason());
      *h.mutable_overlap_start() = req->overlap_start();
      *h.mutable_overlap_end() = req->overlap_end();
      h.set_state(v1::HANDOVER_STATE_PROPOSED);
      h.set_proposed_by_member_id(caller.member_id());
      *h.mutable_created_at() = rpc::ToProto(now);
      *h.mutable_updated_at() = rpc::ToProto(now);
      v1::Handover stored = h;
      ASSIGN_OR_RETURN(*stored.mutable_reason(),
                       SealHandoverField(*records_, h.youth_id(), kHandoverReasonField, h.id(),
                                         h.reason()));
      RETURN_IF_ERROR(store::InsertHandover(c, stored, from_acc->id()));
      call.event.object_id = h.id();
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::AcceptHandover(grpc::CallbackServerContext* ctx,
                                                          const v1::AcceptHandoverRequest* req,
                                                          v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_ACCEPT_HANDOVER,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.AcceptHandover"));
    RETURN_IF_ERROR(rpc::CheckId("referent_member_id", req->referent_member_id()));
    absl::StatusOr<directory::MemberInfo> referent =
        directory_->GetMember(req->referent_member_id());
    if (!referent.ok() && !absl::IsNotFound(referent.status())) return referent.status();
    if (!referent.ok() || referent->service_id != caller.service_id() || !referent->active) {
      return rpc::InvalidField("referent_member_id", "referent_not_in_service",
                               "the referent must be an active member of your service");
    }
    const absl::Time now = clock_->Now();
    return Transition(caller, call, req->handover_id(), Side::kTo, resp,
                      [&](Connection& c, v1::Handover& h, bool* changed) -> absl::Status {
      if (h.state() == v1::HANDOVER_STATE_ACCEPTED || h.state() == v1::HANDOVER_STATE_COMPLETED) {
        return absl::OkStatus();
      }
      if (h.state() != v1::HANDOVER_STATE_PROPOSED) return IllegalTransition(h, "accept");
      const absl::Time start = rpc::FromProto(h.overlap_start());
      const absl::Time end = rpc::FromProto(h.overlap_end());
      if (now >= end) {
        return rpc::Precondition("window_elapsed", "the overlap window has already ended");
      }
      ASSIGN_OR_RETURN(std::string from_acc_id, store::HandoverFromAccompaniment(c, h.id()));
      ASSIGN_OR_RETURN(auto from_acc, store::GetAccompaniment(c, from_acc_id, now));
      if (!from_acc.has_value() || !from_acc->active()) {
        return rpc::Precondition("proposer_no_longer_accompanying",
                                 "the proposing service no longer accompanies this youth");
      }
      v1::Accompaniment incoming;
      incoming.set_id(rpc::NewId("acc"));
      incoming.set_youth_id(h.youth_id());
      incoming.set_service_id(caller.service_id());
      incoming.set_referent_member_id(req->referent_member_id());
      incoming.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
      *incoming.mutable_start_time() = rpc::ToProto(std::max(now, start));
      incoming.set_handover_id(h.id());
      // Vouched for by the proposing service, which accompanies the youth.
      incoming.set_vouch(v1::VOUCH_HANDOVER);
      incoming.set_vouched_by_member_id(h.proposed_by_member_id());
      *incoming.mutable_vouched_at() = rpc::ToProto(now);
      RETURN_IF_ERROR(store::InsertAccompaniment(c, incoming));
      // The outgoing service accompanies until the window closes (or earlier
      // if it was already due to end).
      absl::Time outgoing_end = end;
      if (from_acc->has_end_time()) {
        outgoing_end = std::min(outgoing_end, rpc::FromProto(from_acc->end_time()));
      }
      RETURN_IF_ERROR(store::SetAccompanimentEnd(c, from_acc->id(), outgoing_end));
      h.set_state(v1::HANDOVER_STATE_ACCEPTED);
      h.set_to_accompaniment_id(incoming.id());
      *changed = true;
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::DeclineHandover(grpc::CallbackServerContext* ctx,
                                                           const v1::DeclineHandoverRequest* req,
                                                           v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_DECLINE_HANDOVER,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.DeclineHandover"));
    RETURN_IF_ERROR(CheckReason("reason", req->reason()));
    return Transition(caller, call, req->handover_id(), Side::kTo, resp,
                      [&](Connection&, v1::Handover& h, bool* changed) -> absl::Status {
      if (h.state() == v1::HANDOVER_STATE_DECLINED) return absl::OkStatus();
      if (h.state() != v1::HANDOVER_STATE_PROPOSED) return IllegalTransition(h, "decline");
      h.set_state(v1::HANDOVER_STATE_DECLINED);
      ASSIGN_OR_RETURN(*h.mutable_closing_reason(),
                       SealHandoverField(*records_, h.youth_id(), kHandoverClosingReasonField,
                                         h.id(), req->reason()));
      *changed = true;
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::CancelHandover(grpc::CallbackServerContext* ctx,
                                                          const v1::CancelHandoverRequest* req,
                                                          v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_CANCEL_HANDOVER,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CancelHandover"));
    RETURN_IF_ERROR(CheckReason("reason", req->reason()));
    return Transition(caller, call, req->handover_id(), Side::kFrom, resp,
                      [&](Connection&, v1::Handover& h, bool* changed) -> absl::Status {
      if (h.state() == v1::HANDOVER_STATE_CANCELLED) return absl::OkStatus();
      if (h.state() != v1::HANDOVER_STATE_PROPOSED) return IllegalTransition(h, "cancel");
      h.set_state(v1::HANDOVER_STATE_CANCELLED);
      ASSIGN_OR_RETURN(*h.mutable_closing_reason(),
                       SealHandoverField(*records_, h.youth_id(), kHandoverClosingReasonField,
                                         h.id(), req->reason()));
      *changed = true;
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::CompleteHandover(
    grpc::CallbackServerContext* ctx, const v1::CompleteHandoverRequest* req,
    v1::Handover* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_COMPLETE_HANDOVER,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CompleteHandover"));
    const absl::Time now = clock_->Now();
    return Transition(caller, call, req->handover_id(), Side::kFrom, resp,
                      [&](Connection& c, v1::Handover& h, bool* changed) -> absl::Status {
      if (h.state() == v1::HANDOVER_STATE_COMPLETED) return absl::OkStatus();
      if (h.state() != v1::HANDOVER_STATE_ACCEPTED) return IllegalTransition(h, "complete");
      ASSIGN_OR_RETURN(auto incoming, store::GetAccompaniment(c, h.to_accompaniment_id(), now));
      if (!incoming.has_value() || rpc::FromProto(incoming->start_time()) > now) {
        return rpc::Precondition("incoming_not_started",
                                 "the receiving service's accompaniment has not started yet");
      }
      ASSIGN_OR_RETURN(std::string from_acc_id, store::HandoverFromAccompaniment(c, h.id()));
      ASSIGN_OR_RETURN(auto outgoing, store::GetAccompaniment(c, from_acc_id, now));
      if (outgoing.has_value() && outgoing->active()) {
        RETURN_IF_ERROR(store::SetAccompanimentEnd(c, from_acc_id, now));
      }
      h.set_state(v1::HANDOVER_STATE_COMPLETED);
      *changed = true;
      return absl::OkStatus();
    });
  });
}

absl::StatusOr<int> CareServiceImpl::CompleteDueHandovers() {
  const absl::Time now = clock_->Now();
  int completed = 0;
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(auto due, store::DueHandovers(c, now));
    for (v1::Handover& h : due) {
      h.set_state(v1::HANDOVER_STATE_COMPLETED);
      *h.mutable_updated_at() = rpc::ToProto(now);
      RETURN_IF_ERROR(store::UpdateHandover(c, h));
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
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GetHandover"));
    RETURN_IF_ERROR(rpc::CheckId("handover_id", req->handover_id()));
    call.event.object_id = req->handover_id();
    RETURN_IF_ERROR(CompleteDueHandovers().status());
    v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
    absl::StatusOr<v1::Handover> h = LoadHandoverFor(caller, req->handover_id(), Side::kFrom, &deny);
    if (!h.ok() && deny == v1::ACCESS_REASON_WRONG_SERVICE) {
      h = LoadHandoverFor(caller, req->handover_id(), Side::kTo, &deny);
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
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListHandovers"));
    if (!req->youth_id().empty()) {
      RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
      call.event.youth_id = req->youth_id();
    }
    if (req->ending_within_days() < 0 || req->ending_within_days() > 366) {
      return rpc::InvalidField("ending_within_days", "out_of_range", "must be 0 to 366");
    }
    RETURN_IF_ERROR(CompleteDueHandovers().status());
    const absl::Time now = clock_->Now();
    std::vector<v1::Handover> list;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(list, store::ListHandovers(c, caller.service_id(), req->youth_id()));
      return absl::OkStatus();
    }));
    const absl::Time horizon = now + absl::Hours(24) * req->ending_within_days();
    ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                     rpc::TakePage(
                         list, req->page_size(), req->page_token(),
                         [](const v1::Handover& h) { return h.id(); },
                         [&](const v1::Handover& h) {
                           if (req->ending_within_days() == 0) return true;
                           const absl::Time end = rpc::FromProto(h.overlap_end());
                           return h.state() == v1::HANDOVER_STATE_ACCEPTED && end > now &&
                                  end <= horizon;
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
