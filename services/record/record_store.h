#ifndef RELAIS_SERVICES_RECORD_RECORD_STORE_H_
#define RELAIS_SERVICES_RECORD_RECORD_STORE_H_

// The record service's youth and entry tables (rec_youth, rec_guardians,
// rec_entries) and the only SQL that touches them; the GDPR request tables are
// in gdpr_store.h, the retention sweep's reads in retention_store.h.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/record.pb.h"
#include "services/record/record_api.h"
#include "storage/crypto/field_crypto.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::record::store {

std::vector<storage::Migration> Migrations();
// The same tables on PostgreSQL (record_schema_postgres.cc): one baseline step
// numbered like the last SQLite step, building what all of them build. Append
// each new step to both lists.
std::vector<storage::Migration> PostgresMigrations();

// The youth's access facts (restriction, legal hold, erasure, the creating
// service) carry a MAC (storage/row_mac.h) over these columns of rec_youth;
// every read of them checks it: PERMISSION_DENIED "integrity_violation".
inline constexpr char kYouthMacColumns[] = "id, restricted, erased, legal_hold, created_by_service";
inline constexpr storage::MacTable kYouthMac{"rec_youth", "id", kYouthMacColumns,
                                             storage::CountColumns(kYouthMacColumns)};
// MACs the youths written before migration 6 (once), or re-MACs them after a
// master key rotation; needs the row MAC key bound.
absl::Status SealExistingRows(storage::Database& db);

// FAILED_PRECONDITION if the database holds youth records written in plaintext
// by a build from before encryption at rest (there is no deployment to migrate:
// such a development database is recreated, never served half-readable).
absl::Status CheckNoPlaintextRecords(storage::Connection& c);

// Encryption at rest. The identity fields (rec_youth.display_name and
// date_of_birth, rec_guardians.display_name and relationship) and entry bodies
// (rec_entries.body) hold BLOBs sealed with the youth's data key
// (storage/crypto/field_crypto.h), each bound to its youth, field name and row
// id, and an entry's body also to the facts the access rule reads (author
// service, category, visibility). The national number is stored only as a
// keyed hash. Every other column is plaintext metadata (ids, enums, times).

// Creates the youth's data key, seals its identity fields and inserts the youth
// and its guardians. `national_hash` is empty or the keyed hash of the national
// register number.
absl::Status InsertYouth(storage::Connection& c, const storage::crypto::FieldCrypto& crypto,
                         const v1::Youth& youth, absl::string_view national_hash,
                         absl::string_view created_by_service);
// The youth with its identity fields opened. NOT_FOUND "record_erased" if its
// data key was destroyed; DATA_LOSS "ciphertext_mismatch" if a field does not
// open where it is stored.
absl::StatusOr<std::optional<v1::Youth>> GetYouth(storage::Connection& c,
                                                  const storage::crypto::FieldCrypto& crypto,
                                                  absl::string_view id);
// Opens only the date of birth. A youth whose data key was destroyed is
// reported erased, with an unknown (default) date of birth.
absl::StatusOr<std::optional<YouthFacts>> GetYouthFacts(storage::Connection& c,
                                                        const storage::crypto::FieldCrypto& crypto,
                                                        absl::string_view id);
// In two halves, for a caller that sends the youth's read with others
// (Statement::Send): its row, key and guardians (one statement), sent; then
// the facts. `key` (optional) gets the youth's data key when it was read and
// is intact.
struct YouthReads {
  storage::Statement youth;
};
absl::StatusOr<YouthReads> SendYouthFacts(storage::Connection& c, absl::string_view id);
absl::StatusOr<std::optional<YouthFacts>> GetYouthFacts(
    storage::Connection& c, const storage::crypto::FieldCrypto& crypto, absl::string_view id,
    YouthReads& sent, std::optional<storage::crypto::YouthKey>* key = nullptr);
absl::StatusOr<std::string> FindByNationalHash(storage::Connection& c,
                                               absl::string_view national_hash);

// An entry as stored: every field but the body in `entry` (whose body is
// empty), and the body still sealed. Opening it is a separate step so that only
// entries the access rule allowed are ever decrypted.
struct SealedEntry {
  v1::Entry entry;
  std::string sealed_body;
  // Erased by retention (EraseEntry): a tombstone with an empty body, which
  // OpenEntry refuses with NOT_FOUND "erased".
  bool erased = false;
};

