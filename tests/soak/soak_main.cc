// relais-soak: a steady mixed load on a relaisd for a bounded time, watching
// for leaks. Not a gtest and not in CI (deploy/soak.sh runs it; docs/testing.md "Soak").
//
// It starts the server in this process (tests/fuzz/seeded_host.h: the
// seeded world, the wall clock, the database under --dir) listening on a
// loopback port, and drives it over real TCP connections from --threads
// client threads with a fixed mix of calls, each with the statuses it may
// get. Every --sample_seconds it samples this process's resident memory
// (VmRSS of /proc/self/status) and open descriptors (/proc/self/fd); client
// and server share them, and the client side allocates nothing per call that
// it keeps (latencies go to a fixed histogram).
//
// Prints calls, calls/s, p50/p99 latency, RSS and fds, statuses. Exit status
// 1 if RSS at the end exceeds RSS at the end of the warm-up by more than
// --max_rss_growth_pct, if more descriptors are open at the end (client
// connections closed) than before the load started, if any call got a status
// its kind does not allow, or if the audit chain does not verify at the end;
// 2 if the server could not be started.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "observability/request_log.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/directory.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/common/rpc.h"
#include "tests/fuzz/seeded_host.h"

ABSL_FLAG(int, seconds, 60, "How long to drive the load (long mode: 600)");
ABSL_FLAG(int, threads, 2, "Client threads, each with its own connection");
ABSL_FLAG(int, sample_seconds, 5, "Seconds between RSS/fd samples");
ABSL_FLAG(int, warmup_seconds, -1,
          "Growth is measured from this point (default: a sixth of --seconds, at least 10)");
ABSL_FLAG(double, max_rss_growth_pct, 10.0, "Largest RSS growth after the warm-up that passes");
ABSL_FLAG(std::string, dir, "/tmp",
          "Where the scratch database goes (a real disk: commits are fsynced)");

namespace relais::soak {
namespace {

using Clock = std::chrono::steady_clock;
using grpc::StatusCode;

// Latencies in a fixed log-scale histogram: 16 buckets per power of two of
// microseconds (about 4% wide), so recording never allocates.
class Histogram {
 public:
  void Add(int64_t micros) {
    ++counts_[Bucket(std::max<int64_t>(1, micros))];
    max_ = std::max(max_, micros);
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    max_ = std::max(max_, other.max_);
  }
  // The upper bound of the bucket holding quantile q, in microseconds.
  double Quantile(double q) const {
    int64_t total = 0;
    for (int64_t c : counts_) total += c;
    if (total == 0) return 0;
    const int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(total)));
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::exp2(static_cast<double>(i + 1) / kPerOctave);
    }
    return static_cast<double>(max_);
  }
  int64_t max() const { return max_; }

 private:
  static constexpr int kPerOctave = 16;
  static size_t Bucket(int64_t micros) {
    const size_t b = static_cast<size_t>(std::log2(static_cast<double>(micros)) * kPerOctave);
    return std::min(b, kBuckets - 1);
  }
  static constexpr size_t kBuckets = 40 * kPerOctave;  // up to 2^40 us
  std::array<int64_t, kBuckets> counts_{};
  int64_t max_ = 0;
};

// Per-thread tallies, merged at the end.
struct Tally {
  int64_t calls = 0;
  Histogram latency;
  std::map<std::pair<std::string, StatusCode>, int64_t> statuses;  // (kind, code)
  std::map<std::string, int64_t> unexpected;  // "kind: CODE message" (first few)
};

int64_t ReadRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    int64_t kib = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(line.substr(6)), " kB"),
                         &kib)) {
      return kib;
    }
  }
  return -1;
}

int CountFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

// One kind of call in the mix: what it does and the statuses it may get.
struct CallKind {
  std::string name;
  int weight;
  std::set<StatusCode> allowed;
  std::function<grpc::Status(grpc::ClientContext*, int64_t n)> call;
};

class Load {
 public:
  Load(fuzz::SeededHost& host, int port) : host_(host), port_(port) {}

