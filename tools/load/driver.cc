#include "tools/load/driver.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "observability/request_log.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/diagnostics.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"

namespace relais::load {
namespace {

// A well-mixed 64-bit function of the call's index: repeatable runs without
// a shared random generator between callback threads.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Stubs {
  std::unique_ptr<v1::RecordService::Stub> record;
  std::unique_ptr<v1::CareService::Stub> care;
  std::unique_ptr<v1::DiagnosticsService::Stub> diagnostics;
};

class Phase {
 public:
  Phase(const std::vector<std::shared_ptr<grpc::Channel>>& channels, const Target& target,
        const PhaseOptions& options)
      : target_(target), options_(options) {
    for (const auto& channel : channels) {
      stubs_.push_back({v1::RecordService::NewStub(channel), v1::CareService::NewStub(channel),
                        v1::DiagnosticsService::NewStub(channel)});
    }
    result_.name = options.name;
    result_.mix = options.mix.ToString();
  }

  PhaseResult Run() {
    const ProcessSample before =
        options_.server_pid > 0 ? SampleProcess(options_.server_pid) : ProcessSample{};
    start_ = absl::Now();
    end_ = start_ + options_.duration;
    if (options_.rate > 0) {
      RunOpenLoop();
    } else {
      for (int i = 0; i < options_.concurrency; ++i) {
        if (!StartNext()) break;
      }
    }
    bool finished;
    {
      absl::MutexLock lock(&mu_);
      issuing_done_ = true;
      finished = in_flight_ == 0;
    }
    if (finished) done_.Notify();
    // Notification, not a condition on mu_: its destructor waits for Notify()
    // to return, so the phase cannot go while a callback still holds it.
    done_.WaitForNotification();
    absl::MutexLock lock(&mu_);
    result_.elapsed =
        result_.latencies_us.empty() ? absl::ZeroDuration() : last_completion_ - start_;
    if (options_.server_pid > 0) {
      const ProcessSample after = SampleProcess(options_.server_pid);
      if (before.ok && after.ok) {
        result_.server_cpu_seconds = after.cpu_seconds - before.cpu_seconds;
        result_.server_rss_mib = after.rss_mib;
      }
    }
    if (not_sent_ > 0) result_.statuses["NOT_SENT"] = not_sent_;
    Finish(result_);
    return std::move(result_);
  }

 private:
  template <typename Request, typename Response>
  struct Call {
    grpc::ClientContext ctx;
    Request request;
    Response response;
    absl::Time started;
  };

  void RunOpenLoop() {
    const absl::Duration interval = absl::Seconds(1.0 / options_.rate);
    for (int64_t i = 0;; ++i) {
      const absl::Time due = start_ + interval * i;
      if (due >= end_ || (options_.count > 0 && i >= options_.count)) break;
      absl::SleepFor(due - absl::Now());
      {
        absl::MutexLock lock(&mu_);
        if (in_flight_ >= options_.concurrency) {
          ++not_sent_;
          continue;
        }
        ++in_flight_;
      }
      Launch(static_cast<uint64_t>(i));
    }
  }

  // Closed loop: starts the next call if the phase is not over; false if over.
  bool StartNext() {
    const int64_t index = started_.fetch_add(1);
    const bool over = options_.count > 0 ? index >= options_.count : absl::Now() >= end_;
    if (over) return false;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    Launch(static_cast<uint64_t>(index));
    return true;
  }

