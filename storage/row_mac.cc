#include "storage/row_mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::storage {
namespace {

constexpr char kLabel[] = "relais-row-mac-v1";
constexpr size_t kKeyBytes = 32;

void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void AppendBytes(std::string& out, absl::string_view v) {
  AppendU64(out, v.size());
  out.append(v.data(), v.size());
}

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

absl::StatusOr<std::string> Hkdf(absl::string_view master) {
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return absl::InternalError("HKDF unavailable");
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return absl::InternalError("HKDF context");
  char digest[] = "SHA256";
  std::string info(kLabel);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(master.data()),
                                        master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  std::string out(kKeyBytes, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) !=
      1) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::InternalError("HKDF failed");
  }
  return out;
}

absl::StatusOr<std::string> Hmac(absl::string_view key, absl::string_view data) {
  // Fetched once: a fetch per row costs a provider look-up under a lock.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return absl::InternalError("HMAC unavailable");
  std::unique_ptr<EVP_MAC_CTX, KdfDeleter> ctx(EVP_MAC_CTX_new(mac));
  if (ctx == nullptr) return absl::InternalError("HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof(out)) != 1) {
    return absl::InternalError("HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string Message(absl::string_view table, absl::string_view row_id,
                    const CanonicalFields& fields, absl::string_view extra) {
  std::string m(kLabel);
  m.push_back('\0');
  AppendBytes(m, table);
  AppendBytes(m, row_id);
  AppendU64(m, static_cast<uint64_t>(fields.count()));
  m.append(fields.bytes());
  AppendBytes(m, extra);
  return m;
}

// Keys bound to database files, and the violation counters.
struct Registry {
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<const RowMac>> keys ABSL_GUARDED_BY(mu);
  std::map<std::string, int64_t> violations ABSL_GUARDED_BY(mu);
};

Registry& TheRegistry() {
  static Registry* r = new Registry();
  return *r;
}

std::string FileOf(Connection& c) { return c.Name(); }

absl::StatusOr<std::shared_ptr<const RowMac>> KeyFor(Connection& c) {
  Registry& r = TheRegistry();
  const std::string file = FileOf(c);
  absl::MutexLock lock(&r.mu);
  auto it = r.keys.find(file);
  if (it == r.keys.end()) return absl::InternalError("no row MAC key bound to this database");
  return it->second;
}

absl::Status Violation(absl::string_view table, absl::string_view row_id) {
  {
    Registry& r = TheRegistry();
    absl::MutexLock lock(&r.mu);
    ++r.violations[std::string(table)];
  }
  common::LogError("row integrity violation",
                   {{"table", std::string(table)}, {"row_id", std::string(row_id)}});
  return common::WithReason(absl::StatusCode::kPermissionDenied, kIntegrityViolation,
                            "a stored access fact failed its integrity check");
}

std::string SelectSql(const MacTable& t) {
  // Table and column names are constants of the stores, never request values.
  return absl::StrCat("SELECT ", t.columns, ", mac FROM ", t.table, " WHERE ", t.key_column,
                      " = ?1");
}

}  // namespace

CanonicalFields& CanonicalFields::AddNull() {
  bytes_.push_back('\0');
  ++count_;
  return *this;
}

CanonicalFields& CanonicalFields::Add(absl::string_view value) {
  bytes_.push_back('\1');
  AppendBytes(bytes_, value);
  ++count_;
  return *this;
}

CanonicalFields& CanonicalFields::AddColumns(const Statement& s, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    if (s.ColumnIsNull(i)) {
      AddNull();
    } else {
      Add(s.ColumnBlob(i));  // integers in their text form
    }
  }
  return *this;
}

absl::StatusOr<std::shared_ptr<const RowMac>> RowMac::Derive(
    const std::vector<absl::string_view>& master_keys) {
  if (master_keys.empty()) return absl::InvalidArgumentError("row MAC needs a master key");
  std::shared_ptr<RowMac> mac(new RowMac());
  for (absl::string_view master : master_keys) {
    if (master.size() != kKeyBytes) return absl::InvalidArgumentError("master key not 32 bytes");
    ASSIGN_OR_RETURN(std::string key, Hkdf(master));
    mac->keys_.push_back(std::move(key));
  }
  return std::shared_ptr<const RowMac>(std::move(mac));
}

RowMac::~RowMac() {
  for (std::string& k : keys_) OPENSSL_cleanse(k.data(), k.size());
}

absl::StatusOr<std::string> RowMac::Compute(absl::string_view table, absl::string_view row_id,
                                            const CanonicalFields& fields,
                                            absl::string_view extra) const {
  return Hmac(keys_.front(), Message(table, row_id, fields, extra));
}

int RowMac::Verify(absl::string_view table, absl::string_view row_id, const CanonicalFields& fields,
                   absl::string_view extra, absl::string_view mac) const {
  const std::string message = Message(table, row_id, fields, extra);
  for (size_t i = 0; i < keys_.size(); ++i) {
    absl::StatusOr<std::string> expected = Hmac(keys_[i], message);
    if (!expected.ok() || expected->size() != mac.size()) continue;
    if (CRYPTO_memcmp(expected->data(), mac.data(), mac.size()) == 0) return static_cast<int>(i);
  }
  return -1;
}

RowMacBinding::~RowMacBinding() {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  r.keys.erase(file_);
}

