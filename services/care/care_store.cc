#include "services/care/care_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "storage/row_mac.h"

namespace relais::care::store {
namespace {

using storage::Connection;
using storage::Statement;

// Saturates rather than overflows: request times are range-checked at the API
// (rpc::TimeFromRequest), this guards every other path.
int64_t Us(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()));
}

void SetTs(google::protobuf::Timestamp* ts, int64_t us) {
  int64_t secs = us / 1'000'000;
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

std::string JoinInts(const google::protobuf::RepeatedField<int>& values) {
  return absl::StrJoin(values, ",");
}

std::vector<int> SplitInts(absl::string_view s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

constexpr char kAccompanimentColumns[] =
    "id, youth_id, service_id, referent_member_id, basis, start_us, end_us, handover_id, "
    "vouch, vouched_by, vouched_at_us";
// Every row the access rule reads carries a MAC over these columns (docs/security.md
// "Authenticated access facts"); reads select them followed by `mac`.
constexpr storage::MacTable kAccompanimentMac{"care_accompaniments", "id", kAccompanimentColumns,
                                              storage::CountColumns(kAccompanimentColumns)};

absl::StatusOr<v1::Accompaniment> RowToAccompaniment(Connection& c, const Statement& s,
                                                     absl::Time now) {
  RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  v1::Accompaniment a;
  a.set_id(s.ColumnText(0));
  a.set_youth_id(s.ColumnText(1));
  a.set_service_id(s.ColumnText(2));
  a.set_referent_member_id(s.ColumnText(3));
  a.set_basis(static_cast<v1::AccompanimentBasis>(s.ColumnInt64(4)));
  SetTs(a.mutable_start_time(), s.ColumnInt64(5));
  const bool open_ended = s.ColumnIsNull(6);
  if (!open_ended) SetTs(a.mutable_end_time(), s.ColumnInt64(6));
  a.set_handover_id(s.ColumnText(7));
  a.set_vouch(static_cast<v1::Vouch>(s.ColumnInt64(8)));
  a.set_vouched_by_member_id(s.ColumnText(9));
  if (!s.ColumnIsNull(10)) SetTs(a.mutable_vouched_at(), s.ColumnInt64(10));
  const int64_t now_us = Us(now);
  a.set_active(s.ColumnInt64(5) <= now_us && (open_ended || s.ColumnInt64(6) > now_us));
  return a;
}

constexpr char kHandoverColumns[] =
    "id, youth_id, from_service_id, to_service_id, reason, overlap_start_us, overlap_end_us, "
    "state, proposed_by, decided_by, closing_reason, to_accompaniment_id, created_at_us, "
    "updated_at_us, from_accompaniment_id";
constexpr storage::MacTable kHandoverMac{"care_handovers", "id", kHandoverColumns,
                                         storage::CountColumns(kHandoverColumns)};

absl::StatusOr<v1::Handover> RowToHandover(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kHandoverMac, s));
  v1::Handover h;
  h.set_id(s.ColumnText(0));
  h.set_youth_id(s.ColumnText(1));
  h.set_from_service_id(s.ColumnText(2));
  h.set_to_service_id(s.ColumnText(3));
  // Reasons are sealed with the youth's key (care/handover_text.h): bytes.
  h.set_reason(s.ColumnBlob(4));
  SetTs(h.mutable_overlap_start(), s.ColumnInt64(5));
  SetTs(h.mutable_overlap_end(), s.ColumnInt64(6));
  h.set_state(static_cast<v1::HandoverState>(s.ColumnInt64(7)));
  h.set_proposed_by_member_id(s.ColumnText(8));
  h.set_decided_by_member_id(s.ColumnText(9));
  h.set_closing_reason(s.ColumnBlob(10));
  h.set_to_accompaniment_id(s.ColumnText(11));
  SetTs(h.mutable_created_at(), s.ColumnInt64(12));
  SetTs(h.mutable_updated_at(), s.ColumnInt64(13));
  return h;
}

