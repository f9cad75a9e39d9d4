#ifndef RELAIS_SERVICES_AUDIT_WITNESS_H_
#define RELAIS_SERVICES_AUDIT_WITNESS_H_

// Signed checkpoints kept outside the database, where a rewrite of the
// database cannot reach them:
//
//   * the witness file (default <keys_dir>/audit-witness.jsonl): every
//     checkpoint the server signs, one JSON line each, appended and fsynced.
//     An operator ships it off the host; relais-audit-verify --witness and
//     VerifyLog check an export or the log against it.
//   * the checkpointer's state file (<keys_dir>/audit-checkpoint.state): the
//     last checkpoint signed, one line of the same format, replaced
//     atomically. The checkpointer refuses to sign a chain that does not
//     extend it (checkpointer.h).
//
// Line format (one JSON object, no spaces, then "\n"):
//   {"sequence":12,"head":"<64 hex>","signed_at":"2026-11-25T09:00:00.000000Z",
//    "key_id":"k...","signature":"<standard base64 of the 64 bytes>"}
// signed_at is the checkpoint's time to the microsecond, which its signature
// covers (checkpoint.h), so a line holds everything needed to verify it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/signing_key.h"
#include "relais/v1/audit.pb.h"

namespace relais::audit {

// Witness entries by sequence.
using Witness = std::map<int64_t, v1::Checkpoint>;

// The line for `checkpoint`, ending in "\n".
std::string FormatWitnessLine(const v1::Checkpoint& checkpoint);

// Parses one line (a trailing "\n" is allowed). InvalidArgument for anything
// that is not exactly the format above. The signature is not checked.
absl::StatusOr<v1::Checkpoint> ParseWitnessLine(absl::string_view line);

// Reads a witness file. Every line must parse and carry a signature by one of
// `trusted`, and sequences must increase; otherwise DataLoss naming the line.
// A missing file is an empty witness. Errno-derived errors for unreadable files.
absl::StatusOr<Witness> ReadWitnessFile(const std::string& path,
                                        const std::vector<auth::VerifyingKey>& trusted);

// Appends the checkpoint's line to `path` (created 0600 if missing, never
// through a symbolic link) and fsyncs it. Errno-derived errors.
absl::Status AppendWitnessLine(const std::string& path, const v1::Checkpoint& checkpoint);

// Replaces `path` with the checkpoint's line atomically: a temporary file
// beside it (0600, O_EXCL, O_NOFOLLOW) is written and fsynced, renamed over
// `path`, and the directory fsynced. Errno-derived errors.
absl::Status WriteStateFile(const std::string& path, const v1::Checkpoint& checkpoint);

// Reads the state file: nullopt if it does not exist. FailedPrecondition if
// it is not a regular file (a symbolic link is refused) or group/world may
// write it; DataLoss if it does not hold one line of the format.
absl::StatusOr<std::optional<v1::Checkpoint>> ReadStateFile(const std::string& path);

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_WITNESS_H_
