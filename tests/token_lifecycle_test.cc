// Tokens over their life: removal of a member or a role takes effect at the
// member's next call, keys rotate without logging anyone out, audience is
// enforced, and repeated failed logins lock the account without revealing
// which accounts exist.

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "auth/token.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

grpc::Status Login(RelaisEnv& env, absl::string_view login, absl::string_view password,
                   v1::LoginResponse* out) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(std::string(password));
  return env.auth().Login(env.Anonymous().get(), req, out);
}

grpc::Status ListServices(RelaisEnv& env, const std::string& token) {
  v1::ListServicesResponse resp;
  return env.directory().ListServices(env.Anonymous(absl::StrCat("Bearer ", token)).get(),
                                      v1::ListServicesRequest(), &resp);
}

TEST(TokenLifecycle, ARemovedMemberIsLockedOutAtTheNextCall) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse session;
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &session).ok());
  ASSERT_TRUE(ListServices(*env, session.token()).ok());

  v1::RemoveMemberRequest remove;
  remove.set_member_id(env->member_id(kAmoCaseworker));
  v1::Member removed;
  // Another service's coordinator may not; the member's own coordinator may.
  grpc::Status other =
      env->directory().RemoveMember(env->As(kSajCoordinator).get(), remove, &removed);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(other), "wrong_service");
  ASSERT_TRUE(env->directory().RemoveMember(env->As(kAmoCoordinator).get(), remove, &removed).ok());

  // The token already issued was revoked with the removal; nothing renews it.
  grpc::Status revoked = ListServices(*env, session.token());
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(revoked), "token_revoked");
  v1::LoginResponse refreshed;
  grpc::Status refresh =
      env->auth().Refresh(env->Anonymous(absl::StrCat("Bearer ", session.token())).get(),
                          v1::RefreshRequest(), &refreshed);
  EXPECT_EQ(refresh.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(refresh), "token_revoked");
  // A token minted after the removal is refused by Refresh all the same.
  refresh = env->auth().Refresh(env->As(kAmoCaseworker).get(), v1::RefreshRequest(), &refreshed);
  EXPECT_EQ(ReasonCode(refresh), "member_inactive");
  v1::LoginResponse again;
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, kPassword, &again)), "invalid_credentials");
}

TEST(TokenLifecycle, ARemovedRoleStopsWorkingAtTheNextCall) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse session;
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &session).ok());
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  auto list = [&](const std::string& token) {
    v1::ListEntriesRequest req;
    req.set_youth_id(youth);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::ListEntriesResponse resp;
    return env->record().ListEntries(env->Anonymous(absl::StrCat("Bearer ", token)).get(), req,
                                     &resp);
  };
  ASSERT_TRUE(list(session.token()).ok());

  // A coordinator may grant neither admin nor auditor; an admin replaces the
  // caseworker role by the auditor role.
  v1::SetMemberRolesRequest set;
  set.set_member_id(env->member_id(kAmoCaseworker));
  set.add_roles(v1::ROLE_ADMIN);
  v1::Member changed;
  grpc::Status admin =
      env->directory().SetMemberRoles(env->As(kAmoCoordinator).get(), set, &changed);
  EXPECT_EQ(ReasonCode(admin), "role_not_permitted");
  set.clear_roles();
  set.add_roles(v1::ROLE_AUDITOR);
  grpc::Status auditor =
      env->directory().SetMemberRoles(env->As(kAmoCoordinator).get(), set, &changed);
  EXPECT_EQ(ReasonCode(auditor), "role_not_permitted");
  ASSERT_TRUE(env->directory().SetMemberRoles(env->As(kAdmin).get(), set, &changed).ok());

  // The old token, with its old roles, was revoked with the change; a new
  // login has the new roles.
  EXPECT_EQ(ReasonCode(list(session.token())), "token_revoked");
  v1::LoginResponse relogged;
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &relogged).ok());
  EXPECT_EQ(ReasonCode(list(relogged.token())), "role_not_permitted");
}

