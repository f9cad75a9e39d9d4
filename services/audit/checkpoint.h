#ifndef RELAIS_SERVICES_AUDIT_CHECKPOINT_H_
#define RELAIS_SERVICES_AUDIT_CHECKPOINT_H_

// Signed checkpoints of the audit chain: the server's Ed25519 signature over
// "event `sequence` has hash `head_hash`" at a time. The chain alone shows
// that events were altered or removed in the middle; a checkpoint also pins
// its head, so a rewritten chain (every hash recomputed after a change) or a
// log cut short no longer verifies against anything the server signed.
//
// What is signed, for an outside verifier (pure Ed25519, no pre-hash):
//
//   "relais-checkpoint-v1"    20 ASCII bytes, no length, no terminator
//   sequence                  8 bytes big-endian two's-complement
//   head_hash                 32 raw bytes (the 64 hex digits decoded)
//   time                      8 bytes big-endian: microseconds since the Unix
//                             epoch (seconds * 1000000 + nanos / 1000)
//
// 68 bytes in all; every field has a fixed size, so no two checkpoints share
// an encoding. key_id is not signed: it only says which key to try first.
//
// The signing key is the server's audit key, distinct from the token keys:
// a leaked token key must not let anyone forge checkpoints, and auditors
// are handed only the audit public key.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/signing_key.h"
#include "relais/v1/audit.pb.h"

namespace relais::audit {

// Version tag that starts every checkpoint encoding; a new encoding gets a new tag.
inline constexpr absl::string_view kCheckpointEncodingTag = "relais-checkpoint-v1";

// Returns the 68 bytes a checkpoint's signature covers (layout above).
// InvalidArgument if head_hash is not 64 lower-case hex digits.
absl::StatusOr<std::string> CheckpointSigningInput(int64_t sequence, absl::string_view head_hash,
                                                   int64_t time_us);
// The same for a received checkpoint (its time read as whole microseconds).
absl::StatusOr<std::string> CheckpointSigningInput(const v1::Checkpoint& checkpoint);

// Signs (sequence, head_hash, time) with the ring's current key. `time` is
// truncated to whole microseconds. InvalidArgument for a malformed hash or a
// sequence < 1; Internal if OpenSSL fails.
absl::StatusOr<v1::Checkpoint> SignCheckpoint(const auth::KeyRing& keys, int64_t sequence,
                                              absl::string_view head_hash, absl::Time time);

// True iff `checkpoint` carries a valid signature by one of `trusted`. The key
// named by key_id is tried first; since key_id is not signed, the others are
// tried too (a trusted key given without its id still verifies).
bool VerifyCheckpointSignature(const v1::Checkpoint& checkpoint,
                               const std::vector<auth::VerifyingKey>& trusted);

// Microseconds since the epoch of a Timestamp, exactly as the encodings
// count them (seconds * 1000000 + nanos / 1000, wrapping rather than
// overflowing on hostile input).
int64_t TimestampMicros(const google::protobuf::Timestamp& ts);
// Sets `ts` to `micros` with 0 <= nanos < 1e9, so TimestampMicros gives it back.
void SetTimestampMicros(google::protobuf::Timestamp* ts, int64_t micros);

// The ring's public keys as verifying keys (with their ids), oldest first.
std::vector<auth::VerifyingKey> TrustedKeys(const auth::KeyRing& keys);

// The ring's public keys as export items' PublicKey, oldest first.
std::vector<v1::PublicKey> AuditPublicKeys(const auth::KeyRing& keys);

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_CHECKPOINT_H_
