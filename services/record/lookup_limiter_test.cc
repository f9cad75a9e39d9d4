#include "services/record/lookup_limiter.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/record/record_service.h"
#include "storage/testing/fresh_database.h"

namespace relais::record {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class LookupLimiterTest : public ::testing::Test {
 protected:
  LookupLimiterTest() {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/lookup_limiter_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    std::filesystem::remove(path_);
    auto db = storage::Database::Open({.path = path_});
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    EXPECT_TRUE(RecordServiceImpl::Migrate(db_.get()).ok());
  }
  ~LookupLimiterTest() override {
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // TryAcquire, failing the test on a database error.
  static bool Try(LookupLimiter& limiter, const std::string& member, absl::Time at) {
    absl::StatusOr<bool> acquired = limiter.TryAcquire(member, at);
    EXPECT_TRUE(acquired.ok()) << acquired.status();
    return acquired.ok() && *acquired;
  }

  std::string path_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(LookupLimiterTest, AllowsTheLimitThenRefusesUntilTheOldestLeavesTheHour) {
  LookupLimiter limiter(db_.get(), 3, absl::Hours(1));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Minutes(10)));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Minutes(20)));
  EXPECT_FALSE(Try(limiter, "mbr_a", kStart + absl::Minutes(30)));
  // Sliding: still within the hour of the first look-up.
  EXPECT_FALSE(Try(limiter, "mbr_a", kStart + absl::Minutes(59)));
  // The first one has left the window: exactly one more.
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Hours(1)));
  EXPECT_FALSE(Try(limiter, "mbr_a", kStart + absl::Hours(1)));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Minutes(70)));
}

TEST_F(LookupLimiterTest, CountsPerMember) {
  LookupLimiter limiter(db_.get(), 1, absl::Hours(1));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart));
  EXPECT_FALSE(Try(limiter, "mbr_a", kStart));
  EXPECT_TRUE(Try(limiter, "mbr_b", kStart));
}

TEST_F(LookupLimiterTest, RefusedLookUpsAreNotCounted) {
  LookupLimiter limiter(db_.get(), 2, absl::Hours(1));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Minutes(30)));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Try(limiter, "mbr_a", kStart + absl::Minutes(40)));
  EXPECT_TRUE(Try(limiter, "mbr_a", kStart + absl::Minutes(61)));
}

// Several instances of the record service, and a restart, share one budget:
// a member cannot multiply their look-ups by reaching another instance.
TEST_F(LookupLimiterTest, InstancesAndRestartsShareOneBudgetPerMember) {
  LookupLimiter one(db_.get(), 2, absl::Hours(1)), two(db_.get(), 2, absl::Hours(1));
  EXPECT_TRUE(Try(one, "mbr_a", kStart));
  EXPECT_TRUE(Try(two, "mbr_a", kStart + absl::Minutes(1)));
  EXPECT_FALSE(Try(one, "mbr_a", kStart + absl::Minutes(2)));
  EXPECT_FALSE(Try(two, "mbr_a", kStart + absl::Minutes(2)));
  LookupLimiter restarted(db_.get(), 2, absl::Hours(1));
  EXPECT_FALSE(Try(restarted, "mbr_a", kStart + absl::Minutes(3)));
  EXPECT_TRUE(Try(restarted, "mbr_a", kStart + absl::Minutes(61)));
}

TEST_F(LookupLimiterTest, LookUpsOlderThanTheWindowAreDeleted) {
  LookupLimiter limiter(db_.get(), 1, absl::Hours(1));
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(Try(limiter, "mbr_" + std::to_string(i), kStart));
  EXPECT_TRUE(Try(limiter, "mbr_late", kStart + absl::Hours(2)));
  int64_t rows = -1;
  ASSERT_TRUE(db_->Read([&](storage::Connection& c) -> absl::Status {
                   auto s = c.Prepare("SELECT COUNT(*) FROM rec_lookups");
                   if (!s.ok()) return s.status();
                   auto row = s->Step();
                   if (!row.ok()) return row.status();
                   rows = s->ColumnInt64(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(rows, 1) << "only the look-up still inside the hour is kept";
}

}  // namespace
}  // namespace relais::record
