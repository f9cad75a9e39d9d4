#ifndef RELAIS_COMMON_PROTO_TIME_H_
#define RELAIS_COMMON_PROTO_TIME_H_

// absl::Time <-> google.protobuf.Timestamp, free of gRPC (protobuf only), for
// stores and handlers alike.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace relais::common {

// Microsecond precision (what the stores keep); rounds toward the past.
google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& ts);
// A timestamp from a request, range-checked before any arithmetic: years 1 to
// 9999 and nanos 0..999,999,999 (the range google.protobuf.Timestamp defines),
// else INVALID_ARGUMENT "timestamp_out_of_range" naming `field` (reason.h).
absl::StatusOr<absl::Time> TimeFromRequest(absl::string_view field,
                                           const google::protobuf::Timestamp& ts);

}  // namespace relais::common

#endif  // RELAIS_COMMON_PROTO_TIME_H_
