#include "observability/metrics.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "relais/v1/record.pb.h"

namespace relais::observability {
namespace {

int CountLines(const std::string& text, absl::string_view prefix) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) ++n;
  }
  return n;
}

TEST(Metrics, MethodsTheServerDoesNotHaveShareOneLabel) {
  Metrics metrics;
  // Linked in, so the generated pool knows RecordService (relaisd links all).
  (void)v1::GetYouthRequest::descriptor();
  metrics.OnRpcDone("/relais.v1.RecordService/GetYouth", grpc::StatusCode::OK, "allowed",
                    absl::Milliseconds(2));
  for (int i = 0; i < 1000; ++i) {
    metrics.OnRpcDone(absl::StrCat("/relais.v1.RecordService/Made", i),
                      grpc::StatusCode::UNIMPLEMENTED, "", absl::Milliseconds(1));
    metrics.OnRpcDone(absl::StrCat("garbage-", i), grpc::StatusCode::UNIMPLEMENTED, "",
                      absl::Milliseconds(1));
  }
  const std::string text = metrics.Render();
  EXPECT_TRUE(absl::StrContains(
      text,
      "relais_rpc_requests_total{method=\"/relais.v1.RecordService/GetYouth\",code=\"OK\"} 1"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, "relais_rpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"} 2000"))
      << text;
  EXPECT_FALSE(absl::StrContains(text, "Made"));
  EXPECT_FALSE(absl::StrContains(text, "garbage"));
  EXPECT_EQ(CountLines(text, "relais_rpc_requests_total{"), 2);
}

TEST(Metrics, DistinctReasonsPastTheBoundCountAsOther) {
  Metrics metrics;
  for (size_t i = 0; i < kMaxReasonLabels + 300; ++i) {
    metrics.OnRpcDone("/relais.v1.RecordService/GetYouth", grpc::StatusCode::PERMISSION_DENIED,
                      absl::StrCat("reason_", i), absl::Milliseconds(1));
  }
  // A reason already labelled keeps its own series.
  metrics.OnRpcDone("/relais.v1.RecordService/GetYouth", grpc::StatusCode::PERMISSION_DENIED,
                    "reason_0", absl::Milliseconds(1));
  const std::string text = metrics.Render();
  EXPECT_LE(CountLines(text, "relais_access_decisions_total{"),
            static_cast<int>(kMaxReasonLabels) + 1);
  EXPECT_TRUE(absl::StrContains(text, "relais_access_decisions_total{reason=\"reason_0\"} 2"));
  EXPECT_TRUE(absl::StrContains(text, "relais_access_decisions_total{reason=\"other\"} "));
  EXPECT_FALSE(absl::StrContains(text, absl::StrCat("reason_", kMaxReasonLabels + 299)));
}

}  // namespace
}  // namespace relais::observability
