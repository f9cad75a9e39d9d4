#ifndef RELAIS_STORAGE_CRYPTO_FIELD_CRYPTO_H_
#define RELAIS_STORAGE_CRYPTO_FIELD_CRYPTO_H_

// Encryption of fields at rest with per-youth data keys (envelope encryption).
//
// Every youth has one data key: 32 random bytes that seal that youth's entry
// bodies and identity fields with AES-256-GCM. The data key is stored only
// wrapped (sealed) by a master key, in the table below, which the record
// service owns and creates in its migrations. Destroying the wrapped key
// (crypto-shredding) makes every ciphertext of that youth unreadable, in the
// live database and in every backup, without touching the ciphertexts.
//
// Formats (all integers are single bytes; "||" is concatenation):
//   sealed field  = 0x01 || nonce(12) || AES-256-GCM(data key, plaintext) || tag(16)
//       AAD       = "relais-field-v1|" youth_id "|" field "|" row_id "|" binding
//   wrapped key   = 0x01 || nonce(12) || AES-256-GCM(master key, data key)(32) || tag(16)
//       AAD       = "relais-dek-v1|" youth_id "|" master_key_id
// The leading byte is the format version. The data key needs no reference in
// the sealed field: it is the key of the youth named in the AAD. The master key
// id is stored beside the wrapped key (rec_data_keys.master_key_id) and bound
// by its AAD. Because the AAD names the youth, the field and the row (and, for
// entries, the facts the access rule reads), a ciphertext copied onto another
// row, field or youth does not open: DATA_LOSS "ciphertext_mismatch".

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/crypto/aead.h"
#include "storage/crypto/master_key.h"
#include "storage/database.h"

namespace relais::storage::crypto {

// The data-key table, for the record service's migrations (and tests). Frozen:
// a change is a new migration, never an edit. A destroyed key keeps its row,
// with wrapped_key and master_key_id NULL, so that "erased" stays
// distinguishable from "never had a key" (corruption).
inline constexpr char kDataKeyTableSql[] = R"sql(
CREATE TABLE rec_data_keys (
  youth_id TEXT PRIMARY KEY,
  master_key_id TEXT,
  wrapped_key BLOB,
  created_at_us INTEGER NOT NULL,
  destroyed_at_us INTEGER
);
)sql";

inline constexpr unsigned char kFormatV1 = 0x01;

// Where a sealed value lives. `field` and `row_id` must not contain '|';
// `binding` (last in the AAD) may hold anything.
struct FieldRef {
  absl::string_view field;   // e.g. "entry.body", "youth.display_name"
  absl::string_view row_id;  // the id of the row holding it (entry, youth, guardian)
  // Other facts of the row that must not change under the ciphertext (for an
  // entry: its author service, category and visibility), or empty.
  absl::string_view binding = {};
};

// One youth's data key, unwrapped, to seal or open several of that youth's
// fields. Move-only; the key is wiped when this object goes. Keep it no longer
// than the request that needed it. Thread-compatible.
class YouthKey {
 public:
  YouthKey(YouthKey&&) = default;
  YouthKey& operator=(YouthKey&&) = default;

  const std::string& youth_id() const { return youth_id_; }

  // INVALID_ARGUMENT if a part of `ref` holds '|'; INTERNAL if OpenSSL fails.
  absl::StatusOr<std::string> Seal(const FieldRef& ref, absl::string_view plaintext) const;
  // DATA_LOSS "ciphertext_mismatch" if `sealed` is not a v1 value sealed for
  // exactly this youth, field, row and binding under this key, or was altered.
  absl::StatusOr<std::string> Open(const FieldRef& ref, absl::string_view sealed) const;

 private:
  friend class FieldCrypto;
  YouthKey(std::string youth_id, SecretKey key)
      : youth_id_(std::move(youth_id)), key_(std::move(key)) {}
  std::string youth_id_;
  SecretKey key_;
};

// Wraps `data_key` for `youth_id` under `master`. Format above.
absl::StatusOr<std::string> WrapDataKey(const MasterKey& master, absl::string_view youth_id,
                                        const SecretKey& data_key);
// DATA_LOSS "ciphertext_mismatch" if `wrapped` was not wrapped for this youth
// under this master key, or was altered.
absl::StatusOr<SecretKey> UnwrapDataKey(const MasterKey& master, absl::string_view youth_id,
                                        absl::string_view wrapped);

struct FieldCryptoOptions {
  // Unwrapped data keys kept in memory, least recently used evicted first.
  size_t cache_capacity = 64;
  // A cached key is dropped (and wiped) this long after it was unwrapped.
  absl::Duration cache_ttl = absl::Minutes(5);
};

