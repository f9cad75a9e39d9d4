// The access log's tables on PostgreSQL: one baseline, the schema that the
// "audit" migrations 1-3 build on SQLite (audit_log.cc). The sequence numbers
// are the log's own (head + 1), never the database's.

#include "services/audit/audit_log.h"

namespace relais::audit {

const std::vector<storage::Migration>& AuditPostgresMigrations() {
  static const auto* const kMigrations = new std::vector<storage::Migration>{
      {3, R"sql(
CREATE TABLE audit_events (
  sequence         BIGINT PRIMARY KEY,
  time_us          BIGINT NOT NULL,
  request_id       TEXT,
  actor_member_id  TEXT,
  actor_service_id TEXT,
  actor_roles      TEXT,
  client_identity  TEXT,
  action           BIGINT,
  youth_id         TEXT,
  entry_id         TEXT,
  object_id        TEXT,
  purpose          BIGINT,
  decision         BIGINT,
  reason           BIGINT,
  reason_code      TEXT,
  break_glass      BIGINT,
  prev_hash        TEXT NOT NULL,
  hash             TEXT NOT NULL
);
CREATE INDEX audit_events_youth ON audit_events(youth_id);
CREATE INDEX audit_events_actor_member ON audit_events(actor_member_id);
CREATE INDEX audit_events_actor_service ON audit_events(actor_service_id);
CREATE INDEX audit_events_time ON audit_events(time_us);
CREATE TABLE audit_checkpoints (
  sequence  BIGINT PRIMARY KEY,
  head_hash TEXT NOT NULL,
  time_us   BIGINT NOT NULL,
  key_id    TEXT NOT NULL,
  signature BYTEA NOT NULL
);
CREATE TABLE audit_signer_lease (
  id         BIGINT PRIMARY KEY CHECK (id = 1),
  holder     TEXT NOT NULL,
  expires_us BIGINT NOT NULL
);
)sql"},
  };
  return *kMigrations;
}

}  // namespace relais::audit
