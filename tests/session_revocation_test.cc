// Server-side revocation (issue #11, item 2): Logout, a role change or a
// removal ends tokens at the very next call on every service, a token issued
// right after a revoke-all works even within the same second, revocations
// survive a restart, and Refresh stops 12 hours after the password was given.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/common/rpc.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

v1::LoginResponse LoginOrDie(RelaisEnv& env, absl::string_view login) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(kPassword);
  v1::LoginResponse out;
  grpc::Status s = env.auth().Login(env.Anonymous().get(), req, &out);
  EXPECT_TRUE(s.ok()) << login << ": " << s.error_message();
  return out;
}

std::unique_ptr<grpc::ClientContext> With(RelaisEnv& env, const std::string& token) {
  return env.Anonymous(absl::StrCat("Bearer ", token));
}

// One call per service with `token`, whatever its roles allow: authentication
// comes first, so a revoked token is refused the same way everywhere.
std::vector<grpc::Status> CallEveryService(RelaisEnv& env, const std::string& token) {
  std::vector<grpc::Status> out;
  {
    v1::ListSectorsResponse r;
    out.push_back(env.directory().ListSectors(With(env, token).get(), {}, &r));
  }
  {
    v1::GetYouthRequest q;
    q.set_youth_id("yth_none");
    q.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Youth r;
    out.push_back(env.record().GetYouth(With(env, token).get(), q, &r));
  }
  {
    v1::ListHandoversResponse r;
    out.push_back(env.care().ListHandovers(With(env, token).get(), {}, &r));
  }
  {
    v1::QueryEventsResponse r;
    out.push_back(env.audit().QueryEvents(With(env, token).get(), {}, &r));
  }
  {
    v1::LoginResponse r;
    out.push_back(env.auth().Refresh(With(env, token).get(), {}, &r));
  }
  {
    auto admin = v1::AdminService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", env.host().port()), grpc::InsecureChannelCredentials()));
    auto ctx = With(env, token);
    auto reader = admin->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
    v1::BackupDatabaseChunk chunk;
    while (reader->Read(&chunk)) {
    }
    out.push_back(reader->Finish());
  }
  return out;
}

void ExpectRevokedEverywhere(RelaisEnv& env, const std::string& token) {
  for (const grpc::Status& s : CallEveryService(env, token)) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_EQ(ReasonCode(s), "token_revoked") << s.error_message();
  }
}

grpc::Status ListSectors(RelaisEnv& env, const std::string& token) {
  v1::ListSectorsResponse r;
  return env.directory().ListSectors(With(env, token).get(), {}, &r);
}

// Denials of revoked tokens, as the auditor reads them.
int RevokedDenials(RelaisEnv& env) {
  v1::QueryEventsRequest q;
  q.set_decision(v1::DECISION_DENY);
  q.set_page_size(1000);
  v1::QueryEventsResponse events;
  EXPECT_TRUE(env.audit().QueryEvents(env.As(kAuditor).get(), q, &events).ok());
  int n = 0;
  for (const auto& e : events.events()) {
    if (e.reason() == v1::ACCESS_REASON_TOKEN_REVOKED) {
      EXPECT_EQ(e.reason_code(), "token_revoked");
      ++n;
    }
  }
  return n;
}

TEST(SessionRevocation, LogoutEndsTheTokenOnEveryServiceAtTheNextCall) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::LoginResponse session = LoginOrDie(*env, kAmoCaseworker);
  const v1::LoginResponse other_device = LoginOrDie(*env, kAmoCaseworker);
  ASSERT_TRUE(ListSectors(*env, session.token()).ok());

  v1::LogoutResponse out;
  ASSERT_TRUE(env->auth().Logout(With(*env, session.token()).get(), {}, &out).ok());
  ExpectRevokedEverywhere(*env, session.token());
  EXPECT_EQ(RevokedDenials(*env), 6);
  // Only that token: the member's other session goes on.
  EXPECT_TRUE(ListSectors(*env, other_device.token()).ok());
  // Logging out again answers token_revoked (and changes nothing).
  grpc::Status again = env->auth().Logout(With(*env, session.token()).get(), {}, &out);
  EXPECT_EQ(ReasonCode(again), "token_revoked");
}

