// The care store: its schema (migrations), the MACs of its rows and the
// break-the-glass grants. Accompaniments, handovers and consents are in
// care_store_{accompaniments,handovers,consents}.cc.

#include "services/care/care_store.h"

#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store_internal.h"
#include "services/record/record_api.h"

namespace relais::care::store {

using internal::CheckBeforeUpdate;
using internal::kAccompanimentMac;
using internal::kConsentMac;
using internal::kGrantColumns;
using internal::kGrantMac;
using internal::kHandoverMac;
using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;

namespace internal {

std::string YouthIs(const YouthOf& youth, absl::string_view column, int param) {
  if (youth.by_entry) return absl::StrCat(column, " = ", record::YouthOfEntrySql(param));
  return absl::StrCat(column, " = ?", param);
}

absl::Status CheckSameYouth(absl::string_view row_youth_id, absl::string_view youth_id) {
  if (row_youth_id == youth_id) return absl::OkStatus();
  return absl::InternalError("a care fact read for a youth is of another youth");
}

// Before a write changes a row: the row must be authentic (absent is left to
// the write, which reports it its own way).
absl::Status CheckBeforeUpdate(Connection& c, const storage::MacTable& t, absl::string_view id) {
  absl::Status s = storage::CheckStoredRow(c, t, id);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::StatusOr<std::string> CitedConvention(Connection& c, absl::string_view table,
                                            absl::string_view row_id) {
  ASSIGN_OR_RETURN(Statement s, SendCitedConvention(c, table, row_id));
  return CitedConvention(s);
}

absl::StatusOr<Statement> SendCitedConvention(Connection& c, absl::string_view table,
                                              absl::string_view row_id) {
  const bool consent = table == "care_consent_conventions";
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT convention_id FROM ", table, " WHERE ",
                                          consent ? "consent_id" : "handover_id", " = ?1")));
  s.Bind(1, row_id);
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<std::string> CitedConvention(Statement& sent) {
  ASSIGN_OR_RETURN(bool row, sent.Step());
  return row ? sent.ColumnText(0) : std::string();
}

absl::Status InsertCitedConvention(Connection& c, absl::string_view table, absl::string_view row_id,
                                   absl::string_view convention_id) {
  if (convention_id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("INSERT INTO ", table, " VALUES (?1, ?2)")));
  return s.Bind(1, row_id).Bind(2, convention_id).Run();
}

absl::StatusOr<std::string> AppendCitedConvention(Connection& c, absl::string_view table,
                                                  absl::string_view row_id,
                                                  storage::CanonicalFields fields) {
  ASSIGN_OR_RETURN(std::string convention, CitedConvention(c, table, row_id));
  return WithConvention(std::move(fields), convention);
}

std::string WithConvention(storage::CanonicalFields fields, absl::string_view convention) {
  // "convention" is no recipient kind (care_consent_recipients.kind), so the
  // encoding stays unambiguous.
  if (!convention.empty()) fields.Add("convention").Add(convention);
  return fields.bytes();
}

absl::StatusOr<std::string> HandoverConventionCanonical(Connection& c,
                                                        absl::string_view handover_id) {
  return AppendCitedConvention(c, "care_handover_conventions", handover_id, {});
}

}  // namespace internal

