#include "services/record/record_api.h"

#include "gtest/gtest.h"

namespace relais::record {
namespace {

TEST(AgeOn, CountsWholeYearsAndTurnsOnTheBirthday) {
  const absl::CivilDay dob(2014, 3, 10);
  EXPECT_EQ(AgeOn(dob, absl::CivilDay(2026, 3, 9)), 11);
  EXPECT_EQ(AgeOn(dob, absl::CivilDay(2026, 3, 10)), 12);
  EXPECT_EQ(AgeOn(dob, absl::CivilDay(2026, 12, 31)), 12);
  EXPECT_EQ(AgeOn(absl::CivilDay(2012, 2, 29), absl::CivilDay(2024, 2, 28)), 11);
  EXPECT_EQ(AgeOn(absl::CivilDay(2012, 2, 29), absl::CivilDay(2024, 2, 29)), 12);
}

}  // namespace
}  // namespace relais::record
