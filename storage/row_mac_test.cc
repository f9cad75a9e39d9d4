#include "storage/row_mac.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace relais::storage {
namespace {

constexpr MacTable kFacts{"facts", "id", "id, owner, flag", 3};

class RowMacTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/row_mac_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite";
    std::filesystem::remove(path_);
    auto db = Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Migrate("t", {{1,
                                    "CREATE TABLE facts (id TEXT PRIMARY KEY, owner TEXT, "
                                    "flag INTEGER, mac BLOB)"}})
                    .ok());
  }
  void TearDown() override {
    binding_.reset();
    db_.reset();
    std::filesystem::remove(path_);
  }
  void Bind(std::vector<absl::string_view> keys) {
    binding_.reset();
    auto mac = RowMac::Derive(keys);
    ASSERT_TRUE(mac.ok()) << mac.status();
    auto binding = BindRowMac(*db_, *mac);
    ASSERT_TRUE(binding.ok()) << binding.status();
    binding_ = *std::move(binding);
  }
  absl::Status Exec(const std::string& sql) {
    return db_->Write([&](Connection& c) { return c.Exec(sql); });
  }
  absl::Status Check(absl::string_view id) {
    return db_->Read([&](Connection& c) { return CheckStoredRow(c, kFacts, id); });
  }
  absl::Status Insert(absl::string_view id, absl::string_view owner, int flag) {
    return db_->Write([&](Connection& c) -> absl::Status {
      absl::StatusOr<Statement> s =
          c.Prepare("INSERT INTO facts (id, owner, flag) VALUES (?1, ?2, ?3)");
      if (!s.ok()) return s.status();
      absl::Status run = s->Bind(1, id).Bind(2, owner).Bind(3, int64_t{flag}).Run();
      if (!run.ok()) return run;
      return SetRowMac(c, kFacts, id);
    });
  }

  std::string path_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RowMacBinding> binding_;
};

const std::string kKeyA(32, 'a');
const std::string kKeyB(32, 'b');

TEST_F(RowMacTest, RowWrittenWithTheKeyVerifies) {
  Bind({kKeyA});
  ASSERT_TRUE(Insert("r1", "svc_a", 1).ok());
  EXPECT_TRUE(Check("r1").ok());
}

TEST_F(RowMacTest, EditedInsertedOrCopiedRowsAreRefusedAndCounted) {
  Bind({kKeyA});
  ASSERT_TRUE(Insert("r1", "svc_a", 1).ok());
  const int64_t before = IntegrityViolationCounts()["facts"];
  ASSERT_TRUE(Exec("UPDATE facts SET flag = 0 WHERE id = 'r1'").ok());
  absl::Status edited = Check("r1");
  EXPECT_TRUE(absl::IsPermissionDenied(edited)) << edited;
  EXPECT_TRUE(absl::StartsWith(edited.message(), "integrity_violation:"));
  // A row inserted without the key: no MAC at all.
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag) VALUES ('r2', 'svc_x', 1)").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Check("r2")));
  // A valid MAC copied onto another row id.
  ASSERT_TRUE(Insert("r3", "svc_a", 1).ok());
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag, mac) SELECT 'r4', owner, flag, mac "
                   "FROM facts WHERE id = 'r3'")
                  .ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Check("r4")));
  EXPECT_TRUE(Check("r3").ok());
  EXPECT_EQ(IntegrityViolationCounts()["facts"], before + 3);
}

TEST_F(RowMacTest, NullAndEmptyValuesAreDistinct) {
  Bind({kKeyA});
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag) VALUES ('r1', NULL, 1)").ok());
  ASSERT_TRUE(db_->Write([](Connection& c) { return SetRowMac(c, kFacts, "r1"); }).ok());
  ASSERT_TRUE(Check("r1").ok());
  ASSERT_TRUE(Exec("UPDATE facts SET owner = '' WHERE id = 'r1'").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Check("r1")));
}

TEST_F(RowMacTest, ExistingRowsAreSealedOnceThenMissingMacsFail) {
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag) VALUES ('old', 'svc_a', 1)").ok());
  Bind({kKeyA});
  ASSERT_TRUE(SealExistingRows(*db_, {kFacts}).ok());
  EXPECT_TRUE(Check("old").ok());
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag) VALUES ('new', 'svc_x', 1)").ok());
  ASSERT_TRUE(SealExistingRows(*db_, {kFacts}).ok());  // a restart seals nothing new
  EXPECT_TRUE(absl::IsPermissionDenied(Check("new")));
}

TEST_F(RowMacTest, AnotherKeyRefusesAndRotationReMacsUnderTheCurrentKey) {
  Bind({kKeyA});
  ASSERT_TRUE(SealExistingRows(*db_, {kFacts}).ok());
  ASSERT_TRUE(Insert("r1", "svc_a", 1).ok());
  Bind({kKeyB});
  EXPECT_TRUE(absl::IsPermissionDenied(Check("r1")));
  // Rotation: B current, A previous. Rows under A still verify and are re-MACed.
  Bind({kKeyB, kKeyA});
  ASSERT_TRUE(SealExistingRows(*db_, {kFacts}).ok());
  Bind({kKeyB});
  EXPECT_TRUE(Check("r1").ok());
}

TEST_F(RowMacTest, NoBoundKeyIsAnInternalError) {
  ASSERT_TRUE(Exec("INSERT INTO facts (id, owner, flag) VALUES ('r1', 'svc_a', 1)").ok());
  EXPECT_TRUE(absl::IsInternal(Check("r1")));
}

}  // namespace
}  // namespace relais::storage
