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
// Length bounds of a new password, in characters (UTF-8 code points).
inline constexpr size_t kMinPasswordChars = 12;
inline constexpr size_t kMaxPasswordChars = 128;

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

// Why a new password is refused: `reason` is a stable code
// ("password_too_short", "password_too_long", "password_too_common"), empty
// when the password is acceptable; `explanation` is safe to show the user (it
// never echoes the password).
struct PasswordVerdict {
  absl::string_view reason;
  absl::string_view explanation;
  bool ok() const { return reason.empty(); }
};

// Policy for new passwords (issue #11, NIST SP 800-63B style): 12 to 128
// characters (UTF-8 code points, at most kMaxPasswordBytes bytes) and not one
// of the common passwords shipped in auth/data/common-passwords.txt, compared
// case-insensitively. No composition rules. Thread-safe; the list is loaded
// once, on first use.
PasswordVerdict CheckNewPassword(absl::string_view password);

// CheckNewPassword() as a status: InvalidArgument "<reason>: <explanation>".
absl::Status CheckPasswordStrength(absl::string_view password);

// True iff `password` (case-insensitively) is on the common-password list.
bool IsCommonPassword(absl::string_view password);
// How many distinct passwords the shipped list holds (for tests and docs).
size_t CommonPasswordCount();

// Characters of a one-time password: 26 of RFC 4648 base32, lower case
// (130 random bits), e.g. "k3v7q2...". Given by ResetPassword and AddMember.
inline constexpr size_t kOneTimePasswordChars = 26;

// A fresh one-time password from RAND_bytes. Internal if OpenSSL fails.
absl::StatusOr<std::string> GenerateOneTimePassword();

}  // namespace relais::auth

#endif  // RELAIS_AUTH_PASSWORD_H_