absl::StatusOr<std::unique_ptr<RowMacBinding>> BindRowMac(Database& db,
                                                          std::shared_ptr<const RowMac> mac) {
  if (mac == nullptr) return absl::InvalidArgumentError("no row MAC key");
  std::string file;
  RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
    file = FileOf(c);
    return absl::OkStatus();
  }));
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  if (!r.keys.emplace(file, std::move(mac)).second) {
    return absl::AlreadyExistsError("a row MAC key is bound to this database already");
  }
  return absl::WrapUnique(new RowMacBinding(file));
}

absl::Status CheckRow(Connection& c, const MacTable& t, const Statement& s, int first,
                      absl::string_view extra) {
  // The row id is the key column, which every MAC'd column list starts with.
  CanonicalFields fields;
  fields.AddColumns(s, first, t.column_count);
  const int mac_column = first + t.column_count;
  std::optional<std::string> mac;
  if (!s.ColumnIsNull(mac_column)) mac = s.ColumnBlob(mac_column);
  return CheckFields(c, t, s.ColumnText(first), fields, mac, extra);
}

absl::Status CheckFields(Connection& c, const MacTable& t, absl::string_view row_id,
                         const CanonicalFields& fields, const std::optional<std::string>& mac,
                         absl::string_view extra) {
  ASSIGN_OR_RETURN(std::shared_ptr<const RowMac> key, KeyFor(c));
  std::string owned_extra;
  if (t.extra != nullptr && extra.empty()) {
    ASSIGN_OR_RETURN(owned_extra, t.extra(c, row_id));
    extra = owned_extra;
  }
  if (!mac.has_value() || key->Verify(t.table, row_id, fields, extra, *mac) < 0) {
    return Violation(t.table, row_id);
  }
  return absl::OkStatus();
}

absl::Status CheckStoredRow(Connection& c, const MacTable& t, absl::string_view row_id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(SelectSql(t)));
  s.Bind(1, row_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no row in ", t.table));
  return CheckRow(c, t, s);
}

absl::Status SetRowMac(Connection& c, const MacTable& t, absl::string_view row_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<const RowMac> key, KeyFor(c));
  std::string mac;
  {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(SelectSql(t)));
    s.Bind(1, row_id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::InternalError(absl::StrCat("row vanished from ", t.table));
    CanonicalFields fields;
    fields.AddColumns(s, 0, t.column_count);
    std::string extra;
    if (t.extra != nullptr) {
      ASSIGN_OR_RETURN(extra, t.extra(c, row_id));
    }
    ASSIGN_OR_RETURN(mac, key->Compute(t.table, row_id, fields, extra));
  }
  ASSIGN_OR_RETURN(Statement u, c.Prepare(absl::StrCat("UPDATE ", t.table, " SET mac = ?1 WHERE ",
                                                       t.key_column, " = ?2")));
  u.BindBlob(1, mac).Bind(2, row_id);
  return u.Run();
}

absl::Status SealExistingRows(Database& db, const std::vector<MacTable>& tables) {
  return db.Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<const RowMac> key, KeyFor(c));
    {
      Registry& r = TheRegistry();
      absl::MutexLock lock(&r.mu);
      for (const MacTable& t : tables) r.violations.try_emplace(t.table, 0);
    }
    for (const MacTable& t : tables) {
      const std::string marker = absl::StrCat("row_mac:", t.table);
      ASSIGN_OR_RETURN(Statement m, c.Prepare("SELECT 1 FROM schema_migrations WHERE "
                                              "component = ?1"));
      m.Bind(1, marker);
      ASSIGN_OR_RETURN(bool sealed, m.Step());
      // First time: rows without a MAC predate it. Later, with a previous
      // key: re-MAC what verifies under it. Otherwise nothing to do.
      if (sealed && !key->has_previous()) continue;
      std::vector<std::string> ids;
      {
        ASSIGN_OR_RETURN(Statement s,
                         c.Prepare(absl::StrCat("SELECT ", t.key_column, " FROM ", t.table,
                                                sealed ? "" : " WHERE mac IS NULL")));
        while (true) {
          ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row) break;
          ids.push_back(s.ColumnText(0));
        }
      }
      for (const std::string& id : ids) {
        if (sealed) {
          ASSIGN_OR_RETURN(Statement s, c.Prepare(SelectSql(t)));
          s.Bind(1, id);
          ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row || s.ColumnIsNull(t.column_count)) continue;
          CanonicalFields fields;
          fields.AddColumns(s, 0, t.column_count);
          std::string extra;
          if (t.extra != nullptr) {
            ASSIGN_OR_RETURN(extra, t.extra(c, id));
          }
          if (key->Verify(t.table, id, fields, extra, s.ColumnBlob(t.column_count)) <= 0) {
            continue;  // current already, or forged: left to fail closed
          }
        }
        RETURN_IF_ERROR(SetRowMac(c, t, id));
      }
      if (!sealed) {
        ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO schema_migrations(component, "
                                                  "version, applied_at_us) VALUES (?1, 1, ?2)"));
        ins.Bind(1, marker).Bind(2, absl::ToUnixMicros(absl::Now()));
        RETURN_IF_ERROR(ins.Run());
      }
    }
    return absl::OkStatus();
  });
}

std::map<std::string, int64_t> IntegrityViolationCounts() {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  return r.violations;
}

}  // namespace relais::storage