// table: the schema, one migration per entry, never edited once released.
std::vector<storage::Migration> Migrations() {
  return {{1, R"sql(
CREATE TABLE care_accompaniments (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL,
  service_id TEXT NOT NULL,
  referent_member_id TEXT NOT NULL,
  basis INTEGER NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER,
  handover_id TEXT
);
CREATE INDEX care_accompaniments_by_youth ON care_accompaniments(youth_id, service_id);
CREATE TABLE care_handovers (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL,
  from_service_id TEXT NOT NULL,
  to_service_id TEXT NOT NULL,
  from_accompaniment_id TEXT NOT NULL REFERENCES care_accompaniments(id),
  reason TEXT NOT NULL,
  overlap_start_us INTEGER NOT NULL,
  overlap_end_us INTEGER NOT NULL,
  state INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  decided_by TEXT,
  closing_reason TEXT,
  to_accompaniment_id TEXT,
  created_at_us INTEGER NOT NULL,
  updated_at_us INTEGER NOT NULL,
  CHECK (overlap_end_us > overlap_start_us)
);
CREATE INDEX care_handovers_by_youth ON care_handovers(youth_id);
CREATE INDEX care_handovers_by_state ON care_handovers(state, overlap_end_us);
CREATE TABLE care_consents (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL,
  giver INTEGER NOT NULL,
  guardian_id TEXT,
  youth_opinion INTEGER NOT NULL,
  categories TEXT NOT NULL,
  all_non_special INTEGER NOT NULL,
  purposes TEXT NOT NULL,
  valid_from_us INTEGER NOT NULL,
  valid_until_us INTEGER NOT NULL,
  recorded_by_member_id TEXT NOT NULL,
  recorded_by_service_id TEXT NOT NULL,
  recorded_at_us INTEGER NOT NULL,
  withdrawn_at_us INTEGER,
  withdrawn_by_member_id TEXT
);
CREATE INDEX care_consents_by_youth ON care_consents(youth_id);
CREATE TABLE care_consent_recipients (
  consent_id TEXT NOT NULL REFERENCES care_consents(id),
  kind TEXT NOT NULL CHECK (kind IN ('sector', 'service')),
  target_id TEXT NOT NULL
);
CREATE INDEX care_consent_recipients_by_consent ON care_consent_recipients(consent_id);
-- Consent records are proof (GDPR art. 7): never deleted or rewritten except
-- to record a withdrawal once.
CREATE TRIGGER care_consents_no_delete BEFORE DELETE ON care_consents
BEGIN SELECT RAISE(ABORT, 'consents are never deleted'); END;
CREATE TRIGGER care_consents_withdraw_once BEFORE UPDATE ON care_consents
WHEN OLD.withdrawn_at_us IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a withdrawn consent is final'); END;
)sql"},
          // Break-the-glass grants (issue #4). The justification and the review
          // note are sealed with the youth's data key by the record service.
          {2, R"sql(
CREATE TABLE care_emergency_grants (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  youth_id TEXT NOT NULL,
  service_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  justification BLOB NOT NULL,
  opened_at_us INTEGER NOT NULL,
  expires_at_us INTEGER NOT NULL,
  verdict INTEGER NOT NULL DEFAULT 0,
  review_note BLOB,
  reviewed_by_member_id TEXT,
  reviewed_at_us INTEGER
);
CREATE INDEX care_emergency_by_service ON care_emergency_grants(service_id, youth_id);
)sql"},
          // Vouched accompaniments (issue #10). Rows opened before: those a
          // handover started are HANDOVER (3), the others MIGRATED (7), still
          // active and listed so that coordinators can review them.
          {3, R"sql(
ALTER TABLE care_accompaniments ADD COLUMN vouch INTEGER NOT NULL DEFAULT 7;
ALTER TABLE care_accompaniments ADD COLUMN vouched_by TEXT;
ALTER TABLE care_accompaniments ADD COLUMN vouched_at_us INTEGER;
UPDATE care_accompaniments SET vouch = 3 WHERE handover_id IS NOT NULL AND handover_id != '';
CREATE INDEX care_accompaniments_pending ON care_accompaniments(vouch, youth_id);
CREATE INDEX care_emergency_by_member ON care_emergency_grants(member_id, youth_id);
)sql"},
          // Authenticated access facts (issue #11): a MAC per row, filled for
          // existing rows by SealExistingRows() once the key is loaded. A
          // withdrawn consent stays final, but its MAC may be rewritten.
          {4, R"sql(
ALTER TABLE care_accompaniments ADD COLUMN mac BLOB;
ALTER TABLE care_handovers ADD COLUMN mac BLOB;
ALTER TABLE care_consents ADD COLUMN mac BLOB;
ALTER TABLE care_emergency_grants ADD COLUMN mac BLOB;
DROP TRIGGER care_consents_withdraw_once;
CREATE TRIGGER care_consents_withdraw_once BEFORE UPDATE OF id, youth_id, giver, guardian_id,
  youth_opinion, categories, all_non_special, purposes, valid_from_us, valid_until_us,
  recorded_by_member_id, recorded_by_service_id, recorded_at_us, withdrawn_at_us,
  withdrawn_by_member_id ON care_consents
WHEN OLD.withdrawn_at_us IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a withdrawn consent is final'); END;
)sql"},
          // Nothing sensitive in clear at rest (issue #11): handover reasons
          // and closing reasons are sealed with the youth's key. Rows written
          // before are sealed once the keys are loaded (care::SealHandoverText).
          {5, R"sql(
ALTER TABLE care_handovers ADD COLUMN text_sealed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX care_handovers_unsealed ON care_handovers(text_sealed);
)sql"},
          // Turnover (issue #14): who was referent before, kept for good.
          {6, R"sql(
CREATE TABLE care_referent_changes (
  seq INTEGER PRIMARY KEY,
  accompaniment_id TEXT NOT NULL REFERENCES care_accompaniments(id),
  from_member_id TEXT NOT NULL,
  to_member_id TEXT NOT NULL,
  by_member_id TEXT NOT NULL,
  at_us INTEGER NOT NULL
);
CREATE INDEX care_referent_changes_by_accompaniment ON care_referent_changes(accompaniment_id);
CREATE INDEX care_accompaniments_by_referent ON care_accompaniments(referent_member_id);
CREATE TRIGGER care_referent_changes_append_only BEFORE UPDATE ON care_referent_changes
BEGIN SELECT RAISE(ABORT, 'the referent history is append-only'); END;
)sql"},
          // Partnership conventions (issue #14): the convention a consent or a
          // handover cites, fixed when it is recorded and part of its row's MAC
          // (care_store_internal.h), so that dropping it by hand is detected.
          {7, R"sql(
CREATE TABLE care_consent_conventions (
  consent_id TEXT PRIMARY KEY REFERENCES care_consents(id),
  convention_id TEXT NOT NULL
);
CREATE TABLE care_handover_conventions (
  handover_id TEXT PRIMARY KEY REFERENCES care_handovers(id),
  convention_id TEXT NOT NULL
);
CREATE TRIGGER care_consent_conventions_fixed BEFORE UPDATE ON care_consent_conventions
BEGIN SELECT RAISE(ABORT, 'a cited convention never changes'); END;
CREATE TRIGGER care_consent_conventions_kept BEFORE DELETE ON care_consent_conventions
BEGIN SELECT RAISE(ABORT, 'a cited convention never changes'); END;
CREATE TRIGGER care_handover_conventions_fixed BEFORE UPDATE ON care_handover_conventions
BEGIN SELECT RAISE(ABORT, 'a cited convention never changes'); END;
CREATE TRIGGER care_handover_conventions_kept BEFORE DELETE ON care_handover_conventions
BEGIN SELECT RAISE(ABORT, 'a cited convention never changes'); END;
-- The inbox reminders' sweeps: windows ending, consents expiring.
CREATE INDEX care_handovers_by_end ON care_handovers(state, overlap_end_us);
CREATE INDEX care_consents_by_expiry ON care_consents(valid_until_us)
  WHERE withdrawn_at_us IS NULL;
)sql"},
          // Concertation meetings (issue #14). `invited`: the invited services'
          // ids, sorted, comma-joined; the row is MAC'd (care_store_internal.h).
          {8, R"sql(
CREATE TABLE care_concertations (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL,
  handover_id TEXT NOT NULL DEFAULT '',
  organizer_service_id TEXT NOT NULL,
  organizer_member_id TEXT NOT NULL,
  invited TEXT NOT NULL,
  scheduled_at_us INTEGER NOT NULL,
  state INTEGER NOT NULL,
  youth_participation INTEGER NOT NULL DEFAULT 0,
  recorded_by TEXT NOT NULL DEFAULT '',
  created_at_us INTEGER NOT NULL,
  updated_at_us INTEGER NOT NULL,
  mac BLOB
);
CREATE INDEX care_concertations_by_youth ON care_concertations(youth_id, scheduled_at_us);
CREATE TRIGGER care_concertations_fixed BEFORE UPDATE OF id, youth_id, handover_id,
  organizer_service_id, organizer_member_id, invited, scheduled_at_us, created_at_us
  ON care_concertations
BEGIN SELECT RAISE(ABORT, 'a concertation''s meeting never changes'); END;
CREATE TRIGGER care_concertations_recorded_once BEFORE UPDATE OF state, youth_participation,
  recorded_by ON care_concertations
WHEN OLD.state != 1
BEGIN SELECT RAISE(ABORT, 'a concertation''s outcome is recorded once'); END;
CREATE TRIGGER care_concertations_no_delete BEFORE DELETE ON care_concertations
BEGIN SELECT RAISE(ABORT, 'concertations are never deleted'); END;
)sql"}};
}

absl::Status SealExistingRows(storage::Database& db) {
  return storage::SealExistingRows(
      db, {kAccompanimentMac, kHandoverMac, kConsentMac, kGrantMac, internal::kConcertationMac});
}

namespace {

absl::StatusOr<SealedGrant> RowToGrant(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kGrantMac, s));
  SealedGrant g;
  v1::EmergencyAccess& a = g.grant;
  a.set_id(s.ColumnText(0));
  a.set_youth_id(s.ColumnText(1));
  a.set_service_id(s.ColumnText(2));
  a.set_member_id(s.ColumnText(3));
  g.sealed_justification = s.ColumnBlob(4);
  SetTs(a.mutable_opened_at(), s.ColumnInt64(5));
  SetTs(a.mutable_expires_at(), s.ColumnInt64(6));
  a.set_verdict(static_cast<v1::EmergencyVerdict>(s.ColumnInt64(7)));
  g.sealed_note = s.ColumnBlob(8);
  a.set_reviewed_by_member_id(s.ColumnText(9));
  if (a.verdict() != v1::EMERGENCY_VERDICT_UNSPECIFIED) {
    SetTs(a.mutable_reviewed_at(), s.ColumnInt64(10));
  }
  return g;
}

}  // namespace

