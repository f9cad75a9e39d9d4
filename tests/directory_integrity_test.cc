// Issue #11, item 8, the directory's part: member roles, a member's service and
// activity, a service's sector and platform flag are access facts too. Someone
// who can write the database file but holds no key grants a role, inserts a
// member with a password hash they know, or makes their service the
// platform's (its auditors are the DPO); Login and every handler that reads
// the row refuse it with integrity_violation, an audited DENY and a metric.

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kIntegrity[] = "integrity_violation";

grpc::Status Login(RelaisEnv& env, absl::string_view login, v1::LoginResponse* out = nullptr) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(kPassword);
  v1::LoginResponse ignored;
  return env.auth().Login(env.Anonymous().get(), req, out != nullptr ? out : &ignored);
}

// The number of DENY integrity_violation events of `action` (by `actor`, if
// given) in the audit log.
int DeniedEvents(RelaisEnv& env, v1::Action action, absl::string_view actor = "") {
  auto events = env.host().audit().Query({.decision = v1::DECISION_DENY}, 0, 1000);
  EXPECT_TRUE(events.ok()) << events.status();
  int n = 0;
  for (const v1::AuditEvent& e : events.value_or(std::vector<v1::AuditEvent>{})) {
    if (e.action() == action && e.reason_code() == kIntegrity &&
        (actor.empty() || e.actor_member_id() == actor)) {
      ++n;
    }
  }
  return n;
}

grpc::Status RemoveMember(RelaisEnv& env, absl::string_view as, absl::string_view member_id) {
  v1::RemoveMemberRequest req;
  req.set_member_id(std::string(member_id));
  v1::Member out;
  return env.directory().RemoveMember(env.As(as).get(), req, &out);
}

void ExpectIntegrityViolation(const grpc::Status& s) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), kIntegrity) << s.error_message();
}

TEST(DirectoryIntegrity, HonestMembersLogInAndCountNothing) {
  auto env = RelaisEnv::Start();
  v1::LoginResponse session;
  grpc::Status s = Login(*env, kAmoCaseworker, &session);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(session.roles(), ::testing::ElementsAre(v1::ROLE_CASEWORKER));
  // The DPO's platform flag verifies: it reads the whole log.
  v1::QueryEventsResponse events;
  s = env->audit().QueryEvents(env->As(kAuditor).get(), v1::QueryEventsRequest(), &events);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Violations(*env, "dir_members"), 0);
  EXPECT_EQ(Violations(*env, "dir_services"), 0);
}

TEST(DirectoryIntegrity, RoleAddedThroughSqlIsRefusedAtLoginRefreshAndByTheDirectory) {
  auto env = RelaisEnv::Start();
  // An admin role for the caseworker, an auditor role for the coordinator.
  Sql(env->db_path(), absl::StrCat("UPDATE dir_members SET roles = roles || ',admin' "
                                   "WHERE login = ",
                                   Q(kAmoCaseworker),
                                   ";"
                                   "UPDATE dir_members SET roles = roles || ',auditor' "
                                   "WHERE login = ",
                                   Q(kAmoCoordinator)));
  v1::LoginResponse session;
  grpc::Status s = Login(*env, kAmoCaseworker, &session);
  ExpectIntegrityViolation(s);
  EXPECT_TRUE(session.token().empty());
  ExpectIntegrityViolation(Login(*env, kAmoCoordinator));
  EXPECT_EQ(DeniedEvents(*env, v1::ACTION_LOGIN), 2);
  EXPECT_EQ(Violations(*env, "dir_members"), 2);

  // A token from before the edit: Refresh re-reads the roles and refuses.
  v1::LoginResponse refreshed;
  s = env->auth().Refresh(env->As(kAmoCaseworker).get(), v1::RefreshRequest(), &refreshed);
  ExpectIntegrityViolation(s);
  EXPECT_TRUE(refreshed.token().empty());
  EXPECT_EQ(DeniedEvents(*env, v1::ACTION_LOGIN, env->member_id(kAmoCaseworker)), 1);
  EXPECT_EQ(Violations(*env, "dir_members"), 3);

  // The directory's handlers read the member before changing it.
  ExpectIntegrityViolation(RemoveMember(*env, kAdmin, env->member_id(kAmoCoordinator)));
  EXPECT_EQ(Violations(*env, "dir_members"), 4);

  // Untouched members log in as before.
  EXPECT_TRUE(Login(*env, kSajCaseworker).ok());
  EXPECT_TRUE(Login(*env, kAdmin).ok());
  EXPECT_EQ(Violations(*env, "dir_services"), 0);
}

