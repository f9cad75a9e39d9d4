#include "services/care/accompaniments.h"

#include "absl/strings/ascii.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"

namespace relais::care {

using storage::Connection;

namespace {

// Kinds of service whose decisions are mandates (youth-aid Code of 2018).
bool IsMandatingKind(absl::string_view kind) {
  const std::string k = absl::AsciiStrToUpper(kind);
  return k == "SAJ" || k == "SPJ";
}

}  // namespace

absl::StatusOr<v1::Accompaniment> Accompaniments::Open(Connection& c, const Opening& in,
                                                       absl::Time now) const {
  ASSIGN_OR_RETURN(auto existing, store::ActiveAccompaniment(c, in.service_id, in.youth_id, now));
  if (existing.has_value()) return *existing;  // idempotent: already accompanying
  v1::Accompaniment a;
  a.set_id(common::NewId("acc"));
  a.set_youth_id(in.youth_id);
  a.set_service_id(in.service_id);
  a.set_referent_member_id(in.referent_member_id);
  a.set_basis(in.basis);
  *a.mutable_start_time() = common::ToProto(now);
  a.set_active(true);
  // No one vouches for themselves: only first contact is immediate. The
  // answer depends on what the caller knows already (whether it created
  // the record), except for the creator, which learns whether another
  // service took the youth over since.
  ASSIGN_OR_RETURN(bool others, store::EverVouchedOther(c, in.youth_id, in.service_id));
  if (in.record_creator_service_id == in.service_id && !others) {
    a.set_vouch(v1::VOUCH_FIRST_CONTACT);
    a.set_vouched_by_member_id(in.member_id);
    *a.mutable_vouched_at() = common::ToProto(now);
  } else {
    a.set_vouch(v1::VOUCH_PENDING);
  }
  RETURN_IF_ERROR(store::InsertAccompaniment(c, a));
  return a;
}

absl::StatusOr<v1::Accompaniment> Accompaniments::End(Connection& c, absl::string_view service_id,
                                                      absl::string_view id, absl::Time now) const {
  ASSIGN_OR_RETURN(auto a, store::GetAccompaniment(c, id, now));
  if (!a.has_value() || a->service_id() != service_id) {
    return common::NotFound("accompaniment_not_found", "no such accompaniment of your service");
  }
  if (a->has_end_time() && common::FromProto(a->end_time()) <= now) {
    return *a;  // idempotent: already ended
  }
  // The youth is never left without a responsible service: while this
  // service hands over to one whose accompaniment has not started, it stays.
  ASSIGN_OR_RETURN(auto handovers, store::ListHandovers(c, service_id, a->youth_id()));
  for (const v1::Handover& h : handovers) {
    if (h.state() != v1::HANDOVER_STATE_ACCEPTED || h.from_service_id() != service_id) continue;
    ASSIGN_OR_RETURN(bool future,
                     store::HasFutureAccompaniment(c, h.to_service_id(), a->youth_id(), now));
    if (future) {
      return common::Precondition("incoming_not_started",
                                  "the receiving service's accompaniment has not started yet");
    }
  }
  RETURN_IF_ERROR(store::SetAccompanimentEnd(c, a->id(), now));
  *a->mutable_end_time() = common::ToProto(now);
  a->set_active(false);
  return *a;
}

absl::Status Accompaniments::NotFoundForVoucher() {
  return common::NotFound("accompaniment_not_found", "no such pending accompaniment for you");
}

absl::StatusOr<v1::Vouch> Accompaniments::VouchFor(const v1::Accompaniment& target,
                                                   bool voucher_accompanies,
                                                   absl::string_view voucher_kind, bool confirm) {
  bool by_mandate = false;
  if (!voucher_accompanies) {
    by_mandate = IsMandatingKind(voucher_kind) && target.basis() == v1::ACCOMPANIMENT_BASIS_MANDATE;
    if (!by_mandate) return NotFoundForVoucher();
  }
  if (!confirm) return v1::VOUCH_DECLINED;
  return by_mandate ? v1::VOUCH_MANDATE : v1::VOUCH_CONFIRMED;
}

absl::StatusOr<v1::Accompaniment> Accompaniments::Vouch(Connection& c, absl::string_view id,
                                                        v1::Vouch verdict,
                                                        absl::string_view member_id,
                                                        absl::Time now) const {
  ASSIGN_OR_RETURN(auto a, store::GetAccompaniment(c, id, now));
  if (!a.has_value()) return absl::InternalError("accompaniment vanished");
  const bool confirm = verdict != v1::VOUCH_DECLINED;
  if (a->vouch() != v1::VOUCH_PENDING) {
    // Idempotent repeat; the opposite decision is refused.
    const bool declined = a->vouch() == v1::VOUCH_DECLINED;
    if (declined != !confirm) {
      return common::Precondition("not_pending", "this accompaniment was already decided");
    }
    return *a;
  }
  if (a->has_end_time() && common::FromProto(a->end_time()) <= now) {
    return common::Precondition("accompaniment_ended", "this accompaniment has ended");
  }
  RETURN_IF_ERROR(store::SetAccompanimentVouch(c, a->id(), verdict, member_id, now));
  a->set_vouch(verdict);
  a->set_vouched_by_member_id(std::string(member_id));
  *a->mutable_vouched_at() = common::ToProto(now);
  if (!confirm) {
    RETURN_IF_ERROR(store::SetAccompanimentEnd(c, a->id(), now));
    *a->mutable_end_time() = common::ToProto(now);
    a->set_active(false);
  }
  return *a;
}

absl::StatusOr<std::optional<v1::Accompaniment>> Accompaniments::Get(absl::string_view id,
                                                                     absl::Time now) const {
  std::optional<v1::Accompaniment> found;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found, store::GetAccompaniment(c, id, now));
    return absl::OkStatus();
  }));
  return found;
}