TEST(TokenLifecycle, KeysRotateWithoutLoggingAnyoneOut) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse before;
  ASSERT_TRUE(Login(*env, kSajCaseworker, kPassword, &before).ok());
  v1::PublicKeysResponse keys;
  ASSERT_TRUE(env->auth().PublicKeys(env->Anonymous().get(), v1::PublicKeysRequest(), &keys).ok());
  ASSERT_EQ(keys.keys_size(), 1);

  ASSERT_TRUE(env->host().keys().Rotate().ok());
  keys.Clear();
  ASSERT_TRUE(env->auth().PublicKeys(env->Anonymous().get(), v1::PublicKeysRequest(), &keys).ok());
  ASSERT_EQ(keys.keys_size(), 2);
  EXPECT_EQ(keys.keys(0).algorithm(), "Ed25519");
  EXPECT_EQ(keys.keys(1).public_key().size(), 32u);

  v1::LoginResponse after;
  ASSERT_TRUE(Login(*env, kSajCaseworker, kPassword, &after).ok());
  EXPECT_NE(before.token(), after.token());
  EXPECT_TRUE(ListServices(*env, before.token()).ok());  // old key still verifies
  EXPECT_TRUE(ListServices(*env, after.token()).ok());
}

TEST(TokenLifecycle, AnOperatorRotatesTheTokenKeyAndExistingSessionsSurvive) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse before;
  ASSERT_TRUE(Login(*env, kSajCaseworker, kPassword, &before).ok());
  const std::string db = env->db_path(), keys = env->keys_dir();
  env->Stop();
  const std::string cmd = absl::StrCat(RELAIS_ADMIN, " rotate-token-key --keys_dir=", keys);
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  v1::PublicKeysResponse listed;
  ASSERT_TRUE(
      env->auth().PublicKeys(env->Anonymous().get(), v1::PublicKeysRequest(), &listed).ok());
  EXPECT_EQ(listed.keys_size(), 2);
  EXPECT_TRUE(ListServices(*env, before.token()).ok());
  v1::LoginResponse after;
  ASSERT_TRUE(Login(*env, kSajCaseworker, kPassword, &after).ok());
  EXPECT_TRUE(ListServices(*env, after.token()).ok());
}

TEST(TokenLifecycle, ATokenForAnotherAudienceIsRefused) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  auth::TokenIssuer other(&env->host().keys(), &env->clock(), "not-relais");
  auto token = other.Issue(env->member_id(kAmoCaseworker), env->service_id("amo"), {"caseworker"});
  ASSERT_TRUE(token.ok());
  grpc::Status s = ListServices(*env, *token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(s), "token_wrong_audience");
}

TEST(TokenLifecycle, RepeatedFailuresLockKnownAndUnknownAccountsAlike) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  for (const std::string& account : {std::string(kPmsCaseworker), std::string("nobody.here")}) {
    v1::LoginResponse out;
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(ReasonCode(Login(*env, account, "wrong password!", &out)), "invalid_credentials");
    }
    grpc::Status blocked = Login(*env, account, kPassword, &out);
    EXPECT_EQ(blocked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << account;
    EXPECT_EQ(ReasonCode(blocked), "account_locked");
    EXPECT_TRUE(out.token().empty());
  }
  // Another account from the same machine is not blocked by those ten failures.
  v1::LoginResponse ok;
  EXPECT_TRUE(Login(*env, kSajCoordinator, kPassword, &ok).ok());
  // Every refusal is in the audit log, without the login name.
  v1::QueryEventsRequest q;
  q.set_decision(v1::DECISION_DENY);
  q.set_page_size(1000);
  v1::QueryEventsResponse events;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &events).ok());
  int throttled = 0;
  for (const auto& e : events.events()) {
    if (e.action() == v1::ACTION_LOGIN && e.reason_code() == "account_locked") ++throttled;
    EXPECT_EQ(e.DebugString().find("nobody.here"), std::string::npos);
  }
  EXPECT_EQ(throttled, 2);
}

}  // namespace
}  // namespace relais::testing
