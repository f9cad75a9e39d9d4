#ifndef RELAIS_SERVICES_AUDIT_EXPORT_VERIFIER_H_
#define RELAIS_SERVICES_AUDIT_EXPORT_VERIFIER_H_

// Offline verification of an audit export (AuditService.ExportEvents) with
// nothing but the server's audit public key: no database, no server. Used by
// relais-audit-verify (tools/audit_verify) and by tests.
//
// Export file format: the stream's ExportItem messages, each preceded by its
// byte size as a base-128 varint (protobuf's "delimited" format, as written
// by google::protobuf::util::SerializeDelimitedToOstream or Java's
// writeDelimitedTo). See audit.proto for the order of items.
//
// What is checked, in stream order; the first problem ends the walk:
//   events       the chain rules of audit_chain.h (ChainVerifier):
//                sequence_gap, chain_broken, hash_mismatch. The first event
//                must be `from_sequence` (1 for a full export).
//   checkpoints  checkpoint_signature_invalid unless signed by a trusted key;
//                checkpoint_mismatch unless the event it names has its hash:
//                a checkpoint right after its event is compared at once, one
//                before its event (the head checkpoint) when the event comes;
//                one placed after later events cannot be checked and is a
//                mismatch too;
//                checkpoint_beyond_end if the export ends before an event a
//                checkpoint names: the export was cut short.
//   the anchor   no_checkpoint if no checkpoint verified at all;
//                unanchored_tail if events follow the last verified
//                checkpoint: only a signature covering the LAST event shows
//                that nothing was rewritten or appended by someone without
//                the key. The server signs a fresh head for every export, so
//                an honest export always ends on a checkpoint.
//   the witness  (SetWitness, optional: the checkpoints the server also
//                wrote outside its database, witness.h)
//                witness_mismatch if an event or checkpoint of the export has
//                a witness entry that differs from it (a rewritten past, or a
//                second history signed with a stolen key);
//                checkpoint_missing if a witnessed checkpoint inside the
//                export's range is not in the export (a deleted row);
//                witness_missing if the checkpoint anchoring the export's
//                last event is not in the witness (a witness copied before
//                the export, or a checkpoint the server never wrote out).
//                Witness entries beyond the export's end are counted, not an
//                error: the witness keeps growing after an export is made.
//   the stream   malformed_export for bytes that are not ExportItems, an
//                empty item, or an export without events.
//
// Limit: without a witness, deleting the head checkpoint together with
// everything after an earlier checkpoint leaves an export that verifies,
// anchored at that earlier checkpoint. The report's anchored_through and
// anchored_time say how far the signed evidence reaches; compare them with
// when the export was made, or check it against a newer witness file.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/signing_key.h"
#include "relais/v1/audit.pb.h"
#include "services/audit/audit_chain.h"
#include "services/audit/witness.h"

namespace relais::audit {

inline constexpr absl::string_view kProblemCheckpointMismatch = "checkpoint_mismatch";
inline constexpr absl::string_view kProblemCheckpointSignatureInvalid =
    "checkpoint_signature_invalid";
inline constexpr absl::string_view kProblemCheckpointBeyondEnd = "checkpoint_beyond_end";
inline constexpr absl::string_view kProblemMalformedExport = "malformed_export";
inline constexpr absl::string_view kProblemNoCheckpoint = "no_checkpoint";
inline constexpr absl::string_view kProblemUnanchoredTail = "unanchored_tail";
inline constexpr absl::string_view kProblemWitnessMismatch = "witness_mismatch";
inline constexpr absl::string_view kProblemWitnessMissing = "witness_missing";
inline constexpr absl::string_view kProblemCheckpointMissing = "checkpoint_missing";
// VerifyLog only: the stored log verifies, but the checkpointer refused to
// sign its head (checkpointer.h says why; the detail repeats it).
inline constexpr absl::string_view kProblemCheckpointRefused = "checkpoint_refused";
// The witness file itself does not parse or verify (witness.h).
inline constexpr absl::string_view kProblemWitnessInvalid = "witness_invalid";

struct ExportReport {
  bool ok = true;
  // Empty when ok; otherwise one of the problems listed above.
  std::string problem;
  // The sequence concerned: the bad or first missing event, or the sequence
  // the bad checkpoint names; for malformed_export the next expected event.
  int64_t problem_sequence = 0;
  // One sentence for humans about the problem.
  std::string detail;