TEST(DirectoryIntegrity, MemberInsertedThroughSqlWithAKnownHashIsRefused) {
  auto env = RelaisEnv::Start();
  // An admin of the AMO whose password is the caseworker's (hash copied).
  Sql(env->db_path(),
      absl::StrCat("INSERT INTO dir_members (id, service_id, display_name, login, roles, "
                   "password_hash, active, created_at_us) SELECT 'mbr_intrus', service_id, "
                   "'Intrus', 'intrus', 'admin', password_hash, 1, created_at_us "
                   "FROM dir_members WHERE login = ",
                   Q(kAmoCaseworker)));
  v1::LoginResponse session;
  grpc::Status s = Login(*env, "intrus", &session);
  ExpectIntegrityViolation(s);
  EXPECT_TRUE(session.token().empty());
  EXPECT_EQ(DeniedEvents(*env, v1::ACTION_LOGIN), 1);
  EXPECT_EQ(Violations(*env, "dir_members"), 1);
  // An admin who looks the row up is refused too, and it stays in place.
  s = RemoveMember(*env, kAdmin, "mbr_intrus");
  ExpectIntegrityViolation(s);
  EXPECT_EQ(DeniedEvents(*env, v1::ACTION_MANAGE_DIRECTORY, env->member_id(kAdmin)), 1);
  EXPECT_EQ(Violations(*env, "dir_members"), 2);
  // The member whose hash was copied is untouched.
  EXPECT_TRUE(Login(*env, kAmoCaseworker).ok());
}

TEST(DirectoryIntegrity, PlatformFlagSetThroughSqlIsRefused) {
  auto env = RelaisEnv::Start();
  env->AddMember("amo.audit", "amo", v1::ROLE_AUDITOR);
  // Scoped to its own service, the AMO's auditor cannot read the SAJ's events.
  v1::QueryEventsRequest saj;
  saj.set_actor_service_id(env->service_id("saj"));
  v1::QueryEventsResponse events;
  grpc::Status s = env->audit().QueryEvents(env->As("amo.audit").get(), saj, &events);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  // The AMO made the platform's service by hand: its auditor would be the DPO.
  Sql(env->db_path(),
      absl::StrCat("UPDATE dir_services SET platform = 1 WHERE id = ", Q(env->service_id("amo"))));
  ExpectIntegrityViolation(Login(*env, "amo.audit"));
  EXPECT_EQ(DeniedEvents(*env, v1::ACTION_LOGIN), 1);
  EXPECT_EQ(Violations(*env, "dir_services"), 1);
  // With a token from before, the platform check refuses rather than widens.
  s = env->audit().QueryEvents(env->As("amo.audit").get(), saj, &events);
  ExpectIntegrityViolation(s);
  EXPECT_EQ(events.events_size(), 0);
  EXPECT_GE(DeniedEvents(*env, v1::ACTION_QUERY_AUDIT, env->member_id("amo.audit")), 1);
  EXPECT_EQ(Violations(*env, "dir_services"), 2);
  // Members of other services are untouched; the real DPO still reads.
  EXPECT_TRUE(Login(*env, kSajCaseworker).ok());
  s = env->audit().QueryEvents(env->As(kAuditor).get(), saj, &events);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Violations(*env, "dir_members"), 0);
}

TEST(DirectoryIntegrity, PlatformFlagClearedThroughSqlIsRefusedNotDowngraded) {
  auto env = RelaisEnv::Start();
  Sql(env->db_path(),
      absl::StrCat("UPDATE dir_services SET platform = 0 WHERE id = ", Q(env->service_id("agaj"))));
  v1::QueryEventsResponse events;
  grpc::Status s =
      env->audit().QueryEvents(env->As(kAuditor).get(), v1::QueryEventsRequest(), &events);
  ExpectIntegrityViolation(s);
  ExpectIntegrityViolation(Login(*env, kAuditor));
  EXPECT_EQ(Violations(*env, "dir_services"), 2);
}

TEST(DirectoryIntegrity, HonestChangesKeepVerifyingAcrossARestart) {
  const std::string db = FreshPath("directory_integrity_restart");
  const std::string keys = FreshPath("directory_integrity_keys");
  std::string caseworker;
  {
    auto env = RelaisEnv::Start(db, true, keys);
    caseworker = env->member_id(kAmoCaseworker);
    // A role change, a removal and a new member through the API.
    v1::SetMemberRolesRequest roles;
    roles.set_member_id(caseworker);
    roles.add_roles(v1::ROLE_CASEWORKER);
    roles.add_roles(v1::ROLE_COORDINATOR);
    v1::Member changed;
    grpc::Status s =
        env->directory().SetMemberRoles(env->As(kAmoCoordinator).get(), roles, &changed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    s = RemoveMember(*env, kAdmin, env->member_id(kPmsCaseworker));
    ASSERT_TRUE(s.ok()) << s.error_message();
    env->Stop();
  }
  auto env = RelaisEnv::Start(db, false, keys);
  v1::LoginResponse session;
  grpc::Status s = Login(*env, kAmoCaseworker, &session);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(session.roles(), ::testing::ElementsAre(v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR));
  EXPECT_EQ(ReasonCode(Login(*env, kPmsCaseworker)), "invalid_credentials");
  EXPECT_EQ(Violations(*env, "dir_members"), 0);
}

}  // namespace
}  // namespace relais::testing
