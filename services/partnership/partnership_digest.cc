#include "services/partnership/partnership_digest.h"

#include <algorithm>
#include <set>

#include "common/status_macros.h"

namespace relais::partnership {

absl::StatusOr<std::vector<v1::Convention>> Digest::LiveConventions(
    absl::string_view service_id) const {
  ASSIGN_OR_RETURN(std::vector<v1::Convention> all, store_->ListConventions(service_id));
  std::vector<v1::Convention> out;
  for (v1::Convention& c : all) {
    if (c.state() == v1::CONVENTION_STATE_EXPIRED || c.state() == v1::CONVENTION_STATE_TERMINATED) {
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Protocol>> Digest::ToAcknowledge(
    absl::string_view member_id, absl::string_view service_id,
    const std::vector<v1::Role>& roles) const {
  ASSIGN_OR_RETURN(std::vector<v1::Protocol> all, store_->ProtocolsOf(service_id));
  ASSIGN_OR_RETURN(std::set<std::string> acknowledged, store_->AcknowledgedBy(member_id));
  std::vector<v1::Protocol> out;
  for (v1::Protocol& p : all) {
    const bool service_concerned = std::find(p.service_ids().begin(), p.service_ids().end(),
                                             service_id) != p.service_ids().end();
    const bool role_concerned = std::any_of(roles.begin(), roles.end(), [&](v1::Role r) {
      return std::find(p.roles().begin(), p.roles().end(), r) != p.roles().end();
    });
    if (!service_concerned || !role_concerned) continue;
    if (acknowledged.count(AckKey(p.id(), p.current_version().number())) > 0) continue;
    // A lapsed one is shown flagged; it cannot be acknowledged until renewed.
    p.set_to_acknowledge(!p.lapsed());
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace relais::partnership
