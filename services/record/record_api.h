#ifndef RELAIS_SERVICES_RECORD_RECORD_API_H_
#define RELAIS_SERVICES_RECORD_RECORD_API_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace relais::record {

// What the care service needs to know of a youth record: never its content.
struct YouthFacts {
  std::string id;
  absl::CivilDay date_of_birth;
  std::vector<std::string> guardian_ids;
  bool restricted = false;
  // Also true once the youth's data key was destroyed (crypto-shredding); the
  // date of birth is then unknown and left at its default.
  bool erased = false;
};

struct EntryFacts {
  std::string id;
  std::string youth_id;
  std::string author_service_id;
  int visibility = 0;  // v1::Visibility
  int category = 0;    // v1::DataCategory
};

// What other services may ask of the record service. Thread-safe.
class RecordApi {
 public:
  virtual ~RecordApi() = default;
  // NOT_FOUND "youth_not_found" if unknown.
  virtual absl::StatusOr<YouthFacts> GetYouthFacts(absl::string_view youth_id) const = 0;
  // NOT_FOUND "entry_not_found" if unknown.
  virtual absl::StatusOr<EntryFacts> GetEntryFacts(absl::string_view entry_id) const = 0;
};

// Whole years of age on `day` for someone born on `dob`.
int AgeOn(absl::CivilDay dob, absl::CivilDay day);

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_RECORD_API_H_
