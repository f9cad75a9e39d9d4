// relaisctl's error mapping and connection checks.

#include "tools/relaisctl/client.h"

#include "gtest/gtest.h"
#include "relais/v1/common.pb.h"

namespace relais::ctl {
namespace {

TEST(RelaisctlClient, MapsStatusesToExitCodesAndErrorLines) {
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnauthenticated), 3);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kPermissionDenied), 4);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kNotFound), 5);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInvalidArgument), 6);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kFailedPrecondition), 6);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnavailable), 7);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInternal), 7);

  // relaisd's error: the reason and field come from the ErrorDetail.
  v1::ErrorDetail detail;
  detail.set_reason("malformed_date");
  detail.set_field("overlap_end");
  v1::RpcStatus rpc_status;
  rpc_status.add_details()->PackFrom(detail);
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT,
                      "malformed_date: field=overlap_end: must be a date",
                      rpc_status.SerializeAsString());
  EXPECT_EQ(ErrorLine(Describe(status)),
            "error: INVALID_ARGUMENT malformed_date: overlap_end: must be a date");
  // A transport error has no detail.
  EXPECT_EQ(ErrorLine(Describe(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"))),
            "error: UNAVAILABLE unavailable: down");

  EXPECT_TRUE(IsLoopback("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopback("localhost:1"));
  EXPECT_TRUE(IsLoopback("[::1]:50051"));
  EXPECT_FALSE(IsLoopback("127.0.0.1.example.org:50051"));
  EXPECT_FALSE(IsLoopback("10.0.0.1:50051"));
  EXPECT_FALSE(IsLoopback("relais.example.org:443"));
}

}  // namespace
}  // namespace relais::ctl
