#include "services/auth/login_throttle.h"

#include "gtest/gtest.h"

namespace relais::auth_service {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'790'000'000);

TEST(LoginThrottle, BlocksAnAccountAfterFiveFailuresUntilTheWindowPasses) {
  LoginThrottle t;
  for (int i = 0; i < 4; ++i) t.RecordFailure("amo.camille", "ipv4:10.0.0.1", kT0);
  EXPECT_FALSE(t.Blocked("amo.camille", "ipv4:10.0.0.2", kT0));
  t.RecordFailure("amo.camille", "ipv4:10.0.0.1", kT0);
  EXPECT_TRUE(t.Blocked("amo.camille", "ipv4:10.0.0.2", kT0));
  EXPECT_FALSE(t.Blocked("saj.sam", "ipv4:10.0.0.2", kT0));
  EXPECT_FALSE(t.Blocked("amo.camille", "ipv4:10.0.0.2", kT0 + absl::Minutes(16)));
}

TEST(LoginThrottle, BlocksAPeerSprayingManyAccounts) {
  LoginThrottle t;
  for (int i = 0; i < 20; ++i) t.RecordFailure("user" + std::to_string(i), "ipv4:10.0.0.9", kT0);
  EXPECT_TRUE(t.Blocked("someone.else", "ipv4:10.0.0.9", kT0));
  EXPECT_FALSE(t.Blocked("someone.else", "ipv4:10.0.0.8", kT0));
}

TEST(LoginThrottle, SuccessClearsTheAccount) {
  LoginThrottle t({.failures_per_account = 2, .failures_per_peer = 100,
                   .window = absl::Minutes(15), .max_tracked_keys = 10});
  t.RecordFailure("a", "p", kT0);
  t.RecordFailure("a", "p", kT0);
  EXPECT_TRUE(t.Blocked("a", "q", kT0));
  t.RecordSuccess("a");
  EXPECT_FALSE(t.Blocked("a", "q", kT0));
}

TEST(PeerAddress, DropsThePort) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.1:5678"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5678"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("unix:/tmp/x"), "unix:/tmp/x");
}

}  // namespace
}  // namespace relais::auth_service
