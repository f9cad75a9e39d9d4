#include "observability/clock_sync.h"

#include <sys/timex.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/log.h"
#include "gtest/gtest.h"

namespace relais::observability {
namespace {

TEST(ClockSync, OnlyAnOkStateWithoutUnsyncIsSynchronized) {
  EXPECT_TRUE(IsSynchronized({.result = TIME_OK, .status = STA_PLL}));
  // Leap-second states are a synchronized clock announcing a leap.
  EXPECT_TRUE(IsSynchronized({.result = TIME_INS, .status = STA_PLL | STA_INS}));
  EXPECT_TRUE(IsSynchronized({.result = TIME_WAIT, .status = 0}));

  EXPECT_FALSE(IsSynchronized({.result = TIME_ERROR, .status = STA_UNSYNC}));
  EXPECT_FALSE(IsSynchronized({.result = TIME_OK, .status = STA_PLL | STA_UNSYNC}));
  EXPECT_FALSE(IsSynchronized({.result = TIME_ERROR, .status = 0}));
  // A clock relaisd may not read (a seccomp filter, say) is not trusted.
  EXPECT_FALSE(IsSynchronized({.result = -1, .status = 0, .error = EPERM}));
  EXPECT_TRUE(absl::StrContains(UnsynchronizedReason({.result = -1, .error = EPERM}),
                                "Operation not permitted"));
  EXPECT_EQ(UnsynchronizedReason({.result = TIME_OK}), "");
}

TEST(ClockSync, ReadingTheKernelNeedsNoPrivilegeAndAgreesWithItsDecision) {
  const KernelClockReading r = ReadKernelClock();
  EXPECT_NE(r.result, -1) << "ntp_adjtime with modes 0 must work unprivileged";
  ClockSyncWatch watch;
  EXPECT_EQ(watch.Check(), IsSynchronized(r));
}

class Lines {
 public:
  Lines() {
    common::SetLogSink([this](absl::string_view l) { lines_.emplace_back(l); });
  }
  ~Lines() { common::SetLogSink(nullptr); }
  int Count(absl::string_view needle) const {
    int n = 0;
    for (const std::string& l : lines_) n += absl::StrContains(l, needle) ? 1 : 0;
    return n;
  }

 private:
  std::vector<std::string> lines_;
};

TEST(ClockSync, WarnsOnceWhenTheClockIsOrBecomesUnsynchronized) {
  KernelClockReading now{.result = TIME_ERROR, .status = STA_UNSYNC};
  ClockSyncWatch watch([&] { return now; });
  EXPECT_FALSE(watch.synchronized()) << "nothing is trusted before the first check";
  Lines log;
  EXPECT_FALSE(watch.Check());
  EXPECT_FALSE(watch.Check());
  EXPECT_EQ(log.Count("\"level\":\"warning\",\"msg\":\"system clock not synchronized"), 1);
  EXPECT_EQ(log.Count("\"reason\":\"the kernel marks the clock unsynchronized\""), 1);

  now = {.result = TIME_OK, .status = STA_PLL};
  EXPECT_TRUE(watch.Check());
  EXPECT_TRUE(watch.synchronized());
  EXPECT_EQ(log.Count("system clock synchronized again"), 1);

  now = {.result = -1, .error = EPERM};
  EXPECT_FALSE(watch.Check());
  EXPECT_FALSE(watch.synchronized());
  EXPECT_EQ(log.Count("system clock not synchronized"), 2);
}

TEST(ClockSync, ASynchronizedClockAtStartLogsNothing) {
  ClockSyncWatch watch([] { return KernelClockReading{.result = TIME_OK}; });
  Lines log;
  EXPECT_TRUE(watch.Check());
  EXPECT_EQ(log.Count("clock"), 0);
}

}  // namespace
}  // namespace relais::observability
