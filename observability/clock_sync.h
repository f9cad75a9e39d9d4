#ifndef RELAIS_OBSERVABILITY_CLOCK_SYNC_H_
#define RELAIS_OBSERVABILITY_CLOCK_SYNC_H_

// Whether the kernel keeps the system clock synchronized (NTP, chrony,
// systemd-timesyncd). Audit timestamps are evidence, so relaisd checks at start
// and on each sweep, warns when the clock is not synchronized and exports
// relais_clock_synchronized (ASVS 7.3.4; docs/operations.md "Clock").

#include <atomic>
#include <functional>
#include <string>

namespace relais::observability {

// What ntp_adjtime(2) answered, read only.
struct KernelClockReading {
  int result = -1;  // its return value: a TIME_* state, or -1 if the call failed
  int status = 0;   // timex.status (STA_* bits)
  int error = 0;    // errno when result is -1
};

// The decision: synchronized unless the call failed, the state is TIME_ERROR,
// or STA_UNSYNC is set. A clock relaisd cannot read counts as unsynchronized.
bool IsSynchronized(const KernelClockReading& reading);
// Why not, for the log ("" when synchronized).
std::string UnsynchronizedReason(const KernelClockReading& reading);

// ntp_adjtime with modes 0: reads, changes nothing, needs no privilege.
KernelClockReading ReadKernelClock();

// The last answer, for the gauge; Check() refreshes it. Thread-safe.
class ClockSyncWatch {
 public:
  explicit ClockSyncWatch(std::function<KernelClockReading()> read = ReadKernelClock)
      : read_(std::move(read)) {}
  // Reads the kernel. Logs a warning at the first check that finds the clock
  // unsynchronized and at each change to unsynchronized, an info line when it
  // is synchronized again; quiet while nothing changes. Returns the answer.
  bool Check();
  // The last Check()'s answer; false before the first.
  bool synchronized() const { return state_.load() == kSynced; }

 private:
  enum State { kUnchecked, kSynced, kUnsynced };
  const std::function<KernelClockReading()> read_;
  std::atomic<int> state_{kUnchecked};
};

}  // namespace relais::observability

#endif  // RELAIS_OBSERVABILITY_CLOCK_SYNC_H_
