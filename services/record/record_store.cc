#include "services/record/record_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/record/record_store_internal.h"

namespace relais::record::store {
namespace {

using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;
using storage::crypto::FieldCrypto;
using storage::crypto::YouthKey;

// Field names in the AAD of each sealed column. Never rename one: values
// sealed under the old name would no longer open.
constexpr char kYouthName[] = "youth.display_name";
constexpr char kYouthBirth[] = "youth.date_of_birth";
constexpr char kGuardianName[] = "guardian.display_name";
constexpr char kGuardianRelationship[] = "guardian.relationship";
constexpr char kEntryBody[] = "entry.body";

// What an entry body is bound to besides its youth and id: the facts the
// access rule reads, so that editing them in the database (making a private
// entry shared, say) leaves a body that no longer opens.
std::string EntryBinding(const v1::Entry& e) {
  return absl::StrCat(e.author_service_id(), "|", static_cast<int>(e.category()), "|",
                      static_cast<int>(e.visibility()));
}

// Qualified: GetEntryAndYouth joins tables with columns of the same names.
constexpr char kEntryColumns[] =
    "rec_entries.position, rec_entries.id, rec_entries.youth_id, rec_entries.author_member_id, "
    "rec_entries.author_service_id, rec_entries.kind, rec_entries.category, "
    "rec_entries.visibility, rec_entries.body, rec_entries.supersedes_entry_id, "
    "rec_entries.handover_id, rec_entries.created_at_us, "
    "(SELECT n.id FROM rec_entries n WHERE n.supersedes_entry_id = rec_entries.id "
    "ORDER BY n.position DESC LIMIT 1), rec_entries.erased_at_us IS NOT NULL, "
    "rec_entries.concertation_id";
constexpr int kEntryColumnCount = 15;

SealedEntry RowToEntry(const Statement& s) {
  SealedEntry sealed;
  v1::Entry& e = sealed.entry;
  e.set_id(s.ColumnText(1));
  e.set_youth_id(s.ColumnText(2));
  e.set_author_member_id(s.ColumnText(3));
  e.set_author_service_id(s.ColumnText(4));
  e.set_kind(static_cast<v1::EntryKind>(s.ColumnInt64(5)));
  e.set_category(static_cast<v1::DataCategory>(s.ColumnInt64(6)));
  e.set_visibility(static_cast<v1::Visibility>(s.ColumnInt64(7)));
  sealed.sealed_body = s.ColumnBlob(8);
  e.set_supersedes_entry_id(s.ColumnText(9));
  e.set_handover_id(s.ColumnText(10));
  SetTs(e.mutable_created_at(), s.ColumnInt64(11));
  e.set_superseded_by_entry_id(s.ColumnText(12));
  sealed.erased = s.ColumnInt64(13) != 0;
  e.set_concertation_id(s.ColumnText(14));
  return sealed;
}

}  // namespace

// table: every migration of the rec_* tables, in order.
std::vector<storage::Migration> Migrations() {
  return {{1, R"sql(
CREATE TABLE rec_youth (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  date_of_birth TEXT NOT NULL,
  national_hash TEXT UNIQUE,
  restricted INTEGER NOT NULL DEFAULT 0,
  erased INTEGER NOT NULL DEFAULT 0,
  created_by_service TEXT NOT NULL,
  created_at_us INTEGER NOT NULL
);
CREATE TABLE rec_guardians (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL REFERENCES rec_youth(id),
  display_name TEXT NOT NULL,
  relationship TEXT
);
CREATE INDEX rec_guardians_by_youth ON rec_guardians(youth_id);
CREATE TABLE rec_entries (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  youth_id TEXT NOT NULL REFERENCES rec_youth(id),
  author_member_id TEXT NOT NULL,
  author_service_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  category INTEGER NOT NULL,
  visibility INTEGER NOT NULL,
  body BLOB NOT NULL,
  supersedes_entry_id TEXT REFERENCES rec_entries(id),
  handover_id TEXT,
  created_at_us INTEGER NOT NULL
);
CREATE INDEX rec_entries_by_youth ON rec_entries(youth_id, position);
-- Append-only: corrections are new entries that supersede.
CREATE TRIGGER rec_entries_no_update BEFORE UPDATE ON rec_entries
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
)sql"},
          // Encryption at rest: the sealed columns above keep their names and
          // hold BLOBs; the youths' wrapped data keys live here.
          {2, storage::crypto::kDataKeyTableSql},
          // GDPR: legal holds, and the history of restrictions, holds and
          // erasures. Reasons are sealed with the youth's data key (field
          // "gdpr.reason", bound to the change id); an erasure stores none.
          {3, R"sql(
ALTER TABLE rec_youth ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
CREATE TABLE rec_gdpr_changes (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  youth_id TEXT NOT NULL REFERENCES rec_youth(id),
  kind TEXT NOT NULL,
  reason BLOB,
  member_id TEXT NOT NULL,
  service_id TEXT NOT NULL,
  at_us INTEGER NOT NULL
);
CREATE INDEX rec_gdpr_changes_by_youth ON rec_gdpr_changes(youth_id, position);
CREATE TRIGGER rec_gdpr_changes_no_update BEFORE UPDATE ON rec_gdpr_changes
BEGIN SELECT RAISE(ABORT, 'gdpr changes are append-only'); END;
-- Rectification: finding an entry's correction.
CREATE INDEX rec_entries_by_supersedes ON rec_entries(supersedes_entry_id);
)sql"},
          // Retention: an entry past its category's period is erased on its
          // own (body overwritten, erased_at_us set); the row stays as a
          // tombstone. That is the only update an entry ever allows.
          {4, R"sql(
ALTER TABLE rec_entries ADD COLUMN erased_at_us INTEGER;
DROP TRIGGER rec_entries_no_update;
CREATE TRIGGER rec_entries_no_update BEFORE UPDATE ON rec_entries
WHEN NOT (OLD.erased_at_us IS NULL AND NEW.erased_at_us IS NOT NULL AND NEW.body = x''
          AND NEW.id = OLD.id AND NEW.youth_id = OLD.youth_id
          AND NEW.author_member_id = OLD.author_member_id
          AND NEW.author_service_id = OLD.author_service_id AND NEW.kind = OLD.kind
          AND NEW.category = OLD.category AND NEW.visibility = OLD.visibility
          AND NEW.supersedes_entry_id IS OLD.supersedes_entry_id
          AND NEW.handover_id IS OLD.handover_id AND NEW.created_at_us = OLD.created_at_us
          AND NEW.position = OLD.position)
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
)sql"},
          // Four-eyes erasure and two-person full export. States are the
          // proto enums' numbers; reasons are sealed with the youth's key.
          {5, R"sql(
CREATE TABLE rec_erasure_requests (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  youth_id TEXT NOT NULL REFERENCES rec_youth(id),
  state INTEGER NOT NULL,
  reason BLOB NOT NULL,
  requested_by_member TEXT NOT NULL,
  requested_by_service TEXT NOT NULL,
  requested_at_us INTEGER NOT NULL,
  restricted_by_request INTEGER NOT NULL,
  approved_by_member TEXT,
  approved_by_service TEXT,
  approved_at_us INTEGER,
  execute_after_us INTEGER,
  executed_at_us INTEGER,
  cancelled_by_member TEXT,
  cancelled_by_service TEXT,
  cancelled_at_us INTEGER,
  cancel_reason BLOB,
  cancel_reason_code TEXT
);
CREATE INDEX rec_erasure_requests_by_youth ON rec_erasure_requests(youth_id, position);
CREATE INDEX rec_erasure_requests_due ON rec_erasure_requests(state, execute_after_us);
CREATE TABLE rec_full_exports (
  id TEXT PRIMARY KEY,
  youth_id TEXT NOT NULL REFERENCES rec_youth(id),
  state INTEGER NOT NULL,
  reason BLOB NOT NULL,
  requested_by_member TEXT NOT NULL,
  requested_by_service TEXT NOT NULL,
  requested_at_us INTEGER NOT NULL,
  approved_by_member TEXT,
  approved_at_us INTEGER,
  used_at_us INTEGER
);
)sql"},
          // Authenticated access facts (issue #11): rec_youth's flags carry a
          // MAC, filled for existing rows by SealExistingRows().
          {6, R"sql(
ALTER TABLE rec_youth ADD COLUMN mac BLOB;
)sql"},
          // Concertation meetings (issue #14): the meeting whose minutes an
          // entry is part of, fixed like the rest of the entry.
          {7, R"sql(
ALTER TABLE rec_entries ADD COLUMN concertation_id TEXT;
CREATE INDEX rec_entries_by_concertation ON rec_entries(concertation_id)
  WHERE concertation_id IS NOT NULL;
DROP TRIGGER rec_entries_no_update;
CREATE TRIGGER rec_entries_no_update BEFORE UPDATE ON rec_entries
WHEN NOT (OLD.erased_at_us IS NULL AND NEW.erased_at_us IS NOT NULL AND NEW.body = x''
          AND NEW.id = OLD.id AND NEW.youth_id = OLD.youth_id
          AND NEW.author_member_id = OLD.author_member_id
          AND NEW.author_service_id = OLD.author_service_id AND NEW.kind = OLD.kind
          AND NEW.category = OLD.category AND NEW.visibility = OLD.visibility
          AND NEW.supersedes_entry_id IS OLD.supersedes_entry_id
          AND NEW.handover_id IS OLD.handover_id AND NEW.created_at_us = OLD.created_at_us
          AND NEW.concertation_id IS OLD.concertation_id AND NEW.position = OLD.position)
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
)sql"},
          // Look-ups by national number (LookupLimiter), counted in the
          // database so that every instance and a restart see them.
          {8, R"sql(
CREATE TABLE rec_lookups (member_id TEXT NOT NULL, at_us INTEGER NOT NULL);
CREATE INDEX rec_lookups_by_member ON rec_lookups(member_id, at_us);
CREATE INDEX rec_lookups_by_time ON rec_lookups(at_us);
)sql"}};
}

absl::Status SealExistingRows(storage::Database& db) {
  return storage::SealExistingRows(db, {kYouthMac});
}

namespace {
// Before a write changes the youth's row: it must be authentic.
absl::Status CheckBeforeUpdate(Connection& c, absl::string_view youth_id) {
  absl::Status s = storage::CheckStoredRow(c, kYouthMac, youth_id);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}
}  // namespace

absl::Status CheckNoPlaintextRecords(Connection& c) {
  // PostgreSQL support came after encryption at rest, and its columns are
  // BYTEA: it cannot hold a plaintext record.
  if (c.backend() == storage::Backend::kPostgres) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM rec_youth WHERE "
                                          "typeof(display_name) <> 'blob'"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row && s.ColumnInt64(0) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database holds ", s.ColumnInt64(0),
                     " youth records written in plaintext by a build without encryption at rest; "
                     "start from a new database"));
  }
  return absl::OkStatus();
}

