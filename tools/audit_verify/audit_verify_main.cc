// relais-audit-verify: verifies an audit export (AuditService.ExportEvents,
// written as length-delimited ExportItem messages) offline, trusting nothing
// but the audit public key(s) in --pubkey. Needs no server and no database.
//
//   relais-audit-verify <export-file> --pubkey <audit-public-key.pem>
//                       [--witness <audit-witness.jsonl>]
//
// An export verifies only if a checkpoint signed by the key covers its last
// event (the server signs one for every export). With --witness, the export
// must also agree with the checkpoints the server wrote to its witness file
// (services/audit/witness.h), and its last checkpoint must be among them:
// copy the witness after making the export.
//
// The public key comes out of band, e.g. on the server:
//   openssl pkey -in <keys_dir>/audit/signing-<id>.pem -pubout
//
// Exit status: 0 the export verifies; 1 it does not (the problem and the
// sequence concerned are printed); 2 usage error or unreadable input.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
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
#include "services/audit/witness.h"

ABSL_FLAG(std::string, pubkey, "",
          "PEM file with the audit public key(s) (\"BEGIN PUBLIC KEY\" blocks); required");
ABSL_FLAG(int64_t, from_sequence, 1,
          "First event the export must hold (1 for a full export; the from_sequence given to "
          "ExportEvents for a partial one)");
ABSL_FLAG(bool, json, false, "Print the report as one JSON object");
ABSL_FLAG(std::string, witness, "",
          "The server's witness file (audit-witness.jsonl): the export must agree with it");

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
      ",\"keys_listed\":", r.keys_listed, ",\"keys_trusted\":", r.keys_trusted,
      ",\"witness_given\":", r.witness_given ? "true" : "false",
      ",\"witness_matched\":", r.witness_matched, ",\"witness_beyond\":", r.witness_beyond, "}\n");
}

int Usage(const std::string& why) {
  std::fprintf(stderr, "relais-audit-verify: %s\nusage: %s\n", why.c_str(),
               "relais-audit-verify <export-file> --pubkey <file.pem> [--witness <file.jsonl>]"
               " [--from_sequence N] [--json]");
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

  // A witness that does not parse or verify is a finding, not a usage error.
  std::optional<relais::audit::Witness> witness;
  std::string witness_problem;
  const std::string witness_path = absl::GetFlag(FLAGS_witness);
  if (!witness_path.empty()) {
    if (::access(witness_path.c_str(), R_OK) != 0) {
      return Usage(absl::StrCat("cannot read ", witness_path));
    }
    auto read = relais::audit::ReadWitnessFile(witness_path, *keys);
    if (read.ok()) {
      witness = *std::move(read);
    } else {
      witness_problem = std::string(read.status().message());
    }
  }
  absl::StatusOr<relais::audit::ExportReport> report;
  if (witness_problem.empty()) {
    report = relais::audit::VerifyExportFile(args[1], *std::move(keys),
                                             absl::GetFlag(FLAGS_from_sequence),
                                             witness ? &*witness : nullptr);
  } else {
    auto verifier = relais::audit::ExportVerifier::Create(*std::move(keys));
    if (!verifier.ok()) return Usage(std::string(verifier.status().message()));
    verifier->FailWitness(witness_problem);
    report = verifier->Finish();
  }
  if (!report.ok()) return Usage(std::string(report.status().message()));
  const std::string out =
      absl::GetFlag(FLAGS_json) ? Json(*report) : relais::audit::FormatReport(*report);
  std::fputs(out.c_str(), stdout);
  return report->ok ? 0 : 1;
}
