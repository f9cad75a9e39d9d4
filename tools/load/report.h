#ifndef RELAIS_TOOLS_LOAD_REPORT_H_
#define RELAIS_TOOLS_LOAD_REPORT_H_

// What relais-load counts and how it prints it: the call mix, one phase's
// latencies, statuses and per-second completions, the server's CPU and
// memory, and the text and JSON reports.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace relais::load {

enum class CallKind {
  kEcho,  // DiagnosticsService.Echo: the bare-gRPC baseline
  kGet,   // RecordService.GetEntry
  kList,  // RecordService.ListEntries
  kAdd,   // RecordService.AddEntry
  kCare,  // CareService.ListConsents / ListHandovers / CheckAccess, in turn
};
absl::string_view KindName(CallKind kind);

// Weighted call kinds, e.g. "get=60,list=20,add=15,care=5" or "echo=100".
class Mix {
 public:
  // InvalidArgument for an unknown kind, a weight outside 0..1000000, a kind
  // named twice or weights that add up to 0.
  static absl::StatusOr<Mix> Parse(absl::string_view text);
  // The kind for a uniform random number in [0, total()).
  CallKind Pick(uint64_t r) const;
  uint64_t total() const { return total_; }
  bool Has(CallKind kind) const;
  std::string ToString() const;

 private:
  std::vector<std::pair<CallKind, uint64_t>> weights_;
  uint64_t total_ = 0;
};

// The server process's CPU time and resident memory, from /proc.
struct ProcessSample {
  bool ok = false;
  double cpu_seconds = 0;  // user + system
  double rss_mib = 0;
};
ProcessSample SampleProcess(int pid);

// One phase of a run, as measured.
struct PhaseResult {
  std::string name;
  std::string mix;
  absl::Duration elapsed;
  std::vector<int64_t> latencies_us;        // completed calls, any status
  std::map<std::string, int64_t> statuses;  // "OK", "RESOURCE_EXHAUSTED", ...
  std::vector<int64_t> per_second;          // completions in each second
  double server_cpu_seconds = -1;           // < 0: not measured
  double server_rss_mib = -1;

  int64_t calls() const { return static_cast<int64_t>(latencies_us.size()); }
  double qps() const;
  // The latency at quantile q in [0, 1], in milliseconds (0 with no calls).
  double PercentileMs(double q) const;
  double MaxMs() const;
  // Server CPU per completed call in microseconds; < 0 when not measured.
  double CpuUsPerCall() const;
  // Seconds from the phase's start until a second completes at least `rate`
  // calls; -1 if none does.
  int SecondsUntilRate(double rate) const;
};

// Sorts the latencies (PercentileMs needs them sorted).
void Finish(PhaseResult& phase);

// "name  calls  qps  p50 p90 p99 max  cpu/call  statuses" for people.
std::string TextReport(const std::vector<PhaseResult>& phases,
                       const std::map<std::string, double>& figures);
// The same as one JSON object, for scripts (deploy/bench.sh).
std::string JsonReport(const std::vector<PhaseResult>& phases,
                       const std::map<std::string, double>& figures);

}  // namespace relais::load

#endif  // RELAIS_TOOLS_LOAD_REPORT_H_
