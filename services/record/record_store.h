#ifndef RELAIS_SERVICES_RECORD_RECORD_STORE_H_
#define RELAIS_SERVICES_RECORD_RECORD_STORE_H_

// The record service's tables (rec_*) and the only SQL that touches them.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/record.pb.h"
#include "services/record/record_api.h"
#include "storage/database.h"

namespace relais::record::store {

std::vector<storage::Migration> Migrations();

// `national_hash` is empty or the keyed hash of the national register number.
absl::Status InsertYouth(storage::Connection& c, const v1::Youth& youth,
                         absl::string_view national_hash, absl::string_view created_by_service);
absl::StatusOr<std::optional<v1::Youth>> GetYouth(storage::Connection& c, absl::string_view id);
absl::StatusOr<std::optional<YouthFacts>> GetYouthFacts(storage::Connection& c,
                                                        absl::string_view id);
absl::StatusOr<std::string> FindByNationalHash(storage::Connection& c,
                                               absl::string_view national_hash);

// Entries are append-only: there is no update or delete.
absl::Status InsertEntry(storage::Connection& c, const v1::Entry& entry);
absl::StatusOr<std::optional<v1::Entry>> GetEntry(storage::Connection& c, absl::string_view id);

// Entries of a youth with a position below `before_position` (0: from the
// newest), newest first, at most `limit`. `positions` receives each entry's
// position for paging.
absl::StatusOr<std::vector<v1::Entry>> ListEntries(storage::Connection& c,
                                                   absl::string_view youth_id,
                                                   absl::string_view handover_id,
                                                   int64_t before_position, int limit,
                                                   std::vector<int64_t>* positions);

}  // namespace relais::record::store

#endif  // RELAIS_SERVICES_RECORD_RECORD_STORE_H_
