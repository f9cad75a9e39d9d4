// relaisctl's output formats and value parsing.

#include "tools/relaisctl/format.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "relais/v1/common.pb.h"

namespace relais::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(RelaisctlFormat, TablesFitEightyColumnsByCuttingIdsWithAnEllipsis) {
  Table t{{{"id", Kind::kId}, {"service", Kind::kId}, {"state", Kind::kCode}, {"note"}}, {}};
  t.rows.push_back({"h_0123456789abcdef0123", "svc_0123456789abcdef0123", "accepted",
                    "Une note assez longue pour déborder de la largeur du terminal, à couper"});
  t.rows.push_back({"h_1", "svc_1", "proposed", "line\nbreak"});
  const std::string out = RenderTable(t);
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_LE(DisplayWidth(line), 80) << line;
  EXPECT_EQ(DisplayWidth(lines[1]), 80);
  EXPECT_THAT(lines[0], StartsWith("ID"));
  EXPECT_THAT(lines[1], HasSubstr("accepted"));  // codes are kept whole
  EXPECT_THAT(lines[1], StartsWith("h_0123456…  svc_01234…  accepted  Une note"));
  EXPECT_THAT(lines[1], Not(HasSubstr("h_0123456789abcdef0123")));
  EXPECT_THAT(lines[2], HasSubstr("line break"));  // one line per row
  // Narrow tables are left alone.
  EXPECT_EQ(RenderTable(Table{{{"a"}, {"b"}}, {{"x", "y"}}}), "A  B\nx  y\n");
  EXPECT_EQ(Truncate("déborder", 4), "déb…");
  EXPECT_EQ(Truncate("abc", 3), "abc");
}

TEST(RelaisctlFormat, CsvQuotesCommasQuotesAndLineBreaksAndKeepsValuesWhole) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  Table t{{{"id", Kind::kId}, {"body"}}, {{"e_0123456789abcdef0123", "x, \"y\""}}};
  EXPECT_EQ(RenderCsv(t), "id,body\ne_0123456789abcdef0123,\"x, \"\"y\"\"\"\n");
}

TEST(RelaisctlFormat, JsonEscapesAndTypesValues) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  EXPECT_EQ(JsonString("déjà"), "\"déjà\"");
  Table t{{{"seq", Kind::kNumber}, {"ok", Kind::kBool}, {"note"}},
          {{"42", "true", "\"quoted\""}, {"", "false", ""}}};
  EXPECT_EQ(RenderJson(t),
            "[\n  {\"seq\":42,\"ok\":true,\"note\":\"\\\"quoted\\\"\"},\n"
            "  {\"seq\":null,\"ok\":false,\"note\":\"\"}\n]\n");
  EXPECT_EQ(RenderJson(Table{{{"a"}}, {}}), "[]\n");
  EXPECT_EQ(RenderRecord(t, Format::kJson),
            "{\"seq\":42,\"ok\":true,\"note\":\"\\\"quoted\\\"\"}\n");
}

TEST(RelaisctlFormat, ReadsDatesDurationsAndEnumNames) {
  auto day = ParseDate("2026-11-25", absl::UTCTimeZone());
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(*day, absl::FromCivil(absl::CivilDay(2026, 11, 25), absl::UTCTimeZone()));
  EXPECT_FALSE(ParseDate("25/11/2026", absl::UTCTimeZone()).ok());
  EXPECT_FALSE(ParseDate("2026-02-30", absl::UTCTimeZone()).ok());
  EXPECT_EQ(*ParseDuration("30d"), absl::Hours(24 * 30));
  EXPECT_EQ(*ParseDuration("2w"), absl::Hours(24 * 14));
  EXPECT_EQ(*ParseDuration("12h"), absl::Hours(12));
  for (const char* bad : {"", "d", "0d", "-3d", "3", "3m", "1.5d", "99999999d"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(ShortName(v1::DataCategory_descriptor(), v1::DATA_CATEGORY_HEALTH), "health");
  EXPECT_EQ(ShortName(v1::AccessReason_descriptor(), v1::ACCESS_REASON_NO_CONSENT), "no_consent");
  EXPECT_EQ(ShortName(v1::Purpose_descriptor(), v1::PURPOSE_UNSPECIFIED), "");
  EXPECT_EQ(*ParseShortName(v1::Visibility_descriptor(), "service_private"),
            v1::VISIBILITY_SERVICE_PRIVATE);
  auto bad = ParseShortName(v1::Decision_descriptor(), "maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("allow, deny"));
  EXPECT_FALSE(ParseShortName(v1::Decision_descriptor(), "unspecified").ok());
}

}  // namespace
}  // namespace relais::ctl