  int64_t keys_listed = 0;   // PublicKey items in the export
  int64_t keys_trusted = 0;  // ... whose key is one of the trusted keys
  int64_t events = 0;        // events that passed
  int64_t first_sequence = 0;
  int64_t last_sequence = 0;  // of the last event that passed
  std::string head_hash;      // its hash
  int64_t checkpoints = 0;    // checkpoint items that passed
  // The highest sequence a verified checkpoint vouches for (0: none), and
  // when that checkpoint was signed.
  int64_t anchored_through = 0;
  std::optional<absl::Time> anchored_time;
  // Events after anchored_through: not covered by any signature (then the
  // export fails with unanchored_tail).
  int64_t unanchored = 0;
  // With a witness: whether one was given, its entries inside the export's
  // range that matched, and its entries after the export's last event.
  bool witness_given = false;
  int64_t witness_matched = 0;
  int64_t witness_beyond = 0;
};

// Checks an export item by item, in constant memory apart from the
// checkpoints announced ahead of their event. Not thread-safe.
class ExportVerifier {
 public:
  // `trusted`: the audit public keys, obtained out of band (never from the
  // export). `from_sequence`: the first event the export must hold (1 for a
  // full export); for a later start the first event's prev_hash is taken on
  // trust. InvalidArgument if `trusted` is empty or from_sequence < 1.
  static absl::StatusOr<ExportVerifier> Create(std::vector<auth::VerifyingKey> trusted,
                                               int64_t from_sequence = 1);

  ExportVerifier(ExportVerifier&&) = default;
  ExportVerifier& operator=(ExportVerifier&&) = default;

  // Checks the next item. A problem is recorded in the report, not returned;
  // errors are only Internal (hashing failed). Ignored once a problem is found.
  absl::Status Add(const v1::ExportItem& item);
  // Records that the stream could not be parsed past this point.
  void AddMalformed(absl::string_view why);
  // For a stored row that cannot be turned into an event (only tampering
  // produces one): the sequence and link checks, then hash_mismatch.
  void AddUndecodableEvent(int64_t sequence, absl::string_view prev_hash);

  // Checks the export against these witness entries too (see above). Call
  // before the first item; entries before from_sequence are ignored.
  void SetWitness(Witness witness);
  // Records that the witness could not be read or verified.
  void FailWitness(absl::string_view why);

  // Ends the walk: reports checkpoints beyond the end and counts unanchored
  // events. Call once, after the last item.
  ExportReport Finish();

  bool failed() const { return !report_.ok; }

 private:
  ExportVerifier(std::vector<auth::VerifyingKey> trusted, int64_t from_sequence)
      : trusted_(std::move(trusted)), from_sequence_(from_sequence) {}

  void Fail(absl::string_view problem, int64_t sequence, std::string detail);
  // Starts the chain at the first event; false (and a problem) if misplaced.
  bool StartChain(int64_t sequence, absl::string_view prev_hash);
  // Reports a failed chain check; true if the chain failed.
  bool ChainFailed();
  // After an event passed: witness checks, then pending checkpoints.
  void EventPassed(int64_t sequence, absl::string_view hash);
  // A witnessed checkpoint that should have followed its event and did not.
  void CheckWitnessedCheckpointArrived();
  absl::Status AddEvent(const v1::AuditEvent& event);
  void AddCheckpoint(const v1::Checkpoint& checkpoint);
  // Compares a signature-checked checkpoint with the last verified event.
  void MatchCheckpoint(const v1::Checkpoint& checkpoint);

  std::vector<auth::VerifyingKey> trusted_;
  int64_t from_sequence_;
  std::optional<ChainVerifier> chain_;  // set by the first event
  // Signature-checked checkpoints naming events not seen yet, by sequence.
  std::multimap<int64_t, v1::Checkpoint> pending_;
  std::optional<Witness> witness_;
  // A witnessed event whose in-place checkpoint has not come yet (0: none).
  int64_t awaiting_checkpoint_ = 0;
  ExportReport report_;
};

// Reads a whole export in the delimited format from `bytes` / the file at
// `path` and verifies it. Errors: the file cannot be read (errno-derived),
// the verifier cannot be created (InvalidArgument), hashing failed (Internal);
// a bad export is a report with ok == false.
// With `witness`, the export is checked against it too (SetWitness).
absl::StatusOr<ExportReport> VerifyExportBytes(absl::string_view bytes,
                                               std::vector<auth::VerifyingKey> trusted,
                                               int64_t from_sequence = 1,
                                               const Witness* witness = nullptr);
absl::StatusOr<ExportReport> VerifyExportFile(const std::string& path,
                                              std::vector<auth::VerifyingKey> trusted,
                                              int64_t from_sequence = 1,
                                              const Witness* witness = nullptr);

// Ed25519 public keys from PEM text holding one or more "PUBLIC KEY"
// (SubjectPublicKeyInfo) blocks, as `openssl pkey -pubout` writes them; key
// ids are empty. InvalidArgument if there is none or one is not Ed25519.
absl::StatusOr<std::vector<auth::VerifyingKey>> ParsePublicKeysPem(absl::string_view pem);

// The PEM "PUBLIC KEY" block of a raw 32-byte Ed25519 public key.
// InvalidArgument for a wrong size; Internal if OpenSSL fails.
absl::StatusOr<std::string> PublicKeyPem(absl::string_view raw32);

// The report as text lines for a terminal: "ok" or "FAILED: <problem> at
// sequence N", then the counts.
std::string FormatReport(const ExportReport& report);

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_EXPORT_VERIFIER_H_
