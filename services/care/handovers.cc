#include "services/care/handovers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/handover_text.h"
#include "services/common/rpc.h"

namespace relais::care {

using storage::Connection;

namespace {

absl::Status IllegalTransition(const v1::Handover& h, absl::string_view verb) {
  return common::Precondition(
      "illegal_transition",
      absl::StrCat("cannot ", verb, " a handover in state ", v1::HandoverState_Name(h.state())));
}

}  // namespace

absl::Status Handovers::CheckWindow(absl::Time start, absl::Time end, absl::Time now) const {
  if (start < now - absl::Minutes(1)) {
    return common::InvalidField("overlap_start", "in_the_past", "must not be in the past");
  }
  if (end <= start) {
    return common::InvalidField("overlap_end", "window_empty", "must be after overlap_start");
  }
  if (end - start > max_overlap_) {
    return common::InvalidField("overlap_end", "overlap_too_long",
                                absl::StrCat("the overlap may last at most ",
                                             absl::ToInt64Hours(max_overlap_) / 24, " days"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Handover> Handovers::Propose(Connection& c, const Proposal& p,
                                                absl::Time now) const {
  ASSIGN_OR_RETURN(auto from_acc,
                   store::ActiveAccompaniment(c, p.from_service_id, p.youth_id, now));
  if (!from_acc.has_value()) {
    return rpc::Denied(v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
                       "your service does not accompany this youth");
  }
  ASSIGN_OR_RETURN(auto open,
                   store::FindOpenHandover(c, p.youth_id, p.from_service_id, p.to_service_id, now));
  if (open.has_value()) {
    RETURN_IF_ERROR(OpenHandoverText(*records_, *open));
    const bool same =
        open->reason() == p.reason &&
        common::FromProto(open->overlap_start()) == common::FromProto(p.overlap_start) &&
        common::FromProto(open->overlap_end()) == common::FromProto(p.overlap_end) &&
        open->convention_id() == p.convention_id;
    if (!same) {
      return common::AlreadyExists("handover_already_open",
                                   "a handover to this service is already open");
    }
    return *open;  // idempotent repeat of the same proposal
  }
  ASSIGN_OR_RETURN(auto target_acc,
                   store::ActiveAccompaniment(c, p.to_service_id, p.youth_id, now));
  if (target_acc.has_value()) {
    return common::Precondition("already_accompanying",
                                "the receiving service already accompanies this youth");
  }
  v1::Handover h;
  h.set_id(common::NewId("ho"));
  h.set_youth_id(p.youth_id);
  h.set_from_service_id(p.from_service_id);
  h.set_to_service_id(p.to_service_id);
  h.set_reason(p.reason);
  *h.mutable_overlap_start() = p.overlap_start;
  *h.mutable_overlap_end() = p.overlap_end;
  h.set_state(v1::HANDOVER_STATE_PROPOSED);
  h.set_proposed_by_member_id(p.member_id);
  h.set_convention_id(p.convention_id);
  *h.mutable_created_at() = common::ToProto(now);
  *h.mutable_updated_at() = common::ToProto(now);
  v1::Handover stored = h;
  ASSIGN_OR_RETURN(
      *stored.mutable_reason(),
      SealHandoverField(*records_, h.youth_id(), kHandoverReasonField, h.id(), h.reason()));
  RETURN_IF_ERROR(store::InsertHandover(c, stored, from_acc->id()));
  return h;
}

absl::StatusOr<v1::Handover> Handovers::LoadFor(absl::string_view service_id,
                                                absl::string_view handover_id, Side side,
                                                v1::AccessReason* deny,
                                                std::string* youth_id) const {
  std::optional<v1::Handover> h;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(h, store::GetHandover(c, handover_id));
    return absl::OkStatus();
  }));
  const bool party =
      h.has_value() && (h->from_service_id() == service_id || h->to_service_id() == service_id);
  if (!party) return common::NotFound("handover_not_found", "no such handover for your service");
  // A party may learn the youth id; the audit event is then filed under it.
  if (youth_id != nullptr) *youth_id = h->youth_id();
  const std::string& needed = side == Side::kFrom ? h->from_service_id() : h->to_service_id();
  if (needed != service_id) {
    *deny = v1::ACCESS_REASON_WRONG_SERVICE;
    return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                       side == Side::kFrom ? "only the proposing service may do this"
                                           : "only the receiving service may do this");
  }
  return *h;
}

absl::StatusOr<v1::Handover> Handovers::Transition(Connection& c, absl::string_view handover_id,
                                                   const Move& move) const {
  ASSIGN_OR_RETURN(auto h, store::GetHandover(c, handover_id));
  if (!h.has_value()) return absl::InternalError("handover vanished");
  bool changed = false;
  switch (move.kind) {
    case Move::kAccept:
      RETURN_IF_ERROR(Accept(c, *h, move, &changed));
      break;
    case Move::kDecline:
    case Move::kCancel:
      RETURN_IF_ERROR(Close(*h, move, &changed));
      break;
    case Move::kComplete:
      RETURN_IF_ERROR(Complete(c, *h, move, &changed));
      break;
  }
  if (changed) {
    if (h->decided_by_member_id().empty()) h->set_decided_by_member_id(move.member_id);
    *h->mutable_updated_at() = common::ToProto(clock_->Now());
    RETURN_IF_ERROR(store::UpdateHandover(c, *h));
  }
  return *h;
}

absl::Status Handovers::Accept(Connection& c, v1::Handover& h, const Move& move,
                               bool* changed) const {
  if (h.state() == v1::HANDOVER_STATE_ACCEPTED || h.state() == v1::HANDOVER_STATE_COMPLETED) {
    return absl::OkStatus();
  }
  if (h.state() != v1::HANDOVER_STATE_PROPOSED) return IllegalTransition(h, "accept");
  const absl::Time start = common::FromProto(h.overlap_start());
  const absl::Time end = common::FromProto(h.overlap_end());
  if (move.now >= end) {
    return common::Precondition("window_elapsed", "the overlap window has already ended");
  }
  ASSIGN_OR_RETURN(std::string from_acc_id, store::HandoverFromAccompaniment(c, h.id()));
  ASSIGN_OR_RETURN(auto from_acc, store::GetAccompaniment(c, from_acc_id, move.now));
  if (!from_acc.has_value() || !from_acc->active()) {
    return common::Precondition("proposer_no_longer_accompanying",
                                "the proposing service no longer accompanies this youth");
  }
  v1::Accompaniment incoming;
  incoming.set_id(common::NewId("acc"));
  incoming.set_youth_id(h.youth_id());
  incoming.set_service_id(move.service_id);
  incoming.set_referent_member_id(move.referent_member_id);
  incoming.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  *incoming.mutable_start_time() = common::ToProto(std::max(move.now, start));
  incoming.set_handover_id(h.id());
  // Vouched for by the proposing service, which accompanies the youth.
  incoming.set_vouch(v1::VOUCH_HANDOVER);
  incoming.set_vouched_by_member_id(h.proposed_by_member_id());
  *incoming.mutable_vouched_at() = common::ToProto(move.now);
  RETURN_IF_ERROR(store::InsertAccompaniment(c, incoming));
  // The outgoing service accompanies until the window closes (or earlier
  // if it was already due to end).
  absl::Time outgoing_end = end;
  if (from_acc->has_end_time()) {
    outgoing_end = std::min(outgoing_end, common::FromProto(from_acc->end_time()));
  }
  RETURN_IF_ERROR(store::SetAccompanimentEnd(c, from_acc->id(), outgoing_end));
  h.set_state(v1::HANDOVER_STATE_ACCEPTED);
  h.set_to_accompaniment_id(incoming.id());
  *changed = true;
  return absl::OkStatus();
}

absl::Status Handovers::Close(v1::Handover& h, const Move& move, bool* changed) const {
  const bool decline = move.kind == Move::kDecline;
  const v1::HandoverState closed =
      decline ? v1::HANDOVER_STATE_DECLINED : v1::HANDOVER_STATE_CANCELLED;
  if (h.state() == closed) return absl::OkStatus();
  if (h.state() != v1::HANDOVER_STATE_PROPOSED) {
    return IllegalTransition(h, decline ? "decline" : "cancel");
  }
  h.set_state(closed);
  ASSIGN_OR_RETURN(
      *h.mutable_closing_reason(),
      SealHandoverField(*records_, h.youth_id(), kHandoverClosingReasonField, h.id(), move.reason));
  *changed = true;
  return absl::OkStatus();
}

absl::Status Handovers::Complete(Connection& c, v1::Handover& h, const Move& move,
                                 bool* changed) const {
  if (h.state() == v1::HANDOVER_STATE_COMPLETED) return absl::OkStatus();
  if (h.state() != v1::HANDOVER_STATE_ACCEPTED) return IllegalTransition(h, "complete");
  ASSIGN_OR_RETURN(auto incoming, store::GetAccompaniment(c, h.to_accompaniment_id(), move.now));
  if (!incoming.has_value() || common::FromProto(incoming->start_time()) > move.now) {
    return common::Precondition("incoming_not_started",
                                "the receiving service's accompaniment has not started yet");
  }
  ASSIGN_OR_RETURN(std::string from_acc_id, store::HandoverFromAccompaniment(c, h.id()));
  ASSIGN_OR_RETURN(auto outgoing, store::GetAccompaniment(c, from_acc_id, move.now));
  if (outgoing.has_value() && outgoing->active()) {
    RETURN_IF_ERROR(store::SetAccompanimentEnd(c, from_acc_id, move.now));
  }
  h.set_state(v1::HANDOVER_STATE_COMPLETED);
  *changed = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Handover>> Handovers::CompleteDue(Connection& c,
                                                                 absl::Time now) const {
  ASSIGN_OR_RETURN(std::vector<v1::Handover> due, store::DueHandovers(c, now));
  for (v1::Handover& h : due) {
    h.set_state(v1::HANDOVER_STATE_COMPLETED);
    *h.mutable_updated_at() = common::ToProto(now);
    RETURN_IF_ERROR(store::UpdateHandover(c, h));
  }
  return due;
}

absl::StatusOr<std::vector<v1::Handover>> Handovers::List(absl::string_view service_id,
                                                          absl::string_view youth_id) const {
  std::vector<v1::Handover> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::ListHandovers(c, service_id, youth_id));
    return absl::OkStatus();
  }));
  return list;
}

bool Handovers::EndsWithin(const v1::Handover& h, absl::Time now, int days) {
  if (days == 0) return true;
  const absl::Time end = common::FromProto(h.overlap_end());
  return h.state() == v1::HANDOVER_STATE_ACCEPTED && end > now &&
         end <= now + absl::Hours(24) * days;
}

}  // namespace relais::care
