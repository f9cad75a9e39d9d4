#include "services/record/lookup_limiter.h"

#include "gtest/gtest.h"

namespace relais::record {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(LookupLimiter, AllowsTheLimitThenRefusesUntilTheOldestLeavesTheHour) {
  LookupLimiter limiter(3, absl::Hours(1));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(10)));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(20)));
  EXPECT_FALSE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(30)));
  // Sliding: still within the hour of the first look-up.
  EXPECT_FALSE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(59)));
  // The first one has left the window: exactly one more.
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Hours(1)));
  EXPECT_FALSE(limiter.TryAcquire("mbr_a", kStart + absl::Hours(1)));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(70)));
}

TEST(LookupLimiter, CountsPerMember) {
  LookupLimiter limiter(1, absl::Hours(1));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart));
  EXPECT_FALSE(limiter.TryAcquire("mbr_a", kStart));
  EXPECT_TRUE(limiter.TryAcquire("mbr_b", kStart));
}

TEST(LookupLimiter, RefusedLookUpsAreNotCounted) {
  LookupLimiter limiter(2, absl::Hours(1));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart));
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(30)));
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(40)));
  }
  EXPECT_TRUE(limiter.TryAcquire("mbr_a", kStart + absl::Minutes(61)));
}

TEST(LookupLimiter, ForgetsIdleMembersWithoutLosingActiveOnes) {
  LookupLimiter limiter(1, absl::Hours(1));
  for (int i = 0; i < 3000; ++i) {
    EXPECT_TRUE(limiter.TryAcquire("mbr_" + std::to_string(i), kStart));
  }
  // Two hours later every one of them may look up again.
  for (int i = 0; i < 3000; ++i) {
    EXPECT_TRUE(limiter.TryAcquire("mbr_" + std::to_string(i), kStart + absl::Hours(2)));
    EXPECT_FALSE(limiter.TryAcquire("mbr_" + std::to_string(i), kStart + absl::Hours(2)));
  }
}

}  // namespace
}  // namespace relais::record
