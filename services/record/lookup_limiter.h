#ifndef RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_
#define RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

namespace relais::record {

// Caps the look-ups one member makes in any sliding window (FindYouth: the
// national number is an existence oracle). Every look-up counts, whether it
// found something or not, so the caller asks before consulting the database
// and the answer to a refused look-up cannot depend on the data. A refused
// look-up is not counted. The look-ups are counted in the database
// (rec_lookups, record migration 8), so every instance serving the record
// service shares one budget per member and a restart forgets nothing.
// Thread-safe.
class LookupLimiter {
 public:
  // `per_window` >= 1 look-ups per `window` per member. `db` is not owned,
  // must outlive this and hold the record tables.
  LookupLimiter(storage::Database* db, int per_window, absl::Duration window);

  // Counts one look-up by `member_id` at `now` and returns true, unless the
  // member already made `per_window` look-ups in (now - window, now]: then
  // returns false and counts nothing. Look-ups older than the window are
  // dropped on the way. The database's status on failure: the caller refuses.
  absl::StatusOr<bool> TryAcquire(absl::string_view member_id, absl::Time now);

  int per_window() const { return per_window_; }

 private:
  storage::Database* const db_;
  const int per_window_;
  const absl::Duration window_;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_LOOKUP_LIMITER_H_
