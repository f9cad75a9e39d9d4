#include "services/partnership/partnership_rules.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::partnership {
namespace {

using common::InvalidField;

// 1 to kMaxParties distinct ids (at least `min`).
absl::Status CheckServiceIds(absl::string_view field,
                             const google::protobuf::RepeatedPtrField<std::string>& ids, int min) {
  if (ids.size() < min || ids.size() > kMaxParties) {
    return InvalidField(field, "out_of_range", absl::StrCat(min, " to ", kMaxParties, " services"));
  }
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    RETURN_IF_ERROR(common::CheckId(field, id));
    if (!seen.insert(id).second) {
      return InvalidField(field, "duplicate_service", "a service is named twice");
    }
  }
  return absl::OkStatus();
}

// A set timestamp, range-checked.
absl::StatusOr<absl::Time> RequiredTime(absl::string_view field,
                                        const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) {
    return InvalidField(field, "field_required", "is required");
  }
  return common::TimeFromRequest(field, ts);
}

absl::Status CheckScope(const v1::ConventionScope& scope) {
  if (scope.categories().empty()) {
    return InvalidField("convention.scope.categories", "field_required", "at least one category");
  }
  for (int c : scope.categories()) {
    if (c == v1::DATA_CATEGORY_UNSPECIFIED || !v1::DataCategory_IsValid(c)) {
      return InvalidField("convention.scope.categories", "out_of_range", "unknown category");
    }
  }
  if (scope.purposes().empty()) {
    return InvalidField("convention.scope.purposes", "field_required", "at least one purpose");
  }
  for (int p : scope.purposes()) {
    if (p == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(p)) {
      return InvalidField("convention.scope.purposes", "out_of_range", "unknown purpose");
    }
  }
  if (scope.max_overlap_days() < 1 || scope.max_overlap_days() > kMaxOverlapDays) {
    return InvalidField("convention.scope.max_overlap_days", "out_of_range",
                        absl::StrCat("1 to ", kMaxOverlapDays, " days"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckNextReview(absl::string_view field, const google::protobuf::Timestamp& ts,
                             absl::Time now, absl::Time end) {
  ASSIGN_OR_RETURN(const absl::Time review, RequiredTime(field, ts));
  if (review <= now) return InvalidField(field, "out_of_range", "must be in the future");
  if (review > end) return InvalidField(field, "out_of_range", "must not be after the end");
  return absl::OkStatus();
}

absl::Status CheckConventionInput(const v1::Convention& in, absl::Time now) {
  RETURN_IF_ERROR(common::CheckText("convention.title", in.title(), kMaxTitleBytes));
  RETURN_IF_ERROR(common::CheckText("convention.purpose", in.purpose(), kMaxSummaryBytes));
  RETURN_IF_ERROR(
      CheckServiceIds("convention.party_service_ids", in.party_service_ids(), kMinParties));
  RETURN_IF_ERROR(CheckScope(in.scope()));
  ASSIGN_OR_RETURN(const absl::Time start, RequiredTime("convention.start_time", in.start_time()));
  ASSIGN_OR_RETURN(const absl::Time end, RequiredTime("convention.end_time", in.end_time()));
  if (end <= start || end <= now) {
    return InvalidField("convention.end_time", "out_of_range",
                        "must be after the start and in the future");
  }
  if (end - start > kMaxConventionLength) {
    return InvalidField("convention.end_time", "out_of_range", "at most 5 years after the start");
  }
  return CheckNextReview("convention.review_time", in.review_time(), now, end);
}

absl::Status CheckProtocolReview(absl::string_view field, const google::protobuf::Timestamp& ts,
                                 absl::Time now) {
  ASSIGN_OR_RETURN(const absl::Time review, RequiredTime(field, ts));
  if (review <= now || review > now + kMaxProtocolReview) {
    return InvalidField(field, "out_of_range", "must be in the future, at most 3 years ahead");
  }
  return absl::OkStatus();
}

absl::Status CheckProtocolInput(const v1::Protocol& in, absl::Time now) {
  RETURN_IF_ERROR(common::CheckText("protocol.title", in.title(), kMaxTitleBytes));
  RETURN_IF_ERROR(CheckServiceIds("protocol.service_ids", in.service_ids(), 1));
  if (in.roles().empty()) {
    return InvalidField("protocol.roles", "field_required", "at least one role");
  }
  for (int r : in.roles()) {
    if (r != v1::ROLE_CASEWORKER && r != v1::ROLE_COORDINATOR) {
      return InvalidField("protocol.roles", "role_not_allowed",
                          "a protocol concerns caseworkers and coordinators only");
    }
  }
  if (!in.convention_id().empty()) {
    RETURN_IF_ERROR(common::CheckId("protocol.convention_id", in.convention_id()));
  }
  return CheckProtocolReview("protocol.review_time", in.review_time(), now);
}

absl::Status CheckVersionInput(absl::string_view prefix, const v1::ProtocolVersion& in) {
  RETURN_IF_ERROR(
      common::CheckText(absl::StrCat(prefix, ".summary"), in.summary(), kMaxSummaryBytes));
  if (in.link().empty() && in.text().empty()) {
    return InvalidField(absl::StrCat(prefix, ".link"), "field_required",
                        "a link or the text is required");
  }
  if (!in.link().empty()) {
    const std::string field = absl::StrCat(prefix, ".link");
    RETURN_IF_ERROR(common::CheckText(field, in.link(), kMaxLinkBytes));
    if (!absl::StartsWith(in.link(), "https://") || in.link().size() <= 8) {
      return InvalidField(field, "link_not_https", "must be an https:// address");
    }
    for (char ch : in.link()) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
        return InvalidField(field, "link_not_https", "must not hold spaces or control characters");
      }
    }
  }
  if (in.text().size() > kMaxProtocolTextBytes) {
    return InvalidField(absl::StrCat(prefix, ".text"), "field_too_long", "at most 1 MiB");
  }
  return absl::OkStatus();
}

bool SignedByAll(const v1::Convention& c) {
  for (const std::string& party : c.party_service_ids()) {
    const bool signed_it =
        std::any_of(c.signatures().begin(), c.signatures().end(),
                    [&](const v1::ConventionSignature& s) { return s.service_id() == party; });
    if (!signed_it) return false;
  }
  return !c.party_service_ids().empty();
}

bool Ended(const v1::Convention& c, absl::Time now) {
  if (c.has_terminated_at() && common::FromProto(c.terminated_at()) <= now) return true;
  return common::FromProto(c.end_time()) <= now;
}

void Evaluate(v1::Convention& c, absl::Time now) {
  const bool all_signed = SignedByAll(c);
  if (c.has_terminated_at() && common::FromProto(c.terminated_at()) <= now) {
    c.set_state(v1::CONVENTION_STATE_TERMINATED);
  } else if (common::FromProto(c.end_time()) <= now) {
    c.set_state(v1::CONVENTION_STATE_EXPIRED);
  } else if (!all_signed) {
    c.set_state(v1::CONVENTION_STATE_AWAITING_SIGNATURES);
  } else if (now < common::FromProto(c.start_time())) {
    c.set_state(v1::CONVENTION_STATE_SIGNED);
  } else {
    c.set_state(v1::CONVENTION_STATE_IN_FORCE);
  }
  // A reminder for a convention that still binds someone.
  c.set_review_due(!Ended(c, now) && common::FromProto(c.review_time()) <= now + kReviewNotice);
}

}  // namespace relais::partnership
