#include "services/record/lookup_limiter.h"

#include <algorithm>

namespace relais::record {

LookupLimiter::LookupLimiter(int per_window, absl::Duration window)
    : per_window_(std::max(1, per_window)), window_(window) {}

bool LookupLimiter::TryAcquire(absl::string_view member_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (recent_.size() >= prune_at_) {
    Prune(now);
    // Members are bounded by the directory; keep the sweep amortised anyway.
    prune_at_ = std::max<size_t>(1024, 2 * recent_.size());
  }
  std::deque<absl::Time>& times = recent_[member_id];
  while (!times.empty() && times.front() <= now - window_) times.pop_front();
  if (static_cast<int>(times.size()) >= per_window_) return false;
  times.push_back(now);
  return true;
}

void LookupLimiter::Prune(absl::Time now) {
  for (auto it = recent_.begin(); it != recent_.end();) {
    if (it->second.empty() || it->second.back() <= now - window_) {
      recent_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace relais::record
