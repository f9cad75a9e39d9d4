// libFuzzer target: the offline audit-export verifier
// (services/audit/export_verifier.h). The input is an export file, verified
// with the fixed fuzz audit key trusted (the committed seeds are real exports
// signed with it); the same bytes are also read as PEM public keys.
// Checked: verification never fails with an error (a bad export is a report,
// never a status), and a report is consistent: a known problem code when not
// ok; when ok, events 1..N in order, anchors within them, unanchored counted.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/audit/export_verifier.h"
#include "tests/fuzz/fuzz_keys.h"

namespace relais::fuzz {
namespace {

[[noreturn]] void Finding(absl::string_view what, absl::string_view detail) {
  std::fprintf(stderr, "\n==== FUZZ FINDING: %.*s\n     %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::vector<auth::VerifyingKey> Trusted() {
  absl::StatusOr<std::vector<auth::VerifyingKey>> keys =
      audit::ParsePublicKeysPem(kFuzzAuditPublicKeyPem);
  if (!keys.ok()) Finding("harness: the fuzz key does not parse", keys.status().ToString());
  return *std::move(keys);
}

void CheckReport(const audit::ExportReport& r) {
  static const std::set<std::string>* const kProblems =
      new std::set<std::string>{"sequence_gap",
                                "chain_broken",
                                "hash_mismatch",
                                std::string(audit::kProblemCheckpointMismatch),
                                std::string(audit::kProblemCheckpointSignatureInvalid),
                                std::string(audit::kProblemCheckpointBeyondEnd),
                                std::string(audit::kProblemMalformedExport)};
  const std::string text = audit::FormatReport(r);
  if (r.keys_trusted > r.keys_listed || r.events < 0 || r.checkpoints < 0 || r.unanchored < 0) {
    Finding("inconsistent counts", text);
  }
  if (!r.ok) {
    if (kProblems->count(r.problem) == 0) Finding("an undocumented problem code", text);
    return;
  }
  if (!r.problem.empty() || r.events < 1 || r.first_sequence != 1 ||
      r.last_sequence != r.first_sequence + r.events - 1 || r.anchored_through > r.last_sequence ||
      r.anchored_through < 0 || (r.anchored_through > 0) != r.anchored_time.has_value() ||
      r.unanchored != r.last_sequence - r.anchored_through || r.head_hash.size() != 64) {
    Finding("an ok report that does not add up", text);
  }
}

}  // namespace
}  // namespace relais::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relais;
  using namespace relais::fuzz;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<audit::ExportReport> report = audit::VerifyExportBytes(bytes, Trusted());
  if (!report.ok()) Finding("verification failed with an error", report.status().ToString());
  CheckReport(*report);
  // The same bytes as the --pubkey file: any answer but a crash will do.
  (void)audit::ParsePublicKeysPem(bytes);
  return 0;
}
