#ifndef RELAIS_TOOLS_RELAISCTL_FORMAT_H_
#define RELAIS_TOOLS_RELAISCTL_FORMAT_H_

// How relaisctl shows results and reads values from the command line: tables
// that fit a terminal, CSV and JSON for scripts; dates, durations and the
// short names of the API's enums. Pure functions, no I/O.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"

namespace relais::ctl {

// Width a table may take: the classic terminal.
inline constexpr int kTableWidth = 80;

enum class Format { kTable, kCsv, kJson };

// "table", "csv" or "json"; InvalidArgument otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view text);

// What a column holds. It decides how a table shrinks it and how JSON writes it.
enum class Kind {
  kText,    // free text; shrunk (with an ellipsis) when the table is too wide
  kId,      // an opaque id; shrunk first, shown whole in CSV and JSON
  kNumber,  // a JSON number (empty: null); shrunk only if nothing else can be
  kCode,    // a short code (enum value, reason code); shrunk like text
  kTime,    // RFC 3339 UTC ("2026-11-25T09:00:00Z"); local "YYYY-MM-DD HH:MM" in tables
  kBool,    // "true"/"false", a JSON boolean
};

struct Column {
  std::string name;  // snake_case: the CSV header and JSON key; upper-cased in tables
  Kind kind = Kind::kText;
};

// Rows of cells; every row has one cell per column.
struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;
};

// A table whose every line is at most `width` columns wide (counted in UTF-8
// code points): the widest columns are cut to fit, their cells ending in "…":
// ids first (down to 10), then text and codes (down to 8), then any column. Control characters
// (newlines, tabs) become spaces. Ends with a newline; only the header when there are no rows.
std::string RenderTable(const Table& table, int width = kTableWidth);
// RFC 4180 CSV: a header line, then one line per row, "\n" line ends; cells
// quoted when they hold a comma, a quote or a line break. Cells are complete.
std::string RenderCsv(const Table& table);
// A JSON array of objects keyed by column name, one object per line, with a
// final newline. Cells are complete.
std::string RenderJson(const Table& table);
std::string Render(const Table& table, Format format);

// One record (the first row of `table`): "name: value" lines in table mode
// (multi-line values indented below their name), a header and one line in CSV,
// a single JSON object in JSON. Values are never cut.
std::string RenderRecord(const Table& table, Format format);

// Building blocks, exposed for tests.
std::string CsvField(absl::string_view cell);
std::string JsonString(absl::string_view s);  // quoted and escaped
int DisplayWidth(absl::string_view utf8);     // code points
// `utf8` cut to at most `width` code points, ending in "…" when cut.
std::string Truncate(absl::string_view utf8, int width);

// "YYYY-MM-DD" in `zone` -> the start of that day. InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseDate(absl::string_view text, absl::TimeZone zone);
// "30d", "2w", "12h" -> a duration (positive, at most 10 years).
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// RFC 3339 UTC text for a Kind::kTime cell ("2026-11-25T09:00:00.25Z"); ""
// for an unset timestamp.
std::string TimeCell(const google::protobuf::Timestamp& ts);
std::string TimeCell(absl::Time t);

// The short, lower-case name of an API enum value: DATA_CATEGORY_HEALTH ->
// "health" (the enum's type name, upper snake case, is the prefix removed);
// "" for the UNSPECIFIED value or an unknown number.
std::string ShortName(const google::protobuf::EnumDescriptor* type, int value);
// The inverse: "health" -> DATA_CATEGORY_HEALTH's number. InvalidArgument for
// an unknown name or "unspecified"; the message lists the accepted names.
absl::StatusOr<int> ParseShortName(const google::protobuf::EnumDescriptor* type,
                                   absl::string_view text);

}  // namespace relais::ctl

#endif  // RELAIS_TOOLS_RELAISCTL_FORMAT_H_