constexpr char kConsentColumns[] =
    "id, youth_id, giver, guardian_id, youth_opinion, categories, all_non_special, purposes, "
    "valid_from_us, valid_until_us, recorded_by_member_id, recorded_by_service_id, "
    "recorded_at_us, withdrawn_at_us, withdrawn_by_member_id";

// A consent's recipients belong to its MAC: one added by hand widens it.
absl::StatusOr<std::string> RecipientsCanonical(Connection& c, absl::string_view consent_id) {
  ASSIGN_OR_RETURN(Statement r, c.Prepare("SELECT kind, target_id FROM care_consent_recipients "
                                          "WHERE consent_id = ?1 ORDER BY rowid"));
  r.Bind(1, consent_id);
  storage::CanonicalFields fields;
  while (true) {
    ASSIGN_OR_RETURN(bool row, r.Step());
    if (!row) break;
    fields.AddColumns(r, 0, 2);
  }
  return fields.bytes();
}
constexpr storage::MacTable kConsentMac{"care_consents", "id", kConsentColumns,
                                        storage::CountColumns(kConsentColumns),
                                        &RecipientsCanonical};

constexpr char kGrantColumns[] =
    "id, youth_id, service_id, member_id, justification, opened_at_us, expires_at_us, verdict, "
    "review_note, reviewed_by_member_id, reviewed_at_us";
constexpr storage::MacTable kGrantMac{"care_emergency_grants", "id", kGrantColumns,
                                      storage::CountColumns(kGrantColumns)};

absl::StatusOr<v1::Consent> RowToConsent(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kConsentMac, s));
  v1::Consent k;
  k.set_id(s.ColumnText(0));
  k.set_youth_id(s.ColumnText(1));
  k.set_giver(static_cast<v1::ConsentGiver>(s.ColumnInt64(2)));
  k.set_guardian_id(s.ColumnText(3));
  k.set_youth_opinion(static_cast<v1::YouthOpinion>(s.ColumnInt64(4)));
  for (int v : SplitInts(s.ColumnText(5))) k.add_categories(static_cast<v1::DataCategory>(v));
  k.set_all_non_special_categories(s.ColumnInt64(6) != 0);
  for (int v : SplitInts(s.ColumnText(7))) k.add_purposes(static_cast<v1::Purpose>(v));
  SetTs(k.mutable_valid_from(), s.ColumnInt64(8));
  SetTs(k.mutable_valid_until(), s.ColumnInt64(9));
  k.set_recorded_by_member_id(s.ColumnText(10));
  k.set_recorded_by_service_id(s.ColumnText(11));
  SetTs(k.mutable_recorded_at(), s.ColumnInt64(12));
  if (!s.ColumnIsNull(13)) SetTs(k.mutable_withdrawn_at(), s.ColumnInt64(13));
  k.set_withdrawn_by_member_id(s.ColumnText(14));
  ASSIGN_OR_RETURN(Statement r, c.Prepare("SELECT kind, target_id FROM care_consent_recipients "
                                          "WHERE consent_id = ?1 ORDER BY rowid"));
  r.Bind(1, k.id());
  while (true) {
    ASSIGN_OR_RETURN(bool row, r.Step());
    if (!row) break;
    v1::Recipient* rec = k.add_recipients();
    if (r.ColumnText(0) == "sector") {
      rec->set_sector_id(r.ColumnText(1));
    } else {
      rec->set_service_id(r.ColumnText(1));
    }
  }
  return k;
}

}  // namespace

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
)sql"}};
}

absl::Status SealExistingRows(storage::Database& db) {
  return storage::SealExistingRows(db,
                                   {kAccompanimentMac, kHandoverMac, kConsentMac, kGrantMac});
}

namespace {
// Before a write changes a row: the row must be authentic (absent is left to
// the write, which reports it its own way).
absl::Status CheckBeforeUpdate(Connection& c, const storage::MacTable& t, absl::string_view id) {
  absl::Status s = storage::CheckStoredRow(c, t, id);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}
}  // namespace

