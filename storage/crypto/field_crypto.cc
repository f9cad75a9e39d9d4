#include "storage/crypto/field_crypto.h"

#include <openssl/crypto.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::storage::crypto {
namespace {

constexpr char kFieldAadPrefix[] = "relais-field-v1|";
constexpr char kDekAadPrefix[] = "relais-dek-v1|";
constexpr size_t kWrappedKeyBytes = 1 + kNonceBytes + kKeyBytes + kTagBytes;

absl::Status CheckPart(absl::string_view name, absl::string_view part) {
  if (part.empty() || absl::StrContains(part, '|')) {
    return absl::InvalidArgumentError(
        absl::StrCat("ciphertext context part '", name, "' is empty or holds '|'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FieldAad(absl::string_view youth_id, const FieldRef& ref) {
  RETURN_IF_ERROR(CheckPart("youth_id", youth_id));
  RETURN_IF_ERROR(CheckPart("field", ref.field));
  RETURN_IF_ERROR(CheckPart("row_id", ref.row_id));
  return absl::StrCat(kFieldAadPrefix, youth_id, "|", ref.field, "|", ref.row_id, "|", ref.binding);
}

absl::StatusOr<std::string> DekAad(absl::string_view youth_id, absl::string_view master_key_id) {
  RETURN_IF_ERROR(CheckPart("youth_id", youth_id));
  RETURN_IF_ERROR(CheckPart("master_key_id", master_key_id));
  return absl::StrCat(kDekAadPrefix, youth_id, "|", master_key_id);
}

// Prepends the version byte to SealAesGcm's output.
absl::StatusOr<std::string> SealV1(const SecretKey& key, absl::string_view plaintext,
                                   absl::string_view aad) {
  ASSIGN_OR_RETURN(std::string sealed, SealAesGcm(key, plaintext, aad));
  std::string out;
  out.reserve(1 + sealed.size());
  out.push_back(static_cast<char>(kFormatV1));
  out.append(sealed);
  return out;
}

absl::StatusOr<std::string> OpenV1(const SecretKey& key, absl::string_view sealed,
                                   absl::string_view aad) {
  if (sealed.empty() || static_cast<unsigned char>(sealed[0]) != kFormatV1) {
    return CiphertextMismatch();
  }
  return OpenAesGcm(key, sealed.substr(1), aad);
}

absl::Status UnknownMasterKey(absl::string_view id) {
  return common::Precondition(
      "unknown_master_key",
      absl::StrCat("a data key is wrapped under master key ", id,
                   ", which this process was not given (see --previous_master_key_file)"));
}

}  // namespace

absl::StatusOr<std::string> YouthKey::Seal(const FieldRef& ref, absl::string_view plaintext) const {
  ASSIGN_OR_RETURN(std::string aad, FieldAad(youth_id_, ref));
  return SealV1(key_, plaintext, aad);
}

absl::StatusOr<std::string> YouthKey::Open(const FieldRef& ref, absl::string_view sealed) const {
  ASSIGN_OR_RETURN(std::string aad, FieldAad(youth_id_, ref));
  return OpenV1(key_, sealed, aad);
}

absl::StatusOr<std::string> WrapDataKey(const MasterKey& master, absl::string_view youth_id,
                                        const SecretKey& data_key) {
  ASSIGN_OR_RETURN(std::string aad, DekAad(youth_id, master.id()));
  return SealV1(master.key(), data_key.bytes(), aad);
}

absl::StatusOr<SecretKey> UnwrapDataKey(const MasterKey& master, absl::string_view youth_id,
                                        absl::string_view wrapped) {
  if (wrapped.size() != kWrappedKeyBytes) return CiphertextMismatch();
  ASSIGN_OR_RETURN(std::string aad, DekAad(youth_id, master.id()));
  ASSIGN_OR_RETURN(std::string raw, OpenV1(master.key(), wrapped, aad));
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!key.ok()) return CiphertextMismatch();
  return key;
}

FieldCrypto::FieldCrypto(MasterKeyRing ring, FieldCryptoOptions options)
    : ring_(std::move(ring)), options_(options) {}

FieldCrypto::~FieldCrypto() {
  absl::MutexLock lock(&mu_);
  index_.clear();
  lru_.clear();  // each SecretKey wipes itself
}

absl::StatusOr<YouthKey> FieldCrypto::CreateDataKey(Connection& c, absl::string_view youth_id,
                                                    absl::Time now) const {
  ASSIGN_OR_RETURN(SecretKey key, SecretKey::Generate());
  ASSIGN_OR_RETURN(std::string wrapped, WrapDataKey(ring_.current(), youth_id, key));
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO rec_data_keys (youth_id, master_key_id, wrapped_key, "
                             "created_at_us) VALUES (?1, ?2, ?3, ?4)"));
  s.Bind(1, youth_id).Bind(2, ring_.current().id()).BindBlob(3, wrapped);
  s.Bind(4, absl::ToUnixMicros(now));
  RETURN_IF_ERROR(s.Run());
  return YouthKey(std::string(youth_id), std::move(key));
}

absl::StatusOr<YouthKey> FieldCrypto::KeyFor(Connection& c, absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(Statement s, SendKeyRead(c, youth_id));
  return KeyFrom(s, youth_id);
}

absl::StatusOr<Statement> FieldCrypto::SendKeyRead(Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT master_key_id, wrapped_key FROM rec_data_keys "
                                          "WHERE youth_id = ?1"));
  s.Bind(1, youth_id);
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<YouthKey> FieldCrypto::KeyFrom(Statement& s, absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(bool row, s.Step());
  return KeyFromColumns(s, 0, row, youth_id);
}

