#include "common/reason.h"

#include "gtest/gtest.h"

namespace relais::common {
namespace {

TEST(Reason, TravelsAsPayloadNotParsedFromTheMessage) {
  const absl::Status s = Precondition("not_pending", "the accompaniment is no longer pending");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "not_pending: the accompaniment is no longer pending");
  EXPECT_EQ(ReasonOf(s), "not_pending");
  // Wording that merely looks like a reason carries none.
  EXPECT_EQ(ReasonOf(absl::FailedPreconditionError("not_pending: hand-written")), "error");
}

TEST(Reason, InvalidFieldNamesTheFieldAndKeepsTheMessageReadable) {
  const absl::Status s = InvalidField("youth.name", "field_required", "is required");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "field_required: field=youth.name: is required");
  EXPECT_EQ(ReasonOf(s), "field_required");
  EXPECT_EQ(FieldOf(s), "youth.name");
  EXPECT_EQ(FieldOf(NotFound("youth_not_found", "field=x: no")), "");
}

TEST(Reason, StatusesWithoutAReasonAreNamedByTheirCode) {
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "allowed");
  EXPECT_EQ(ReasonOf(absl::UnavailableError("down")), "unavailable");
  EXPECT_EQ(ReasonOf(absl::ResourceExhaustedError("full")), "resource_exhausted");
  EXPECT_EQ(ReasonOf(absl::DeadlineExceededError("late")), "deadline_exceeded");
  EXPECT_EQ(ReasonOf(absl::CancelledError("gone")), "cancelled");
  EXPECT_EQ(ReasonOf(absl::PermissionDeniedError("no")), "error");
}

TEST(Reason, InternalErrorsNeverShowTheirReason) {
  EXPECT_EQ(ReasonOf(WithReason(absl::StatusCode::kDataLoss, "storage_corrupt", "x")), "internal");
  EXPECT_EQ(ReasonOf(WithReason(absl::StatusCode::kInternal, "storage_error", "x")), "internal");
}

TEST(Reason, AuditUnavailableIsTheOneStatusForAnUnrecordableAccess) {
  const absl::Status s = AuditUnavailable();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(s), "audit_unavailable");
  EXPECT_EQ(s.message(), "audit_unavailable: the access log cannot be written");
}

}  // namespace
}  // namespace relais::common