absl::Status InsertAccompaniment(Connection& c, const v1::Accompaniment& a) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO care_accompaniments (id, youth_id, service_id, "
                             "referent_member_id, basis, start_us, end_us, handover_id, vouch, "
                             "vouched_by, vouched_at_us) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
  s.Bind(1, a.id()).Bind(2, a.youth_id()).Bind(3, a.service_id());
  s.Bind(4, a.referent_member_id()).Bind(5, int64_t{a.basis()}).Bind(6, Us(a.start_time()));
  if (a.has_end_time()) {
    s.Bind(7, Us(a.end_time()));
  } else {
    s.BindNull(7);
  }
  s.BindOptional(8, a.handover_id());
  // Never stored unspecified: a row without a vouch would read as pending.
  s.Bind(9, int64_t{a.vouch() == v1::VOUCH_UNSPECIFIED ? v1::VOUCH_PENDING : a.vouch()});
  s.BindOptional(10, a.vouched_by_member_id());
  if (a.has_vouched_at()) {
    s.Bind(11, Us(a.vouched_at()));
  } else {
    s.BindNull(11);
  }
  RETURN_IF_ERROR(s.Run());
  return storage::SetRowMac(c, kAccompanimentMac, a.id());
}

absl::Status SetAccompanimentVouch(Connection& c, absl::string_view id, v1::Vouch vouch,
                                   absl::string_view member_id, absl::Time when) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_accompaniments SET vouch = ?2, vouched_by = ?3, "
                             "vouched_at_us = ?4 WHERE id = ?1 AND vouch = 1"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kAccompanimentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, int64_t{vouch}).Bind(3, member_id).Bind(4, Us(when)).Run());
  if (c.Changes() != 1) {
    return common::Precondition("not_pending", "the accompaniment is no longer pending");
  }
  return storage::SetRowMac(c, kAccompanimentMac, id);
}

absl::StatusOr<bool> EverVouchedOther(Connection& c, absl::string_view youth_id,
                                      absl::string_view service_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 AND "
                                          "service_id != ?2 AND vouch NOT IN (1, 6) LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, service_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  return row;
}

absl::StatusOr<std::vector<v1::Accompaniment>> PendingForService(Connection& c,
                                                                  absl::string_view service_id,
                                                                  absl::Time now) {
  // Pending requests of other services on youths this service accompanies
  // (vouched, active now).
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare(absl::StrCat(
          "SELECT ", kAccompanimentColumns, ", mac",
          " FROM care_accompaniments p WHERE p.vouch = 1 AND p.service_id != ?1 AND "
          "(p.end_us IS NULL OR p.end_us > ?2) AND EXISTS (SELECT 1 FROM care_accompaniments m "
          "WHERE m.youth_id = p.youth_id AND m.service_id = ?1 AND m.vouch NOT IN (1, 6) AND "
          "m.start_us <= ?2 AND (m.end_us IS NULL OR m.end_us > ?2)) ORDER BY p.start_us, p.id")));
  s.Bind(1, service_id).Bind(2, Us(now));
  std::vector<v1::Accompaniment> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Accompaniment a, RowToAccompaniment(c, s, now));
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::optional<v1::Accompaniment>> GetAccompaniment(Connection& c,
                                                                  absl::string_view id,
                                                                  absl::Time now) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                                       " FROM care_accompaniments WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToAccompaniment(c, s, now);
}

absl::StatusOr<std::vector<v1::Accompaniment>> ListAccompaniments(Connection& c,
                                                                  absl::string_view youth_id,
                                                                  absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 "
                                          "ORDER BY start_us, rowid")));
  s.Bind(1, youth_id);
  std::vector<v1::Accompaniment> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Accompaniment a, RowToAccompaniment(c, s, now));
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::optional<v1::Accompaniment>> ActiveAccompaniment(Connection& c,
                                                                     absl::string_view service_id,
                                                                     absl::string_view youth_id,
                                                                     absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 AND "
                                          "service_id = ?2 AND start_us <= ?3 AND "
                                          "(end_us IS NULL OR end_us > ?3) "
                                          "ORDER BY start_us DESC LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, service_id).Bind(3, Us(now));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToAccompaniment(c, s, now);
}

