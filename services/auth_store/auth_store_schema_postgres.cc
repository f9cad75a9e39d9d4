// The auth_logins tables on PostgreSQL: one baseline, the schema that
// AuthLoginsMigrations() 1 builds on SQLite (auth_store_schema.cc).

#include "services/auth_store/auth_store_schema.h"

namespace relais::auth_store {
namespace {

constexpr char kTables[] = R"sql(
CREATE TABLE auth_revoked_tokens (
  token_id     TEXT PRIMARY KEY,
  expires_at_s BIGINT NOT NULL
);
CREATE INDEX auth_revoked_tokens_by_expiry ON auth_revoked_tokens(expires_at_s);
CREATE TABLE auth_member_generations (
  member_id  TEXT PRIMARY KEY,
  generation BIGINT NOT NULL
);
CREATE TABLE auth_login_failures (
  account        TEXT PRIMARY KEY,
  attempts       BIGINT NOT NULL,
  window_start_s BIGINT NOT NULL,
  locked_until_s BIGINT NOT NULL DEFAULT 0,
  locks          BIGINT NOT NULL DEFAULT 0
);
)sql";

// Version 2. Failed logins per client address (a hash of it), one row per
// failure, so every instance counts the same ones; by_time serves the prune.
constexpr char kPeerFailures[] = R"sql(
CREATE TABLE auth_peer_failures (
  peer  TEXT NOT NULL,
  at_us BIGINT NOT NULL
);
CREATE INDEX auth_peer_failures_by_peer ON auth_peer_failures(peer, at_us);
CREATE INDEX auth_peer_failures_by_time ON auth_peer_failures(at_us);
)sql";

}  // namespace

const std::vector<storage::Migration>& AuthLoginsPostgresMigrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1, kTables},
      {2, kPeerFailures},
  };
  return *migrations;
}

}  // namespace relais::auth_store
