#include "services/care/concertations.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/common/rpc.h"

namespace relais::care {

using storage::Connection;

namespace {

bool Invited(const v1::Concertation& m, absl::string_view service_id) {
  return std::find(m.invited_service_ids().begin(), m.invited_service_ids().end(), service_id) !=
         m.invited_service_ids().end();
}

}  // namespace

absl::Status Concertations::CheckInvited(Connection& c, const Meeting& m, absl::Time now,
                                         absl::string_view handover_party) const {
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> all,
                   store::ListAccompaniments(c, m.youth_id, now));
  std::set<std::string, std::less<>> accompanying;
  for (const v1::Accompaniment& a : all) {
    // A claim nobody vouched for yet is no relationship to invite on.
    if (a.active() && a.vouch() != v1::VOUCH_PENDING) accompanying.insert(a.service_id());
  }
  for (const std::string& s : m.invited) {
    if (!accompanying.contains(s) && s != handover_party) {
      return common::Precondition(
          "invitee_not_accompanying",
          absl::StrCat("service ", s,
                       " neither accompanies this youth nor is a party of the "
                       "handover"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Concertation> Concertations::Schedule(Connection& c, const Meeting& m,
                                                         absl::Time now) const {
  std::string handover_party;
  if (!m.handover_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::Handover> h, store::GetHandover(c, m.handover_id));
    const bool party = h.has_value() && h->youth_id() == m.youth_id &&
                       (h->from_service_id() == m.organizer_service_id ||
                        h->to_service_id() == m.organizer_service_id);
    if (!party) {
      return common::InvalidField("handover_id", "unknown_handover",
                                  "no handover of this youth involving your service");
    }
    if (h->state() == v1::HANDOVER_STATE_DECLINED || h->state() == v1::HANDOVER_STATE_CANCELLED) {
      return common::Precondition("handover_closed", "the handover was declined or cancelled");
    }
    handover_party =
        h->from_service_id() == m.organizer_service_id ? h->to_service_id() : h->from_service_id();
  }
  RETURN_IF_ERROR(CheckInvited(c, m, now, handover_party));
  std::vector<std::string> invited = m.invited;
  invited.push_back(m.organizer_service_id);
  std::sort(invited.begin(), invited.end());
  ASSIGN_OR_RETURN(
      std::optional<v1::Concertation> existing,
      store::FindScheduledConcertation(c, m.youth_id, m.organizer_service_id, m.scheduled_at));
  if (existing.has_value()) {
    const bool same =
        existing->handover_id() == m.handover_id &&
        std::equal(invited.begin(), invited.end(), existing->invited_service_ids().begin(),
                   existing->invited_service_ids().end());
    if (same) return *std::move(existing);
    return common::AlreadyExists("concertation_already_scheduled",
                                 "your service already scheduled another meeting about this "
                                 "youth at that time");
  }
  v1::Concertation out;
  out.set_id(common::NewId("cc"));
  out.set_youth_id(m.youth_id);
  out.set_handover_id(m.handover_id);
  out.set_organizer_service_id(m.organizer_service_id);
  out.set_organizer_member_id(m.organizer_member_id);
  for (std::string& s : invited) out.add_invited_service_ids(std::move(s));
  *out.mutable_scheduled_at() = common::ToProto(m.scheduled_at);
  out.set_state(v1::CONCERTATION_STATE_SCHEDULED);
  *out.mutable_created_at() = common::ToProto(now);
  *out.mutable_updated_at() = common::ToProto(now);
  RETURN_IF_ERROR(store::InsertConcertation(c, out));
  return out;
}

absl::StatusOr<v1::Concertation> Concertations::LoadFor(absl::string_view service_id,
                                                        absl::string_view id, bool organizer_only,
                                                        v1::AccessReason* deny) const {
  std::optional<v1::Concertation> m;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(m, store::GetConcertation(c, id));
    return absl::OkStatus();
  }));
  // Not invited: nothing is said of the meeting, not even that it exists.
  if (!m.has_value() || !Invited(*m, service_id)) {
    return common::NotFound("concertation_not_found", "no such concertation for your service");
  }
  if (organizer_only && m->organizer_service_id() != service_id) {
    *deny = v1::ACCESS_REASON_WRONG_SERVICE;
    return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                       "only the organizing service records the outcome");
  }
  return *std::move(m);
}

absl::StatusOr<v1::Concertation> Concertations::Record(Connection& c, absl::string_view id,
                                                       const Outcome& outcome) const {
  ASSIGN_OR_RETURN(std::optional<v1::Concertation> m, store::GetConcertation(c, id));
  if (!m.has_value()) return absl::InternalError("concertation row vanished");
  if (m->state() != v1::CONCERTATION_STATE_SCHEDULED) {
    if (m->state() == outcome.state && m->youth_participation() == outcome.youth_participation) {
      return *std::move(m);
    }
    return common::Precondition(
        "concertation_closed",
        absl::StrCat("the meeting is already ", v1::ConcertationState_Name(m->state())));
  }
  if (outcome.state == v1::CONCERTATION_STATE_HELD &&
      outcome.now < common::FromProto(m->scheduled_at())) {
    return common::Precondition("concertation_not_yet_held",
                                "a meeting is recorded held once its time has come");
  }
  m->set_state(outcome.state);
  m->set_youth_participation(outcome.youth_participation);
  m->set_recorded_by_member_id(outcome.member_id);
  *m->mutable_updated_at() = common::ToProto(outcome.now);
  RETURN_IF_ERROR(store::UpdateConcertationOutcome(c, *m));
  return *std::move(m);
}

absl::StatusOr<std::vector<v1::Concertation>> Concertations::List(
    absl::string_view service_id, absl::string_view youth_id) const {
  std::vector<v1::Concertation> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out, store::ListConcertations(c, youth_id, service_id));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace relais::care
