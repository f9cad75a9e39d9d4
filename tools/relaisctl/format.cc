#include "tools/relaisctl/format.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace relais::ctl {
namespace {

constexpr char kEllipsis[] = "\xE2\x80\xA6";  // U+2026
constexpr absl::string_view kSeparator = "  ";
// How far a too-wide table cuts ids, then text and codes, then anything.
constexpr int kIdMin = 10;
constexpr int kShrinkableMin = 8;
constexpr int kFloorWidth = 3;

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// One line per cell: control characters would break the table's layout.
std::string OneLine(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// "2026-11-25T09:00:00Z" -> "2026-11-25 10:00" in the local time zone (the
// cell unchanged if it does not parse).
std::string LocalTime(absl::string_view cell) {
  absl::Time t;
  std::string err;
  if (cell.empty() || !absl::ParseTime(absl::RFC3339_full, cell, &t, &err)) {
    return std::string(cell);
  }
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::LocalTimeZone());
}

std::string Cell(const Column& column, absl::string_view cell) {
  return column.kind == Kind::kTime ? LocalTime(cell) : OneLine(cell);
}

std::string PadRight(absl::string_view s, int width) {
  std::string out(s);
  out.append(static_cast<size_t>(std::max(0, width - DisplayWidth(s))), ' ');
  return out;
}

std::string StripTrailingSpaces(std::string line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string JsonValue(const Column& column, absl::string_view cell) {
  switch (column.kind) {
    case Kind::kNumber:
      return cell.empty() ? "null" : std::string(cell);
    case Kind::kBool:
      return cell == "true" ? "true" : "false";
    default:
      return JsonString(cell);
  }
}

std::string JsonObject(const Table& table, const std::vector<std::string>& row) {
  std::vector<std::string> fields;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const absl::string_view cell = i < row.size() ? absl::string_view(row[i]) : "";
    fields.push_back(
        absl::StrCat(JsonString(table.columns[i].name), ":", JsonValue(table.columns[i], cell)));
  }
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

// The table's type name in upper snake case plus "_": DataCategory -> "DATA_CATEGORY_".
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix.push_back('_');
    prefix.push_back(absl::ascii_toupper(c));
  }
  prefix.push_back('_');
  return prefix;
}

}  // namespace

absl::StatusOr<Format> ParseFormat(absl::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "csv") return Format::kCsv;
  if (text == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--format must be table, csv or json, not \"", text, "\""));
}

int DisplayWidth(absl::string_view utf8) {
  int width = 0;
  for (char c : utf8) {
    if (!IsContinuation(c)) ++width;
  }
  return width;
}

std::string Truncate(absl::string_view utf8, int width) {
  if (DisplayWidth(utf8) <= width) return std::string(utf8);
  if (width <= 0) return std::string();
  // Keep width - 1 code points, then the ellipsis.
  int kept = 0;
  size_t end = 0;
  while (end < utf8.size()) {
    if (!IsContinuation(utf8[end])) {
      if (kept == width - 1) break;
      ++kept;
    }
    ++end;
  }
  return absl::StrCat(utf8.substr(0, end), kEllipsis);
}

