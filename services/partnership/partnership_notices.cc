// PartnershipService and the inbox: a protocol version published reaches the
// members it concerns (in the publishing transaction), and the sweep reminds
// the parties' coordinators of a convention to review or ending. Ids only.

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/partnership/partnership_service.h"

namespace relais::partnership {

namespace {

constexpr absl::Duration kConventionWarning = absl::Hours(24 * 30);

}  // namespace

absl::Status PartnershipServiceImpl::NoticeProtocol(storage::Connection& txn,
                                                    const v1::Protocol& p) const {
  if (postbox_ == nullptr) return absl::OkStatus();
  for (const std::string& service : p.service_ids()) {
    inbox::Notice n;
    n.kind = v1::INBOX_ITEM_KIND_PROTOCOL_TO_ACKNOWLEDGE;
    n.service_id = service;
    for (int r : p.roles()) n.roles.push_back(static_cast<v1::Role>(r));
    n.protocol_id = p.id();
    n.protocol_version = p.current_version().number();
    n.key = absl::StrCat(p.id(), ":v", p.current_version().number());
    RETURN_IF_ERROR(postbox_->Post(txn, n));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PartnershipServiceImpl::PostReminders() {
  if (postbox_ == nullptr) return 0;
  ASSIGN_OR_RETURN(std::vector<v1::Convention> all, store_->ListConventions(""));
  const absl::Time now = store_->Now();
  int posted = 0;
  RETURN_IF_ERROR(db_->Write([&](storage::Connection& txn) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    posted = 0;
    for (const v1::Convention& c : all) {
      if (c.state() == v1::CONVENTION_STATE_EXPIRED ||
          c.state() == v1::CONVENTION_STATE_TERMINATED) {
        continue;
      }
      const absl::Time review = common::FromProto(c.review_time());
      const absl::Time end = common::FromProto(c.end_time());
      const bool review_due = review - now <= kConventionWarning;
      const bool ending = end - now <= kConventionWarning;
      if (!review_due && !ending) continue;
      for (const std::string& party : c.party_service_ids()) {
        inbox::Notice n;
        n.kind = v1::INBOX_ITEM_KIND_CONVENTION_TO_REVIEW;
        n.service_id = party;
        n.roles = {v1::ROLE_COORDINATOR};
        n.convention_id = c.id();
        n.due_at = review_due ? review : end;
        // Once per review date (a review sets the next one) and once for the end.
        n.key = review_due ? absl::StrCat(c.id(), ":review:", absl::ToUnixSeconds(review))
                           : absl::StrCat(c.id(), ":end");
        RETURN_IF_ERROR(postbox_->Post(txn, n));
      }
      ++posted;
    }
    return absl::OkStatus();
  }));
  return posted;
}

}  // namespace relais::partnership
