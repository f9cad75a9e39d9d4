#include "storage/crypto/field_crypto.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace relais::storage::crypto {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

std::string FreshPath() {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/field_crypto_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + ".db";
  std::filesystem::remove(path);
  return path;
}

std::unique_ptr<Database> OpenDb(const std::string& path) {
  auto db = Database::Open({.path = path});
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("record", {{1, kDataKeyTableSql}}).ok());
  return *std::move(db);
}

MasterKey NewMaster() {
  absl::StatusOr<MasterKey> k = MasterKey::Generate();
  EXPECT_TRUE(k.ok()) << k.status();
  return *std::move(k);
}

MasterKeyRing RingOf(const MasterKey& current) { return MasterKeyRing(current.Clone()); }

bool IsMismatch(const absl::Status& s) {
  return s.code() == absl::StatusCode::kDataLoss &&
         absl::StartsWith(s.message(), "ciphertext_mismatch");
}

// Seals `plaintext` for `ref` of a youth whose key is created first if `create`.
absl::StatusOr<std::string> SealFor(Database& db, const FieldCrypto& fc, absl::string_view youth,
                                    const FieldRef& ref, absl::string_view plaintext, bool create) {
  std::string sealed;
  RETURN_IF_ERROR(db.Write([&](Connection& c) -> absl::Status {
    absl::StatusOr<YouthKey> key = create ? fc.CreateDataKey(c, youth, kNow) : fc.KeyFor(c, youth);
    RETURN_IF_ERROR(key.status());
    ASSIGN_OR_RETURN(sealed, key->Seal(ref, plaintext));
    return absl::OkStatus();
  }));
  return sealed;
}

absl::StatusOr<std::string> OpenFor(Database& db, const FieldCrypto& fc, absl::string_view youth,
                                    const FieldRef& ref, absl::string_view sealed) {
  std::string plaintext;
  RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(YouthKey key, fc.KeyFor(c, youth));
    ASSIGN_OR_RETURN(plaintext, key.Open(ref, sealed));
    return absl::OkStatus();
  }));
  return plaintext;
}

absl::Status Destroy(Database& db, absl::string_view youth) {
  return db.Write([&](Connection& c) { return DestroyDataKey(c, youth, kNow); });
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string WrappedKeyOf(Database& db, absl::string_view youth) {
  std::string wrapped;
  EXPECT_TRUE(db.Read([&](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT wrapped_key FROM rec_data_keys "
                                                          "WHERE youth_id = ?1"));
                  s.Bind(1, youth);
                  ASSIGN_OR_RETURN(bool row, s.Step());
                  if (row) wrapped = s.ColumnBlob(0);
                  return absl::OkStatus();
                }).ok());
  return wrapped;
}

void RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  sqlite3_close(db);
}

constexpr FieldRef kBody1{.field = "entry.body", .row_id = "e_1", .binding = "svc_a|1|2"};

TEST(FieldCrypto, OpensWhatItSealedAcrossTransactionsAndInstances) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  const MasterKey master = NewMaster();
  FieldCrypto fc(RingOf(master));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "rendez-vous chez le pédopsychiatre", true);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[0]), kFormatV1);
  EXPECT_EQ(sealed->find("pédopsychiatre"), std::string::npos);
  auto opened = OpenFor(*db, fc, "y_1", kBody1, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "rendez-vous chez le pédopsychiatre");
  // A fresh process (no cache) with the same master key opens it too.
  FieldCrypto other(RingOf(master));
  EXPECT_EQ(*OpenFor(*db, other, "y_1", kBody1, *sealed), "rendez-vous chez le pédopsychiatre");
  EXPECT_EQ(*OpenFor(*db, fc, "y_1", kBody1, *SealFor(*db, fc, "y_1", kBody1, "", false)), "");
}

TEST(FieldCrypto, CiphertextMovedToAnotherRowFieldYouthOrBindingDoesNotOpen) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  FieldCrypto fc(RingOf(NewMaster()));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "note", true);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(SealFor(*db, fc, "y_2", kBody1, "x", true).ok());
  // Another entry of the same youth.
  EXPECT_TRUE(
      IsMismatch(OpenFor(*db, fc, "y_1",
                         {.field = "entry.body", .row_id = "e_2", .binding = "svc_a|1|2"}, *sealed)
                     .status()));
  // Another field of the same row.
  EXPECT_TRUE(IsMismatch(
      OpenFor(*db, fc, "y_1",
              {.field = "youth.display_name", .row_id = "e_1", .binding = "svc_a|1|2"}, *sealed)
          .status()));
  // The same row facts but a changed visibility.
  EXPECT_TRUE(
      IsMismatch(OpenFor(*db, fc, "y_1",
                         {.field = "entry.body", .row_id = "e_1", .binding = "svc_a|1|1"}, *sealed)
                     .status()));
  // Another youth (another data key).
  EXPECT_TRUE(IsMismatch(OpenFor(*db, fc, "y_2", kBody1, *sealed).status()));
  // The right place still opens.
  EXPECT_TRUE(OpenFor(*db, fc, "y_1", kBody1, *sealed).ok());
  // Context parts cannot be forged with the separator.
  EXPECT_EQ(SealFor(*db, fc, "y_1", {.field = "entry.body|x", .row_id = "e_1"}, "a", false)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FieldCrypto, TamperedByteOrUnknownVersionDoesNotOpen) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  FieldCrypto fc(RingOf(NewMaster()));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "Zoé Verhaegen", true);
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x80);
    EXPECT_TRUE(IsMismatch(OpenFor(*db, fc, "y_1", kBody1, tampered).status())) << i;
  }
  EXPECT_TRUE(IsMismatch(OpenFor(*db, fc, "y_1", kBody1, "").status()));
  EXPECT_TRUE(IsMismatch(OpenFor(*db, fc, "y_1", kBody1, "Zoé Verhaegen").status()));
}