absl::StatusOr<bool> HasFutureAccompaniment(Connection& c, absl::string_view service_id,
                                            absl::string_view youth_id, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 "
                                          "AND service_id = ?2 AND start_us > ?3 LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, service_id).Bind(3, Us(now));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  return row;
}

absl::Status SetAccompanimentEnd(Connection& c, absl::string_view id, absl::Time end) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_accompaniments SET end_us = ?2 WHERE id = ?1"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kAccompanimentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, Us(end)).Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kAccompanimentMac, id);
}

absl::Status InsertHandover(Connection& c, const v1::Handover& h,
                            absl::string_view from_accompaniment_id) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO care_handovers (id, youth_id, from_service_id, to_service_id, "
                "from_accompaniment_id, reason, overlap_start_us, overlap_end_us, state, "
                "proposed_by, created_at_us, updated_at_us, text_sealed) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1)"));
  s.Bind(1, h.id()).Bind(2, h.youth_id()).Bind(3, h.from_service_id()).Bind(4, h.to_service_id());
  s.Bind(5, from_accompaniment_id).BindBlob(6, h.reason()).Bind(7, Us(h.overlap_start()));
  s.Bind(8, Us(h.overlap_end())).Bind(9, int64_t{h.state()}).Bind(10, h.proposed_by_member_id());
  s.Bind(11, Us(h.created_at())).Bind(12, Us(h.updated_at()));
  RETURN_IF_ERROR(s.Run());
  return storage::SetRowMac(c, kHandoverMac, h.id());
}

absl::Status UpdateHandover(Connection& c, const v1::Handover& h) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_handovers SET state = ?2, decided_by = ?3, "
                             "closing_reason = ?4, to_accompaniment_id = ?5, updated_at_us = ?6 "
                             "WHERE id = ?1"));
  s.Bind(1, h.id()).Bind(2, int64_t{h.state()}).BindOptional(3, h.decided_by_member_id());
  if (h.closing_reason().empty()) {
    s.BindNull(4);
  } else {
    s.BindBlob(4, h.closing_reason());  // sealed by the caller
  }
  s.BindOptional(5, h.to_accompaniment_id());
  s.Bind(6, Us(h.updated_at()));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, h.id()));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::InternalError("handover row vanished");
  return storage::SetRowMac(c, kHandoverMac, h.id());
}

absl::StatusOr<std::optional<v1::Handover>> GetHandover(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                                       " FROM care_handovers WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToHandover(c, s);
}

absl::StatusOr<std::string> HandoverFromAccompaniment(Connection& c,
                                                      absl::string_view handover_id) {
  RETURN_IF_ERROR(storage::CheckStoredRow(c, kHandoverMac, handover_id));
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT from_accompaniment_id FROM care_handovers "
                                          "WHERE id = ?1"));
  s.Bind(1, handover_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::InternalError("handover row vanished");
  return s.ColumnText(0);
}

absl::StatusOr<std::optional<v1::Handover>> FindOpenHandover(Connection& c,
                                                             absl::string_view youth_id,
                                                             absl::string_view from_service_id,
                                                             absl::string_view to_service_id,
                                                             absl::Time now) {
  // A proposal whose window has ended can never be accepted: it no longer
  // blocks a new one.
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE youth_id = ?1 AND "
                                          "from_service_id = ?2 AND to_service_id = ?3 AND "
                                          "(state = ?5 OR (state = ?4 AND overlap_end_us > ?6)) "
                                          "LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, from_service_id).Bind(3, to_service_id);
  s.Bind(4, int64_t{v1::HANDOVER_STATE_PROPOSED}).Bind(5, int64_t{v1::HANDOVER_STATE_ACCEPTED});
  s.Bind(6, Us(now));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToHandover(c, s);
}

