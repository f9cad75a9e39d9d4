#include "services/auth/login_throttle.h"

namespace relais::auth_service {

int LoginThrottle::Count(absl::string_view key, absl::Time now) {
  auto it = by_peer_.find(key);
  if (it == by_peer_.end()) return 0;
  std::deque<absl::Time>& times = it->second;
  while (!times.empty() && times.front() <= now - limits_.window) times.pop_front();
  if (times.empty()) {
    by_peer_.erase(it);
    return 0;
  }
  return static_cast<int>(times.size());
}

bool LoginThrottle::Blocked(absl::string_view peer, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return Count(peer, now) >= limits_.failures_per_peer;
}

void LoginThrottle::RecordFailure(absl::string_view peer, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (by_peer_.size() >= limits_.max_tracked_keys && !by_peer_.contains(peer)) {
    // Drop expired keys first; if still full, forget everything rather than
    // grow without bound (an attacker gains at most one fresh window).
    for (auto it = by_peer_.begin(); it != by_peer_.end();) {
      auto next = std::next(it);
      if (it->second.empty() || it->second.back() <= now - limits_.window) by_peer_.erase(it);
      it = next;
    }
    if (by_peer_.size() >= limits_.max_tracked_keys) by_peer_.clear();
  }
  std::deque<absl::Time>& times = by_peer_[peer];
  times.push_back(now);
  // Only the newest `limit` entries matter; cap the deque.
  while (times.size() > static_cast<size_t>(limits_.failures_per_peer)) times.pop_front();
}

std::string PeerAddress(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  const size_t first = peer.find(':');
  if (colon == absl::string_view::npos || colon == first) return std::string(peer);
  return std::string(peer.substr(0, colon));
}

}  // namespace relais::auth_service