  void Launch(uint64_t index) {
    const uint64_t r = SplitMix64(index);
    const Stubs& stubs = stubs_[index % stubs_.size()];
    switch (options_.mix.Pick(r)) {
      case CallKind::kEcho: {
        v1::EchoRequest req;
        req.set_payload("relais-load");
        Start<v1::EchoResponse>(std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
          stubs.diagnostics->async()->Echo(ctx, rq, rs, std::move(cb));
        });
        break;
      }
      case CallKind::kGet: {
        v1::GetEntryRequest req;
        req.set_entry_id(target_.entry_ids[(r >> 8) % target_.entry_ids.size()]);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        Start<v1::Entry>(std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
          stubs.record->async()->GetEntry(ctx, rq, rs, std::move(cb));
        });
        break;
      }
      case CallKind::kList: {
        v1::ListEntriesRequest req;
        req.set_youth_id(target_.youth_id);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        req.set_page_size(20);
        Start<v1::ListEntriesResponse>(
            std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
              stubs.record->async()->ListEntries(ctx, rq, rs, std::move(cb));
            });
        break;
      }
      case CallKind::kAdd: {
        v1::AddEntryRequest req;
        v1::Entry* entry = req.mutable_entry();
        entry->set_youth_id(target_.youth_id);
        entry->set_kind(v1::ENTRY_KIND_NOTE);
        entry->set_category(v1::DATA_CATEGORY_GENERAL);
        entry->set_visibility(v1::VISIBILITY_SERVICE_PRIVATE);
        entry->set_body(absl::StrCat("relais-load note ", index,
                                     ": appointment kept, school attendance discussed with the "
                                     "young person, next meeting in two weeks."));
        Start<v1::Entry>(std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
          stubs.record->async()->AddEntry(ctx, rq, rs, std::move(cb));
        });
        break;
      }
      case CallKind::kCare:
        StartCare(stubs, r);
        break;
    }
  }

  void StartCare(const Stubs& stubs, uint64_t r) {
    switch ((r >> 16) % 3) {
      case 0: {
        v1::ListConsentsRequest req;
        req.set_youth_id(target_.youth_id);
        Start<v1::ListConsentsResponse>(
            std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
              stubs.care->async()->ListConsents(ctx, rq, rs, std::move(cb));
            });
        return;
      }
      case 1: {
        v1::ListHandoversRequest req;
        req.set_youth_id(target_.youth_id);
        Start<v1::ListHandoversResponse>(
            std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
              stubs.care->async()->ListHandovers(ctx, rq, rs, std::move(cb));
            });
        return;
      }
      default: {
        v1::CheckAccessRequest req;
        req.set_youth_id(target_.youth_id);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        Start<v1::CheckAccessResponse>(
            std::move(req), [&stubs](auto* ctx, auto* rq, auto* rs, auto cb) {
              stubs.care->async()->CheckAccess(ctx, rq, rs, std::move(cb));
            });
        return;
      }
    }
  }

  template <typename Response, typename Request, typename Invoke>
  void Start(Request request, Invoke invoke) {
    auto* call = new Call<Request, Response>;
    call->request = std::move(request);
    call->ctx.AddMetadata("authorization", absl::StrCat("Bearer ", target_.token));
    call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    call->started = absl::Now();
    invoke(&call->ctx, &call->request, &call->response, [this, call](grpc::Status status) {
      Completed(call->started, status.error_code());
      delete call;
    });
  }

  void Completed(absl::Time started, grpc::StatusCode code) {
    const absl::Time now = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      result_.latencies_us.push_back(absl::ToInt64Microseconds(now - started));
      ++result_.statuses[std::string(observability::GrpcCodeName(code))];
      const size_t second = static_cast<size_t>(absl::ToInt64Seconds(now - start_));
      if (result_.per_second.size() <= second) result_.per_second.resize(second + 1, 0);
      ++result_.per_second[second];
      last_completion_ = std::max(last_completion_, now);
    }
    // In a closed loop the completion starts the next call before this one
    // leaves the count, so the phase cannot look finished in between.
    if (options_.rate <= 0) StartNext();
    bool finished;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      finished = in_flight_ == 0 && issuing_done_;
    }
    if (finished) done_.Notify();
  }

  const Target& target_;
  const PhaseOptions& options_;
  std::vector<Stubs> stubs_;
  absl::Time start_, end_;
  std::atomic<int64_t> started_{0};
  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool issuing_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification done_;
  int64_t not_sent_ = 0;  // open loop only, on its one thread
  absl::Time last_completion_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  PhaseResult result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

PhaseResult RunPhase(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     const Target& target, const PhaseOptions& options) {
  Phase phase(channels, target, options);
  return phase.Run();
}

}  // namespace relais::load
