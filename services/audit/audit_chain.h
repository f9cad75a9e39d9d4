#ifndef RELAIS_SERVICES_AUDIT_AUDIT_CHAIN_H_
#define RELAIS_SERVICES_AUDIT_AUDIT_CHAIN_H_

// The hash chain of the access log, independent of where events are stored:
// the canonical encoding of an event, its hash, and a verifier that checks a
// stream of events in sequence order. AuditLog (audit_log.h) uses these over
// the database; an offline tool can use them over an export.
//
// Chain rules, for an outside verifier:
//   * Events are numbered 1, 2, 3 ... without gaps (`sequence`).
//   * prev_hash of event 1 is kGenesisHash (64 '0'); prev_hash of event n is
//     the hash of event n-1.
//   * hash = lower-case hex of SHA-256( R || CanonicalEncoding(event) ), where R
//     is prev_hash decoded from hex (32 raw bytes).
//
// Limit: the chain alone cannot show that events were removed from its END (the
// shortened log is still a valid chain), nor that it was rewritten with every
// hash recomputed. Both need the head hash kept elsewhere: the signed
// checkpoints of checkpoint.h.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/audit.pb.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace relais::audit {

// prev_hash of the first event: SHA-256 size in hex, all zeros.
inline constexpr absl::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Version tag that starts every canonical encoding. A change to the encoding
// gets a new tag, never a silent change.
inline constexpr absl::string_view kCanonicalEncodingTag = "relais-audit-v1";

// Returns the deterministic byte encoding of `event` that its hash covers:
// every field except prev_hash (17, hashed separately as raw bytes) and hash
// (18). Never fails. Layout:
//
//   "relais-audit-v1"             15 ASCII bytes, no length, no terminator
//   then fields 1..16 in field-number order, every field present even when it
//   holds its default value:
//     integer field: 1 byte field number, 8 bytes big-endian two's-complement
//     string field:  1 byte field number, 4 bytes big-endian length, the bytes
//
//   no. field             kind     value encoded
//    1  sequence          integer  the int64
//    2  time              integer  microseconds since the Unix epoch:
//                                  seconds * 1000000 + nanos / 1000 (integer
//                                  division; the log stores whole
//                                  microseconds; an unset time is 0)
//    3  request_id        string
//    4  actor_member_id   string
//    5  actor_service_id  string
//    6  actor_roles       string
//    7  client_identity   string
//    8  action            integer  the enum's number
//    9  youth_id          string
//   10  entry_id          string
//   11  object_id         string
//   12  purpose           integer  the enum's number
//   13  decision          integer  the enum's number
//   14  reason            integer  the enum's number
//   15  reason_code       string
//   16  break_glass       integer  1 for true, 0 for false
//
// Strings are the UTF-8 bytes as stored, without normalisation.
std::string CanonicalEncoding(const v1::AuditEvent& event);

// An event's fields as the chain reads them, borrowed: a walk over stored rows
// (AuditLog::Verify) hashes them without building a message per event.
struct EventFields {
  int64_t sequence = 0;
  int64_t time_micros = 0;  // field 2 as encoded
  absl::string_view request_id;
  absl::string_view actor_member_id;
  absl::string_view actor_service_id;
  absl::string_view actor_roles;
  absl::string_view client_identity;
  int64_t action = 0;
  absl::string_view youth_id;
  absl::string_view entry_id;
  absl::string_view object_id;
  int64_t purpose = 0;
  int64_t decision = 0;
  int64_t reason = 0;
  absl::string_view reason_code;
  bool break_glass = false;
  absl::string_view prev_hash;
  absl::string_view hash;
};

// Views of `event`'s fields; `event` must outlive them.
EventFields FieldsOf(const v1::AuditEvent& event);

// Appends CanonicalEncoding() of the event `fields` describe to `out`.
void AppendCanonicalEncoding(const EventFields& fields, std::string& out);

// Decodes a hash as the chain writes it: exactly 64 lower-case hex digits into
// 32 raw bytes in `raw`. False (and `raw` unspecified) for anything else.
bool DecodeHash(absl::string_view hex, std::string& raw);

// Returns hex(SHA-256(raw(event.prev_hash()) || CanonicalEncoding(event))),
// lower case, ignoring event.hash(). InvalidArgument if prev_hash is not 64
// lower-case hex digits; Internal if OpenSSL fails.
absl::StatusOr<std::string> ComputeEventHash(const v1::AuditEvent& event);
// The same for an event given by its fields (declared below).
struct EventFields;
absl::StatusOr<std::string> ComputeEventHash(const EventFields& event);

// The outcome of checking a chain. Problems found in the data are reported
// here, not as an error status.
struct VerifyResult {
  bool ok = true;
  // Events that passed every check before the first problem (all of them when ok).
  int64_t events_checked = 0;
  // When !ok: for "sequence_gap" the first missing sequence number, otherwise
  // the sequence of the offending event. 0 when ok.
  int64_t first_bad_sequence = 0;
  // "sequence_gap", "chain_broken", "hash_mismatch", or empty when ok.
  std::string problem;
  // Hash of the last event that passed (kGenesisHash if none). When ok, the
  // head of the chain: compare it with a copy kept elsewhere to detect truncation.
  std::string head_hash = std::string(kGenesisHash);
};

inline constexpr absl::string_view kProblemSequenceGap = "sequence_gap";
inline constexpr absl::string_view kProblemChainBroken = "chain_broken";
inline constexpr absl::string_view kProblemHashMismatch = "hash_mismatch";

// Checks events fed in stored order against the chain rules, one at a time, so
// a log of any length is verified in constant memory. Stops at the first
// problem: later calls are ignored. Not thread-safe; one verifier per walk.
//
// Checks for each event, in this order:
//   sequence_gap   sequence != previous sequence + 1 (the first must be 1)
//   chain_broken   prev_hash != previous event's hash (kGenesisHash for the first)
//   hash_mismatch  stored hash != ComputeEventHash(event)
class ChainVerifier {
 public:
  // Verifies a chain from its first event.
  ChainVerifier();
  // Verifies a chain's continuation: the first event fed must be
  // `after_sequence` + 1 and point back to `after_hash`, which the caller
  // trusts (e.g. a verified checkpoint). events_checked counts from there;
  // head_hash starts as `after_hash`.
  ChainVerifier(int64_t after_sequence, absl::string_view after_hash);

  // Checks the next event. Returns an error only when hashing itself failed
  // (Internal); a bad event is recorded in result().
  absl::Status Add(const v1::AuditEvent& event);
  // The same for an event given by its fields, with no allocation per event.
  absl::Status Add(const EventFields& event);

  // For a stored row that could not be turned into an event (a value out of
  // the range any event can hold, which only tampering produces): runs the
  // sequence and chain checks, then reports hash_mismatch at `sequence`.
  void AddUndecodable(int64_t sequence, absl::string_view prev_hash);

  // True once a problem has been found.
  bool failed() const { return !result_.ok; }
  const VerifyResult& result() const { return result_; }

 private:
  // Runs the sequence and chain checks; false (and result_ set) on a problem.
  bool CheckPosition(int64_t sequence, absl::string_view prev_hash);
  void Fail(absl::string_view problem, int64_t sequence);

  int64_t next_sequence_ = 1;
  VerifyResult result_;
  // result_.head_hash as raw bytes (what the next event's hash starts with),
  // and the encoding buffer, both reused from event to event.
  std::string head_raw_;
  std::string encoding_;
  // The SHA-256 context, made on first use and reused (no thread_local: a
  // walk may run while the process exits, after those are destroyed).
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_AUDIT_CHAIN_H_
