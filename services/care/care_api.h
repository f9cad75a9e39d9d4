#ifndef RELAIS_SERVICES_CARE_CARE_API_H_
#define RELAIS_SERVICES_CARE_CARE_API_H_

// What the audit service asks of the care service: the break-the-glass review
// queue. (The access rule's facts are access::CareFacts, care::CareLedger.)

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/care.pb.h"
#include "services/audit/audit_log.h"

namespace relais::care {

class CareApi {
 public:
  virtual ~CareApi() = default;
  // Break-the-glass grants, oldest first, justification and note opened (a
  // grant of an erased youth shows them empty).
  virtual absl::StatusOr<std::vector<v1::EmergencyAccess>> ListEmergencyGrants(
      bool pending_only) const = 0;
  // Records a verdict and appends `event` (its ALLOW) in one transaction.
  // NOT_FOUND "grant_not_found"; FAILED_PRECONDITION "already_reviewed";
  // PERMISSION_DENIED "separation_of_duties" when the reviewer is the opener or
  // of the opener's service.
  virtual absl::StatusOr<v1::EmergencyAccess> ReviewEmergencyGrant(
      absl::string_view grant_id, v1::EmergencyVerdict verdict, absl::string_view note,
      absl::string_view reviewer_member_id, audit::EventInput& event) const = 0;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CARE_API_H_