absl::Status InsertEmergencyGrant(Connection& c, const v1::EmergencyAccess& a,
                                  absl::string_view sealed_justification) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO care_emergency_grants (id, youth_id, service_id, "
                             "member_id, justification, opened_at_us, expires_at_us) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, a.id()).Bind(2, a.youth_id()).Bind(3, a.service_id()).Bind(4, a.member_id());
  s.BindBlob(5, sealed_justification).Bind(6, Us(a.opened_at())).Bind(7, Us(a.expires_at()));
  RETURN_IF_ERROR(s.Run());
  return storage::SetRowMac(c, kGrantMac, a.id());
}

absl::StatusOr<std::optional<std::string>> ActiveEmergencyGrant(Connection& c,
                                                                absl::string_view member_id,
                                                                absl::string_view service_id,
                                                                absl::string_view youth_id,
                                                                absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   SendActiveEmergencyGrant(c, member_id, service_id, YouthOf{youth_id}, now));
  return ActiveEmergencyGrant(c, s, youth_id);
}

absl::StatusOr<Statement> SendActiveEmergencyGrant(Connection& c, absl::string_view member_id,
                                                   absl::string_view service_id,
                                                   const YouthOf& youth, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
                                          " FROM care_emergency_grants WHERE member_id = ?1 AND "
                                          "service_id = ?4 AND ",
                                          internal::YouthIs(youth, "youth_id", 2),
                                          " AND opened_at_us <= ?3 AND expires_at_us > ?3 "
                                          "ORDER BY position DESC LIMIT 1")));
  s.Bind(1, member_id).Bind(2, youth.id).Bind(3, Us(now)).Bind(4, service_id);
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<std::optional<std::string>> ActiveEmergencyGrant(Connection& c, Statement& sent,
                                                                absl::string_view youth_id) {
  ASSIGN_OR_RETURN(bool row, sent.Step());
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(SealedGrant g, RowToGrant(c, sent));
  RETURN_IF_ERROR(internal::CheckSameYouth(g.grant.youth_id(), youth_id));
  return g.grant.id();
}