// Creates, finds and unwraps data keys in rec_data_keys. Thread-safe: the
// connection passed to each call is the caller's (inside its transaction).
//
// Unwrapped keys are cached, but a cached key is used only if the row read in
// the caller's transaction still holds the very wrapped key it came from: a
// destroyed or re-wrapped key is never served from the cache.
class FieldCrypto {
 public:
  explicit FieldCrypto(MasterKeyRing ring, FieldCryptoOptions options = FieldCryptoOptions());
  ~FieldCrypto();

  // Makes a fresh data key for `youth_id`, stores it wrapped under the current
  // master key, and returns it. Call inside the transaction that creates the
  // youth. ALREADY_EXISTS if the youth has (or had) a data key.
  absl::StatusOr<YouthKey> CreateDataKey(Connection& c, absl::string_view youth_id,
                                         absl::Time now) const;

  // The youth's data key as stored in `c`'s snapshot.
  //   NOT_FOUND "record_erased"            the key was destroyed (DestroyDataKey);
  //   DATA_LOSS "data_key_missing"         the youth has no key row;
  //   FAILED_PRECONDITION "unknown_master_key"  wrapped under a master key this
  //                                        process was not given;
  //   DATA_LOSS "ciphertext_mismatch"      the wrapped key was altered or moved.
  absl::StatusOr<YouthKey> KeyFor(Connection& c, absl::string_view youth_id) const;
  // KeyFor in two halves, for a caller that sends the key's read together
  // with others (Statement::Send): the read, sent; then the key it found.
  static absl::StatusOr<Statement> SendKeyRead(Connection& c, absl::string_view youth_id);
  absl::StatusOr<YouthKey> KeyFrom(Statement& sent, absl::string_view youth_id) const;
  // The key from the current row of a query that joined the youth's key row:
  // `key_row` says whether there was one; `wrapped_key` null means destroyed.
  // Its columns, from `first`: master_key_id, wrapped_key.
  absl::StatusOr<YouthKey> KeyFromColumns(const Statement& row, int first, bool key_row,
                                          absl::string_view youth_id) const;

  // Drops (and wipes) the cached key of `youth_id`, if any. Call after
  // destroying it; correctness does not depend on it (see above).
  void Forget(absl::string_view youth_id) const;
  // Drops (and wipes) every cached key past its TTL. Call periodically.
  void PurgeExpired() const;
  size_t cached_keys() const;

  const MasterKeyRing& ring() const { return ring_; }

 private:
  struct CacheEntry {
    std::string youth_id;
    std::string wrapped;
    SecretKey key;
    absl::Time expires;
  };
  void PurgeExpiredLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MasterKeyRing ring_;
  const FieldCryptoOptions options_;
  mutable absl::Mutex mu_;
  // Front: most recently used.
  mutable std::list<CacheEntry> lru_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, std::list<CacheEntry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
};

// Crypto-shredding: overwrites the youth's wrapped data key with zeros, then
// clears it, keeping a tombstone row (destroyed_at_us), inside the caller's
// transaction. Once committed, no ciphertext of that youth can be opened again
// by anyone holding the master key; KeyFor returns NOT_FOUND "record_erased".
// Idempotent (a destroyed key stays destroyed; the first time is kept).
// NOT_FOUND "data_key_not_found" if the youth never had a key.
//
// Old page images may survive in the WAL file until the next checkpoint (and
// in backups taken before): they hold the key only wrapped, so they are
// unreadable once the master key that wrapped it is retired (see docs/security.md).
absl::Status DestroyDataKey(Connection& c, absl::string_view youth_id, absl::Time now);

struct RewrapStats {
  int64_t rewrapped = 0;        // were under an older key, now under the current one
  int64_t already_current = 0;  // were under the current key already
  int64_t destroyed = 0;        // tombstones, left alone
};

// Master key rotation: re-wraps every live data key that is not under
// `ring.current()` with it, unwrapping with the ring's other keys, inside the
// caller's transaction (all or nothing; safe to run again). Ciphertexts of
// fields are not touched: data keys do not change.
// FAILED_PRECONDITION "unknown_master_key" (nothing changed) if a key is
// wrapped under a master key the ring does not hold.
absl::StatusOr<RewrapStats> RewrapDataKeys(Connection& c, const MasterKeyRing& ring);

// Live (not destroyed) data keys per master key id.
absl::StatusOr<std::map<std::string, int64_t>> CountDataKeysByMasterKey(Connection& c);

}  // namespace relais::storage::crypto

#endif  // RELAIS_STORAGE_CRYPTO_FIELD_CRYPTO_H_
