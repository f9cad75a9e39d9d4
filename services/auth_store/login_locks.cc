#include "services/auth_store/login_locks.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace relais::auth_store {
namespace {

using storage::Connection;
using storage::Statement;

// The account's row, if any.
struct Row {
  bool exists = false;
  int64_t attempts = 0;
  int64_t window_start_s = 0;
  int64_t locked_until_s = 0;
  int64_t locks = 0;
};

absl::StatusOr<Row> ReadRow(Connection& txn, absl::string_view account) {
  ASSIGN_OR_RETURN(Statement q, txn.Prepare("SELECT attempts, window_start_s, locked_until_s, "
                                            "locks FROM auth_login_failures WHERE account = ?1"));
  q.Bind(1, account);
  ASSIGN_OR_RETURN(bool found, q.Step());
  Row row;
  if (!found) return row;
  row.exists = true;
  row.attempts = q.ColumnInt64(0);
  row.window_start_s = q.ColumnInt64(1);
  row.locked_until_s = q.ColumnInt64(2);
  row.locks = q.ColumnInt64(3);
  return row;
}

absl::Status WriteRow(Connection& txn, absl::string_view account, const Row& row) {
  ASSIGN_OR_RETURN(Statement q,
                   txn.Prepare("INSERT INTO auth_login_failures(account, attempts, "
                               "window_start_s, locked_until_s, locks) VALUES (?1, ?2, ?3, ?4, ?5) "
                               "ON CONFLICT(account) DO UPDATE SET attempts = ?2, "
                               "window_start_s = ?3, locked_until_s = ?4, locks = ?5"));
  q.Bind(1, account)
      .Bind(2, row.attempts)
      .Bind(3, row.window_start_s)
      .Bind(4, row.locked_until_s)
      .Bind(5, row.locks);
  return q.Run();
}

absl::Status DeleteRow(Connection& txn, absl::string_view account) {
  ASSIGN_OR_RETURN(Statement q, txn.Prepare("DELETE FROM auth_login_failures WHERE account = ?1"));
  q.Bind(1, account);
  return q.Run();
}

// Hex SHA-256 of a label and a value: what the login tables key rows by,
// never the login or address itself.
std::string LabelledDigest(absl::string_view label, absl::string_view value) {
  const std::string input = absl::StrCat(label, ":", value);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    // SHA-256 does not fail short of a broken library; count such keys together.
    return "digest-failed";
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace

std::string LoginLocks::AccountKey(absl::string_view login) {
  return LabelledDigest("relais-login-account", absl::AsciiStrToLower(login));
}

absl::Duration LoginLocks::LockLength(int locks) const {
  absl::Duration length = limits_.first_lock;
  for (int i = 1; i < locks && length < limits_.max_lock; ++i) length *= 2;
  return std::min(length, limits_.max_lock);
}

absl::StatusOr<LoginLocks::Reservation> LoginLocks::Reserve(absl::string_view account,
                                                            absl::Time now) {
  const int64_t now_s = absl::ToUnixSeconds(now);
  Reservation reservation;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    reservation = {};
    ASSIGN_OR_RETURN(Row row, ReadRow(txn, account));
    if (row.locked_until_s > now_s) {
      reservation.locked_until = absl::FromUnixSeconds(row.locked_until_s);
      return absl::OkStatus();
    }
    const bool lock_ended = row.locked_until_s != 0;
    const bool window_passed = row.locked_until_s == 0 &&
                               now_s - row.window_start_s >= absl::ToInt64Seconds(limits_.window);
    if (!row.exists || lock_ended || window_passed) {
      row.attempts = 0;
      row.window_start_s = now_s;
      row.locked_until_s = 0;
    }
    if (row.attempts >= limits_.attempts_per_account) return absl::OkStatus();
    ++row.attempts;
    reservation.granted = true;
    return WriteRow(txn, account, row);
  }));
  return reservation;
}

absl::StatusOr<LoginLocks::Outcome> LoginLocks::Failed(absl::string_view account, absl::Time now) {
  const int64_t now_s = absl::ToUnixSeconds(now);
  Outcome outcome;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    outcome = {};
    ASSIGN_OR_RETURN(Row row, ReadRow(txn, account));
    // The reservation is the failure; lock once the last allowed one failed.
    if (!row.exists || row.attempts < limits_.attempts_per_account || row.locked_until_s > now_s) {
      return absl::OkStatus();
    }
    ++row.locks;
    const absl::Time until = now + LockLength(static_cast<int>(row.locks));
    row.locked_until_s = absl::ToUnixSeconds(until);
    outcome = {.locked = true, .locked_until = until, .locks = static_cast<int>(row.locks)};
    return WriteRow(txn, account, row);
  }));
  return outcome;
}

absl::Status LoginLocks::Succeeded(absl::string_view account) {
  return db_->Write([&](Connection& txn) { return DeleteRow(txn, account); });
}

absl::Status LoginLocks::Release(absl::string_view account) {
  return db_->Write([&](Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, txn.Prepare("UPDATE auth_login_failures SET attempts = "
                                              "CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 "
                                              "END WHERE account = ?1"));
    q.Bind(1, account);
    return q.Run();
  });
}

absl::StatusOr<bool> LoginLocks::Unlock(Connection& txn, absl::string_view account,
                                        absl::Time now) {
  ASSIGN_OR_RETURN(Row row, ReadRow(txn, account));
  const bool was_locked =
      row.locked_until_s > absl::ToUnixSeconds(now) || row.attempts >= limits_.attempts_per_account;
  RETURN_IF_ERROR(DeleteRow(txn, account));
  return was_locked;
}

namespace {

// "ipv4:10.0.0.1:5678" -> "ipv4:10.0.0.1"; "unix:/path" has no port.
absl::string_view WithoutPort(absl::string_view peer) {
  const size_t last = peer.rfind(':');
  const size_t first = peer.find(':');
  if (last != absl::string_view::npos && last != first) peer = peer.substr(0, last);
  return peer;
}

}  // namespace

std::string PeerThrottle::PeerKey(absl::string_view peer) {
  return LabelledDigest("relais-login-peer", WithoutPort(peer));
}

std::string PeerThrottle::GatewayClientKey(absl::string_view peer, absl::string_view client) {
  return LabelledDigest("relais-login-gateway-client",
                        absl::StrCat(WithoutPort(peer), "\n", client));
}

absl::StatusOr<bool> PeerThrottle::Blocked(absl::string_view peer, absl::Time now) const {
  int64_t failures = 0;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare("SELECT COUNT(*) FROM auth_peer_failures "
                                               "WHERE peer = ?1 AND at_us > ?2"));
    q.Bind(1, peer).Bind(2, absl::ToUnixMicros(now - limits_.window));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) failures = q.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return failures >= limits_.failures_per_peer;
}

absl::Status PeerThrottle::RecordFailure(absl::string_view peer, absl::Time now) {
  return db_->Write([&](Connection& txn) -> absl::Status {
    // Forgetting every expired failure here bounds the table by the failures
    // of one window, each of which cost its sender a password check.
    ASSIGN_OR_RETURN(Statement prune,
                     txn.Prepare("DELETE FROM auth_peer_failures WHERE at_us <= ?1"));
    prune.Bind(1, absl::ToUnixMicros(now - limits_.window));
    RETURN_IF_ERROR(prune.Run());
    ASSIGN_OR_RETURN(Statement add,
                     txn.Prepare("INSERT INTO auth_peer_failures(peer, at_us) VALUES (?1, ?2)"));
    add.Bind(1, peer).Bind(2, absl::ToUnixMicros(now));
    return add.Run();
  });
}

}  // namespace relais::auth_store
