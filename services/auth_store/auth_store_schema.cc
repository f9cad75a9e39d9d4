#include "services/auth_store/auth_store_schema.h"

namespace relais::auth_store {
namespace {

// Version 1. Revocation is checked on every authenticated call: both tables
// are keyed by what the token carries, so the check is one primary-key read
// each. A revoked token's row lives until the token would have expired
// anyway, then is purged (the expiry index keeps that cheap).
// Login failures are keyed by a hash of the login as typed (it may not exist
// and may hold anything a user typed): never the login itself.
constexpr char kTables[] = R"sql(
CREATE TABLE auth_revoked_tokens (
  token_id     TEXT PRIMARY KEY,
  expires_at_s INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_revoked_tokens_by_expiry ON auth_revoked_tokens(expires_at_s);
CREATE TABLE auth_member_generations (
  member_id  TEXT PRIMARY KEY,
  generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE auth_login_failures (
  account        TEXT PRIMARY KEY,
  attempts       INTEGER NOT NULL,
  window_start_s INTEGER NOT NULL,
  locked_until_s INTEGER NOT NULL DEFAULT 0,
  locks          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 2. Failed logins per client address (a hash of it), one row per
// failure, so every instance counts the same ones; by_time serves the prune.
constexpr char kPeerFailures[] = R"sql(
CREATE TABLE auth_peer_failures (
  peer  TEXT NOT NULL,
  at_us INTEGER NOT NULL
);
CREATE INDEX auth_peer_failures_by_peer ON auth_peer_failures(peer, at_us);
CREATE INDEX auth_peer_failures_by_time ON auth_peer_failures(at_us);
)sql";

}  // namespace

const std::vector<storage::Migration>& AuthLoginsMigrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1, kTables},
      {2, kPeerFailures},
  };
  return *migrations;
}

}  // namespace relais::auth_store
