#include "tools/load/report.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace relais::load {
namespace {

TEST(Mix, PicksEachKindInProportionToItsWeight) {
  const absl::StatusOr<Mix> mix = Mix::Parse("get=60, list=20,add=15,care=5,echo=0");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->total(), 100u);
  EXPECT_FALSE(mix->Has(CallKind::kEcho));
  std::map<CallKind, int> picked;
  for (uint64_t r = 0; r < 1000; ++r) ++picked[mix->Pick(r)];
  EXPECT_EQ(picked[CallKind::kGet], 600);
  EXPECT_EQ(picked[CallKind::kList], 200);
  EXPECT_EQ(picked[CallKind::kAdd], 150);
  EXPECT_EQ(picked[CallKind::kCare], 50);
  EXPECT_EQ(mix->ToString(), "get=60,list=20,add=15,care=5");
}

TEST(Mix, RefusesWhatItCannotRun) {
  for (const char* bad :
       {"", "get", "get=x", "get=-1", "fetch=10", "get=1,get=2", "get=0", "get=2000000"}) {
    EXPECT_EQ(Mix::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

PhaseResult Phase(std::vector<int64_t> latencies_us) {
  PhaseResult p;
  p.name = "mix";
  p.latencies_us = std::move(latencies_us);
  p.elapsed = absl::Seconds(2);
  Finish(p);
  return p;
}

TEST(PhaseResult, PercentilesComeFromTheSortedLatencies) {
  std::vector<int64_t> us;
  for (int i = 100; i >= 1; --i) us.push_back(i * 1000);  // 1..100 ms, reversed
  const PhaseResult p = Phase(us);
  EXPECT_DOUBLE_EQ(p.qps(), 50);
  EXPECT_NEAR(p.PercentileMs(0.5), 50.5, 0.6);
  EXPECT_NEAR(p.PercentileMs(0.99), 99, 1.01);
  EXPECT_DOUBLE_EQ(p.MaxMs(), 100);
  EXPECT_DOUBLE_EQ(Phase({}).PercentileMs(0.99), 0);
  EXPECT_LT(p.CpuUsPerCall(), 0);  // not measured
}

TEST(PhaseResult, RecoveryIsTheFirstSecondBackAtTheRate) {
  PhaseResult p = Phase({1});
  p.per_second = {10, 40, 90, 100};
  EXPECT_EQ(p.SecondsUntilRate(80), 2);
  EXPECT_EQ(p.SecondsUntilRate(5), 0);
  EXPECT_EQ(p.SecondsUntilRate(200), -1);
}

TEST(Report, JsonCarriesEveryPhaseStatusAndFigure) {
  PhaseResult p = Phase({1000, 2000});
  p.statuses = {{"OK", 1}, {"RESOURCE_EXHAUSTED", 1}};
  p.server_cpu_seconds = 0.001;
  const std::string json = JsonReport({p}, {{"mix_qps_percent_of_echo", 42.5}});
  EXPECT_TRUE(absl::StrContains(json, R"("name":"mix")")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("calls":2)")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("statuses":{"OK":1,"RESOURCE_EXHAUSTED":1})")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("server_cpu_us_per_call":500)")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("mix_qps_percent_of_echo":42.5)")) << json;
  const std::string text = TextReport({p}, {});
  EXPECT_TRUE(absl::StrContains(text, "RESOURCE_EXHAUSTED=1")) << text;
}

TEST(SampleProcess, ReadsThisProcess) {
  const ProcessSample self = SampleProcess(getpid());
  ASSERT_TRUE(self.ok);
  EXPECT_GT(self.rss_mib, 1);
  EXPECT_GE(self.cpu_seconds, 0);
  EXPECT_FALSE(SampleProcess(-1).ok);
}

}  // namespace
}  // namespace relais::load
