#include "services/auth/login_throttle.h"

#include "gtest/gtest.h"

namespace relais::auth_service {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'790'000'000);

TEST(LoginThrottle, BlocksAPeerSprayingManyAccountsUntilTheWindowPasses) {
  LoginThrottle t;
  for (int i = 0; i < 19; ++i) t.RecordFailure("ipv4:10.0.0.9", kT0);
  EXPECT_FALSE(t.Blocked("ipv4:10.0.0.9", kT0));
  t.RecordFailure("ipv4:10.0.0.9", kT0);
  EXPECT_TRUE(t.Blocked("ipv4:10.0.0.9", kT0));
  EXPECT_FALSE(t.Blocked("ipv4:10.0.0.8", kT0));
  EXPECT_FALSE(t.Blocked("ipv4:10.0.0.9", kT0 + absl::Minutes(16)));
}

TEST(LoginThrottle, ForgetsOldPeersRatherThanGrowWithoutBound) {
  LoginThrottle t({.failures_per_peer = 1, .window = absl::Minutes(15), .max_tracked_keys = 2});
  t.RecordFailure("a", kT0);
  t.RecordFailure("b", kT0);
  t.RecordFailure("c", kT0 + absl::Minutes(20));
  EXPECT_FALSE(t.Blocked("a", kT0 + absl::Minutes(20)));
  EXPECT_TRUE(t.Blocked("c", kT0 + absl::Minutes(20)));
}

TEST(PeerAddress, DropsThePort) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.1:5678"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5678"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("unix:/tmp/x"), "unix:/tmp/x");
}

}  // namespace
}  // namespace relais::auth_service
