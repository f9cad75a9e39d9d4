#include "services/record/record_api.h"

#include "absl/strings/str_cat.h"

namespace relais::record {

std::string YouthOfEntrySql(int param) {
  return absl::StrCat("(SELECT youth_id FROM rec_entries WHERE id = ?", param, ")");
}

int AgeOn(absl::CivilDay dob, absl::CivilDay day) {
  int age = static_cast<int>(day.year() - dob.year());
  if (day.month() < dob.month() || (day.month() == dob.month() && day.day() < dob.day())) {
    --age;
  }
  return age;
}

}  // namespace relais::record
