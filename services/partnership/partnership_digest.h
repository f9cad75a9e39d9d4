#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_DIGEST_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_DIGEST_H_

#include <string>
#include <vector>

#include "services/inbox/inbox_api.h"
#include "services/partnership/partnership_store.h"

namespace relais::partnership {

// The conventions and protocols a newcomer's first view shows
// (InboxService.Orientation). Thread-safe; `store` is borrowed.
class Digest final : public inbox::PartnershipDigest {
 public:
  explicit Digest(const PartnershipStore* store) : store_(store) {}

  absl::StatusOr<std::vector<v1::Convention>> LiveConventions(
      absl::string_view service_id) const override;
  absl::StatusOr<std::vector<v1::Protocol>> ToAcknowledge(
      absl::string_view member_id, absl::string_view service_id,
      const std::vector<v1::Role>& roles) const override;

 private:
  const PartnershipStore* const store_;
};

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_DIGEST_H_