// Entries are append-only: there is no update or delete. Seals the body with
// the youth's data key (NOT_FOUND "record_erased" if it was destroyed).
absl::Status InsertEntry(storage::Connection& c, const storage::crypto::FieldCrypto& crypto,
                         const v1::Entry& entry);
absl::StatusOr<std::optional<SealedEntry>> GetEntry(storage::Connection& c, absl::string_view id);
// An entry and its youth's facts, in one statement (GetEntry's reads). The
// youth's guardians are not read (guardian_ids stays empty): only recording a
// consent needs them, and a row per guardian would repeat the entry.
struct EntryAndYouth {
  std::optional<SealedEntry> entry;  // none: no such entry
  // The entry's youth, when there is an entry.
  absl::StatusOr<std::optional<YouthFacts>> youth = std::nullopt;
};
absl::StatusOr<EntryAndYouth> GetEntryAndYouth(storage::Connection& c,
                                               const storage::crypto::FieldCrypto& crypto,
                                               absl::string_view entry_id,
                                               std::optional<storage::crypto::YouthKey>* key);
// In two halves, for a caller that sends it with other reads (Statement::Send).
absl::StatusOr<storage::Statement> SendEntryAndYouth(storage::Connection& c,
                                                     absl::string_view entry_id);
absl::StatusOr<EntryAndYouth> GetEntryAndYouth(storage::Connection& c,
                                               const storage::crypto::FieldCrypto& crypto,
                                               storage::Statement& sent,
                                               std::optional<storage::crypto::YouthKey>* key);
// `key` must be the data key of the entry's youth. DATA_LOSS
// "ciphertext_mismatch" if the body stored on this row was not sealed for it.
absl::StatusOr<v1::Entry> OpenEntry(const storage::crypto::YouthKey& key, const SealedEntry& e);

// Entries of a youth with a position below `before_position` (0: from the
// newest), newest first, at most `limit`. `positions` receives each entry's
// position for paging. Entries a newer entry supersedes are left out unless
// `include_superseded`. Every entry read here and by GetEntry carries
// superseded_by_entry_id (the newest correction of it), if any.
// Which entries of a youth: empty fields filter nothing.
struct Thread {
  std::string handover_id;
  std::string concertation_id;  // a meeting's minutes
};
absl::StatusOr<std::vector<SealedEntry>> ListEntries(storage::Connection& c,
                                                     absl::string_view youth_id,
                                                     const Thread& thread, int64_t before_position,
                                                     int limit, std::vector<int64_t>* positions,
                                                     bool include_superseded = false);
// In two halves, for a caller that sends it with other reads (Statement::Send).
absl::StatusOr<storage::Statement> SendListEntries(storage::Connection& c,
                                                   absl::string_view youth_id, const Thread& thread,
                                                   int64_t before_position, int limit,
                                                   bool include_superseded);
absl::StatusOr<std::vector<SealedEntry>> ListEntries(storage::Statement& sent,
                                                     std::vector<int64_t>* positions);

// Every entry of a youth (superseded versions included) with a position above
// `after_position`, oldest first, at most `limit`: keyset paging for the
// export, which never holds a whole record. `positions` receives each
// entry's position; the last one is the next call's `after_position`.
absl::StatusOr<std::vector<SealedEntry>> EntriesAfter(storage::Connection& c,
                                                      absl::string_view youth_id,
                                                      int64_t after_position, int limit,
                                                      std::vector<int64_t>* positions);

// Changes to the youth row (GDPR art. 17/18). The youth row must exist.
enum class YouthFlag { kRestricted, kLegalHold };
absl::Status SetYouthFlag(storage::Connection& c, absl::string_view youth_id, YouthFlag flag,
                          bool value);

// Crypto-shredding inside the caller's transaction: destroys the youth's data
// key (storage::crypto::DestroyDataKey), marks the row erased and clears its
// sealed identity and national-number hash. Entries stay (append-only) but no
// longer open. The caller forgets the cached key after commit.
absl::Status EraseYouth(storage::Connection& c, absl::string_view youth_id, absl::Time now);

}  // namespace relais::record::store

#endif  // RELAIS_SERVICES_RECORD_RECORD_STORE_H_