namespace {

// Attaches each referent change to its accompaniment in `list` (one youth's).
absl::Status AddReferentHistory(Connection& c, absl::string_view youth_id,
                                std::vector<v1::Accompaniment>& list) {
  ASSIGN_OR_RETURN(auto changes, store::ReferentChanges(c, youth_id));
  for (auto& [accompaniment_id, change] : changes) {
    for (v1::Accompaniment& a : list) {
      if (a.id() == accompaniment_id) *a.add_referent_history() = std::move(change);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::Accompaniment>> Accompaniments::List(absl::string_view youth_id,
                                                                    absl::Time now) const {
  std::vector<v1::Accompaniment> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::ListAccompaniments(c, youth_id, now));
    return AddReferentHistory(c, youth_id, list);
  }));
  return list;
}

absl::StatusOr<v1::Accompaniment> Accompaniments::Reassign(
    Connection& c, absl::string_view service_id, absl::string_view id,
    absl::string_view referent_member_id, absl::string_view by_member_id, absl::Time now) const {
  ASSIGN_OR_RETURN(auto a, store::GetAccompaniment(c, id, now));
  if (!a.has_value() || a->service_id() != service_id) {
    return common::NotFound("accompaniment_not_found", "no such accompaniment of your service");
  }
  if (a->has_end_time() && common::FromProto(a->end_time()) <= now) {
    return common::Precondition("accompaniment_ended", "the accompaniment has ended");
  }
  if (a->referent_member_id() != referent_member_id) {
    RETURN_IF_ERROR(store::SetAccompanimentReferent(c, a->id(), a->referent_member_id(),
                                                    referent_member_id, by_member_id, now));
    a->set_referent_member_id(std::string(referent_member_id));
  }
  std::vector<v1::Accompaniment> one{*std::move(a)};
  RETURN_IF_ERROR(AddReferentHistory(c, one.front().youth_id(), one));
  return std::move(one.front());
}

absl::StatusOr<std::vector<v1::Accompaniment>> Accompaniments::ReferredBy(
    Connection& c, absl::string_view member_id, absl::Time now) const {
  return store::ReferredBy(c, member_id, now);
}

absl::StatusOr<std::vector<v1::Accompaniment>> Accompaniments::PendingFor(
    absl::string_view service_id, absl::Time now) const {
  std::vector<v1::Accompaniment> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::PendingForService(c, service_id, now));
    return absl::OkStatus();
  }));
  return list;
}

absl::StatusOr<std::vector<v1::Accompaniment>> Accompaniments::OpenOf(absl::string_view service_id,
                                                                      absl::Time now) const {
  std::vector<v1::Accompaniment> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::OpenAccompanimentsOf(c, service_id, now));
    return absl::OkStatus();
  }));
  return list;
}

}  // namespace relais::care