absl::Status InsertYouth(Connection& c, const FieldCrypto& crypto, const v1::Youth& y,
                         absl::string_view national_hash, absl::string_view created_by_service) {
  ASSIGN_OR_RETURN(YouthKey key,
                   crypto.CreateDataKey(c, y.id(), absl::FromUnixMicros(Us(y.created_at()))));
  ASSIGN_OR_RETURN(std::string name, key.Seal({kYouthName, y.id()}, y.display_name()));
  ASSIGN_OR_RETURN(std::string birth, key.Seal({kYouthBirth, y.id()}, y.date_of_birth()));
  ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO rec_youth (id, display_name, date_of_birth, "
                                          "national_hash, created_by_service, created_at_us) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  s.Bind(1, y.id()).BindBlob(2, name).BindBlob(3, birth);
  s.BindOptional(4, national_hash).Bind(5, created_by_service).Bind(6, Us(y.created_at()));
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(storage::SetRowMac(c, kYouthMac, y.id()));
  ASSIGN_OR_RETURN(Statement g, c.Prepare("INSERT INTO rec_guardians (id, youth_id, "
                                          "display_name, relationship) VALUES (?1, ?2, ?3, ?4)"));
  for (const v1::Guardian& gd : y.guardians()) {
    ASSIGN_OR_RETURN(std::string gname, key.Seal({kGuardianName, gd.id()}, gd.display_name()));
    ASSIGN_OR_RETURN(std::string relationship,
                     key.Seal({kGuardianRelationship, gd.id()}, gd.relationship()));
    g.Reset();
    g.Bind(1, gd.id()).Bind(2, y.id()).BindBlob(3, gname).BindBlob(4, relationship);
    RETURN_IF_ERROR(g.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Youth>> GetYouth(Connection& c, const FieldCrypto& crypto,
                                                  absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT id, display_name, date_of_birth, restricted, "
                                          "created_at_us, ",
                                          kYouthMacColumns, ", mac FROM rec_youth WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  RETURN_IF_ERROR(storage::CheckRow(c, kYouthMac, s, 5));
  ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, id));
  v1::Youth y;
  y.set_id(s.ColumnText(0));
  ASSIGN_OR_RETURN(*y.mutable_display_name(), key.Open({kYouthName, y.id()}, s.ColumnBlob(1)));
  ASSIGN_OR_RETURN(*y.mutable_date_of_birth(), key.Open({kYouthBirth, y.id()}, s.ColumnBlob(2)));
  y.set_restricted(s.ColumnInt64(3) != 0);
  SetTs(y.mutable_created_at(), s.ColumnInt64(4));
  ASSIGN_OR_RETURN(Statement g, c.Prepare("SELECT id, display_name, relationship FROM "
                                          "rec_guardians WHERE youth_id = ?1 ORDER BY rowid"));
  g.Bind(1, id);
  while (true) {
    ASSIGN_OR_RETURN(bool more, g.Step());
    if (!more) break;
    v1::Guardian* gd = y.add_guardians();
    gd->set_id(g.ColumnText(0));
    ASSIGN_OR_RETURN(*gd->mutable_display_name(),
                     key.Open({kGuardianName, gd->id()}, g.ColumnBlob(1)));
    ASSIGN_OR_RETURN(*gd->mutable_relationship(),
                     key.Open({kGuardianRelationship, gd->id()}, g.ColumnBlob(2)));
  }
  return y;
}

absl::StatusOr<std::optional<YouthFacts>> GetYouthFacts(Connection& c, const FieldCrypto& crypto,
                                                        absl::string_view id) {
  ASSIGN_OR_RETURN(YouthReads sent, SendYouthFacts(c, id));
  return GetYouthFacts(c, crypto, id, sent);
}

namespace {

// A youth's facts as columns of tables joined as y (rec_youth), k
// (rec_data_keys) and, `with_guardians`, g (rec_guardians): the youth's, its
// MAC's, the key's, a guardian. A row per guardian (in no particular order),
// or one without when it has none.
constexpr int kFactsMacFirst = 5;
constexpr int kFactsKeyRow = kFactsMacFirst + kYouthMac.column_count + 1;
constexpr int kFactsGuardian = kFactsKeyRow + 3;
std::string YouthFactsColumns(bool with_guardians) {
  return absl::StrCat(
      "y.date_of_birth, y.restricted, y.erased, y.legal_hold, y.created_by_service, ",
      absl::StrJoin(
          absl::StrSplit(kYouthMacColumns, ", "), ", ",
          [](std::string* out, absl::string_view column) { absl::StrAppend(out, "y.", column); }),
      ", y.mac, k.youth_id, k.master_key_id, k.wrapped_key", with_guardians ? ", g.id" : "");
}
// The joins for YouthFactsColumns, on the youth id `youth_id` (an SQL expression).
std::string YouthFactsJoins(absl::string_view youth_id, bool with_guardians) {
  return absl::StrCat(
      " LEFT JOIN rec_data_keys k ON k.youth_id = ", youth_id,
      with_guardians ? absl::StrCat(" LEFT JOIN rec_guardians g ON g.youth_id = ", youth_id) : "");
}

// The facts from the row `s` is on, its columns from `first`, stepping through
// the rows after it (its guardians, when read). No youth when its columns are
// null.
absl::StatusOr<std::optional<YouthFacts>> YouthFactsFrom(Connection& c, const FieldCrypto& crypto,
                                                         Statement& s, int first,
                                                         bool with_guardians,
                                                         std::optional<YouthKey>* key_out) {
  if (s.ColumnIsNull(first + kFactsMacFirst)) return std::nullopt;
  RETURN_IF_ERROR(storage::CheckRow(c, kYouthMac, s, first + kFactsMacFirst));
  YouthFacts f;
  f.id = s.ColumnText(first + kFactsMacFirst);
  f.restricted = s.ColumnInt64(first + 1) != 0;
  f.erased = s.ColumnInt64(first + 2) != 0;
  f.legal_hold = s.ColumnInt64(first + 3) != 0;
  f.created_by_service_id = s.ColumnText(first + 4);
  if (f.erased) return f;  // the key is destroyed in the same transaction
  absl::StatusOr<YouthKey> key = crypto.KeyFromColumns(s, first + kFactsKeyRow + 1,
                                                       !s.ColumnIsNull(first + kFactsKeyRow), f.id);
  if (key.status().code() == absl::StatusCode::kNotFound) {
    // Crypto-shredded: nothing of the youth can be read any more, whatever the
    // erased column says. The date of birth stays unknown (default).
    f.erased = true;
  } else {
    RETURN_IF_ERROR(key.status());
    ASSIGN_OR_RETURN(std::string dob, key->Open({kYouthBirth, f.id}, s.ColumnBlob(first)));
    if (!absl::ParseCivilTime(dob, &f.date_of_birth)) {
      return absl::DataLossError("stored date of birth does not parse");
    }
    if (key_out != nullptr) *key_out = *std::move(key);
  }
  for (bool row = true; row;) {
    if (with_guardians && !s.ColumnIsNull(first + kFactsGuardian)) {
      f.guardian_ids.push_back(s.ColumnText(first + kFactsGuardian));
    }
    ASSIGN_OR_RETURN(row, s.Step());
  }
  return f;
}

}  // namespace

absl::StatusOr<YouthReads> SendYouthFacts(Connection& c, absl::string_view id) {
  static const std::string* const kSql = new std::string(
      absl::StrCat("SELECT ", YouthFactsColumns(/*with_guardians=*/true), " FROM rec_youth y",
                   YouthFactsJoins("y.id", /*with_guardians=*/true), " WHERE y.id = ?1"));
  ASSIGN_OR_RETURN(Statement s, c.Prepare(*kSql));
  s.Bind(1, id);
  RETURN_IF_ERROR(s.Send());
  return YouthReads{std::move(s)};
}

absl::StatusOr<std::optional<YouthFacts>> GetYouthFacts(Connection& c, const FieldCrypto& crypto,
                                                        absl::string_view, YouthReads& sent,
                                                        std::optional<YouthKey>* key_out) {
  ASSIGN_OR_RETURN(bool row, sent.youth.Step());
  if (!row) return std::nullopt;
  return YouthFactsFrom(c, crypto, sent.youth, 0, /*with_guardians=*/true, key_out);
}

absl::StatusOr<EntryAndYouth> GetEntryAndYouth(Connection& c, const FieldCrypto& crypto,
                                               absl::string_view entry_id,
                                               std::optional<YouthKey>* key_out) {
  ASSIGN_OR_RETURN(Statement s, SendEntryAndYouth(c, entry_id));
  return GetEntryAndYouth(c, crypto, s, key_out);
}

absl::StatusOr<Statement> SendEntryAndYouth(Connection& c, absl::string_view entry_id) {
  static const std::string* const kSql = new std::string(
      absl::StrCat("SELECT ", kEntryColumns, ", ", YouthFactsColumns(/*with_guardians=*/false),
                   " FROM rec_entries LEFT JOIN rec_youth y ON y.id = rec_entries.youth_id",
                   YouthFactsJoins("rec_entries.youth_id", /*with_guardians=*/false),
                   " WHERE rec_entries.id = ?1"));
  ASSIGN_OR_RETURN(Statement s, c.Prepare(*kSql));
  s.Bind(1, entry_id);
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<EntryAndYouth> GetEntryAndYouth(Connection& c, const FieldCrypto& crypto,
                                               Statement& sent, std::optional<YouthKey>* key_out) {
  EntryAndYouth out;
  ASSIGN_OR_RETURN(bool row, sent.Step());
  if (!row) return out;
  out.entry = RowToEntry(sent);
  out.youth = YouthFactsFrom(c, crypto, sent, kEntryColumnCount, /*with_guardians=*/false, key_out);
  return out;
}

absl::StatusOr<std::string> FindByNationalHash(Connection& c, absl::string_view national_hash) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT id FROM rec_youth WHERE national_hash = ?1"));
  s.Bind(1, national_hash);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::string();
  return s.ColumnText(0);
}

absl::Status InsertEntry(Connection& c, const FieldCrypto& crypto, const v1::Entry& e) {
  ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, e.youth_id()));
  const std::string binding = EntryBinding(e);
  ASSIGN_OR_RETURN(std::string body, key.Seal({kEntryBody, e.id(), binding}, e.body()));
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO rec_entries (id, youth_id, author_member_id, author_service_id, "
                "kind, category, visibility, body, supersedes_entry_id, handover_id, "
                "created_at_us, concertation_id) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  s.Bind(1, e.id()).Bind(2, e.youth_id()).Bind(3, e.author_member_id());
  s.Bind(4, e.author_service_id()).Bind(5, int64_t{e.kind()}).Bind(6, int64_t{e.category()});
  s.Bind(7, int64_t{e.visibility()}).BindBlob(8, body);
  s.BindOptional(9, e.supersedes_entry_id()).BindOptional(10, e.handover_id());
  s.Bind(11, Us(e.created_at())).BindOptional(12, e.concertation_id());
  return s.Post();  // in a write group: travels with what follows (the audit event)
}

absl::StatusOr<std::optional<SealedEntry>> GetEntry(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kEntryColumns,
                                                       " FROM rec_entries WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToEntry(s);
}

absl::StatusOr<v1::Entry> OpenEntry(const YouthKey& key, const SealedEntry& sealed) {
  if (key.youth_id() != sealed.entry.youth_id()) {
    return absl::InternalError("entry opened with another youth's key");
  }
  if (sealed.erased) {
    return common::NotFound("erased", "the entry was erased (retention)");
  }
  v1::Entry e = sealed.entry;
  const std::string binding = EntryBinding(e);
  ASSIGN_OR_RETURN(*e.mutable_body(), key.Open({kEntryBody, e.id(), binding}, sealed.sealed_body));
  return e;
}

absl::StatusOr<std::vector<SealedEntry>> ListEntries(Connection& c, absl::string_view youth_id,
                                                     const Thread& thread, int64_t before_position,
                                                     int limit, std::vector<int64_t>* positions,
                                                     bool include_superseded) {
  ASSIGN_OR_RETURN(Statement s, SendListEntries(c, youth_id, thread, before_position, limit,
                                                include_superseded));
  return ListEntries(s, positions);
}

absl::StatusOr<Statement> SendListEntries(Connection& c, absl::string_view youth_id,
                                          const Thread& thread, int64_t before_position, int limit,
                                          bool include_superseded) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kEntryColumns,
                                          " FROM rec_entries WHERE youth_id = ?1 AND "
                                          "(?2 = 0 OR position < ?2) AND "
                                          "(?3 = '' OR handover_id = ?3) AND "
                                          "(?6 = '' OR concertation_id = ?6) AND "
                                          "(?5 = 1 OR NOT EXISTS (SELECT 1 FROM rec_entries n "
                                          "WHERE n.supersedes_entry_id = rec_entries.id)) "
                                          "ORDER BY position DESC LIMIT ?4")));
  s.Bind(1, youth_id).Bind(2, before_position).Bind(3, thread.handover_id);
  s.Bind(4, int64_t{limit}).Bind(5, int64_t{include_superseded ? 1 : 0});
  s.Bind(6, thread.concertation_id);
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<std::vector<SealedEntry>> ListEntries(Statement& sent,
                                                     std::vector<int64_t>* positions) {
  std::vector<SealedEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, sent.Step());
    if (!row) break;
    positions->push_back(sent.ColumnInt64(0));
    out.push_back(RowToEntry(sent));
  }
  return out;
}