TEST(FieldCrypto, WrongMasterKeyCannotUnwrap) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  const MasterKey right = NewMaster();
  const MasterKey wrong = NewMaster();
  FieldCrypto fc(RingOf(right));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "note", true);
  ASSERT_TRUE(sealed.ok());

  FieldCrypto other(RingOf(wrong));
  absl::Status s = OpenFor(*db, other, "y_1", kBody1, *sealed).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), "unknown_master_key")) << s;

  // Even when presented under the right id, another key does not unwrap.
  const std::string wrapped = WrappedKeyOf(*db, "y_1");
  EXPECT_TRUE(UnwrapDataKey(right, "y_1", wrapped).ok());
  EXPECT_TRUE(IsMismatch(UnwrapDataKey(wrong, "y_1", wrapped).status()));
  // Nor does a wrapped key moved to another youth.
  EXPECT_TRUE(IsMismatch(UnwrapDataKey(right, "y_2", wrapped).status()));
  RawSql(db->path(),
         "INSERT INTO rec_data_keys (youth_id, master_key_id, wrapped_key, "
         "created_at_us) SELECT 'y_2', master_key_id, wrapped_key, 0 FROM "
         "rec_data_keys WHERE youth_id = 'y_1'");
  EXPECT_TRUE(IsMismatch(OpenFor(*db, fc, "y_2", kBody1, *sealed).status()));
  // A youth with no key row at all is corruption, not erasure.
  EXPECT_EQ(OpenFor(*db, fc, "y_3", kBody1, *sealed).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FieldCrypto, RotationRewrapsEveryLiveKeyAndOldCiphertextsStillOpen) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  const MasterKey old_master = NewMaster();
  const MasterKey new_master = NewMaster();
  FieldCrypto before(RingOf(old_master));
  std::vector<std::string> sealed;
  for (const char* youth : {"y_1", "y_2", "y_3"}) {
    auto s = SealFor(*db, before, youth, kBody1, absl::StrCat("note of ", youth), true);
    ASSERT_TRUE(s.ok()) << s.status();
    sealed.push_back(*s);
  }
  ASSERT_TRUE(Destroy(*db, "y_3").ok());
  // Served once under the old key, so the old unwrapped key is cached.
  ASSERT_TRUE(OpenFor(*db, before, "y_1", kBody1, sealed[0]).ok());

  MasterKeyRing both(new_master.Clone());
  ASSERT_TRUE(both.AddPrevious(old_master.Clone()).ok());
  // relaisd during a rotation: new data keys go under the new master key.
  FieldCrypto during(std::move(both));
  ASSERT_TRUE(SealFor(*db, during, "y_4", kBody1, "new", true).ok());
  EXPECT_TRUE(OpenFor(*db, during, "y_2", kBody1, sealed[1]).ok());

  MasterKeyRing tool_ring(new_master.Clone());
  ASSERT_TRUE(tool_ring.AddPrevious(old_master.Clone()).ok());
  absl::StatusOr<RewrapStats> stats;
  ASSERT_TRUE(db->Write([&](Connection& c) -> absl::Status {
                  stats = RewrapDataKeys(c, tool_ring);
                  return stats.status();
                }).ok())
      << stats.status();
  EXPECT_EQ(stats->rewrapped, 2);
  EXPECT_EQ(stats->already_current, 1);
  EXPECT_EQ(stats->destroyed, 1);

  std::map<std::string, int64_t> counts;
  ASSERT_TRUE(db->Read([&](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(counts, CountDataKeysByMasterKey(c));
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{new_master.id(), 3}}));

  // After the rotation the old master key is no longer needed...
  FieldCrypto after(RingOf(new_master));
  EXPECT_EQ(*OpenFor(*db, after, "y_1", kBody1, sealed[0]), "note of y_1");
  EXPECT_EQ(*OpenFor(*db, after, "y_2", kBody1, sealed[1]), "note of y_2");
  // ...and no longer enough, even for a process that had the key cached.
  absl::Status old_only = OpenFor(*db, before, "y_1", kBody1, sealed[0]).status();
  EXPECT_EQ(old_only.code(), absl::StatusCode::kFailedPrecondition) << old_only;
  EXPECT_EQ(OpenFor(*db, after, "y_3", kBody1, sealed[2]).status().code(),
            absl::StatusCode::kNotFound);

  // Running it again changes nothing.
  ASSERT_TRUE(db->Write([&](Connection& c) -> absl::Status {
                  stats = RewrapDataKeys(c, tool_ring);
                  return stats.status();
                }).ok());
  EXPECT_EQ(stats->rewrapped, 0);
  EXPECT_EQ(stats->already_current, 3);
}

