#include "tools/load/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace relais::load {
namespace {

constexpr std::pair<CallKind, absl::string_view> kKinds[] = {
    {CallKind::kEcho, "echo"}, {CallKind::kGet, "get"},   {CallKind::kList, "list"},
    {CallKind::kAdd, "add"},   {CallKind::kCare, "care"},
};
constexpr uint64_t kMaxWeight = 1'000'000;

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

}  // namespace

absl::string_view KindName(CallKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "unknown";
}

absl::StatusOr<Mix> Mix::Parse(absl::string_view text) {
  Mix mix;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, '=');
    const absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    uint64_t weight = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(kv.second), &weight) || weight > kMaxWeight) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mix: \"", part, "\" is not kind=weight with a weight of 0 to 1000000"));
    }
    const auto* known = std::find_if(std::begin(kKinds), std::end(kKinds),
                                     [&](const auto& k) { return k.second == name; });
    if (known == std::end(kKinds)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mix: unknown call kind \"", name, "\" (echo, get, list, add, care)"));
    }
    if (mix.Has(known->first)) {
      return absl::InvalidArgumentError(absl::StrCat("--mix: \"", name, "\" is named twice"));
    }
    if (weight == 0) continue;
    mix.weights_.emplace_back(known->first, weight);
    mix.total_ += weight;
  }
  if (mix.total_ == 0) return absl::InvalidArgumentError("--mix: the weights add up to 0");
  return mix;
}

CallKind Mix::Pick(uint64_t r) const {
  r %= total_;
  for (const auto& [kind, weight] : weights_) {
    if (r < weight) return kind;
    r -= weight;
  }
  return weights_.back().first;
}

bool Mix::Has(CallKind kind) const {
  return std::any_of(weights_.begin(), weights_.end(),
                     [kind](const auto& w) { return w.first == kind; });
}

std::string Mix::ToString() const {
  return absl::StrJoin(weights_, ",", [](std::string* out, const auto& w) {
    absl::StrAppend(out, KindName(w.first), "=", w.second);
  });
}

ProcessSample SampleProcess(int pid) {
  ProcessSample sample;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return sample;
  // Fields after the command name, which may hold spaces: state is field 3,
  // utime 14 and stime 15.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return sample;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(line).substr(close + 2), ' ');
  double utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return sample;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = (utime + stime) / ticks;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    double kib = 0;
    if (absl::ConsumePrefix(&rest, "VmRSS:") &&
        absl::SimpleAtod(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kib)) {
      sample.rss_mib = kib / 1024;
    }
  }
  sample.ok = true;
  return sample;
}

double PhaseResult::qps() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(calls()) / seconds : 0;
}

double PhaseResult::PercentileMs(double q) const {
  if (latencies_us.empty()) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(latencies_us.size() - 1);
  return static_cast<double>(latencies_us[static_cast<size_t>(std::llround(rank))]) / 1000.0;
}

double PhaseResult::MaxMs() const {
  return latencies_us.empty() ? 0 : static_cast<double>(latencies_us.back()) / 1000.0;
}

double PhaseResult::CpuUsPerCall() const {
  if (server_cpu_seconds < 0 || calls() == 0) return -1;
  return server_cpu_seconds * 1e6 / static_cast<double>(calls());
}

int PhaseResult::SecondsUntilRate(double rate) const {
  for (size_t i = 0; i < per_second.size(); ++i) {
    if (static_cast<double>(per_second[i]) >= rate) return static_cast<int>(i);
  }
  return -1;
}

void Finish(PhaseResult& phase) { std::sort(phase.latencies_us.begin(), phase.latencies_us.end()); }

std::string TextReport(const std::vector<PhaseResult>& phases,
                       const std::map<std::string, double>& figures) {
  std::string out =
      absl::StrFormat("%-10s %9s %9s %8s %8s %8s %8s %10s %8s  %s\n", "phase", "calls", "calls/s",
                      "p50 ms", "p90 ms", "p99 ms", "max ms", "cpu us/call", "rss MiB", "statuses");
  for (const PhaseResult& p : phases) {
    const std::string statuses = absl::StrJoin(p.statuses, " ", [](std::string* o, const auto& s) {
      absl::StrAppend(o, s.first, "=", s.second);
    });
    absl::StrAppendFormat(
        &out, "%-10s %9d %9.0f %8.2f %8.2f %8.2f %8.2f %10s %8s  %s\n", p.name, p.calls(), p.qps(),
        p.PercentileMs(0.5), p.PercentileMs(0.9), p.PercentileMs(0.99), p.MaxMs(),
        p.CpuUsPerCall() < 0 ? "-" : absl::StrFormat("%.0f", p.CpuUsPerCall()),
        p.server_rss_mib < 0 ? "-" : absl::StrFormat("%.0f", p.server_rss_mib), statuses);
  }
  for (const auto& [name, value] : figures) {
    absl::StrAppendFormat(&out, "%s: %.3g\n", name, value);
  }
  return out;
}

std::string JsonReport(const std::vector<PhaseResult>& phases,
                       const std::map<std::string, double>& figures) {
  std::ostringstream out;
  out << "{\"phases\":[";
  for (size_t i = 0; i < phases.size(); ++i) {
    const PhaseResult& p = phases[i];
    if (i > 0) out << ",";
    // Names and status names are the driver's own ASCII words: no escaping needed.
    out << "{\"name\":\"" << p.name << "\",\"mix\":\"" << p.mix << "\",\"calls\":" << p.calls()
        << ",\"seconds\":" << JsonNumber(absl::ToDoubleSeconds(p.elapsed))
        << ",\"qps\":" << JsonNumber(p.qps()) << ",\"p50_ms\":" << JsonNumber(p.PercentileMs(0.5))
        << ",\"p90_ms\":" << JsonNumber(p.PercentileMs(0.9))
        << ",\"p99_ms\":" << JsonNumber(p.PercentileMs(0.99))
        << ",\"max_ms\":" << JsonNumber(p.MaxMs()) << ",\"server_cpu_us_per_call\":"
        << (p.CpuUsPerCall() < 0 ? "null" : JsonNumber(p.CpuUsPerCall()))
        << ",\"server_rss_mib\":" << (p.server_rss_mib < 0 ? "null" : JsonNumber(p.server_rss_mib))
        << ",\"statuses\":{"
        << absl::StrJoin(p.statuses, ",",
                         [](std::string* o, const auto& s) {
                           absl::StrAppend(o, "\"", s.first, "\":", s.second);
                         })
        << "},\"per_second\":[" << absl::StrJoin(p.per_second, ",") << "]}";
  }
  out << "],\"figures\":{" << absl::StrJoin(figures, ",", [](std::string* o, const auto& f) {
    absl::StrAppend(o, "\"", f.first, "\":", JsonNumber(f.second));
  }) << "}}\n";
  return out.str();
}

}  // namespace relais::load
