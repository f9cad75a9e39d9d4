#include "services/auth_store/login_locks.h"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/auth_store/revocation_store.h"
#include "storage/testing/fresh_database.h"

namespace relais::auth_store {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class LoginLocksTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    locks_.reset();
    db_.reset();
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(RevocationStore::Create(db_.get(), &clock_).ok());  // migrates
    locks_ = std::make_unique<LoginLocks>(db_.get(), LoginLocks::Limits());
  }
  // One wrong attempt; true if it was allowed to check the password.
  bool Unlock(absl::string_view account) {
    bool was_locked = false;
    EXPECT_TRUE(db_->Write([&](storage::Connection& txn) -> absl::Status {
                     auto r = locks_->Unlock(txn, account, clock_.Now());
                     if (!r.ok()) return r.status();
                     was_locked = *r;
                     return absl::OkStatus();
                   })
                    .ok());
    return was_locked;
  }
  bool WrongAttempt(absl::string_view account) {
    auto r = locks_->Reserve(account, clock_.Now());
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->granted) return false;
    EXPECT_TRUE(locks_->Failed(account, clock_.Now()).ok());
    return true;
  }

  static std::string FreshDb() {
    static std::atomic<int> counter{0};
    return storage::testing::FreshDatabase(::testing::TempDir() + "/login_locks_" +
                                           std::to_string(::getpid()) + "_" +
                                           std::to_string(counter++) + ".db");
  }
  const std::string path_ = FreshDb();
  common::FakeClock clock_{kT0};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<LoginLocks> locks_;
};

TEST(LoginLocksKey, IsAHashOfTheLowerCasedLogin) {
  EXPECT_EQ(LoginLocks::AccountKey("Marie.Dupont"), LoginLocks::AccountKey("marie.dupont"));
  EXPECT_NE(LoginLocks::AccountKey("marie.dupont"), LoginLocks::AccountKey("marie.dupond"));
  EXPECT_EQ(LoginLocks::AccountKey("marie.dupont").find("marie"), std::string::npos);
  EXPECT_EQ(LoginLocks::AccountKey("x").size(), 64u);
}

TEST_F(LoginLocksTest, FiftyConcurrentReservationsGrantExactlyFive) {
  const std::string account = LoginLocks::AccountKey("amo.camille");
  std::atomic<int> granted{0}, locked_now{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      auto r = locks_->Reserve(account, clock_.Now());
      ASSERT_TRUE(r.ok()) << r.status();
      if (!r->granted) return;
      ++granted;
      auto outcome = locks_->Failed(account, clock_.Now());
      ASSERT_TRUE(outcome.ok());
      if (outcome->locked) ++locked_now;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), 5);
  EXPECT_EQ(locked_now.load(), 1);
}

TEST_F(LoginLocksTest, ALockSurvivesARestartEndsOnScheduleAndDoublesWhenRepeated) {
  const std::string account = LoginLocks::AccountKey("nobody.here");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(WrongAttempt(account));
  EXPECT_FALSE(WrongAttempt(account));
  Open();
  auto r = locks_->Reserve(account, clock_.Now());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->locked_until, kT0 + absl::Minutes(15));

  clock_.Advance(absl::Minutes(15));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(WrongAttempt(account));
  auto reserve = locks_->Reserve(account, clock_.Now());
  ASSERT_TRUE(reserve.ok() && reserve->granted);
  auto second = locks_->Failed(account, clock_.Now());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->locked);
  EXPECT_EQ(second->locks, 2);
  EXPECT_EQ(second->locked_until, clock_.Now() + absl::Minutes(30));
}

TEST_F(LoginLocksTest, FailuresOutsideTheWindowAndAfterASuccessDoNotCount) {
  const std::string account = LoginLocks::AccountKey("saj.sam");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(WrongAttempt(account));
  clock_.Advance(absl::Minutes(16));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(WrongAttempt(account));
  ASSERT_TRUE(locks_->Reserve(account, clock_.Now())->granted);
  ASSERT_TRUE(locks_->Succeeded(account).ok());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(WrongAttempt(account));
  EXPECT_FALSE(WrongAttempt(account));
}

TEST_F(LoginLocksTest, UnlockEndsALockAndAReleasedReservationIsGivenBack) {
  const std::string account = LoginLocks::AccountKey("pms.pauline");
  EXPECT_FALSE(Unlock(account));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(WrongAttempt(account));
  EXPECT_TRUE(Unlock(account));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(WrongAttempt(account));
  ASSERT_TRUE(locks_->Reserve(account, clock_.Now())->granted);
  ASSERT_TRUE(locks_->Release(account).ok());
  EXPECT_TRUE(WrongAttempt(account));
  EXPECT_FALSE(WrongAttempt(account));
}