absl::StatusOr<YouthKey> FieldCrypto::KeyFromColumns(const Statement& s, int first, bool row,
                                                     absl::string_view youth_id) const {
  if (!row || s.ColumnIsNull(first + 1)) {
    Forget(youth_id);  // whatever was cached for this youth is no key any more
    if (!row) {
      return common::WithReason(absl::StatusCode::kDataLoss, "data_key_missing",
                                "the youth has no data key");
    }
    return common::NotFound("record_erased", "the youth's data key was destroyed");
  }
  const std::string master_key_id = s.ColumnText(first);
  const std::string wrapped = s.ColumnBlob(first + 1);

  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(youth_id);
    if (it != index_.end()) {
      CacheEntry& e = *it->second;
      // Not secret (it is what the database holds), but compared in constant
      // time anyway: there is no reason to leak where two blobs differ.
      const bool same = e.wrapped.size() == wrapped.size() &&
                        CRYPTO_memcmp(e.wrapped.data(), wrapped.data(), wrapped.size()) == 0;
      if (same && e.expires > now) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return YouthKey(std::string(youth_id), e.key.Clone());
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
  }

  const MasterKey* master = ring_.Find(master_key_id);
  if (master == nullptr) return UnknownMasterKey(master_key_id);
  ASSIGN_OR_RETURN(SecretKey key, UnwrapDataKey(*master, youth_id, wrapped));
  YouthKey result(std::string(youth_id), key.Clone());
  if (options_.cache_capacity > 0) {
    absl::MutexLock lock(&mu_);
    PurgeExpiredLocked(now);
    auto it = index_.find(youth_id);
    if (it != index_.end()) {  // another thread got here first
      lru_.erase(it->second);
      index_.erase(it);
    }
    lru_.push_front(
        CacheEntry{std::string(youth_id), wrapped, std::move(key), now + options_.cache_ttl});
    index_[lru_.front().youth_id] = lru_.begin();
    while (lru_.size() > options_.cache_capacity) {
      index_.erase(lru_.back().youth_id);
      lru_.pop_back();
    }
  }
  return result;
}