std::string RenderTable(const Table& table, int width) {
  const size_t n = table.columns.size();
  if (n == 0) return std::string();
  // Cells as shown, and each column's natural width.
  std::vector<std::string> header(n);
  std::vector<std::vector<std::string>> rows;
  std::vector<int> widths(n);
  for (size_t i = 0; i < n; ++i) {
    header[i] = absl::AsciiStrToUpper(table.columns[i].name);
    widths[i] = DisplayWidth(header[i]);
  }
  for (const auto& row : table.rows) {
    std::vector<std::string> shown(n);
    for (size_t i = 0; i < n && i < row.size(); ++i) {
      shown[i] = Cell(table.columns[i], row[i]);
      widths[i] = std::max(widths[i], DisplayWidth(shown[i]));
    }
    rows.push_back(std::move(shown));
  }
  // Shrink the widest column until the table fits: ids first (to kIdMin),
  // then free text and codes (to kShrinkableMin), then anything (kFloorWidth).
  int total = static_cast<int>(kSeparator.size() * (n - 1));
  for (int w : widths) total += w;
  struct Phase {
    bool (*applies)(Kind);
    int floor;
  };
  const Phase phases[] = {
      {[](Kind k) { return k == Kind::kId; }, kIdMin},
      {[](Kind k) { return k == Kind::kId || k == Kind::kText || k == Kind::kCode; },
       kShrinkableMin},
      {[](Kind) { return true; }, kFloorWidth},
  };
  for (const Phase& phase : phases) {
    while (total > width) {
      int widest = -1;
      for (size_t i = 0; i < n; ++i) {
        if (!phase.applies(table.columns[i].kind) || widths[i] <= phase.floor) continue;
        if (widest < 0 || widths[i] > widths[widest]) widest = static_cast<int>(i);
      }
      if (widest < 0) break;
      --widths[widest];
      --total;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out.append(kSeparator.data(), kSeparator.size());
      out += PadRight(Truncate(cells[i], widths[i]), widths[i]);
    }
    return StripTrailingSpaces(std::move(out)) + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string CsvField(absl::string_view cell) {
  if (cell.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(cell);
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string RenderCsv(const Table& table) {
  std::vector<std::string> header;
  for (const Column& c : table.columns) header.push_back(CsvField(c.name));
  std::string out = absl::StrCat(absl::StrJoin(header, ","), "\n");
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      cells.push_back(i < row.size() ? CsvField(row[i]) : "");
    }
    absl::StrAppend(&out, absl::StrJoin(cells, ","), "\n");
  }
  return out;
}

std::string JsonString(absl::string_view s) {
  return absl::StrCat("\"", common::JsonEscape(s), "\"");
}

std::string RenderJson(const Table& table) {
  if (table.rows.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t r = 0; r < table.rows.size(); ++r) {
    absl::StrAppend(&out, "  ", JsonObject(table, table.rows[r]),
                    r + 1 < table.rows.size() ? ",\n" : "\n");
  }
  out += "]\n";
  return out;
}

std::string Render(const Table& table, Format format) {
  switch (format) {
    case Format::kCsv:
      return RenderCsv(table);
    case Format::kJson:
      return RenderJson(table);
    case Format::kTable:
      break;
  }
  return RenderTable(table);
}

std::string RenderRecord(const Table& table, Format format) {
  static const std::vector<std::string>* const kEmpty = new std::vector<std::string>();
  const std::vector<std::string>& row = table.rows.empty() ? *kEmpty : table.rows.front();
  if (format == Format::kJson) return absl::StrCat(JsonObject(table, row), "\n");
  if (format == Format::kCsv) return RenderCsv(Table{table.columns, {row}});
  int name_width = 0;
  for (const Column& c : table.columns) name_width = std::max(name_width, DisplayWidth(c.name));
  std::string out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Column& column = table.columns[i];
    const std::string value = i < row.size() ? row[i] : "";
    const std::string label = absl::StrCat(column.name, ":");
    if (value.find('\n') != std::string::npos) {
      absl::StrAppend(&out, label, "\n");
      for (absl::string_view l : absl::StrSplit(value, '\n')) {
        absl::StrAppend(&out, "    ", OneLine(l), "\n");
      }
      continue;
    }
    const std::string shown = column.kind == Kind::kTime ? LocalTime(value) : OneLine(value);
    out += StripTrailingSpaces(absl::StrCat(PadRight(label, name_width + 2), shown)) + "\n";
  }
  return out;
}

absl::StatusOr<absl::Time> ParseDate(absl::string_view text, absl::TimeZone zone) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a date: expected YYYY-MM-DD"));
  }
  return absl::FromCivil(day, zone);
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  const absl::Status bad = absl::InvalidArgumentError(absl::StrCat(
      "\"", text,
      "\" is not a duration: expected a number of days, weeks or hours (30d, 2w, 12h)"));
  if (text.size() < 2 || text.size() > 6) return bad;
  int64_t n = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &n) || n <= 0 ||
      !absl::ascii_isdigit(text.front())) {
    return bad;
  }
  absl::Duration d;
  switch (text.back()) {
    case 'h':
      d = absl::Hours(n);
      break;
    case 'd':
      d = absl::Hours(24 * n);
      break;
    case 'w':
      d = absl::Hours(24 * 7 * n);
      break;
    default:
      return bad;
  }
  if (d > absl::Hours(24 * 3660)) return bad;
  return d;
}

std::string TimeCell(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string TimeCell(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return std::string();
  return TimeCell(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()));
}

std::string ShortName(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr || v->number() == 0) return std::string();
  absl::string_view name = v->name();
  const std::string prefix = EnumPrefix(type);
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<int> ParseShortName(const google::protobuf::EnumDescriptor* type,
                                   absl::string_view text) {
  const std::string wanted = absl::StrCat(EnumPrefix(type), absl::AsciiStrToUpper(text));
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByName(wanted);
  if (v != nullptr && v->number() != 0 && !text.empty()) return v->number();
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) names.push_back(ShortName(type, type->value(i)->number()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not one of ", absl::StrJoin(names, ", ")));
}

}  // namespace relais::ctl
