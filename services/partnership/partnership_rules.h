#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_RULES_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_RULES_H_

// The input rules of conventions and protocols, free of storage and gRPC:
// INVALID_ARGUMENT with a reason code and the request field
// (common::InvalidField) or OK. The state of a convention and the flags of a
// protocol, evaluated at a given time.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "relais/v1/partnership.pb.h"

namespace relais::partnership {

inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kMaxSummaryBytes = 2000;  // also a convention's purpose
inline constexpr size_t kMaxLinkBytes = 2000;
inline constexpr size_t kMaxProtocolTextBytes = size_t{1} << 20;  // 1 MiB
inline constexpr int kMinParties = 2;
inline constexpr int kMaxParties = 10;
inline constexpr int kMaxOverlapDays = 365;
inline constexpr absl::Duration kMaxConventionLength = absl::Hours(24 * (5 * 365 + 2));
inline constexpr absl::Duration kMaxProtocolReview = absl::Hours(24 * (3 * 365 + 1));
// A convention's review is due this long before its date (Convention.review_due).
inline constexpr absl::Duration kReviewNotice = absl::Hours(24 * 30);

// A proposed convention's title, purpose, parties (2 to 10 distinct ids, the
// proposer's among them is checked by the caller), scope and dates at `now`.
absl::Status CheckConventionInput(const v1::Convention& in, absl::Time now);
// A review date: set, after `now`, not after `end`. On `field`.
absl::Status CheckNextReview(absl::string_view field, const google::protobuf::Timestamp& ts,
                             absl::Time now, absl::Time end);
// A new protocol's title, services (1 to 10 distinct ids), roles (caseworker,
// coordinator) and review date.
absl::Status CheckProtocolInput(const v1::Protocol& in, absl::Time now);
// A protocol's review date: after `now`, at most 3 years ahead. On `field`.
absl::Status CheckProtocolReview(absl::string_view field, const google::protobuf::Timestamp& ts,
                                 absl::Time now);
// A version's summary and its link (https://) or text (up to 1 MiB); the
// fields are named "<prefix>.summary" ...
absl::Status CheckVersionInput(absl::string_view prefix, const v1::ProtocolVersion& in);

// Sets `c`'s state and review_due as they stand at `now`.
void Evaluate(v1::Convention& c, absl::Time now);
// Whether every party of `c` has signed it.
bool SignedByAll(const v1::Convention& c);
// Whether `c` has ended at `now` (expired or terminated).
bool Ended(const v1::Convention& c, absl::Time now);

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_RULES_H_
