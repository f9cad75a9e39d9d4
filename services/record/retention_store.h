#ifndef RELAIS_SERVICES_RECORD_RETENTION_STORE_H_
#define RELAIS_SERVICES_RECORD_RETENTION_STORE_H_

// The SQL of the retention sweep (docs/retention.md) over the rec_* tables.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/common.pb.h"
#include "storage/database.h"

namespace relais::record::store {

// A youth not yet erased, with what the sweep needs to decide.
struct RetentionYouth {
  std::string id;
  absl::Time created_at;
  bool restricted = false;
  bool legal_hold = false;
};
absl::StatusOr<std::vector<RetentionYouth>> ListLiveYouths(storage::Connection& c);
// The youth, unless erased or unknown.
absl::StatusOr<std::optional<RetentionYouth>> GetLiveYouth(storage::Connection& c,
                                                           absl::string_view youth_id);

// The youth's entries not yet erased: ids and categories only (no body).
struct LiveEntry {
  std::string id;
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
};
absl::StatusOr<std::vector<LiveEntry>> ListLiveEntries(storage::Connection& c,
                                                       absl::string_view youth_id);

// Overwrites the entry's body and marks it erased at `now`; the row stays
// (id, youth, author, category, visibility, dates). False if it was already.
absl::StatusOr<bool> EraseEntry(storage::Connection& c, absl::string_view entry_id, absl::Time now);

}  // namespace relais::record::store

#endif  // RELAIS_SERVICES_RECORD_RETENTION_STORE_H_
