#ifndef RELAIS_SERVICES_CARE_CITED_CONVENTIONS_H_
#define RELAIS_SERVICES_CARE_CITED_CONVENTIONS_H_

// A consent or a handover may cite a partnership convention (DESIGN.md,
// "Consent": "within any partnership convention it cites"). It is checked
// against the convention's terms when recorded, and the access decision
// narrows a citing consent to what the convention covers at that moment.

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "access/policy.h"
#include "relais/v1/care.pb.h"
#include "services/partnership/partnership_api.h"
#include "storage/database.h"

namespace relais::care {

class CitedConventions {
 public:
  // `book` is borrowed; null when no partnership service runs: nothing can
  // then be cited, and a consent that cites one shares nothing.
  explicit CitedConventions(const partnership::ConventionBook* book) : book_(book) {}

  // A consent `k` (built, holder = recorded_by_service_id) citing
  // k.convention_id(): the convention must be in force at `now` with the
  // holder and every recipient service as parties, name the consent's
  // categories and purposes, and not end before the consent. NOT_FOUND
  // "convention_not_found"; else FAILED_PRECONDITION "outside_convention".
  absl::Status CheckConsent(storage::Connection& c, const v1::Consent& k, absl::Time now) const;

  // A handover from `from` to `to` over [start, end) citing `convention_id`:
  // in force at `now`, both services parties, PURPOSE_HANDOVER in scope, an
  // overlap no longer than its longest and ending before it does. Errors as
  // CheckConsent. OK when `convention_id` is empty.
  absl::Status CheckHandover(storage::Connection& c, absl::string_view convention_id,
                             absl::string_view from, absl::string_view to, absl::Time start,
                             absl::Time end, absl::Time now) const;

  // Sets the convention limit of each grant that cites one, as it stands at
  // `now` for `reader_service_id`. A convention that cannot be found limits
  // to nothing (fail closed).
  absl::Status Limit(storage::Connection& c, absl::string_view reader_service_id, absl::Time now,
                     std::vector<access::ConsentGrant>& grants) const;

 private:
  absl::StatusOr<partnership::ConventionTerms> InForce(storage::Connection& c,
                                                       absl::string_view convention_id,
                                                       absl::Time now) const;

  const partnership::ConventionBook* const book_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CITED_CONVENTIONS_H_
