// CareService and the inbox: what the care records post to members' inboxes
// (inbox::Postbox), in the transaction of the change they tell about; the
// reminders the sweep posts; and a newcomer's view (inbox::CareDigest).
// Ids, states and dates only.

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/care_store.h"

namespace relais::care {

using storage::Connection;

namespace {

constexpr absl::Duration kWindowWarning = absl::Hours(24 * 7);
constexpr absl::Duration kConsentWarning = absl::Hours(24 * 14);

inbox::Notice About(const v1::Handover& h, v1::InboxItemKind kind, absl::string_view what) {
  inbox::Notice n;
  n.kind = kind;
  n.youth_id = h.youth_id();
  n.handover_id = h.id();
  n.due_at = common::FromProto(h.overlap_end());
  n.key = absl::StrCat(h.id(), ":", what);
  return n;
}

}  // namespace

absl::Status CareServiceImpl::Post(Connection& c, inbox::Notice notice) const {
  if (postbox_ == nullptr) return absl::OkStatus();
  return postbox_->Post(c, notice);
}

absl::Status CareServiceImpl::NoticeHandover(Connection& c, const v1::Handover& h) const {
  inbox::Notice n;
  switch (h.state()) {
    case v1::HANDOVER_STATE_PROPOSED:
      // The receiving service's coordinators decide.
      n = About(h, v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED, "proposed");
      n.service_id = h.to_service_id();
      n.roles = {v1::ROLE_COORDINATOR};
      return Post(c, std::move(n));
    case v1::HANDOVER_STATE_ACCEPTED:
      n = About(h, v1::INBOX_ITEM_KIND_HANDOVER_ACCEPTED, "accepted");
      break;
    case v1::HANDOVER_STATE_DECLINED:
      n = About(h, v1::INBOX_ITEM_KIND_HANDOVER_DECLINED, "declined");
      break;
    default:
      return absl::OkStatus();
  }
  // The proposer and the proposing service's coordinators learn the answer.
  n.service_id = h.from_service_id();
  n.roles = {v1::ROLE_COORDINATOR};
  n.member_ids = {h.proposed_by_member_id()};
  return Post(c, std::move(n));
}

absl::Status CareServiceImpl::NoticePending(Connection& c, const v1::Accompaniment& a,
                                            absl::Time now) const {
  if (a.vouch() != v1::VOUCH_PENDING) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> all,
                   store::ListAccompaniments(c, a.youth_id(), now));
  for (const v1::Accompaniment& other : all) {
    // The coordinators of each service whose own accompaniment is vouched can confirm.
    if (!other.active() || other.vouch() == v1::VOUCH_PENDING ||
        other.service_id() == a.service_id()) {
      continue;
    }
    inbox::Notice n;
    n.kind = v1::INBOX_ITEM_KIND_ACCOMPANIMENT_TO_VOUCH;
    n.service_id = other.service_id();
    n.roles = {v1::ROLE_COORDINATOR};
    n.youth_id = a.youth_id();
    n.accompaniment_id = a.id();
    n.key = absl::StrCat(a.id(), ":to_vouch");
    RETURN_IF_ERROR(Post(c, std::move(n)));
  }
  return absl::OkStatus();
}

// Both services' referents and coordinators, for an overlap window ending.
absl::Status CareServiceImpl::NoticeWindow(Connection& c, const v1::Handover& h, absl::Time now,
                                           bool last_day) const {
  std::vector<std::string> referents;
  ASSIGN_OR_RETURN(std::string from_acc, store::HandoverFromAccompaniment(c, h.id()));
  for (const std::string& id : {from_acc, h.to_accompaniment_id()}) {
    ASSIGN_OR_RETURN(auto acc, store::GetAccompaniment(c, id, now));
    if (acc.has_value()) referents.push_back(acc->referent_member_id());
  }
  const v1::InboxItemKind kind =
      last_day ? v1::INBOX_ITEM_KIND_WINDOW_LAST_DAY : v1::INBOX_ITEM_KIND_WINDOW_ENDING;
  for (const std::string& service : {h.from_service_id(), h.to_service_id()}) {
    inbox::Notice n = About(h, kind, last_day ? "last_day" : "ending");
    n.service_id = service;
    n.roles = {v1::ROLE_COORDINATOR};
    n.member_ids = referents;
    RETURN_IF_ERROR(Post(c, std::move(n)));
  }
  return absl::OkStatus();
}