  // The mix, per client connection.
  std::vector<CallKind> Kinds(const std::shared_ptr<grpc::Channel>& channel) {
    auto record = std::shared_ptr<v1::RecordService::Stub>(v1::RecordService::NewStub(channel));
    auto care = std::shared_ptr<v1::CareService::Stub>(v1::CareService::NewStub(channel));
    auto audit = std::shared_ptr<v1::AuditService::Stub>(v1::AuditService::NewStub(channel));
    auto auth = std::shared_ptr<v1::AuthService::Stub>(v1::AuthService::NewStub(channel));
    auto dir = std::shared_ptr<v1::DirectoryService::Stub>(v1::DirectoryService::NewStub(channel));
    const auto& id = host_.Placeholders();
    const std::string youth = id.at("@youth");
    const std::string child = id.at("@youth_child");
    const std::string handover = id.at("@handover");
    const std::string shared = id.at("@entry_shared");
    const std::string private_entry = id.at("@entry_private");
    const std::set<StatusCode> ok = {StatusCode::OK};
    std::vector<CallKind> kinds;
    kinds.push_back({"GetYouth(saj)", 10, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::GetYouthRequest r;
                       r.set_youth_id(youth);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::Youth out;
                       return record->GetYouth(c, r, &out);
                     }});
    kinds.push_back({"ListEntries(saj)", 10, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::ListEntriesRequest r;
                       r.set_youth_id(youth);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       r.set_page_size(10);
                       v1::ListEntriesResponse out;
                       return record->ListEntries(c, r, &out);
                     }});
    kinds.push_back({"AddEntry(amo)", 8, ok, [=](grpc::ClientContext* c, int64_t n) {
                       v1::AddEntryRequest r;
                       v1::Entry* e = r.mutable_entry();
                       e->set_youth_id(n % 2 == 0 ? youth : child);
                       e->set_kind(v1::ENTRY_KIND_NOTE);
                       e->set_category(v1::DATA_CATEGORY_GENERAL);
                       e->set_visibility(n % 3 == 0 ? v1::VISIBILITY_SERVICE_PRIVATE
                                                    : v1::VISIBILITY_SHARED);
                       e->set_body(absl::StrCat("Suivi numero ", n));
                       v1::Entry out;
                       return record->AddEntry(c, r, &out);
                     }});
    kinds.push_back({"GetEntry(saj)", 6, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::GetEntryRequest r;
                       r.set_entry_id(shared);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::Entry out;
                       return record->GetEntry(c, r, &out);
                     }});
    kinds.push_back({"GetEntry(saj, private)",
                     3,
                     {StatusCode::NOT_FOUND},
                     [=](grpc::ClientContext* c, int64_t) {
                       v1::GetEntryRequest r;
                       r.set_entry_id(private_entry);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::Entry out;
                       return record->GetEntry(c, r, &out);
                     }});
    kinds.push_back({"GetYouth(pms, denied)",
                     3,
                     {StatusCode::PERMISSION_DENIED},
                     [=](grpc::ClientContext* c, int64_t) {
                       v1::GetYouthRequest r;
                       r.set_youth_id(youth);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::Youth out;
                       return record->GetYouth(c, r, &out);
                     }});
    kinds.push_back({"CheckAccess(saj)", 5, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::CheckAccessRequest r;
                       r.set_youth_id(youth);
                       r.set_entry_id(shared);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::CheckAccessResponse out;
                       return care->CheckAccess(c, r, &out);
                     }});
    kinds.push_back({"ListConsents(amo)", 3, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::ListConsentsRequest r;
                       r.set_youth_id(youth);
                       v1::ListConsentsResponse out;
                       return care->ListConsents(c, r, &out);
                     }});
    kinds.push_back({"GetHandover(saj)", 3, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::GetHandoverRequest r;
                       r.set_handover_id(handover);
                       v1::Handover out;
                       return care->GetHandover(c, r, &out);
                     }});
    kinds.push_back({"QueryEvents(dpo)", 3, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::QueryEventsRequest r;
                       r.set_youth_id(child);
                       r.set_page_size(20);
                       v1::QueryEventsResponse out;
                       return audit->QueryEvents(c, r, &out);
                     }});
    kinds.push_back({"CreateYouth(amo)", 1, ok, [=](grpc::ClientContext* c, int64_t n) {
                       v1::CreateYouthRequest r;
                       r.mutable_youth()->set_display_name(absl::StrCat("Youth ", n));
                       r.mutable_youth()->set_date_of_birth("2012-05-06");
                       v1::Youth out;
                       return record->CreateYouth(c, r, &out);
                     }});
    kinds.push_back({"Login(amo)", 1, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::LoginRequest r;
                       r.set_login("amo.camille");
                       r.set_password(fuzz::SeededHost::kPassword);
                       v1::LoginResponse out;
                       return auth->Login(c, r, &out);
                     }});
    kinds.push_back({"ListServices", 2, ok, [=](grpc::ClientContext* c, int64_t) {
                       v1::ListServicesRequest r;
                       v1::ListServicesResponse out;
                       return dir->ListServices(c, r, &out);
                     }});
    kinds.push_back({"GetYouth(expired token)",
                     1,
                     {StatusCode::UNAUTHENTICATED},
                     [=](grpc::ClientContext* c, int64_t) {
                       v1::GetYouthRequest r;
                       r.set_youth_id(youth);
                       r.set_purpose(v1::PURPOSE_COORDINATION);
                       v1::Youth out;
                       return record->GetYouth(c, r, &out);
                     }});
    return kinds;
  }

  // Who makes each kind of call.
  static std::string CallerOf(const std::string& kind) {
    if (kind.find("(saj") != std::string::npos) return "saj.sam";
    if (kind.find("(pms") != std::string::npos) return "pms.pauline";
    if (kind.find("(dpo") != std::string::npos) return "dpo";
    if (kind.find("(expired") != std::string::npos) return "";
    return "amo.camille";
  }

  void Run(int thread, Clock::time_point end, Tally& tally) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                             grpc::InsecureChannelCredentials(), args);
    std::vector<CallKind> kinds = Kinds(channel);
    std::vector<size_t> schedule;  // kinds repeated by weight; walked in a scattered order
    for (size_t k = 0; k < kinds.size(); ++k) {
      for (int w = 0; w < kinds[k].weight; ++w) schedule.push_back(k);
    }
    // Tokens, renewed well before they expire (15 minutes).
    std::map<std::string, std::string> tokens;
    Clock::time_point tokens_at{};
    for (int64_t n = thread; Clock::now() < end; n += 1) {
      if (Clock::now() - tokens_at > std::chrono::minutes(5)) {
        for (const char* login : {"amo.camille", "saj.sam", "pms.pauline", "dpo"}) {
          absl::StatusOr<std::string> token = host_.Token(login);
          if (token.ok()) tokens[login] = *token;
        }
        tokens_at = Clock::now();
      }
      const CallKind& kind = kinds[schedule[(n * 7919) % schedule.size()]];
      const std::string caller = CallerOf(kind.name);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      ctx.AddMetadata(
          "authorization",
          absl::StrCat("Bearer ", caller.empty() ? host_.expired_token() : tokens[caller]));
      const Clock::time_point start = Clock::now();
      const grpc::Status status = kind.call(&ctx, n);
      tally.latency.Add(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
      ++tally.calls;
      ++tally.statuses[{kind.name, status.error_code()}];
      if (kind.allowed.count(status.error_code()) == 0 && tally.unexpected.size() < 20) {
        ++tally.unexpected[absl::StrCat(kind.name, ": ",
                                        observability::GrpcCodeName(status.error_code()), " ",
                                        status.error_message())];
      }
    }
  }

 private:
  fuzz::SeededHost& host_;
  const int port_;
};

