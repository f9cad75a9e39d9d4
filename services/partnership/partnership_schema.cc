#include "services/partnership/partnership_schema.h"

namespace relais::partnership {
namespace {

// Version 1: conventions. The terms (everything but the review and the
// termination) never change once proposed: a new scope is a new convention.
// Parties, signatures and reviews are history: never updated nor deleted.
// categories and purposes are comma lists of v1 enum values. The terms the
// access decision reads carry a MAC (kConventionMac), as access facts do.
constexpr char kConventions[] = R"sql(
CREATE TABLE pship_conventions (
  position                   INTEGER PRIMARY KEY AUTOINCREMENT,
  id                         TEXT NOT NULL UNIQUE,
  title                      TEXT NOT NULL,
  purpose                    TEXT NOT NULL,
  categories                 TEXT NOT NULL,
  purposes                   TEXT NOT NULL,
  max_overlap_days           INTEGER NOT NULL,
  start_us                   INTEGER NOT NULL,
  end_us                     INTEGER NOT NULL,
  review_us                  INTEGER NOT NULL,
  proposed_by_member_id      TEXT NOT NULL,
  created_at_us              INTEGER NOT NULL,
  last_reviewed_at_us        INTEGER,
  last_reviewed_by_member_id TEXT,
  terminated_at_us           INTEGER,
  terminated_by_member_id    TEXT,
  termination_reason         TEXT,
  mac                        BLOB
);
CREATE TABLE pship_parties (
  convention_id TEXT NOT NULL REFERENCES pship_conventions(id),
  service_id    TEXT NOT NULL,
  PRIMARY KEY (convention_id, service_id)
);
CREATE INDEX pship_parties_by_service ON pship_parties(service_id);
CREATE TABLE pship_signatures (
  convention_id TEXT NOT NULL REFERENCES pship_conventions(id),
  service_id    TEXT NOT NULL,
  member_id     TEXT NOT NULL,
  signed_at_us  INTEGER NOT NULL,
  PRIMARY KEY (convention_id, service_id)
);
CREATE TABLE pship_reviews (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  convention_id  TEXT NOT NULL REFERENCES pship_conventions(id),
  member_id      TEXT NOT NULL,
  reviewed_at_us INTEGER NOT NULL,
  next_review_us INTEGER NOT NULL
);
CREATE TRIGGER pship_conventions_terms_fixed BEFORE UPDATE OF id, title, purpose, categories,
  purposes, max_overlap_days, start_us, end_us, proposed_by_member_id, created_at_us
  ON pship_conventions
BEGIN SELECT RAISE(ABORT, 'a convention''s terms never change'); END;
CREATE TRIGGER pship_conventions_terminated_once BEFORE UPDATE OF review_us,
  last_reviewed_at_us, last_reviewed_by_member_id, terminated_at_us, terminated_by_member_id,
  termination_reason ON pship_conventions
WHEN OLD.terminated_at_us IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a terminated convention is final'); END;
CREATE TRIGGER pship_conventions_no_delete BEFORE DELETE ON pship_conventions
BEGIN SELECT RAISE(ABORT, 'conventions are never deleted'); END;
CREATE TRIGGER pship_parties_fixed BEFORE UPDATE ON pship_parties
BEGIN SELECT RAISE(ABORT, 'a convention''s parties never change'); END;
CREATE TRIGGER pship_parties_no_delete BEFORE DELETE ON pship_parties
BEGIN SELECT RAISE(ABORT, 'a convention''s parties never change'); END;
-- Only a party signs, and never once the convention is terminated.
CREATE TRIGGER pship_signatures_by_parties BEFORE INSERT ON pship_signatures
WHEN NOT EXISTS (SELECT 1 FROM pship_parties
                 WHERE convention_id = NEW.convention_id AND service_id = NEW.service_id)
  OR (SELECT terminated_at_us FROM pship_conventions WHERE id = NEW.convention_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'only a party signs a convention not terminated'); END;
CREATE TRIGGER pship_signatures_append_only BEFORE UPDATE ON pship_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER pship_signatures_no_delete BEFORE DELETE ON pship_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER pship_reviews_append_only BEFORE UPDATE ON pship_reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
CREATE TRIGGER pship_reviews_no_delete BEFORE DELETE ON pship_reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
)sql";

// Version 2: protocols. A protocol row holds its current version number and
// review date (both move forward with each version); versions (text up to
// 1 MiB) and acknowledgements are history. roles is a comma list of v1::Role.
constexpr char kProtocols[] = R"sql(
CREATE TABLE pship_protocols (
  position             INTEGER PRIMARY KEY AUTOINCREMENT,
  id                   TEXT NOT NULL UNIQUE,
  title                TEXT NOT NULL,
  owner_service_id     TEXT NOT NULL,
  convention_id        TEXT REFERENCES pship_conventions(id),
  roles                TEXT NOT NULL,
  review_us            INTEGER NOT NULL,
  current_version      INTEGER NOT NULL,
  created_at_us        INTEGER NOT NULL,
  created_by_member_id TEXT NOT NULL
);
CREATE TABLE pship_protocol_services (
  protocol_id TEXT NOT NULL REFERENCES pship_protocols(id),
  service_id  TEXT NOT NULL,
  PRIMARY KEY (protocol_id, service_id)
);
CREATE INDEX pship_protocol_services_by_service ON pship_protocol_services(service_id);
CREATE TABLE pship_protocol_versions (
  protocol_id            TEXT NOT NULL REFERENCES pship_protocols(id),
  number                 INTEGER NOT NULL,
  summary                TEXT NOT NULL,
  link                   TEXT NOT NULL,
  text                   TEXT NOT NULL,
  review_us              INTEGER NOT NULL,
  published_at_us        INTEGER NOT NULL,
  published_by_member_id TEXT NOT NULL,
  PRIMARY KEY (protocol_id, number)
);
CREATE TABLE pship_acknowledgements (
  protocol_id        TEXT NOT NULL REFERENCES pship_protocols(id),
  version            INTEGER NOT NULL,
  member_id          TEXT NOT NULL,
  acknowledged_at_us INTEGER NOT NULL,
  PRIMARY KEY (protocol_id, version, member_id)
);
CREATE TRIGGER pship_protocols_fixed BEFORE UPDATE OF id, title, owner_service_id,
  convention_id, roles, created_at_us, created_by_member_id ON pship_protocols
BEGIN SELECT RAISE(ABORT, 'a protocol changes only by a new version'); END;
CREATE TRIGGER pship_protocols_forward BEFORE UPDATE OF current_version ON pship_protocols
WHEN NEW.current_version <> OLD.current_version + 1
BEGIN SELECT RAISE(ABORT, 'versions are numbered in order'); END;
CREATE TRIGGER pship_protocols_no_delete BEFORE DELETE ON pship_protocols
BEGIN SELECT RAISE(ABORT, 'protocols are never deleted'); END;
CREATE TRIGGER pship_protocol_services_fixed BEFORE UPDATE ON pship_protocol_services
BEGIN SELECT RAISE(ABORT, 'a protocol''s services never change'); END;
CREATE TRIGGER pship_protocol_services_no_delete BEFORE DELETE ON pship_protocol_services
BEGIN SELECT RAISE(ABORT, 'a protocol''s services never change'); END;
CREATE TRIGGER pship_protocol_versions_append_only BEFORE UPDATE ON pship_protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are append-only'); END;
CREATE TRIGGER pship_protocol_versions_no_delete BEFORE DELETE ON pship_protocol_versions
BEGIN SELECT RAISE(ABORT, 'protocol versions are append-only'); END;
CREATE TRIGGER pship_acknowledgements_append_only BEFORE UPDATE ON pship_acknowledgements
BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
CREATE TRIGGER pship_acknowledgements_no_delete BEFORE DELETE ON pship_acknowledgements
BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
)sql";

}  // namespace

const std::vector<storage::Migration>& PartnershipMigrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1, kConventions},
      {2, kProtocols},
  };
  return *migrations;
}

}  // namespace relais::partnership
