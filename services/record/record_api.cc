#include "services/record/record_api.h"

namespace relais::record {

int AgeOn(absl::CivilDay dob, absl::CivilDay day) {
  int age = static_cast<int>(day.year() - dob.year());
  if (day.month() < dob.month() || (day.month() == dob.month() && day.day() < dob.day())) {
    --age;
  }
  return age;
}

}  // namespace relais::record
