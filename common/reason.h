#ifndef RELAIS_COMMON_REASON_H_
#define RELAIS_COMMON_REASON_H_

// Reason-coded statuses, free of gRPC: every layer (storage, auth, stores,
// handlers) builds its errors here. The stable reason code, and for invalid
// input the request field, travel as payloads of the absl::Status (abseil's
// way to attach data), so nothing downstream parses wording. The message
// stays "<reason>: <explanation>" for people; rpc::ToGrpc (services/common)
// puts ReasonOf() and FieldOf() into the ErrorDetail the client sees.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace relais::common {

// The payload type URLs (absl::Status::SetPayload).
inline constexpr absl::string_view kReasonPayload = "type.relais/reason";
inline constexpr absl::string_view kFieldPayload = "type.relais/field";

// A `code` status carrying `reason`, message "<reason>: <explanation>".
// `code` must not be kOk.
absl::Status WithReason(absl::StatusCode code, absl::string_view reason,
                        absl::string_view explanation);

// INVALID_ARGUMENT naming the request `field`, message
// "<reason>: field=<field>: <explanation>".
absl::Status InvalidField(absl::string_view field, absl::string_view reason,
                          absl::string_view explanation);
absl::Status Precondition(absl::string_view reason, absl::string_view explanation);
absl::Status NotFound(absl::string_view reason, absl::string_view explanation);
absl::Status AlreadyExists(absl::string_view reason, absl::string_view explanation);
absl::Status Unavailable(absl::string_view reason, absl::string_view explanation);
absl::Status Unauthenticated(absl::string_view reason, absl::string_view explanation);

// UNAVAILABLE "audit_unavailable": an access could not be recorded, so it is
// refused (the audit path fails closed). The one status for that failure.
absl::Status AuditUnavailable();

// The reason code a status carries: "allowed" for OK, "internal" for
// INTERNAL/UNKNOWN/DATA_LOSS (never shown), the payload otherwise; a status
// without one gets a name for its code ("unavailable", "resource_exhausted",
// "deadline_exceeded", "cancelled", else "error").
std::string ReasonOf(const absl::Status& status);
// The request field named by InvalidField(), else "".
std::string FieldOf(const absl::Status& status);

// Request-size guards shared by the services and their stores.
inline constexpr size_t kMaxIdLength = 64;
inline constexpr size_t kMaxReasonLength = 2000;
// OK, or InvalidField "field_required" (empty) or "malformed_id" (longer than
// kMaxIdLength or not of [A-Za-z0-9._-]).
absl::Status CheckId(absl::string_view field, absl::string_view value);
// OK, or InvalidField "field_required" (empty) or "field_too_long".
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max_bytes);
// Whether `s` holds only [A-Za-z0-9._-] (ids that may be stored and shown).
bool IsPrintableId(absl::string_view s);

}  // namespace relais::common

#endif  // RELAIS_COMMON_REASON_H_
