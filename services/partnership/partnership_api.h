#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_API_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_API_H_

// What the care service asks of the partnership conventions: the terms of the
// convention a handover or a consent cites. Declared apart from the
// partnership service so that the care service depends on the terms, not on
// the service that keeps them.

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

namespace relais::partnership {

// A convention's terms as they stand (they never change once proposed; only
// signatures, review and termination do).
struct ConventionTerms {
  std::string id;
  std::vector<std::string> party_service_ids;
  std::set<int> categories;  // v1::DataCategory values
  std::set<int> purposes;    // v1::Purpose values
  int max_overlap_days = 0;
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfinitePast();
  bool signed_by_all = false;
  std::optional<absl::Time> terminated_at;

  bool HasParty(absl::string_view service_id) const {
    return std::find(party_service_ids.begin(), party_service_ids.end(), service_id) !=
           party_service_ids.end();
  }
  // Signed by every party, started, not ended nor terminated at `t`.
  bool InForceAt(absl::Time t) const {
    return signed_by_all && start <= t && t < end && (!terminated_at || t < *terminated_at);
  }
};

// The partnership service implements it in-process. Thread-safe.
class ConventionBook {
 public:
  virtual ~ConventionBook() = default;
  // The terms of `convention_id`, read on `c` (inside the caller's
  // transaction). NOT_FOUND "convention_not_found" if unknown.
  virtual absl::StatusOr<ConventionTerms> GetTerms(storage::Connection& c,
                                                   absl::string_view convention_id) const = 0;
};

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_API_H_
