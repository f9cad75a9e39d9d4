#ifndef RELAIS_AUTH_REVOCATION_H_
#define RELAIS_AUTH_REVOCATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::auth {

// Reason code of a token the server revoked (Logout, Refresh rotation, or a
// revoke-all of its member): Unauthenticated "token_revoked: ...".
inline constexpr absl::string_view kTokenRevoked = "token_revoked";

// What token issue and verification ask of the server's revocation records
// (services/auth_store implements it over the database). A member's tokens
// carry the member's session generation at issue: revoking all of a member's
// tokens raises it, so every token issued before is refused and one issued
// after works, even within the same second. Thread-safe.
class RevocationList {
 public:
  virtual ~RevocationList() = default;

  // The member's current session generation (0 if never revoked).
  // Unavailable if it cannot be read.
  virtual absl::StatusOr<int64_t> Generation(absl::string_view member_id) const = 0;

  // OK unless the token id was revoked or `generation` is below the member's;
  // then Unauthenticated "token_revoked: ...". Unavailable (fail closed) if
  // the records cannot be read. One indexed read. An implementation may
  // answer OK at once and give its verdict later, as long as that verdict
  // guards everything the call does (services/auth_store: inside a call's
  // read scope, every write and the call's answer wait for it).
  virtual absl::Status CheckNotRevoked(absl::string_view member_id, absl::string_view token_id,
                                       int64_t generation) const = 0;
};

}  // namespace relais::auth

#endif  // RELAIS_AUTH_REVOCATION_H_
