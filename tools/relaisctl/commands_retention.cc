// admin retention sweep: RecordService.SweepRetention (docs/retention.md).

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

ABSL_FLAG(bool, dry_run, false, "list what is due without erasing anything");

namespace relais::ctl {
namespace {

Table ItemTable(const v1::SweepRetentionResponse& r, bool table) {
  Table t{{{"youth_id", Kind::kId},
           {"erases", Kind::kCode},
           {"entries"},
           {"due_since", Kind::kTime},
           {"skipped", Kind::kCode}},
          {}};
  if (!table) t.columns.push_back({"clock_start", Kind::kTime});
  for (const v1::RetentionItem& item : r.items()) {
    std::vector<std::string> counts;
    for (const v1::RetentionCategoryCount& c : item.entries()) {
      counts.push_back(
          absl::StrCat(ShortName(v1::DataCategory_descriptor(), c.category()), "=", c.count()));
    }
    std::vector<std::string> row = {item.youth_id(), item.whole_youth() ? "youth" : "entries",
                                    absl::StrJoin(counts, " "), TimeCell(item.due_since()),
                                    item.skipped_reason()};
    if (!table) row.push_back(TimeCell(item.clock_start()));
    t.rows.push_back(std::move(row));
  }
  return t;
}

int RetentionSweep(Invocation& in) {
  if (in.args[0] != "sweep") {
    return in.Usage(absl::StrCat("unknown retention command \"", in.args[0], "\""));
  }
  v1::SweepRetentionRequest req;
  req.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  v1::SweepRetentionResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().SweepRetention(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  const Table items = ItemTable(resp, in.format == Format::kTable);
  if (in.format == Format::kJson) {
    std::string json = RenderJson(items);
    json.pop_back();
    Print(absl::StrCat("{\"dry_run\": ", resp.dry_run() ? "true" : "false", ", \"as_of\": \"",
                       TimeCell(resp.as_of()), "\", \"youths_erased\": ", resp.youths_erased(),
                       ", \"entries_erased\": ", resp.entries_erased(), ", \"youths_skipped\": ",
                       resp.youths_skipped(), ",\n\"items\": ", json, "}\n"));
    return kExitOk;
  }
  Print(Render(items, in.format));
  // The totals: after the table, or on stderr where stdout is data (csv).
  const std::string totals = absl::StrCat(
      resp.dry_run() ? "dry run, nothing erased; due: " : "erased: ", resp.youths_erased(),
      " youth record(s) whole, ", resp.entries_erased(),
      " entries; skipped: ", resp.youths_skipped(), " youth record(s)\n");
  if (in.format == Format::kTable) {
    Print(totals);
  } else {
    PrintErr(totals);
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> RetentionCommands() {
  return {
      {"admin",
       "retention",
       "sweep",
       1,
       1,
       {"dry_run", "format"},
       "",
       "Erase what the retention periods make due (admin).",
       "Runs the retention sweep now (relaisd also runs it on a schedule): for each youth with "
       "no active accompaniment, the entries whose category's retention period has passed "
       "since the last accompaniment ended are erased, and the whole record once every "
       "period has. A legal hold or a restriction skips the youth. --dry-run lists the same "
       "items and erases nothing. The table shows each youth, whether the whole record or "
       "entries go (per category), since when it is due and why it was skipped; the totals "
       "follow (on stderr for csv). json holds the totals and \"items\".",
       true,
       true,
       RetentionSweep},
  };
}

}  // namespace relais::ctl
