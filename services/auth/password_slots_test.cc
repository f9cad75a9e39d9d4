#include "services/auth/password_slots.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace relais::auth_service {
namespace {

TEST(PasswordSlots, NoMoreThanTheCapacityRunAtOnceAndTheRestWaitBoundedly) {
  PasswordSlots slots(2);
  EXPECT_TRUE(slots.Acquire(absl::ZeroDuration()));
  EXPECT_TRUE(slots.Acquire(absl::ZeroDuration()));
  EXPECT_FALSE(slots.Acquire(absl::Milliseconds(20)));
  slots.Release();
  EXPECT_TRUE(slots.Acquire(absl::Milliseconds(20)));
  slots.Release();
  slots.Release();
  EXPECT_EQ(slots.in_use(), 0);

  std::atomic<int> running{0}, peak{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      PasswordSlot slot(&slots, absl::Seconds(30));
      ASSERT_TRUE(slot.held());
      const int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      absl::SleepFor(absl::Milliseconds(5));
      --running;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(peak.load(), 2);
  EXPECT_EQ(slots.in_use(), 0);
}

TEST(PasswordSlots, DefaultsToTwiceTheCores) {
  EXPECT_GE(PasswordSlots(0).capacity(), 2);
  EXPECT_EQ(PasswordSlots(3).capacity(), 3);
}

}  // namespace
}  // namespace relais::auth_service
