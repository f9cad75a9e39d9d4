#ifndef RELAIS_SERVICES_AUTH_LOGIN_THROTTLE_H_
#define RELAIS_SERVICES_AUTH_LOGIN_THROTTLE_H_

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace relais::auth_service {

// Counts failed logins per peer address over a sliding window and says when
// to refuse further attempts from it (a machine spraying many accounts). In
// memory only: per-account failures and locks are persistent and atomic
// (auth_store::LoginLocks). Thread-safe.
class LoginThrottle {
 public:
  struct Limits {
    int failures_per_peer = 20;
    absl::Duration window = absl::Minutes(15);
    size_t max_tracked_keys = 100'000;  // bounds memory under a spray of peers
  };

  LoginThrottle() : LoginThrottle(Limits()) {}
  explicit LoginThrottle(Limits limits) : limits_(limits) {}

  // True if another attempt from this peer must be refused now.
  bool Blocked(absl::string_view peer, absl::Time now);
  void RecordFailure(absl::string_view peer, absl::Time now);

 private:
  using Failures = absl::flat_hash_map<std::string, std::deque<absl::Time>>;
  int Count(absl::string_view key, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Limits limits_;
  absl::Mutex mu_;
  Failures by_peer_ ABSL_GUARDED_BY(mu_);
};

// The address part of a gRPC peer string ("ipv4:10.0.0.1:5678" -> "ipv4:10.0.0.1").
std::string PeerAddress(absl::string_view peer);

}  // namespace relais::auth_service

#endif  // RELAIS_SERVICES_AUTH_LOGIN_THROTTLE_H_
