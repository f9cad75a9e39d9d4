#include "services/common/call_executor.h"

#include <algorithm>
#include <utility>

namespace relais::rpc {

CallExecutor::CallExecutor(int workers, int max_queued)
    : max_queued_(static_cast<size_t>(std::max(1, max_queued))) {
  for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { Work(); });
}

CallExecutor::~CallExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool CallExecutor::TrySubmit(absl::AnyInvocable<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || tasks_.size() >= max_queued_) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  tasks_.push_back(std::move(task));
  return true;
}

int64_t CallExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(tasks_.size());
}

void CallExecutor::Work() {
  for (;;) {
    absl::AnyInvocable<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CallExecutor* e)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return e->stopping_ || !e->tasks_.empty(); },
          this));
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace relais::rpc
