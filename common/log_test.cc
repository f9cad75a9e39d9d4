#include "common/log.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace relais::common {
namespace {

TEST(Log, WritesOneEscapedJsonLinePerCallAndHonoursTheLevel) {
  std::vector<std::string> lines;
  SetLogSink([&](absl::string_view l) { lines.emplace_back(l); });
  SetLogLevel(LogLevel::kInfo);
  LogDebug("hidden");
  LogInfo("rpc done", {{"rpc", "/relais.v1.X/Y"}, {"note", "a \"quoted\"\nline"}});
  SetLogSink(nullptr);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"msg\":\"rpc done\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"note\":\"a \\\"quoted\\\"\\nline\""), std::string::npos);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
}

}  // namespace
}  // namespace relais::common