absl::Status EraseHandoverText(Connection& c, absl::string_view youth_id) {
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT id FROM care_handovers WHERE youth_id = ?1"));
    q.Bind(1, youth_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.ColumnText(0));
    }
  }
  for (const std::string& id : ids) RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, id));
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_handovers SET reason = '', closing_reason = "
                             "CASE WHEN closing_reason IS NULL THEN NULL ELSE '' END "
                             "WHERE youth_id = ?1"));
  s.Bind(1, youth_id);
  RETURN_IF_ERROR(s.Run());
  for (const std::string& id : ids) RETURN_IF_ERROR(storage::SetRowMac(c, kHandoverMac, id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UnsealedHandoverText>> ListUnsealedHandoverText(Connection& c) {
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement q,
                     c.Prepare("SELECT id FROM care_handovers WHERE text_sealed = 0"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.ColumnText(0));
    }
  }
  std::vector<UnsealedHandoverText> out;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Handover> h, GetHandover(c, id));  // MAC checked
    if (!h.has_value()) return absl::InternalError("handover row vanished");
    out.push_back({h->id(), h->youth_id(), h->reason(), h->closing_reason()});
  }
  return out;
}

absl::Status StoreSealedHandoverText(Connection& c, absl::string_view id,
                                     absl::string_view sealed_reason,
                                     absl::string_view sealed_closing_reason) {
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, id));
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE care_handovers SET reason = ?2, "
                                          "closing_reason = CASE WHEN closing_reason IS NULL "
                                          "THEN NULL ELSE ?3 END, text_sealed = 1 "
                                          "WHERE id = ?1 AND text_sealed = 0"));
  s.Bind(1, id).BindBlob(2, sealed_reason).BindBlob(3, sealed_closing_reason);
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kHandoverMac, id);
}

absl::StatusOr<std::vector<v1::Handover>> ListHandovers(Connection& c,
                                                        absl::string_view service_id,
                                                        absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE (?1 = '' OR "
                                          "from_service_id = ?1 OR to_service_id = ?1) AND "
                                          "(?2 = '' OR youth_id = ?2) "
                                          "ORDER BY created_at_us, rowid")));
  // No LIMIT: callers page the whole list (rpc::TakePage) or need all of it
  // (export, ending an accompaniment); a cut-off would drop handovers silently.
  s.Bind(1, service_id).Bind(2, youth_id);
  std::vector<v1::Handover> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Handover h, RowToHandover(c, s));
    out.push_back(std::move(h));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Handover>> DueHandovers(Connection& c, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE state = ?1 AND "
                                          "overlap_end_us <= ?2 ORDER BY overlap_end_us")));
  s.Bind(1, int64_t{v1::HANDOVER_STATE_ACCEPTED}).Bind(2, Us(now));
  std::vector<v1::Handover> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Handover h, RowToHandover(c, s));
    out.push_back(std::move(h));
  }
  return out;
}

absl::Status InsertConsent(Connection& c, const v1::Consent& k) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO care_consents (id, youth_id, giver, guardian_id, youth_opinion, "
                "categories, all_non_special, purposes, valid_from_us, valid_until_us, "
                "recorded_by_member_id, recorded_by_service_id, recorded_at_us) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  s.Bind(1, k.id()).Bind(2, k.youth_id()).Bind(3, int64_t{k.giver()});
  s.BindOptional(4, k.guardian_id()).Bind(5, int64_t{k.youth_opinion()});
  s.Bind(6, JoinInts(k.categories())).Bind(7, int64_t{k.all_non_special_categories() ? 1 : 0});
  s.Bind(8, JoinInts(k.purposes())).Bind(9, Us(k.valid_from())).Bind(10, Us(k.valid_until()));
  s.Bind(11, k.recorded_by_member_id()).Bind(12, k.recorded_by_service_id());
  s.Bind(13, Us(k.recorded_at()));
  RETURN_IF_ERROR(s.Run());
  ASSIGN_OR_RETURN(Statement r, c.Prepare("INSERT INTO care_consent_recipients (consent_id, "
                                          "kind, target_id) VALUES (?1, ?2, ?3)"));
  for (const v1::Recipient& rec : k.recipients()) {
    r.Reset();
    r.Bind(1, k.id());
    if (rec.has_sector_id()) {
      r.Bind(2, "sector").Bind(3, rec.sector_id());
    } else {
      r.Bind(2, "service").Bind(3, rec.service_id());
    }
    RETURN_IF_ERROR(r.Run());
  }
  return storage::SetRowMac(c, kConsentMac, k.id());
}

