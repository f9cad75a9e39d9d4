#include "common/clock.h"

#include "gtest/gtest.h"

namespace relais::common {
namespace {

TEST(FakeClock, MovesOnlyWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Hours(24));
  EXPECT_EQ(clock.Now(), start + absl::Hours(24));
  clock.Set(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(RealClock, IsCloseToAbslNow) {
  EXPECT_LT(absl::AbsDuration(RealClock().Now() - absl::Now()), absl::Seconds(5));
}

}  // namespace
}  // namespace relais::common