TEST(PeerThrottleKey, IsAHashOfTheAddressWithoutThePort) {
  EXPECT_EQ(PeerThrottle::PeerKey("ipv4:10.0.0.1:5678"), PeerThrottle::PeerKey("ipv4:10.0.0.1:9"));
  EXPECT_NE(PeerThrottle::PeerKey("ipv4:10.0.0.1:5678"),
            PeerThrottle::PeerKey("ipv4:10.0.0.2:5678"));
  EXPECT_EQ(PeerThrottle::PeerKey("ipv6:[::1]:5678"), PeerThrottle::PeerKey("ipv6:[::1]:80"));
  EXPECT_NE(PeerThrottle::PeerKey("unix:/tmp/a"), PeerThrottle::PeerKey("unix:/tmp/b"));
  EXPECT_EQ(PeerThrottle::PeerKey("ipv4:10.0.0.1:5678").find("10.0.0"), std::string::npos);
  EXPECT_EQ(PeerThrottle::PeerKey("ipv4:10.0.0.1:5678").size(), 64u);
}

class PeerThrottleTest : public LoginLocksTest {
 protected:
  bool Blocked(const PeerThrottle& throttle, absl::string_view peer, absl::Time now) {
    absl::StatusOr<bool> blocked = throttle.Blocked(peer, now);
    EXPECT_TRUE(blocked.ok()) << blocked.status();
    return blocked.value_or(false);
  }
  int64_t Rows() {
    int64_t rows = -1;
    EXPECT_TRUE(db_->Read([&](storage::Connection& conn) -> absl::Status {
                     auto q = conn.Prepare("SELECT COUNT(*) FROM auth_peer_failures");
                     if (!q.ok()) return q.status();
                     auto row = q->Step();
                     if (!row.ok()) return row.status();
                     rows = q->ColumnInt64(0);
                     return absl::OkStatus();
                   })
                    .ok());
    return rows;
  }
};

TEST_F(PeerThrottleTest, BlocksAnAddressSprayingManyAccountsUntilTheWindowPasses) {
  PeerThrottle throttle(db_.get(), PeerThrottle::Limits());
  const std::string peer = PeerThrottle::PeerKey("ipv4:10.0.0.9:4000");
  for (int i = 0; i < 19; ++i) ASSERT_TRUE(throttle.RecordFailure(peer, kT0).ok());
  EXPECT_FALSE(Blocked(throttle, peer, kT0));
  ASSERT_TRUE(throttle.RecordFailure(peer, kT0 + absl::Seconds(1)).ok());
  EXPECT_TRUE(Blocked(throttle, peer, kT0 + absl::Seconds(1)));
  EXPECT_FALSE(Blocked(throttle, PeerThrottle::PeerKey("ipv4:10.0.0.8:4000"), kT0));
  // Sliding: at 15 minutes the first 19 have expired, the 20th has not.
  EXPECT_FALSE(Blocked(throttle, peer, kT0 + absl::Minutes(15)));
  EXPECT_FALSE(Blocked(throttle, peer, kT0 + absl::Minutes(16)));
}

TEST_F(PeerThrottleTest, EveryInstanceAndARestartCountTheSameFailures) {
  auto other_db = storage::Database::Open({.path = path_});
  ASSERT_TRUE(other_db.ok()) << other_db.status();
  PeerThrottle here(db_.get(), PeerThrottle::Limits());
  PeerThrottle there(other_db->get(), PeerThrottle::Limits());
  const std::string peer = PeerThrottle::PeerKey("ipv4:192.0.2.7:1234");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(here.RecordFailure(peer, kT0).ok());
    ASSERT_TRUE(there.RecordFailure(peer, kT0).ok());
  }
  EXPECT_TRUE(Blocked(here, peer, kT0));
  EXPECT_TRUE(Blocked(there, peer, kT0));
  Open();  // a restart
  EXPECT_TRUE(Blocked(PeerThrottle(db_.get(), PeerThrottle::Limits()), peer, kT0));
}

TEST_F(PeerThrottleTest, ExpiredFailuresAreDeletedAsNewOnesCome) {
  PeerThrottle throttle(db_.get(), {.failures_per_peer = 3, .window = absl::Minutes(15)});
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        throttle.RecordFailure(PeerThrottle::PeerKey(absl::StrCat("ipv4:10.1.0.", i, ":1")), kT0)
            .ok());
  }
  EXPECT_EQ(Rows(), 50);
  ASSERT_TRUE(
      throttle.RecordFailure(PeerThrottle::PeerKey("ipv4:10.2.0.1:1"), kT0 + absl::Minutes(15))
          .ok());
  EXPECT_EQ(Rows(), 1);
}

}  // namespace
}  // namespace relais::auth_store
