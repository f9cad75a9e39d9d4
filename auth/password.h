#ifndef RELAIS_AUTH_PASSWORD_H_
#define RELAIS_AUTH_PASSWORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::auth {

// scrypt cost parameters. `n` must be a power of two; see
// ValidateScryptParams() for the accepted ranges.
struct ScryptParams {
  uint64_t n = uint64_t{1} << 15;
  uint64_t r = 8;
  uint64_t p = 1;
};

// Passwords longer than this are refused by every function below, so a
// client cannot make us hash megabytes per login attempt.
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMinPasswordChars = 10;

// Upper bound on the memory one scrypt evaluation may use (OpenSSL's own
// accounting: 128*r*(n+2) + 128*r*p bytes). Parameters read back from a stored
// hash are checked against it before anything is allocated.
inline constexpr uint64_t kMaxScryptMemoryBytes = uint64_t{64} << 20;

// OK iff `params` is something we are willing to compute: n = 2^k with
// 1 <= k <= 20 and k < 16*r, 1 <= r <= 32, 1 <= p <= 16, and the memory
// bound above. Otherwise InvalidArgument. Allocates nothing.
absl::Status ValidateScryptParams(const ScryptParams& params);

// Cheap parameters (n = 2^10) so tests do not spend seconds hashing. Never
// use them for stored credentials.
const ScryptParams& FastParamsForTests();

// Hashes `password` with scrypt, a fresh 16-byte salt from RAND_bytes and a
// 32-byte output. Returns the self-describing string
//   scrypt$<log2 n>$<r>$<p>$<salt>$<hash>
// (salt and hash in unpadded base64url), which is safe to store and holds
// everything VerifyPassword needs.
// Errors: InvalidArgument for a password over kMaxPasswordBytes or bad
// params; Internal if OpenSSL fails.
absl::StatusOr<std::string> HashPassword(absl::string_view password,
                                         const ScryptParams& params = {});

// True iff `password` matches `encoded` (a HashPassword result). The final
// comparison is constant-time. Any malformed, non-canonical or over-budget
// encoding yields false without running scrypt, so a hostile stored string
// cannot exhaust memory or CPU beyond kMaxScryptMemoryBytes.
bool VerifyPassword(absl::string_view password, absl::string_view encoded);

// Policy for new passwords: at least kMinPasswordChars characters (UTF-8
// code points) and at most kMaxPasswordBytes bytes. InvalidArgument with a
// message that is safe to show the user (it never echoes the password).
absl::Status CheckPasswordStrength(absl::string_view password);

}  // namespace relais::auth

#endif  // RELAIS_AUTH_PASSWORD_H_