TEST(FieldCrypto, RotationWithoutTheOldKeyChangesNothing) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  const MasterKey old_master = NewMaster();
  FieldCrypto fc(RingOf(old_master));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "note", true);
  ASSERT_TRUE(sealed.ok());
  const std::string wrapped = WrappedKeyOf(*db, "y_1");
  const MasterKeyRing unrelated(NewMaster());
  absl::Status s = db->Write([&](Connection& c) { return RewrapDataKeys(c, unrelated).status(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(WrappedKeyOf(*db, "y_1"), wrapped);
  EXPECT_TRUE(OpenFor(*db, fc, "y_1", kBody1, *sealed).ok());
}

TEST(FieldCrypto, DestroyedKeyNeverOpensAgainEvenFromTheCache) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  const MasterKey master = NewMaster();
  FieldCrypto fc(RingOf(master));
  auto sealed = SealFor(*db, fc, "y_1", kBody1, "note", true);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(OpenFor(*db, fc, "y_1", kBody1, *sealed).ok());  // now cached
  ASSERT_EQ(fc.cached_keys(), 1u);

  ASSERT_TRUE(Destroy(*db, "y_1").ok());
  absl::Status s = OpenFor(*db, fc, "y_1", kBody1, *sealed).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), "record_erased")) << s;
  EXPECT_EQ(fc.cached_keys(), 0u);
  FieldCrypto fresh(RingOf(master));
  EXPECT_EQ(OpenFor(*db, fresh, "y_1", kBody1, *sealed).status().code(),
            absl::StatusCode::kNotFound);
  // No new key can be slipped in for an erased youth.
  EXPECT_EQ(SealFor(*db, fc, "y_1", kBody1, "again", true).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Idempotent; unknown youths are reported.
  EXPECT_TRUE(Destroy(*db, "y_1").ok());
  EXPECT_EQ(Destroy(*db, "y_9").code(), absl::StatusCode::kNotFound);
}

TEST(FieldCrypto, DestroyedWrappedKeyBytesLeaveTheDatabaseFile) {
  const std::string path = FreshPath();
  auto db = OpenDb(path);
  ASSERT_NE(db, nullptr);
  FieldCrypto fc(RingOf(NewMaster()));
  ASSERT_TRUE(SealFor(*db, fc, "y_1", kBody1, "note", true).ok());
  ASSERT_TRUE(SealFor(*db, fc, "y_2", kBody1, "note", true).ok());
  const std::string wrapped = WrappedKeyOf(*db, "y_1");
  ASSERT_EQ(wrapped.size(), 61u);
  RawSql(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_NE(Slurp(path).find(wrapped), std::string::npos);

  ASSERT_TRUE(Destroy(*db, "y_1").ok());
  RawSql(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  EXPECT_EQ(Slurp(path).find(wrapped), std::string::npos);
  EXPECT_EQ(Slurp(path + "-wal").find(wrapped), std::string::npos);
  EXPECT_NE(Slurp(path).find(WrappedKeyOf(*db, "y_2")), std::string::npos);
}

TEST(FieldCrypto, CacheIsBoundedAndExpires) {
  auto db = OpenDb(FreshPath());
  ASSERT_NE(db, nullptr);
  FieldCrypto fc(RingOf(NewMaster()), {.cache_capacity = 2, .cache_ttl = absl::Hours(1)});
  std::vector<std::string> sealed;
  for (const char* youth : {"y_1", "y_2", "y_3"}) {
    sealed.push_back(*SealFor(*db, fc, youth, kBody1, "n", true));
    ASSERT_TRUE(OpenFor(*db, fc, youth, kBody1, sealed.back()).ok());
  }
  EXPECT_EQ(fc.cached_keys(), 2u);
  fc.Forget("y_3");
  EXPECT_EQ(fc.cached_keys(), 1u);

  FieldCrypto short_lived(RingOf(fc.ring().current()), {.cache_ttl = absl::ZeroDuration()});
  ASSERT_TRUE(OpenFor(*db, short_lived, "y_1", kBody1, sealed[0]).ok());
  short_lived.PurgeExpired();
  EXPECT_EQ(short_lived.cached_keys(), 0u);
  ASSERT_TRUE(OpenFor(*db, short_lived, "y_1", kBody1, sealed[0]).ok());
}

}  // namespace
}  // namespace relais::storage::crypto
