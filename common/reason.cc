#include "common/reason.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace relais::common {
namespace {

// The field name is shown after the reason: "<reason>: field=<field>: ...".
constexpr absl::string_view kFieldMarker = "field=";

std::string Payload(const absl::Status& status, absl::string_view type_url) {
  const absl::optional<absl::Cord> payload = status.GetPayload(type_url);
  return payload.has_value() ? std::string(*payload) : std::string();
}

}  // namespace

absl::Status WithReason(absl::StatusCode code, absl::string_view reason,
                        absl::string_view explanation) {
  absl::Status status(code, absl::StrCat(reason, ": ", explanation));
  status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

absl::Status InvalidField(absl::string_view field, absl::string_view reason,
                          absl::string_view explanation) {
  absl::Status status = WithReason(absl::StatusCode::kInvalidArgument, reason,
                                   absl::StrCat(kFieldMarker, field, ": ", explanation));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

absl::Status Precondition(absl::string_view reason, absl::string_view explanation) {
  return WithReason(absl::StatusCode::kFailedPrecondition, reason, explanation);
}

absl::Status NotFound(absl::string_view reason, absl::string_view explanation) {
  return WithReason(absl::StatusCode::kNotFound, reason, explanation);
}

absl::Status AlreadyExists(absl::string_view reason, absl::string_view explanation) {
  return WithReason(absl::StatusCode::kAlreadyExists, reason, explanation);
}

absl::Status Unavailable(absl::string_view reason, absl::string_view explanation) {
  return WithReason(absl::StatusCode::kUnavailable, reason, explanation);
}

absl::Status Unauthenticated(absl::string_view reason, absl::string_view explanation) {
  return WithReason(absl::StatusCode::kUnauthenticated, reason, explanation);
}

absl::Status AuditUnavailable() {
  return Unavailable("audit_unavailable", "the access log cannot be written");
}

std::string ReasonOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "allowed";
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return "internal";
    default:
      break;
  }
  if (std::string reason = Payload(status, kReasonPayload); !reason.empty()) return reason;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    default:
      return "error";
  }
}

std::string FieldOf(const absl::Status& status) { return Payload(status, kFieldPayload); }

bool IsPrintableId(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

absl::Status CheckId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return InvalidField(field, "field_required", "is required");
  if (value.size() > kMaxIdLength || !IsPrintableId(value)) {
    return InvalidField(field, "malformed_id", "is not a valid id");
  }
  return absl::OkStatus();
}

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max_bytes) {
  if (value.empty()) return InvalidField(field, "field_required", "is required");
  if (value.size() > max_bytes) {
    return InvalidField(field, "field_too_long",
                        absl::StrCat("is longer than ", max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace relais::common