// Each invited service but the organizer's: its coordinators and its
// referents of the youth.
absl::Status CareServiceImpl::NoticeConcertation(Connection& c, const v1::Concertation& m,
                                                 absl::Time now) const {
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> all,
                   store::ListAccompaniments(c, m.youth_id(), now));
  for (const std::string& service : m.invited_service_ids()) {
    if (service == m.organizer_service_id()) continue;
    inbox::Notice n;
    n.kind = v1::INBOX_ITEM_KIND_CONCERTATION_SCHEDULED;
    n.service_id = service;
    n.roles = {v1::ROLE_COORDINATOR};
    for (const v1::Accompaniment& a : all) {
      if (a.active() && a.service_id() == service) n.member_ids.push_back(a.referent_member_id());
    }
    n.youth_id = m.youth_id();
    n.handover_id = m.handover_id();
    n.concertation_id = m.id();
    n.due_at = common::FromProto(m.scheduled_at());
    n.key = absl::StrCat(m.id(), ":scheduled");
    RETURN_IF_ERROR(Post(c, std::move(n)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CareServiceImpl::PostReminders() {
  if (postbox_ == nullptr) return 0;
  const absl::Time now = clock_->Now();
  int posted = 0;
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    posted = 0;
    ASSIGN_OR_RETURN(std::vector<v1::Handover> ending,
                     store::HandoversEndingBefore(c, now, now + kWindowWarning));
    for (const v1::Handover& h : ending) {
      const absl::Time end = common::FromProto(h.overlap_end());
      RETURN_IF_ERROR(NoticeWindow(c, h, now, /*last_day=*/end - now <= absl::Hours(24)));
      ++posted;
    }
    ASSIGN_OR_RETURN(std::vector<v1::Consent> expiring,
                     store::ConsentsExpiringBefore(c, now, now + kConsentWarning));
    for (const v1::Consent& k : expiring) {
      inbox::Notice n;
      n.kind = v1::INBOX_ITEM_KIND_CONSENT_EXPIRING;
      n.service_id = k.recorded_by_service_id();
      n.roles = {v1::ROLE_COORDINATOR};
      n.member_ids = {k.recorded_by_member_id()};
      n.youth_id = k.youth_id();
      n.consent_id = k.id();
      n.due_at = common::FromProto(k.valid_until());
      n.key = absl::StrCat(k.id(), ":expiring");
      RETURN_IF_ERROR(Post(c, std::move(n)));
      ++posted;
    }
    return absl::OkStatus();
  }));
  return posted;
}

absl::StatusOr<std::vector<v1::Accompaniment>> CareServiceImpl::ActiveAccompaniments(
    absl::string_view service_id) const {
  std::vector<v1::Accompaniment> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out, store::ActiveAccompanimentsOf(c, service_id, clock_->Now()));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<v1::Handover>> CareServiceImpl::OpenHandovers(
    absl::string_view service_id) const {
  std::vector<v1::Handover> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<v1::Handover> all, store::ListHandovers(c, service_id, ""));
    for (v1::Handover& h : all) {
      if (h.state() != v1::HANDOVER_STATE_PROPOSED && h.state() != v1::HANDOVER_STATE_ACCEPTED) {
        continue;
      }
      // Stored sealed; GetHandover opens them for a party.
      h.clear_reason();
      h.clear_closing_reason();
      out.push_back(std::move(h));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace relais::care
