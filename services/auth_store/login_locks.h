#ifndef RELAIS_SERVICES_AUTH_STORE_LOGIN_LOCKS_H_
#define RELAIS_SERVICES_AUTH_STORE_LOGIN_LOCKS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/database.h"

namespace relais::auth_store {

// Failed logins and account locks, per account, in the database: they survive
// a restart and hold across threads and instances. An account is the login as
// typed (lower-cased), whether or not it exists, so a made-up login is
// counted and locked exactly like a real one; rows hold only a hash of it.
//
// Atomic by reservation: Reserve() counts an attempt as failed *before* the
// password is checked, in one write transaction, so N concurrent attempts can
// never check more than `attempts_per_account` passwords. Succeeded() clears
// the account; Failed() keeps the reservation and locks the account when it
// was the last one allowed; Release() hands back a reservation whose password
// was never checked.
//
// Locks last `first_lock`, doubled with each further lock of the account,
// capped at `max_lock`; they end on schedule or by Unlock() (an admin). A
// success or an unlock also resets the doubling. Thread-safe. Database errors
// as storage::SqliteStatus maps them (UNAVAILABLE when busy).
class LoginLocks {
 public:
  struct Limits {
    int attempts_per_account = 5;
    // Failures older than this no longer count (while not locked).
    absl::Duration window = absl::Minutes(15);
    absl::Duration first_lock = absl::Minutes(15);
    absl::Duration max_lock = absl::Hours(8);
  };

  // `db` is not owned, must outlive this and hold the auth_logins tables
  // (RevocationStore::Create migrates them).
  LoginLocks(storage::Database* db, Limits limits) : db_(db), limits_(limits) {}

  // The key under which `login` is counted: hex SHA-256 of a fixed label and
  // the lower-cased login.
  static std::string AccountKey(absl::string_view login);

  struct Reservation {
    bool granted = false;
    // When not granted: when the account may try again (InfinitePast() while
    // the last allowed attempts are still being checked).
    absl::Time locked_until = absl::InfinitePast();
  };
  absl::StatusOr<Reservation> Reserve(absl::string_view account, absl::Time now);

  struct Outcome {
    // True if this failure locked the account (audit it, once).
    bool locked = false;
    absl::Time locked_until = absl::InfinitePast();
    int locks = 0;  // locks of the account in a row, this one included
  };
  absl::StatusOr<Outcome> Failed(absl::string_view account, absl::Time now);
  absl::Status Succeeded(absl::string_view account);
  absl::Status Release(absl::string_view account);

  // Ends a lock and forgets the failures, in the caller's write transaction
  // (with its audit event). True if the account was locked at `now` (or had
  // all its attempts spent).
  absl::StatusOr<bool> Unlock(storage::Connection& txn, absl::string_view account, absl::Time now);

  const Limits& limits() const { return limits_; }

 private:
  absl::Duration LockLength(int locks) const;

  storage::Database* const db_;
  const Limits limits_;
};

// Failed logins per client address over a sliding window (a machine spraying
// many accounts), in the database so that every instance counts the same
// failures and a restart forgets none. Rows hold a hash of the address and the
// time of one failure; expired rows are deleted as new failures come. Database
// errors as the back end maps them (UNAVAILABLE when busy or unreachable).
class PeerThrottle {
 public:
  struct Limits {
    int failures_per_peer = 20;
    absl::Duration window = absl::Minutes(15);
  };

  // `db` as for LoginLocks.
  PeerThrottle(storage::Database* db, Limits limits) : db_(db), limits_(limits) {}

  // The key under which a gRPC peer ("ipv4:10.0.0.1:5678") is counted: a hash
  // of its address without the port.
  static std::string PeerKey(absl::string_view peer);
  // The key of `client` (an address a trusted gateway names) behind the
  // gateway `peer`: distinct per client, and from every PeerKey.
  static std::string GatewayClientKey(absl::string_view peer, absl::string_view client);

  // True if another attempt from `peer` (a PeerKey) must be refused now.
  absl::StatusOr<bool> Blocked(absl::string_view peer, absl::Time now) const;
  absl::Status RecordFailure(absl::string_view peer, absl::Time now);

 private:
  storage::Database* const db_;
  const Limits limits_;
};

}  // namespace relais::auth_store

#endif  // RELAIS_SERVICES_AUTH_STORE_LOGIN_LOCKS_H_
