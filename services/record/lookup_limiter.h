#ifndef RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_
#define RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace relais::record {

// Caps the look-ups one member makes in any sliding window (FindYouth: the
// national number is an existence oracle). Every look-up counts, whether it
// found something or not, so the caller asks before consulting the database
// and the answer to a refused look-up cannot depend on the data. A refused
// look-up is not counted. In memory only: a restart forgets it. Thread-safe.
class LookupLimiter {
 public:
  // `per_window` >= 1 look-ups per `window` per member.
  LookupLimiter(int per_window, absl::Duration window);

  // Counts one look-up by `member_id` at `now` and returns true, unless the
  // member already made `per_window` look-ups in (now - window, now]: then
  // returns false and counts nothing.
  bool TryAcquire(absl::string_view member_id, absl::Time now);

  int per_window() const { return per_window_; }

 private:
  // Drops every member whose look-ups have all left the window.
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int per_window_;
  const absl::Duration window_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::deque<absl::Time>> recent_ ABSL_GUARDED_BY(mu_);
  size_t prune_at_ ABSL_GUARDED_BY(mu_) = 1024;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_