struct Sample {
  double t;
  int64_t rss_kib;
  int fds;
};

int Main() {
  const int seconds = std::max(1, absl::GetFlag(FLAGS_seconds));
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const int sample_every = std::max(1, absl::GetFlag(FLAGS_sample_seconds));
  int warmup = absl::GetFlag(FLAGS_warmup_seconds);
  if (warmup < 0) warmup = std::min(seconds / 2, std::max(10, seconds / 6));
  common::SetLogLevel(common::LogLevel::kWarning);

  fuzz::SeededHostOptions options;
  options.real_clock = true;
  const std::string dir_base = absl::GetFlag(FLAGS_dir);
  std::string templ = absl::StrCat(dir_base, "/relais_soak_XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    std::fprintf(stderr, "relais-soak: cannot make a directory under %s\n", dir_base.c_str());
    return 2;
  }
  options.dir = templ;
  absl::StatusOr<std::unique_ptr<fuzz::SeededHost>> host = fuzz::SeededHost::Start(options);
  if (!host.ok()) {
    std::fprintf(stderr, "relais-soak: %s\n", host.status().ToString().c_str());
    return 2;
  }
  const int port = (*host)->host().port();
  std::printf(
      "relais-soak: %d s, %d client threads, warm-up %d s, server on 127.0.0.1:%d, "
      "database under %s\n",
      seconds, threads, warmup, port, templ.c_str());

  Load load(**host, port);
  std::vector<Tally> tallies(threads);
  const Clock::time_point begin = Clock::now();
  const Clock::time_point end = begin + std::chrono::seconds(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] { load.Run(t, end, tallies[t]); });
  }
  std::vector<Sample> samples;
  auto sample = [&] {
    const double t = std::chrono::duration<double>(Clock::now() - begin).count();
    samples.push_back({t, ReadRssKib(), CountFds()});
    std::printf("  t=%6.1fs  rss=%7lld KiB  fds=%3d\n", t,
                static_cast<long long>(samples.back().rss_kib), samples.back().fds);
    std::fflush(stdout);
  };
  sample();
  while (Clock::now() < end) {
    std::this_thread::sleep_until(std::min(end, Clock::now() + std::chrono::seconds(sample_every)));
    sample();
  }
  for (std::thread& w : workers) w.join();
  sample();  // load stopped, client connections closed (their channels are gone)

  Tally all;
  std::map<std::string, int64_t> unexpected;
  for (const Tally& t : tallies) {
    all.calls += t.calls;
    all.latency.Merge(t.latency);
    for (const auto& [k, n] : t.statuses) all.statuses[k] += n;
    for (const auto& [k, n] : t.unexpected) unexpected[k] += n;
  }
  absl::StatusOr<audit::VerifyResult> verified = (*host)->host().audit().Verify();

  // Growth from the first sample at or after the warm-up.
  const Sample* base = &samples.front();
  for (const Sample& s : samples) {
    if (s.t >= warmup) {
      base = &s;
      break;
    }
  }
  int64_t max_rss = 0;
  for (const Sample& s : samples) {
    if (s.t >= base->t) max_rss = std::max(max_rss, s.rss_kib);
  }
  const Sample& last = samples.back();
  const double growth = 100.0 * static_cast<double>(last.rss_kib - base->rss_kib) /
                        static_cast<double>(base->rss_kib);
  const double max_growth =
      100.0 * static_cast<double>(max_rss - base->rss_kib) / static_cast<double>(base->rss_kib);
  const double elapsed = std::chrono::duration<double>(end - begin).count();

  std::map<std::string, int64_t> by_code;
  int64_t unexpected_calls = 0;
  // The mix again, for its allowed statuses (the channel never connects).
  std::vector<CallKind> kinds = load.Kinds(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  std::map<std::string, std::set<StatusCode>> allowed;
  for (const CallKind& k : kinds) allowed[k.name] = k.allowed;
  for (const auto& [key, n] : all.statuses) {
    const bool expected = allowed[key.first].count(key.second) > 0;
    by_code[absl::StrCat(observability::GrpcCodeName(key.second),
                         expected ? "" : " (UNEXPECTED)")] += n;
    if (!expected) unexpected_calls += n;
  }

  std::printf("\ncalls          %lld in %.0f s = %.1f calls/s\n", static_cast<long long>(all.calls),
              elapsed, static_cast<double>(all.calls) / elapsed);
  std::printf("latency        p50 %.2f ms   p99 %.2f ms   max %.2f ms\n",
              all.latency.Quantile(0.50) / 1000, all.latency.Quantile(0.99) / 1000,
              static_cast<double>(all.latency.max()) / 1000);
  std::printf("rss (KiB)      start %lld   after warm-up (t=%.0fs) %lld   end %lld   max %lld\n",
              static_cast<long long>(samples.front().rss_kib), base->t,
              static_cast<long long>(base->rss_kib), static_cast<long long>(last.rss_kib),
              static_cast<long long>(max_rss));
  std::printf("rss growth     %+.1f%% at the end, %+.1f%% at most (limit %.1f%%)\n", growth,
              max_growth, absl::GetFlag(FLAGS_max_rss_growth_pct));
  std::printf("open fds       start %d   under load %d   end %d (clients disconnected)\n",
              samples.front().fds, base->fds, last.fds);
  std::printf("statuses      ");
  for (const auto& [code, n] : by_code) {
    std::printf(" %s %lld;", code.c_str(), static_cast<long long>(n));
  }
  std::printf("\n");
  for (const auto& [what, n] : unexpected) {
    std::printf("  unexpected: %s (x%lld)\n", what.c_str(), static_cast<long long>(n));
  }
  std::string chain;
  if (!verified.ok()) {
    chain = verified.status().ToString();
  } else if (verified->ok) {
    chain = absl::StrCat("ok, ", verified->events_checked, " events");
  } else {
    chain = absl::StrCat(verified->problem, " at sequence ", verified->first_bad_sequence);
  }
  std::printf("audit chain    %s\n", chain.c_str());

  std::vector<std::string> failures;
  if (growth > absl::GetFlag(FLAGS_max_rss_growth_pct)) failures.push_back("memory grew");
  // Both counted with no client connection open: any difference is a leak.
  if (last.fds > samples.front().fds) failures.push_back("descriptors leaked");
  if (unexpected_calls > 0) failures.push_back("unexpected statuses");
  if (!verified.ok() || !verified->ok) failures.push_back("audit chain");
  if (all.calls == 0) failures.push_back("no calls");
  const std::string result =
      failures.empty() ? "PASS" : absl::StrCat("FAIL: ", absl::StrJoin(failures, ", "));
  std::printf("result         %s\n", result.c_str());
  std::fflush(stdout);
  host->reset();
  std::error_code ignored;
  std::filesystem::remove_all(templ, ignored);
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace relais::soak

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("relais-soak [--seconds=60] [--threads=2]: see tests/soak/");
  absl::ParseCommandLine(argc, argv);
  return relais::soak::Main();
}
