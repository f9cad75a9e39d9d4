// relais-audit-verify: verifies an audit export (AuditService.ExportEvents,
// written as length-delimited ExportItem messages) offline, trusting nothing
// but the audit public key(s) in --pubkey. Needs no server and no database.
//
//   relais-audit-verify <export-file> --pubkey <audit-public-key.pem>
//
// The public key comes out of band, e.g. on the server:
//   openssl pkey -in <keys_dir>/audit/signing-<id>.pem -pubout
//
// Exit status: 0 the export verifies; 1 it does not (the problem and the
// sequence concerned are printed); 2 usage error or unreadable input.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "services/audit/export_verifier.h"

ABSL_FLAG(std::string, pubkey, "",
          "PEM file with the audit public key(s) (\"BEGIN PUBLIC KEY\" blocks); required");
ABSL_FLAG(int64_t, from_sequence, 1,
          "First event the export must hold (1 for a full export; the from_sequence given to "
          "ExportEvents for a partial one)");
ABSL_FLAG(bool, json, false, "Print the report as one JSON object");

namespace {

std::string Json(const relais::audit::ExportReport& r) {
  using relais::common::JsonEscape;
  std::string anchored_time;
  if (r.anchored_time.has_value()) {
    anchored_time = absl::StrCat(
        "\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", *r.anchored_time, absl::UTCTimeZone()),
        "\"");
  } else {
    anchored_time = "null";
  }
  return absl::StrCat(
      "{\"ok\":", r.ok ? "true" : "false", ",\"problem\":\"", JsonEscape(r.problem),
      "\",\"problem_sequence\":", r.problem_sequence, ",\"detail\":\"", JsonEscape(r.detail),
      "\",\"events\":", r.events, ",\"first_sequence\":", r.first_sequence,
      ",\"last_sequence\":", r.last_sequence, ",\"head_hash\":\"", JsonEscape(r.head_hash),
      "\",\"checkpoints\":", r.checkpoints, ",\"anchored_through\":", r.anchored_through,
      ",\"anchored_time\":", anchored_time, ",\"unanchored\":", r.unanchored,
      ",\"keys_listed\":", r.keys_listed, ",\"keys_trusted\":", r.keys_trusted, "}\n");
}

int Usage(const std::string& why) {
  std::fprintf(
      stderr, "relais-audit-verify: %s\nusage: %s\n", why.c_str(),
      "relais-audit-verify <export-file> --pubkey <file.pem> [--from_sequence N] [--json]");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Verifies an audit export offline.\n"
      "  relais-audit-verify <export-file> --pubkey <audit-public-key.pem>");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) return Usage("expected exactly one export file");
  const std::string pubkey_path = absl::GetFlag(FLAGS_pubkey);
  if (pubkey_path.empty()) return Usage("--pubkey is required");

  std::ifstream in(pubkey_path, std::ios::binary);
  if (!in) return Usage(absl::StrCat("cannot read ", pubkey_path));
  std::stringstream pem;
  pem << in.rdbuf();
  auto keys = relais::audit::ParsePublicKeysPem(pem.str());
  if (!keys.ok()) return Usage(absl::StrCat(pubkey_path, ": ", keys.status().message()));

  auto report = relais::audit::VerifyExportFile(args[1], *std::move(keys),
                                                absl::GetFlag(FLAGS_from_sequence));
  if (!report.ok()) return Usage(std::string(report.status().message()));
  const std::string out =
      absl::GetFlag(FLAGS_json) ? Json(*report) : relais::audit::FormatReport(*report);
  std::fputs(out.c_str(), stdout);
  return report->ok ? 0 : 1;
}
