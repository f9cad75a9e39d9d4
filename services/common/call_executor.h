#ifndef RELAIS_SERVICES_COMMON_CALL_EXECUTOR_H_
#define RELAIS_SERVICES_COMMON_CALL_EXECUTOR_H_

// The threads unary handlers run on. gRPC's callback threads must not block,
// and a handler blocks on SQLite (a read, a commit's fsync): run inline, the
// few callback threads would cap the calls in flight, and with them the size
// of a commit group (storage::Database::Write). A bounded queue in front turns
// overload into RESOURCE_EXHAUSTED instead of unbounded latency.

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace relais::rpc {

class CallExecutor {
 public:
  // `workers` threads, at most `max_queued` tasks waiting for one.
  CallExecutor(int workers, int max_queued);
  // Runs every task already queued, then joins the threads.
  ~CallExecutor();
  CallExecutor(const CallExecutor&) = delete;
  CallExecutor& operator=(const CallExecutor&) = delete;

  // Queues `task`; false (and `task` dropped unrun) when the queue is full or
  // the executor is stopping.
  bool TrySubmit(absl::AnyInvocable<void()> task);

  int64_t queued() const;
  int64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  void Work();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> rejected_{0};
  std::vector<std::thread> threads_;
};

}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_CALL_EXECUTOR_H_
