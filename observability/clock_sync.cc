#include "observability/clock_sync.h"

#include <sys/timex.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace relais::observability {

bool IsSynchronized(const KernelClockReading& reading) {
  return UnsynchronizedReason(reading).empty();
}

std::string UnsynchronizedReason(const KernelClockReading& reading) {
  if (reading.result == -1) {
    return absl::StrCat("cannot read the kernel clock state: ", std::strerror(reading.error));
  }
  if ((reading.status & STA_UNSYNC) != 0) return "the kernel marks the clock unsynchronized";
  if (reading.result == TIME_ERROR) return "the kernel reports a clock error";
  return "";
}

KernelClockReading ReadKernelClock() {
  struct timex tx = {};
  tx.modes = 0;
  KernelClockReading reading;
  reading.result = ::ntp_adjtime(&tx);
  reading.error = reading.result == -1 ? errno : 0;
  reading.status = tx.status;
  return reading;
}

bool ClockSyncWatch::Check() {
  const KernelClockReading reading = read_();
  const std::string why = UnsynchronizedReason(reading);
  const int now = why.empty() ? kSynced : kUnsynced;
  const int before = state_.exchange(now);
  if (now == kUnsynced && before != kUnsynced) {
    common::LogWarning(
        "system clock not synchronized: audit timestamps may drift; run NTP, chrony or "
        "systemd-timesyncd on this host",
        {{"reason", why}});
  } else if (now == kSynced && before == kUnsynced) {
    common::LogInfo("system clock synchronized again");
  }
  return now == kSynced;
}

}  // namespace relais::observability
