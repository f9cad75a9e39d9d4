#include "services/auth_store/revocation_store.h"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/reason.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "storage/testing/fresh_database.h"

namespace relais::auth_store {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

std::string FreshDb() {
  static std::atomic<int> counter{0};
  return storage::testing::FreshDatabase(::testing::TempDir() + "/revocation_store_" +
                                         std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++) + ".db");
}

class RevocationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    db_.reset();
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = RevocationStore::Create(db_.get(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    issuer_ = std::make_unique<auth::TokenIssuer>(ring_.get(), &clock_, "aud",
                                                  auth::kDefaultTokenLifetime, store_.get());
    verifier_ = std::make_unique<auth::TokenVerifier>(ring_.get(), &clock_, "aud", store_.get());
  }
  absl::Status Verify(const std::string& token) { return verifier_->Verify(token).status(); }

  const std::string path_ = FreshDb();
  common::FakeClock clock_{kT0};
  std::unique_ptr<auth::KeyRing> ring_ = auth::KeyRing::InMemory();
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<RevocationStore> store_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
};

TEST_F(RevocationStoreTest, ARevokedTokenStaysRevokedAcrossARestartAndOthersStillWork) {
  const std::string kept = issuer_->Issue("m1", "s1", {}).value();
  const std::string logged_out = issuer_->Issue("m1", "s1", {}).value();
  const auth::Principal p = verifier_->Verify(logged_out).value();
  ASSERT_TRUE(db_->Write([&](storage::Connection& txn) {
                   return store_->RevokeToken(txn, p.token_id, p.expires_at);
                 })
                  .ok());
  EXPECT_EQ(auth::TokenRejectionReason(Verify(logged_out)), auth::kTokenRevoked);
  EXPECT_TRUE(Verify(kept).ok());
  Open();
  EXPECT_EQ(auth::TokenRejectionReason(Verify(logged_out)), auth::kTokenRevoked);
  EXPECT_TRUE(Verify(kept).ok());
}

// Inside a call's read scope the verdict comes later, and guards every write.
TEST_F(RevocationStoreTest, InACallsReadScopeTheVerdictComesLaterAndRefusesTheWrites) {
  const std::string logged_out = issuer_->Issue("m1", "s1", {}).value();
  const auth::Principal p = verifier_->Verify(logged_out).value();
  ASSERT_TRUE(db_->Write([&](storage::Connection& txn) {
                   return store_->RevokeToken(txn, p.token_id, p.expires_at);
                 })
                  .ok());
  auto touch = [&] {
    return db_->Write([](storage::Connection& c) { return c.Exec("SELECT 1"); });
  };
  {
    storage::Database::ReadTogether scope(db_.get());
    EXPECT_TRUE(Verify(logged_out).ok()) << "not read yet";
    EXPECT_EQ(auth::TokenRejectionReason(touch()), auth::kTokenRevoked);
    EXPECT_EQ(auth::TokenRejectionReason(scope.Settle()), auth::kTokenRevoked);
  }
  EXPECT_EQ(auth::TokenRejectionReason(Verify(logged_out)), auth::kTokenRevoked);
  EXPECT_TRUE(touch().ok());
}

// Records that cannot be read refuse the token, whenever the verdict comes.
TEST_F(RevocationStoreTest, UnreadableRecordsRefuseTheTokenInACallsReadScopeToo) {
  const std::string token = issuer_->Issue("m1", "s1", {}).value();
  ASSERT_TRUE(verifier_->Verify(token).ok());
  ASSERT_TRUE(
      db_->Write([](storage::Connection& c) { return c.Exec("DROP TABLE auth_revoked_tokens"); })
          .ok());
  absl::Status verdict;
  {
    storage::Database::ReadTogether scope(db_.get());
    // SQLite finds the table missing when the statement is prepared,
    // PostgreSQL when it answers: then the scope gives the verdict.
    verdict = Verify(token);
    if (verdict.ok()) verdict = scope.Settle();
  }
  EXPECT_EQ(verdict.code(), absl::StatusCode::kUnavailable) << verdict;
  EXPECT_EQ(common::ReasonOf(verdict), "revocation_unavailable");
}

TEST_F(RevocationStoreTest, RevokeAllEndsEveryEarlierTokenAndTheNextOneInTheSameSecondWorks) {
  const std::string first = issuer_->Issue("m1", "s1", {}).value();
  const std::string second = issuer_->Issue("m1", "s1", {}).value();
  const std::string someone_else = issuer_->Issue("m2", "s1", {}).value();
  ASSERT_TRUE(
      db_->Write([&](storage::Connection& txn) { return store_->RevokeAllOf(txn, "m1"); }).ok());
  // Same fake instant: the clock has not moved at all.
  const std::string after = issuer_->Issue("m1", "s1", {}).value();
  EXPECT_EQ(auth::TokenRejectionReason(Verify(first)), auth::kTokenRevoked);
  EXPECT_EQ(auth::TokenRejectionReason(Verify(second)), auth::kTokenRevoked);
  EXPECT_TRUE(Verify(after).ok());
  EXPECT_TRUE(Verify(someone_else).ok());
  // A rolled-back revoke-all revokes nothing.
  EXPECT_FALSE(db_->Write([&](storage::Connection& txn) -> absl::Status {
                    EXPECT_TRUE(store_->RevokeAllOf(txn, "m1").ok());
                    return absl::AbortedError("changed my mind");
                  })
                   .ok());
  EXPECT_TRUE(Verify(after).ok());
  Open();
  EXPECT_EQ(auth::TokenRejectionReason(Verify(first)), auth::kTokenRevoked);
  EXPECT_TRUE(Verify(after).ok());
}

TEST_F(RevocationStoreTest, RowsOfExpiredTokensArePurged) {
  const auth::Principal p = verifier_->Verify(issuer_->Issue("m1", "s1", {}).value()).value();
  ASSERT_TRUE(db_->Write([&](storage::Connection& txn) {
                   return store_->RevokeToken(txn, p.token_id, p.expires_at);
                 })
                  .ok());
  clock_.Advance(auth::kDefaultTokenLifetime);
  const auth::Principal q = verifier_->Verify(issuer_->Issue("m1", "s1", {}).value()).value();
  ASSERT_TRUE(db_->Write([&](storage::Connection& txn) {
                   return store_->RevokeToken(txn, q.token_id, q.expires_at);
                 })
                  .ok());
  int64_t rows = -1;
  ASSERT_TRUE(db_->Read([&](storage::Connection& c) -> absl::Status {
                   auto s = c.Prepare("SELECT COUNT(*) FROM auth_revoked_tokens");
                   if (!s.ok()) return s.status();
                   auto row = s->Step();
                   if (!row.ok()) return row.status();
                   rows = s->ColumnInt64(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(rows, 1);
}

}  // namespace
}  // namespace relais::auth_store