absl::StatusOr<std::optional<v1::Consent>> GetConsent(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kConsentColumns, ", mac",
                                                       " FROM care_consents WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToConsent(c, s);
}

absl::StatusOr<std::vector<v1::Consent>> ListConsents(Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kConsentColumns, ", mac",
                                          " FROM care_consents WHERE youth_id = ?1 "
                                          "ORDER BY recorded_at_us, rowid")));
  s.Bind(1, youth_id);
  std::vector<v1::Consent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Consent k, RowToConsent(c, s));
    out.push_back(std::move(k));
  }
  return out;
}

absl::Status MarkConsentWithdrawn(Connection& c, absl::string_view id,
                                  absl::string_view member_id, absl::Time when) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_consents SET withdrawn_at_us = ?2, "
                             "withdrawn_by_member_id = ?3 WHERE id = ?1 AND "
                             "withdrawn_at_us IS NULL"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kConsentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, Us(when)).Bind(3, member_id).Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kConsentMac, id);
}

absl::StatusOr<std::vector<access::ConsentGrant>> ConsentsInForce(Connection& c,
                                                          absl::string_view youth_id,
                                                          absl::string_view service_id,
                                                          absl::string_view sector_id,
                                                          absl::Time now) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("SELECT DISTINCT k.id, k.recorded_at_us "
                "FROM care_consents k JOIN care_consent_recipients r ON r.consent_id = k.id "
                "WHERE k.youth_id = ?1 AND k.withdrawn_at_us IS NULL AND "
                "k.valid_from_us <= ?4 AND k.valid_until_us > ?4 AND "
                "((r.kind = 'service' AND r.target_id = ?2) OR "
                " (r.kind = 'sector' AND r.target_id = ?3)) ORDER BY k.recorded_at_us"));
  s.Bind(1, youth_id).Bind(2, service_id).Bind(3, sector_id).Bind(4, Us(now));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ids.push_back(s.ColumnText(0));
  }
  // The grant is built from the authenticated row (GetConsent checks its MAC,
  // recipients included), never from the columns the filter matched.
  std::vector<access::ConsentGrant> out;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Consent> k, GetConsent(c, id));
    if (!k.has_value()) return absl::InternalError("consent row vanished");
    access::ConsentGrant g;
    g.id = k->id();
    for (int v : k->categories()) g.categories.insert(v);
    g.all_non_special_categories = k->all_non_special_categories();
    for (int v : k->purposes()) g.purposes.insert(v);
    g.holder_service_id = k->recorded_by_service_id();
    out.push_back(std::move(g));
  }
  return out;
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
                   c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
                                          " FROM care_emergency_grants WHERE member_id = ?1 AND "
                                          "service_id = ?4 AND youth_id = ?2 AND opened_at_us <= "
                                          "?3 AND expires_at_us > ?3 ORDER BY position DESC "
                                          "LIMIT 1")));
  s.Bind(1, member_id).Bind(2, youth_id).Bind(3, Us(now)).Bind(4, service_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(SealedGrant g, RowToGrant(c, s));
  return g.grant.id();
}

absl::StatusOr<std::vector<SealedGrant>> ListEmergencyGrants(Connection& c, bool pending_only) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
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
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kGrantColumns, ", mac",
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
                             "expires_at_us = CASE WHEN ?2 = ?6 THEN MIN(expires_at_us, ?5) "
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
