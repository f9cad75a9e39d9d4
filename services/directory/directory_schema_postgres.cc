// The directory's schema on PostgreSQL: one baseline, the schema that
// DirectoryMigrations() 1-9 build on SQLite (directory_schema.cc), with the
// same seed rows. Later steps are appended to both lists.

#include <string>

#include "absl/strings/str_cat.h"
#include "services/directory/directory_schema.h"

namespace relais::directory {
namespace {

// The tables after SQLite version 9, columns in SQLite's order (those added
// by ALTER TABLE last).
constexpr char kTables[] = R"sql(
CREATE TABLE dir_sectors (
  id   TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE dir_services (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  sector_id     TEXT NOT NULL REFERENCES dir_sectors(id),
  kind          TEXT NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL,
  platform      BIGINT NOT NULL DEFAULT 0,
  staffed       BIGINT NOT NULL DEFAULT 0,
  mac           BYTEA
);
CREATE INDEX dir_services_by_sector ON dir_services(sector_id, id);
CREATE TABLE dir_members (
  id                     TEXT PRIMARY KEY,
  service_id             TEXT NOT NULL REFERENCES dir_services(id),
  display_name           TEXT NOT NULL,
  login                  TEXT NOT NULL UNIQUE,
  roles                  TEXT NOT NULL,
  password_hash          TEXT NOT NULL,
  active                 BIGINT NOT NULL DEFAULT 1,
  created_at_us          BIGINT NOT NULL,
  password_must_change   BIGINT NOT NULL DEFAULT 0,
  password_expires_at_us BIGINT,
  mac                    BYTEA
);
CREATE TABLE dir_glossary (
  acronym     TEXT PRIMARY KEY,
  expansion   TEXT NOT NULL,
  sector_id   TEXT REFERENCES dir_sectors(id),  -- NULL: used by every sector
  description TEXT NOT NULL
);
CREATE TABLE dir_service_profiles (
  service_id            TEXT PRIMARY KEY REFERENCES dir_services(id),
  mission               TEXT NOT NULL,
  offer                 TEXT NOT NULL,
  min_age               BIGINT NOT NULL,
  max_age               BIGINT NOT NULL,
  contact               TEXT NOT NULL,
  opening_hours         TEXT NOT NULL DEFAULT '',
  reviewed_by_member_id TEXT NOT NULL,
  reviewed_at_us        BIGINT NOT NULL
);
CREATE INDEX dir_service_profiles_by_age ON dir_service_profiles(min_age, max_age);
CREATE TABLE dir_service_needs (
  service_id TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position   BIGINT NOT NULL,
  need       TEXT NOT NULL,
  PRIMARY KEY (service_id, need)
);
CREATE INDEX dir_service_needs_by_need ON dir_service_needs(need, service_id);
CREATE TABLE dir_service_communes (
  service_id     TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position       BIGINT NOT NULL,
  commune        TEXT NOT NULL,
  commune_folded TEXT NOT NULL,
  PRIMARY KEY (service_id, commune_folded)
);
CREATE INDEX dir_service_communes_by_commune ON dir_service_communes(commune_folded, service_id);
CREATE TABLE dir_service_languages (
  service_id TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position   BIGINT NOT NULL,
  language   TEXT NOT NULL,
  PRIMARY KEY (service_id, language)
);
CREATE TABLE dir_definitions (
  term_folded   TEXT NOT NULL,
  sector_id     TEXT NOT NULL REFERENCES dir_sectors(id),
  term          TEXT NOT NULL,
  text          TEXT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (term_folded, sector_id)
);
)sql";

// The SQL of SQLite step `version`: its seed rows are plain SQL that
// PostgreSQL runs as is, and published steps never change.
const std::string& SqliteStep(int version) {
  for (const storage::Migration& m : DirectoryMigrations()) {
    if (m.version == version) return m.sql;
  }
  static const auto* const kNone = new std::string();
  return *kNone;
}

}  // namespace

const std::vector<storage::Migration>& DirectoryPostgresMigrations() {
  // Version 9: the SQLite steps 1-9 at once. The rows: the sectors (2), the
  // glossary (3) and the shared definitions (9); step 6 updates rows that a new
  // database does not have.
  static const auto* migrations = new std::vector<storage::Migration>{
      {9, absl::StrCat(kTables, SqliteStep(2), SqliteStep(3), SqliteStep(9))},
  };
  return *migrations;
}

}  // namespace relais::directory
