#include "services/auth/login_throttle.h"

namespace relais::auth_service {

int LoginThrottle::Count(Failures& map, absl::string_view key, absl::Time now) {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  std::deque<absl::Time>& times = it->second;
  while (!times.empty() && times.front() <= now - limits_.window) times.pop_front();
  if (times.empty()) {
    map.erase(it);
    return 0;
  }
  return static_cast<int>(times.size());
}

void LoginThrottle::Add(Failures& map, absl::string_view key, absl::Time now) {
  if (map.size() >= limits_.max_tracked_keys && !map.contains(key)) {
    // Drop expired keys first; if still full, forget everything rather than
    // grow without bound (an attacker gains at most one fresh window).
    for (auto it = map.begin(); it != map.end();) {
      auto next = std::next(it);
      if (it->second.empty() || it->second.back() <= now - limits_.window) map.erase(it);
      it = next;
    }
    if (map.size() >= limits_.max_tracked_keys) map.clear();
  }
  std::deque<absl::Time>& times = map[key];
  times.push_back(now);
  // Only the newest `limit` entries matter; cap the deque.
  const size_t cap = static_cast<size_t>(
      std::max(limits_.failures_per_account, limits_.failures_per_peer));
  while (times.size() > cap) times.pop_front();
}

bool LoginThrottle::Blocked(absl::string_view account, absl::string_view peer, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return Count(by_account_, account, now) >= limits_.failures_per_account ||
         Count(by_peer_, peer, now) >= limits_.failures_per_peer;
}

void LoginThrottle::RecordFailure(absl::string_view account, absl::string_view peer,
                                  absl::Time now) {
  absl::MutexLock lock(&mu_);
  Add(by_account_, account, now);
  Add(by_peer_, peer, now);
}

void LoginThrottle::RecordSuccess(absl::string_view account) {
  absl::MutexLock lock(&mu_);
  by_account_.erase(account);
}

std::string PeerAddress(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  const size_t first = peer.find(':');
  if (colon == absl::string_view::npos || colon == first) return std::string(peer);
  return std::string(peer.substr(0, colon));
}

}  // namespace relais::auth_service