absl::StatusOr<std::vector<SealedGrant>> ListEmergencyGrants(Connection& c, bool pending_only) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
                                          " FROM care_emergency_grants WHERE "
                                          "(?1 = 0 OR verdict = 0) ORDER BY position")));
  s.Bind(1, int64_t{pending_only ? 1 : 0});
  std::vector<SealedGrant> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(SealedGrant g, RowToGrant(c, s));
    out.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<std::optional<SealedGrant>> GetEmergencyGrant(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
                                          " FROM care_emergency_grants WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToGrant(c, s);
}

absl::Status ReviewEmergencyGrant(Connection& c, absl::string_view id, v1::EmergencyVerdict verdict,
                                  absl::string_view sealed_note, absl::string_view reviewer,
                                  absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_emergency_grants SET verdict = ?2, review_note = ?3, "
                             "reviewed_by_member_id = ?4, reviewed_at_us = ?5, "
                             // UNJUSTIFIED ends the grant at once.
                             "expires_at_us = CASE WHEN ?2 = ?6 AND ?5 < expires_at_us THEN ?5 "
                             "ELSE expires_at_us END WHERE id = ?1 AND verdict = 0"));
  s.Bind(1, id).Bind(2, int64_t{verdict}).BindBlob(3, sealed_note).Bind(4, reviewer);
  s.Bind(5, Us(now)).Bind(6, int64_t{v1::EMERGENCY_VERDICT_UNJUSTIFIED});
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kGrantMac, id));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) {
    return common::Precondition("already_reviewed", "this grant was reviewed already");
  }
  return storage::SetRowMac(c, kGrantMac, id);
}

}  // namespace relais::care::store