TEST(SessionRevocation, ARoleChangeEndsEveryTokenAndAFreshOneInTheSameSecondWorks) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::LoginResponse first = LoginOrDie(*env, kAmoCaseworker);
  const v1::LoginResponse second = LoginOrDie(*env, kAmoCaseworker);
  const v1::LoginResponse bystander = LoginOrDie(*env, kSajCaseworker);

  v1::SetMemberRolesRequest set;
  set.set_member_id(env->member_id(kAmoCaseworker));
  set.add_roles(v1::ROLE_CASEWORKER);
  set.add_roles(v1::ROLE_COORDINATOR);
  v1::Member changed;
  ASSERT_TRUE(env->directory().SetMemberRoles(env->As(kAmoCoordinator).get(), set, &changed).ok());

  // The fake clock has not moved: same second as the change.
  ExpectRevokedEverywhere(*env, first.token());
  ExpectRevokedEverywhere(*env, second.token());
  EXPECT_TRUE(ListSectors(*env, bystander.token()).ok());
  const v1::LoginResponse fresh = LoginOrDie(*env, kAmoCaseworker);
  EXPECT_TRUE(ListSectors(*env, fresh.token()).ok());
  EXPECT_EQ(fresh.roles_size(), 2);
  // A refused change revokes nothing.
  set.add_roles(v1::ROLE_ADMIN);
  EXPECT_FALSE(env->directory().SetMemberRoles(env->As(kAmoCoordinator).get(), set, &changed).ok());
  EXPECT_TRUE(ListSectors(*env, fresh.token()).ok());
}

TEST(SessionRevocation, ARemovedMemberIsOutAtTheNextCall) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::LoginResponse session = LoginOrDie(*env, kAmoCaseworker);
  v1::RemoveMemberRequest remove;
  remove.set_member_id(env->member_id(kAmoCaseworker));
  v1::Member removed;
  ASSERT_TRUE(env->directory().RemoveMember(env->As(kAmoCoordinator).get(), remove, &removed).ok());
  ExpectRevokedEverywhere(*env, session.token());
  v1::LoginRequest req;
  req.set_login(kAmoCaseworker);
  req.set_password(kPassword);
  v1::LoginResponse again;
  EXPECT_EQ(ReasonCode(env->auth().Login(env->Anonymous().get(), req, &again)),
            "invalid_credentials");
}

// The token's verdict is read with a call's first reads (one round trip on
// PostgreSQL): a write waits for it, so a revoked token writes nothing, and
// its call leaves one event, the refusal.
TEST(SessionRevocation, ARevokedTokenWritesNothingAndLeavesOneEvent) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  const v1::LoginResponse revoked = LoginOrDie(*env, kAmoCaseworker);
  const v1::LoginResponse fresh = LoginOrDie(*env, kAmoCaseworker);
  v1::LogoutResponse out;
  ASSERT_TRUE(env->auth().Logout(With(*env, revoked.token()).get(), {}, &out).ok());
  const int denials = RevokedDenials(*env);
  auto additions = [&] {
    int n = 0;
    for (const v1::AuditEvent& e : EventsOf(*env, youth)) n += e.action() == v1::ACTION_ADD_ENTRY;
    return n;
  };

  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(youth);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(v1::DATA_CATEGORY_SOCIAL);
  add.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  add.mutable_entry()->set_body("written with a revoked token");
  v1::Entry entry;
  const grpc::Status refused =
      env->record().AddEntry(With(*env, revoked.token()).get(), add, &entry);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED) << refused.error_message();
  EXPECT_EQ(ReasonCode(refused), "token_revoked");
  EXPECT_EQ(RevokedDenials(*env), denials + 1);
  EXPECT_EQ(additions(), 0) << "the refused call was audited as an addition";

  v1::ListEntriesRequest list;
  list.set_youth_id(youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse listed;
  ASSERT_TRUE(env->record().ListEntries(With(*env, fresh.token()).get(), list, &listed).ok());
  EXPECT_EQ(listed.entries_size(), 0) << "a revoked token wrote an entry";
  // The same call with a valid token of the same member writes.
  ASSERT_TRUE(env->record().AddEntry(With(*env, fresh.token()).get(), add, &entry).ok());
  ASSERT_TRUE(env->record().ListEntries(With(*env, fresh.token()).get(), list, &listed).ok());
  EXPECT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(additions(), 1);
}

