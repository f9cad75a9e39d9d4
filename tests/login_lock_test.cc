// Login locks (issue #11, item 3): 50 parallel wrong attempts check exactly
// five passwords, the lock survives a restart, ends on schedule or when an
// admin or the member's coordinator lifts it, and every lock and unlock is
// audited without the login as typed.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

grpc::Status Login(RelaisEnv& env, absl::string_view login, absl::string_view password) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(std::string(password));
  v1::LoginResponse out;
  grpc::Status s = env.auth().Login(env.Anonymous().get(), req, &out);
  EXPECT_EQ(s.ok(), !out.token().empty());
  return s;
}

grpc::Status Unlock(RelaisEnv& env, absl::string_view as, absl::string_view member,
                    v1::UnlockAccountResponse* out) {
  v1::UnlockAccountRequest req;
  req.set_member_id(env.member_id(member));
  return env.auth().UnlockAccount(env.As(as).get(), req, out);
}

std::vector<v1::AuditEvent> Denials(RelaisEnv& env) {
  v1::QueryEventsRequest q;
  q.set_page_size(1000);
  v1::QueryEventsResponse events;
  EXPECT_TRUE(env.audit().QueryEvents(env.As(kAuditor).get(), q, &events).ok());
  return {events.events().begin(), events.events().end()};
}

void LockByFiveFailures(RelaisEnv& env, absl::string_view login) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ReasonCode(Login(env, login, "wrong password!")), "invalid_credentials");
  }
  EXPECT_EQ(ReasonCode(Login(env, login, kPassword)), "account_locked");
}

TEST(LoginLock, FiftyParallelWrongAttemptsCheckExactlyFivePasswordsAndTheLockSurvivesARestart) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  std::atomic<int> invalid{0}, locked{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      const grpc::Status s = Login(*env, kAmoCaseworker, absl::StrCat("wrong password ", i));
      if (ReasonCode(s) == "invalid_credentials") ++invalid;
      if (ReasonCode(s) == "account_locked" &&
          s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++locked;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(invalid.load(), 5);
  EXPECT_EQ(locked.load(), 45);

  int checked = 0, locks = 0;
  for (const v1::AuditEvent& e : Denials(*env)) {
    if (e.action() == v1::ACTION_LOGIN && e.reason_code() == "invalid_credentials") ++checked;
    if (e.action() == v1::ACTION_LOCK_ACCOUNT) {
      ++locks;
      EXPECT_EQ(e.object_id(), env->member_id(kAmoCaseworker));
      EXPECT_EQ(e.reason(), v1::ACCESS_REASON_ACCOUNT_LOCKED);
    }
    EXPECT_EQ(e.DebugString().find(kAmoCaseworker), std::string::npos);
  }
  EXPECT_EQ(checked, 5);
  EXPECT_EQ(locks, 1);

  const std::string db = env->db_path(), keys = env->keys_dir();
  env->Stop();
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  // Same (fake) time after the restart: still locked, even with the password.
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, kPassword)), "account_locked");
  // The lock ends on schedule, 15 minutes after it began.
  env->clock().Advance(absl::Minutes(15));
  EXPECT_TRUE(Login(*env, kAmoCaseworker, kPassword).ok());
}

TEST(LoginLock, AMadeUpLoginIsLockedExactlyLikeARealOneAndNamesNoOne) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  LockByFiveFailures(*env, kPmsCaseworker);
  LockByFiveFailures(*env, "nobody.here");
  const grpc::Status real = Login(*env, kPmsCaseworker, "x-password");
  const grpc::Status made_up = Login(*env, "nobody.here", "x-password");
  EXPECT_EQ(real.error_message(), made_up.error_message());
  EXPECT_EQ(real.error_details(), made_up.error_details());
  std::vector<std::string> locked_ids;
  for (const v1::AuditEvent& e : Denials(*env)) {
    if (e.action() == v1::ACTION_LOCK_ACCOUNT) locked_ids.push_back(e.object_id());
    EXPECT_EQ(e.DebugString().find("nobody.here"), std::string::npos);
  }
  EXPECT_EQ(locked_ids, (std::vector<std::string>{env->member_id(kPmsCaseworker), ""}));
}

TEST(LoginLock, ALongerLockFollowsARepeatedOne) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  LockByFiveFailures(*env, kSajCaseworker);
  env->clock().Advance(absl::Minutes(15));
  LockByFiveFailures(*env, kSajCaseworker);
  env->clock().Advance(absl::Minutes(15));
  EXPECT_EQ(ReasonCode(Login(*env, kSajCaseworker, kPassword)), "account_locked");
  env->clock().Advance(absl::Minutes(15));
  EXPECT_TRUE(Login(*env, kSajCaseworker, kPassword).ok());
}

TEST(LoginLock, AnAdminOrTheMembersCoordinatorUnlocksAndNobodyElse) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember("amo.other", "amo", v1::ROLE_CASEWORKER);
  LockByFiveFailures(*env, kAmoCaseworker);
  v1::UnlockAccountResponse out;

  grpc::Status s = Unlock(*env, "amo.other", kAmoCaseworker, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Unlock(*env, kSajCoordinator, kAmoCaseworker, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  s = Unlock(*env, kAuditor, kAmoCaseworker, &out);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Unlock(*env, kAmoCoordinator, kAmoCoordinator, &out);
  EXPECT_EQ(ReasonCode(s), "separation_of_duties");
  // A coordinator does not unlock an auditor or an admin.
  s = Unlock(*env, kAmoCoordinator, kAdmin, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::UnlockAccountRequest unknown;
  unknown.set_member_id("mbr_nobody");
  s = env->auth().UnlockAccount(env->As(kAdmin).get(), unknown, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, kPassword)), "account_locked");

  ASSERT_TRUE(Unlock(*env, kAmoCoordinator, kAmoCaseworker, &out).ok());
  EXPECT_TRUE(out.was_locked());
  EXPECT_TRUE(Login(*env, kAmoCaseworker, kPassword).ok());
  ASSERT_TRUE(Unlock(*env, kAmoCoordinator, kAmoCaseworker, &out).ok());
  EXPECT_FALSE(out.was_locked());

  // An admin unlocks any service's member.
  LockByFiveFailures(*env, kSajCaseworker);
  ASSERT_TRUE(Unlock(*env, kAdmin, kSajCaseworker, &out).ok());
  EXPECT_TRUE(out.was_locked());
  EXPECT_TRUE(Login(*env, kSajCaseworker, kPassword).ok());

  int unlocks = 0, refused = 0;
  for (const v1::AuditEvent& e : Denials(*env)) {
    if (e.action() != v1::ACTION_UNLOCK_ACCOUNT) continue;
    if (e.decision() == v1::DECISION_ALLOW) ++unlocks;
    if (e.decision() == v1::DECISION_DENY) ++refused;
  }
  EXPECT_EQ(unlocks, 3);
  EXPECT_EQ(refused, 6);
}

}  // namespace
}  // namespace relais::testing
