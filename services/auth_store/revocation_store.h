#ifndef RELAIS_SERVICES_AUTH_STORE_REVOCATION_STORE_H_
#define RELAIS_SERVICES_AUTH_STORE_REVOCATION_STORE_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/revocation.h"
#include "common/clock.h"
#include "storage/database.h"

namespace relais::auth_store {

// What the directory calls when a member's tokens must all stop working
// (removal, role change; password change and reset at merge). Thread-safe.
class MemberSessions {
 public:
  virtual ~MemberSessions() = default;
  // Revokes every token of `member_id` issued so far, inside the caller's
  // write transaction (so the change and the revocation commit together).
  // The member's next token works.
  virtual absl::Status RevokeAllOf(storage::Connection& txn, absl::string_view member_id) = 0;
};

// Server-side token revocation over the shared database (tables auth_*,
// migrated by Create): single tokens revoked until they expire (Logout,
// Refresh rotation) and per-member session generations (revoke-all). Survives
// restarts. Thread-safe (all state is in the database).
//
// Status codes: database errors as storage::SqliteStatus maps them
// (UNAVAILABLE when busy); CheckNotRevoked turns any read failure into
// UNAVAILABLE, so a token is never accepted unchecked.
class RevocationStore final : public auth::RevocationList, public MemberSessions {
 public:
  // `db` and `clock` are not owned and must outlive the store.
  static absl::StatusOr<std::unique_ptr<RevocationStore>> Create(storage::Database* db,
                                                                 const common::Clock* clock);

  // auth::RevocationList.
  absl::StatusOr<int64_t> Generation(absl::string_view member_id) const override;
  absl::Status CheckNotRevoked(absl::string_view member_id, absl::string_view token_id,
                               int64_t generation) const override;

  // MemberSessions.
  absl::Status RevokeAllOf(storage::Connection& txn, absl::string_view member_id) override;

  // Revokes one token until `expires_at`, in the caller's transaction;
  // revoking it again is a no-op. Also purges rows of tokens expired by now.
  absl::Status RevokeToken(storage::Connection& txn, absl::string_view token_id,
                           absl::Time expires_at);

 private:
  RevocationStore(storage::Database* db, const common::Clock* clock) : db_(db), clock_(clock) {}

  storage::Database* const db_;
  const common::Clock* const clock_;
};

}  // namespace relais::auth_store

#endif  // RELAIS_SERVICES_AUTH_STORE_REVOCATION_STORE_H_
