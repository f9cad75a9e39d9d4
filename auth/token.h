#ifndef RELAIS_AUTH_TOKEN_H_
#define RELAIS_AUTH_TOKEN_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/revocation.h"
#include "common/clock.h"

namespace relais::auth {

// Bearer tokens: "v1." + base64url(claims) + "." + base64url(signature),
// unpadded, where claims is a serialized relais.auth.TokenClaims and the
// signature is Ed25519 over "relais-token-v1." + claims (the prefix keeps
// these signatures from being valid for anything else the keys sign).

// Reason codes. Every token rejection is an Unauthenticated status carrying
// one of these (common/reason.h; its message starts with it and ": ").
inline constexpr absl::string_view kTokenMissing = "token_missing";
inline constexpr absl::string_view kTokenMalformed = "token_malformed";
inline constexpr absl::string_view kTokenUnknownKey = "token_unknown_key";
inline constexpr absl::string_view kTokenSignatureInvalid = "token_signature_invalid";
inline constexpr absl::string_view kTokenExpired = "token_expired";
inline constexpr absl::string_view kTokenWrongAudience = "token_wrong_audience";

// The reason code of a rejection produced here, or "" for any other status.
absl::string_view TokenRejectionReason(const absl::Status& status);

inline constexpr size_t kMaxTokenBytes = 4096;
inline constexpr absl::Duration kDefaultTokenLifetime = absl::Minutes(15);
// How far in the future issued_at may lie (clock skew between replicas).
inline constexpr absl::Duration kMaxIssuedAtSkew = absl::Minutes(5);

// Who a verified token speaks for.
struct Principal {
  std::string member_id;
  std::string service_id;
  std::vector<std::string> roles;
  absl::Time issued_at;
  absl::Time expires_at;
  // When the member last proved their password (see claims.proto): step-up
  // and the absolute session cap are measured from it.
  absl::Time authenticated_at;
  std::string token_id;
  // The member's session generation when the token was issued (0 on tokens
  // issued without revocation records).
  int64_t generation = 0;

  bool HasRole(absl::string_view role) const;
};

// Mints tokens with the ring's current key. Thread-safe. `key_ring`,
// `clock` and `revocations` (may be null: tokens then carry generation 0) are
// not owned and must outlive the issuer.
class TokenIssuer {
 public:
  TokenIssuer(const KeyRing* key_ring, const common::Clock* clock, std::string audience,
              absl::Duration lifetime = kDefaultTokenLifetime,
              const RevocationList* revocations = nullptr);

  // A token valid from now for lifetime() (whole seconds), with a fresh
  // random token id. `authenticated_at` is when the member last proved their
  // password; InfinitePast() means now (a login). InvalidArgument if member_id or service_id is
  // empty, any string is not UTF-8, lifetime() is under one second, or the token would exceed
  // kMaxTokenBytes; Internal if signing fails. `generation` is the member's session generation to
  // stamp; without one the issuer reads it from `revocations` now (Unavailable if it cannot). A
  // caller that checks the member before issuing reads the generation first
  // and passes it, so a revoke-all in between revokes the new token too.
  // The token expires at `not_after` (rounded down to the second) if that
  // comes before now + lifetime(): the absolute session cap of Refresh.
  // InvalidArgument if `not_after` is not after now.
  absl::StatusOr<std::string> Issue(absl::string_view member_id, absl::string_view service_id,
                                    const std::vector<std::string>& roles,
                                    absl::Time authenticated_at = absl::InfinitePast(),
                                    std::optional<int64_t> generation = std::nullopt,
                                    absl::Time not_after = absl::InfiniteFuture()) const;

  absl::Duration lifetime() const { return lifetime_; }

 private:
  const KeyRing* const key_ring_;
  const common::Clock* const clock_;
  const std::string audience_;
  const absl::Duration lifetime_;
  const RevocationList* const revocations_;
};

// How many verified tokens a verifier remembers (about 1 KiB each).
inline constexpr size_t kMaxCachedTokens = 16384;

// Checks tokens against a key ring, an expected audience and, if given, the
// server's revocation records. Thread-safe. `key_ring`, `clock` and
// `revocations` (may be null) are not owned and must outlive the verifier.
//
// A token whose signature verified is remembered by its SHA-256 (never its
// text), so the next call with it skips parsing and the Ed25519 check; every
// call still checks that its key is in the ring, its issue time and expiry
// against the clock, and revocation. At most `max_cached` are remembered.
class TokenVerifier {
 public:
  TokenVerifier(const KeyRing* key_ring, const common::Clock* clock, std::string audience,
                const RevocationList* revocations = nullptr, size_t max_cached = kMaxCachedTokens);

  // The principal of a valid token, else Unauthenticated("<reason>: ...")
  // with the first failing check, in this order:
  //   token_missing            empty input
  //   token_malformed          over 4 KiB, wrong shape or prefix, bad
  //                            base64url, unparsable claims, empty member,
  //                            service or key id
  //   token_unknown_key        key id not in the ring
  //   token_signature_invalid  signature does not match
  //   token_wrong_audience     audience differs from ours
  //   token_malformed          issued more than 5 minutes in the future
  //   token_expired            now >= expires_at
  //   token_revoked            revoked (Logout, Refresh, revoke-all);
  //                            Unavailable if that cannot be checked (the
  //                            RevocationList may give this verdict later:
  //                            see RevocationList::CheckNotRevoked)
  // Messages never contain the token or any part of it.
  absl::StatusOr<Principal> Verify(absl::string_view token) const;

  // How many verified tokens are remembered now.
  size_t cached() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Remembered {
    Principal principal;
    std::string key_id;
  };
  // Shards keep concurrent calls from queueing on one mutex.
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Digest, Remembered> tokens ABSL_GUARDED_BY(mu);
  };

  absl::StatusOr<Principal> VerifySignedToken(absl::string_view token, std::string* key_id) const;
  // The checks that depend on the time and the server's records, made on
  // every call, remembered or not.
  absl::Status CheckStillValid(const Principal& principal, absl::string_view key_id) const;
  void Remember(const Digest& digest, const Principal& principal, std::string key_id) const;

  const KeyRing* const key_ring_;
  const common::Clock* const clock_;
  const std::string audience_;
  const RevocationList* const revocations_;
  const size_t max_per_shard_;
  const std::unique_ptr<Shard[]> shards_;
};

}  // namespace relais::auth

#endif  // RELAIS_AUTH_TOKEN_H_
