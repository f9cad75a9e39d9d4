#ifndef RELAIS_SERVICES_CARE_CARE_API_H_
#define RELAIS_SERVICES_CARE_CARE_API_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "services/audit/audit_log.h"
#include "services/care/access_policy.h"
#include "storage/database.h"

namespace relais::care {

// The handover facts the record service needs to file concertation entries.
struct HandoverFacts {
  std::string id;
  std::string youth_id;
  std::string from_service_id;
  std::string to_service_id;
};

// Everything the care service holds on one youth, for the record's export
// (GDPR art. 15/20): consents decorated and with their receipt.
struct CareExport {
  std::vector<v1::Accompaniment> accompaniments;
  std::vector<v1::Handover> handovers;
  std::vector<v1::Consent> consents;
};

// What the record service asks of the care service (the policy information
// point). Thread-safe; evaluated at the care service's clock's "now".
class CareApi {
 public:
  virtual ~CareApi() = default;
  // The relationship of `service_id` to `youth_id` now and the consents in force
  // that name that service or its sector. An emergency grant counts only for
  // the member who opened it: `member_id` (empty: none counts).
  virtual absl::StatusOr<AccessFacts> GatherFacts(absl::string_view service_id,
                                                  absl::string_view youth_id,
                                                  absl::string_view member_id = "") const = 0;
  // NOT_FOUND "handover_not_found".
  virtual absl::StatusOr<HandoverFacts> GetHandoverFacts(absl::string_view handover_id) const = 0;
  // Whether an accompaniment of the youth with basis MANDATE is active now
  // (erasure is then refused). The default fails closed with UNIMPLEMENTED.
  virtual absl::StatusOr<bool> HasActiveMandate(absl::string_view youth_id) const {
    (void)youth_id;
    return absl::UnimplementedError("HasActiveMandate is not implemented");
  }
  // The youth's accompaniments, handovers and consents, oldest first; the
  // caller decided and audited the access. The default fails closed.
  virtual absl::StatusOr<CareExport> ExportCare(absl::string_view youth_id) const {
    (void)youth_id;
    return absl::UnimplementedError("ExportCare is not implemented");
  }
  // The retention clock (README "Retention"): whether an accompaniment of the
  // youth is active now or starts later (`open`: the youth is never swept),
  // and the latest end among those that ended. Read on `c`, so that the
  // retention sweep can check it inside its erasing transaction. Fails closed
  // with UNIMPLEMENTED.
  struct AccompanimentSpan {
    bool open = false;
    std::optional<absl::Time> last_end;
  };
  virtual absl::StatusOr<AccompanimentSpan> GetAccompanimentSpan(
      storage::Connection& c, absl::string_view youth_id) const {
    (void)c, (void)youth_id;
    return absl::UnimplementedError("GetAccompanimentSpan is not implemented");
  }
  // Erasure (art. 17): blanks the free text care keeps in clear about the youth
  // (handover reasons), on `c`, inside the erasing transaction, so that nothing
  // of the youth stays readable once the data key is gone. Fails closed with
  // UNIMPLEMENTED.
  virtual absl::Status EraseCareText(storage::Connection& c, absl::string_view youth_id) const {
    (void)c, (void)youth_id;
    return absl::UnimplementedError("EraseCareText is not implemented");
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
