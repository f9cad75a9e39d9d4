#ifndef RELAIS_SERVICES_RECORD_RECORD_STORE_INTERNAL_H_
#define RELAIS_SERVICES_RECORD_RECORD_STORE_INTERNAL_H_

// Helpers shared by record_store.cc and gdpr_store.cc only.

#include <cstdint>

#include "absl/time/time.h"
#include "common/proto_time.h"
#include "google/protobuf/timestamp.pb.h"

namespace relais::record::store::internal {

// Saturates rather than overflows: request times are range-checked at the API
// (common::TimeFromRequest), this guards every other path.
inline int64_t Us(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()));
}

inline void SetTs(google::protobuf::Timestamp* ts, int64_t us) {
  ts->set_seconds(us / 1'000'000);
  ts->set_nanos(static_cast<int32_t>((us % 1'000'000) * 1000));
}

}  // namespace relais::record::store::internal

#endif  // RELAIS_SERVICES_RECORD_RECORD_STORE_INTERNAL_H_
