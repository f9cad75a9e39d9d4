#ifndef RELAIS_SERVICES_PARTNERSHIP_STORE_INTERNAL_H_
#define RELAIS_SERVICES_PARTNERSHIP_STORE_INTERNAL_H_

// Helpers the two halves of PartnershipStore share. Not for other targets.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "storage/database.h"

namespace relais::partnership::internal {

int64_t Us(absl::Time t);
absl::Time FromUs(int64_t us);
void SetTs(google::protobuf::Timestamp* out, int64_t us);
// Enum values as a comma list, and back (unparsable parts skipped).
std::string JoinInts(const google::protobuf::RepeatedField<int>& values);
std::vector<int> SplitInts(absl::string_view list);
// The first column of every row of `s`.
absl::StatusOr<std::vector<std::string>> Column0(storage::Statement& s);

}  // namespace relais::partnership::internal

#endif  // RELAIS_SERVICES_PARTNERSHIP_STORE_INTERNAL_H_
