#ifndef RELAIS_SERVICES_CARE_CARE_API_H_
#define RELAIS_SERVICES_CARE_CARE_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/care/access_policy.h"

namespace relais::care {

// The handover facts the record service needs to file concertation entries.
struct HandoverFacts {
  std::string id;
  std::string youth_id;
  std::string from_service_id;
  std::string to_service_id;
};

// What the record service asks of the care service (the policy information
// point). Thread-safe; evaluated at the care service's clock's "now".
class CareApi {
 public:
  virtual ~CareApi() = default;
  // The relationship of `service_id` to `youth_id` now and the consents in force
  // that name that service or its sector.
  virtual absl::StatusOr<AccessFacts> GatherFacts(absl::string_view service_id,
                                                  absl::string_view youth_id) const = 0;
  // NOT_FOUND "handover_not_found".
  virtual absl::StatusOr<HandoverFacts> GetHandoverFacts(absl::string_view handover_id) const = 0;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CARE_API_H_
