#ifndef RELAIS_SERVICES_CARE_CARE_API_H_
#define RELAIS_SERVICES_CARE_CARE_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "services/audit/audit_log.h"
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
  // Whether an accompaniment of the youth with basis MANDATE is active now
  // (erasure is then refused). The default fails closed with UNIMPLEMENTED.
  virtual absl::StatusOr<bool> HasActiveMandate(absl::string_view youth_id) const {
    (void)youth_id;
    return absl::UnimplementedError("HasActiveMandate is not implemented");
  }
  // Break-the-glass review queue (for the audit service): grants, oldest
  // first, justification and note opened (a grant of an erased youth shows
  // them empty). The defaults fail closed with UNIMPLEMENTED.
  virtual absl::StatusOr<std::vector<v1::EmergencyAccess>> ListEmergencyGrants(
      bool pending_only) const {
    (void)pending_only;
    return absl::UnimplementedError("ListEmergencyGrants is not implemented");
  }
  // Records a verdict and appends `event` (its ALLOW) in one transaction.
  // NOT_FOUND "grant_not_found"; FAILED_PRECONDITION "already_reviewed".
  virtual absl::StatusOr<v1::EmergencyAccess> ReviewEmergencyGrant(
      absl::string_view grant_id, v1::EmergencyVerdict verdict, absl::string_view note,
      absl::string_view reviewer_member_id, audit::EventInput& event) const {
    (void)grant_id, (void)verdict, (void)note, (void)reviewer_member_id, (void)event;
    return absl::UnimplementedError("ReviewEmergencyGrant is not implemented");
  }
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CARE_API_H_