void FieldCrypto::Forget(absl::string_view youth_id) const {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(youth_id);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void FieldCrypto::PurgeExpired() const {
  absl::MutexLock lock(&mu_);
  PurgeExpiredLocked(absl::Now());
}

void FieldCrypto::PurgeExpiredLocked(absl::Time now) const {
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->expires <= now) {
      index_.erase(it->youth_id);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t FieldCrypto::cached_keys() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

absl::Status DestroyDataKey(Connection& c, absl::string_view youth_id, absl::Time now) {
  // On SQLite, first overwrite the blob in place with zeros of the same
  // length, then clear it: the key bytes are gone from the page whatever SQLite
  // does with freed cells (secure_delete is on as well). On PostgreSQL an
  // UPDATE writes a new row version, so the overwrite would change nothing: the
  // old version is reclaimed by VACUUM (docs/postgresql.md, "Erasure").
  if (c.backend() == Backend::kSqlite) {
    ASSIGN_OR_RETURN(Statement zero, c.Prepare("UPDATE rec_data_keys SET wrapped_key = "
                                               "zeroblob(length(wrapped_key)) "
                                               "WHERE youth_id = ?1 AND wrapped_key IS NOT NULL"));
    zero.Bind(1, youth_id);
    RETURN_IF_ERROR(zero.Run());
  }
  ASSIGN_OR_RETURN(
      Statement clear,
      c.Prepare("UPDATE rec_data_keys SET wrapped_key = NULL, master_key_id = NULL, "
                "destroyed_at_us = COALESCE(destroyed_at_us, ?2) WHERE youth_id = ?1"));
  clear.Bind(1, youth_id).Bind(2, absl::ToUnixMicros(now));
  RETURN_IF_ERROR(clear.Run());
  if (c.Changes() == 0) {
    return common::NotFound("data_key_not_found", "the youth has no data key");
  }
  return absl::OkStatus();
}

absl::StatusOr<RewrapStats> RewrapDataKeys(Connection& c, const MasterKeyRing& ring) {
  struct Row {
    std::string youth_id;
    std::string master_key_id;
    std::string wrapped;
  };
  std::vector<Row> stale;
  RewrapStats stats;
  {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT youth_id, master_key_id, wrapped_key FROM "
                                            "rec_data_keys ORDER BY youth_id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (s.ColumnIsNull(2)) {
        ++stats.destroyed;
      } else if (s.ColumnText(1) == ring.current().id()) {
        ++stats.already_current;
      } else {
        stale.push_back({s.ColumnText(0), s.ColumnText(1), s.ColumnBlob(2)});
      }
    }
  }
  // Every old key must be held before anything changes.
  for (const Row& r : stale) {
    if (ring.Find(r.master_key_id) == nullptr) return UnknownMasterKey(r.master_key_id);
  }
  ASSIGN_OR_RETURN(Statement update,
                   c.Prepare("UPDATE rec_data_keys SET master_key_id = ?2, wrapped_key = ?3 "
                             "WHERE youth_id = ?1 AND master_key_id = ?4"));
  for (const Row& r : stale) {
    ASSIGN_OR_RETURN(SecretKey key,
                     UnwrapDataKey(*ring.Find(r.master_key_id), r.youth_id, r.wrapped));
    ASSIGN_OR_RETURN(std::string wrapped, WrapDataKey(ring.current(), r.youth_id, key));
    update.Reset();
    update.Bind(1, r.youth_id).Bind(2, ring.current().id()).BindBlob(3, wrapped);
    update.Bind(4, r.master_key_id);
    RETURN_IF_ERROR(update.Run());
    if (c.Changes() != 1) return absl::AbortedError("data key changed during rotation; retry");
    ++stats.rewrapped;
  }
  return stats;
}

absl::StatusOr<std::map<std::string, int64_t>> CountDataKeysByMasterKey(Connection& c) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT master_key_id, COUNT(*) FROM rec_data_keys "
                                          "WHERE wrapped_key IS NOT NULL GROUP BY master_key_id"));
  std::map<std::string, int64_t> counts;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    counts[s.ColumnText(0)] = s.ColumnInt64(1);
  }
  return counts;
}

}  // namespace relais::storage::crypto
