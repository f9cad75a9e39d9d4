#ifndef RELAIS_STORAGE_ROW_MAC_H_
#define RELAIS_STORAGE_ROW_MAC_H_

// Authenticated access facts (issue #11, item 8). The rows the access decision
// reads carry a MAC (HMAC-SHA-256) under a key kept outside the database,
// derived from the master key (HKDF-SHA-256, label "relais-row-mac-v1"). A row
// inserted or edited in the database file by someone without the key, or a row
// with no MAC, is refused: PERMISSION_DENIED "integrity_violation", an error
// log naming the table and row id (never content), and a count per table.
//
// Canonical encoding, over which the MAC is computed (u64 = 8 bytes, big end):
//   "relais-row-mac-v1" 0x00 || u64 len || table || u64 len || row id
//   || u64 n || n x (0x00 for NULL | 0x01 || u64 len || value) || u64 len || extra
// Values are SQLite's text (or blob) form of each column, in the table's fixed
// column order; `extra` is content the row owns in another table (a consent's
// recipients), encoded by the same rules.
//
// Deletions are out of reach of a per-row MAC: a deleted row only narrows
// access, which the rule tolerates (deny by default).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/database.h"

namespace relais::storage {

// The reason code of a refused row (same text as rpc::ReasonCode of
// ACCESS_REASON_INTEGRITY_VIOLATION, so clients and the audit see it).
inline constexpr char kIntegrityViolation[] = "integrity_violation";

// Builds the canonical encoding of a list of values.
class CanonicalFields {
 public:
  CanonicalFields& AddNull();
  CanonicalFields& Add(absl::string_view value);
  // Columns [first, first + count) of the current row of `s`.
  CanonicalFields& AddColumns(const Statement& s, int first, int count);
  int count() const { return count_; }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  int count_ = 0;
};

// The row MAC keys: the current one (new MACs) and those derived from previous
// master keys (verify only, during a master key rotation). Immutable;
// thread-safe. Keys are wiped on destruction.
class RowMac {
 public:
  // `master_keys`: raw master key bytes (32 each), current first.
  // INVALID_ARGUMENT if empty or a key is not 32 bytes; INTERNAL if OpenSSL fails.
  static absl::StatusOr<std::shared_ptr<const RowMac>> Derive(
      const std::vector<absl::string_view>& master_keys);
  ~RowMac();
  RowMac(const RowMac&) = delete;
  RowMac& operator=(const RowMac&) = delete;

  // The MAC (32 bytes) under the current key.
  absl::StatusOr<std::string> Compute(absl::string_view table, absl::string_view row_id,
                                      const CanonicalFields& fields, absl::string_view extra) const;
  // Index of the key `mac` verifies under (0 = current), or -1. Constant-time
  // per key.
  int Verify(absl::string_view table, absl::string_view row_id, const CanonicalFields& fields,
             absl::string_view extra, absl::string_view mac) const;
  bool has_previous() const { return keys_.size() > 1; }

 private:
  RowMac() = default;
  std::vector<std::string> keys_;
};

// Makes `mac` the key of every connection of `db` (looked up by the database
// file) until the returned handle is destroyed. Call once the master keys are
// loaded, before serving. ALREADY_EXISTS if the file has a key bound already.
class RowMacBinding {
 public:
  ~RowMacBinding();
  RowMacBinding(const RowMacBinding&) = delete;
  RowMacBinding& operator=(const RowMacBinding&) = delete;

 private:
  friend absl::StatusOr<std::unique_ptr<RowMacBinding>> BindRowMac(
      Database& db, std::shared_ptr<const RowMac> mac);
  explicit RowMacBinding(std::string file) : file_(std::move(file)) {}
  std::string file_;
};
absl::StatusOr<std::unique_ptr<RowMacBinding>> BindRowMac(Database& db,
                                                          std::shared_ptr<const RowMac> mac);

// The number of names in a comma-separated column list, for MacTable.
constexpr int CountColumns(const char* columns) {
  int n = 1;
  for (const char* p = columns; *p != '\0'; ++p) n += *p == ',' ? 1 : 0;
  return n;
}

// A table whose rows carry a MAC in a `mac` BLOB column.
struct MacTable {
  const char* table;       // e.g. "care_consents"
  const char* key_column;  // the row id column, e.g. "id"
  const char* columns;     // the MAC'd columns, comma-separated, key column first
  int column_count;        // CountColumns(columns)
  // Content the row owns in other tables, canonically encoded, or null.
  absl::StatusOr<std::string> (*extra)(Connection& c, absl::string_view row_id) = nullptr;
};

// Checks the current row of `s`, which selected `t.columns` from column
// `first` on and the `mac` column right after them. PERMISSION_DENIED
// "integrity_violation" (logged and counted) on a missing or wrong MAC;
// INTERNAL if no key is bound to `c`'s database.
absl::Status CheckRow(Connection& c, const MacTable& t, const Statement& s, int first = 0,
                      absl::string_view extra = {});
// The same check of a row read earlier (one that spans several result rows,
// a row per joined part): `fields` holds its `t.columns`, `mac` its stored
// MAC (nullopt: NULL).
absl::Status CheckFields(Connection& c, const MacTable& t, absl::string_view row_id,
                         const CanonicalFields& fields, const std::optional<std::string>& mac,
                         absl::string_view extra = {});
// Reads row `row_id` of `t` and checks it as above. NOT_FOUND if it is absent.
// For writes that change a row: check before, SetRowMac after.
absl::Status CheckStoredRow(Connection& c, const MacTable& t, absl::string_view row_id);
// (Re)computes and stores the MAC of row `row_id` from what the row holds now,
// inside the caller's transaction.
absl::Status SetRowMac(Connection& c, const MacTable& t, absl::string_view row_id);

// Once per table (marker "row_mac:<table>" in schema_migrations): MACs every
// row without one, i.e. the rows written before the table had MACs. After
// that a row without a MAC is a violation. When the bound key has previous
// keys (a master key rotation), also re-MACs under the current key every row
// that verifies under a previous one (rows that verify under none are left to
// fail closed). One transaction.
absl::Status SealExistingRows(Database& db, const std::vector<MacTable>& tables);

// Violations seen since the process started, by table. Thread-safe.
std::map<std::string, int64_t> IntegrityViolationCounts();

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_ROW_MAC_H_