absl::StatusOr<std::vector<SealedEntry>> EntriesAfter(Connection& c, absl::string_view youth_id,
                                                      int64_t after_position, int limit,
                                                      std::vector<int64_t>* positions) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kEntryColumns,
                                          " FROM rec_entries WHERE youth_id = ?1 AND "
                                          "position > ?2 ORDER BY position LIMIT ?3")));
  s.Bind(1, youth_id).Bind(2, after_position).Bind(3, int64_t{limit});
  std::vector<SealedEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    positions->push_back(s.ColumnInt64(0));
    out.push_back(RowToEntry(s));
  }
  return out;
}

absl::Status SetYouthFlag(Connection& c, absl::string_view youth_id, YouthFlag flag, bool value) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(flag == YouthFlag::kRestricted
                                 ? "UPDATE rec_youth SET restricted = ?2 WHERE id = ?1"
                                 : "UPDATE rec_youth SET legal_hold = ?2 WHERE id = ?1"));
  s.Bind(1, youth_id).Bind(2, int64_t{value ? 1 : 0});
  RETURN_IF_ERROR(CheckBeforeUpdate(c, youth_id));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kYouthMac, youth_id);
}

absl::Status EraseYouth(Connection& c, absl::string_view youth_id, absl::Time now) {
  RETURN_IF_ERROR(storage::crypto::DestroyDataKey(c, youth_id, now));
  // The tombstone keeps the id (audit events and care rows refer to it); the
  // sealed identity is dropped too, although it no longer opens, and the
  // national-number hash goes so that FindYouth no longer finds it.
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE rec_youth SET erased = 1, restricted = 0, "
                             "national_hash = NULL, display_name = ?2, date_of_birth = ?2 "
                             "WHERE id = ?1"));
  s.Bind(1, youth_id).BindBlob(2, "");
  RETURN_IF_ERROR(CheckBeforeUpdate(c, youth_id));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() == 1) RETURN_IF_ERROR(storage::SetRowMac(c, kYouthMac, youth_id));
  ASSIGN_OR_RETURN(Statement g, c.Prepare("UPDATE rec_guardians SET display_name = ?2, "
                                          "relationship = ?2 WHERE youth_id = ?1"));
  g.Bind(1, youth_id).BindBlob(2, "");
  return g.Run();
}

}  // namespace relais::record::store
