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
  // A legal hold forbids erasure (RecordService.SetLegalHold).
  bool legal_hold = false;
  // The service that created the record (its first contact).
  std::string created_by_service_id;
};

struct EntryFacts {
  std::string id;
  std::string youth_id;
  std::string author_service_id;
  int visibility = 0;  // v1::Visibility
  int category = 0;    // v1::DataCategory
};

// SQL for the id of the youth the entry bound at parameter `param` belongs to:
// for another service's read that travels with the entry's (one snapshot, no
// wait for the entry first). NULL when there is no such entry.
std::string YouthOfEntrySql(int param);

// What other services may ask of the record service. Thread-safe.
class RecordApi {
 public:
  virtual ~RecordApi() = default;
  // NOT_FOUND "youth_not_found" if unknown.
  virtual absl::StatusOr<YouthFacts> GetYouthFacts(absl::string_view youth_id) const = 0;
  // NOT_FOUND "entry_not_found" if unknown.
  virtual absl::StatusOr<EntryFacts> GetEntryFacts(absl::string_view entry_id) const = 0;
  // Seals free text another service keeps about the youth (e.g. an emergency
  // access justification) with the youth's data key, bound to `field` and
  // `row_id`; OpenForYouth reverses it. NOT_FOUND "erased" once the record is
  // erased. The defaults fail closed with UNIMPLEMENTED.
  virtual absl::StatusOr<std::string> SealForYouth(absl::string_view youth_id,
                                                   absl::string_view field,
                                                   absl::string_view row_id,
                                                   absl::string_view plaintext) const {
    (void)youth_id, (void)field, (void)row_id, (void)plaintext;
    return absl::UnimplementedError("SealForYouth is not implemented");
  }
  virtual absl::StatusOr<std::string> OpenForYouth(absl::string_view youth_id,
                                                   absl::string_view field,
                                                   absl::string_view row_id,
                                                   absl::string_view sealed) const {
    (void)youth_id, (void)field, (void)row_id, (void)sealed;
    return absl::UnimplementedError("OpenForYouth is not implemented");
  }
};

// Whole years of age on `day` for someone born on `dob`.
int AgeOn(absl::CivilDay dob, absl::CivilDay day);

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_RECORD_API_H_