TEST(SessionRevocation, RevocationsSurviveARestart) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::LoginResponse logged_out = LoginOrDie(*env, kSajCaseworker);
  const v1::LoginResponse kept = LoginOrDie(*env, kSajCaseworker);
  const v1::LoginResponse role_changed = LoginOrDie(*env, kAmoCaseworker);
  v1::LogoutResponse out;
  ASSERT_TRUE(env->auth().Logout(With(*env, logged_out.token()).get(), {}, &out).ok());
  v1::SetMemberRolesRequest set;
  set.set_member_id(env->member_id(kAmoCaseworker));
  set.add_roles(v1::ROLE_CASEWORKER);
  set.add_roles(v1::ROLE_AUDITOR);
  v1::Member changed;
  ASSERT_TRUE(env->directory().SetMemberRoles(env->As(kAdmin).get(), set, &changed).ok());

  const std::string db = env->db_path(), keys = env->keys_dir();
  env->Stop();
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(ReasonCode(ListSectors(*env, logged_out.token())), "token_revoked");
  EXPECT_EQ(ReasonCode(ListSectors(*env, role_changed.token())), "token_revoked");
  EXPECT_TRUE(ListSectors(*env, kept.token()).ok());
}

TEST(SessionRevocation, RefreshRotatesAndStopsTwelveHoursAfterLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse current = LoginOrDie(*env, kPmsCaseworker);
  const absl::Time logged_in = env->clock().Now();
  int refreshes = 0;
  grpc::Status last;
  while (true) {
    env->clock().Advance(absl::Minutes(14));
    v1::LoginResponse next;
    last = env->auth().Refresh(With(*env, current.token()).get(), {}, &next);
    if (!last.ok()) break;
    ++refreshes;
    // The token it replaced is revoked at once.
    EXPECT_EQ(ReasonCode(ListSectors(*env, current.token())), "token_revoked");
    current = next;
    ASSERT_LT(refreshes, 100);
  }
  // The last token was issued to end with the session, 12 hours after the
  // login, not a token lifetime later: nothing refreshes it past the cap.
  EXPECT_EQ(last.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(last), "token_expired");
  // 51 refreshes of 14 minutes fit before the 12 hours are up.
  EXPECT_EQ(refreshes, 51);
  EXPECT_EQ(common::FromProto(current.expires_at()), logged_in + absl::Hours(12));
  // A token still valid but from a login over 12 hours ago is refused too.
  const directory::MemberInfo m =
      env->host().directory().GetMember(env->member_id(kPmsCaseworker)).value();
  auto old_session = env->host().issuer().Issue(m.id, m.service_id, {"caseworker"},
                                                env->clock().Now() - absl::Hours(12));
  ASSERT_TRUE(old_session.ok()) << old_session.status();
  v1::LoginResponse refused;
  last = env->auth().Refresh(With(*env, *old_session).get(), {}, &refused);
  EXPECT_EQ(last.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(last), "session_expired");
  // A new login starts over.
  const v1::LoginResponse again = LoginOrDie(*env, kPmsCaseworker);
  v1::LoginResponse next;
  EXPECT_TRUE(env->auth().Refresh(With(*env, again.token()).get(), {}, &next).ok());
}

}  // namespace
}  // namespace relais::testing
