// Credentials and step-up (issue #11, items 1 and 5) through a real relaisd:
// one-time passwords from AddMember and ResetPassword, which only serve to
// choose a password with ChangePassword and expire; the password policy; the
// throttle shared with Login; and the 5-minute step-up of irreversible or bulk
// actions. Allow and deny paths, and what the audit log keeps of each.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/common/rpc.h"
#include "storage/testing/fresh_database.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNewLogin[] = "amo.nouvelle";
constexpr char kChosen[] = "la relève du mardi sent le café";

grpc::Status Login(RelaisEnv& env, absl::string_view login, absl::string_view password,
                   v1::LoginResponse* out) {
  v1::LoginRequest req;
  req.set_login(std::string(login));
  req.set_password(std::string(password));
  return env.auth().Login(env.Anonymous().get(), req, out);
}

grpc::Status ChangePassword(RelaisEnv& env, absl::string_view login, absl::string_view current,
                            absl::string_view next, v1::LoginResponse* out) {
  v1::ChangePasswordRequest req;
  req.set_login(std::string(login));
  req.set_current_password(std::string(current));
  req.set_new_password(std::string(next));
  return env.auth().ChangePassword(env.Anonymous().get(), req, out);
}

// A context carrying `token` as its bearer.
std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

// A context with a valid token of `login` whose password was proved `ago`
// before now (a session refreshed since), as Refresh would carry it.
std::unique_ptr<grpc::ClientContext> AsLoggedIn(RelaisEnv& env, absl::string_view login,
                                                absl::Duration ago) {
  const directory::MemberInfo member = *env.host().directory().GetMember(env.member_id(login));
  std::vector<std::string> roles;
  for (v1::Role r : member.roles) roles.push_back(access::RoleName(r));
  auto token =
      env.host().issuer().Issue(member.id, member.service_id, roles, env.clock().Now() - ago);
  EXPECT_TRUE(token.ok()) << token.status();
  return WithToken(token.value_or(""));
}

v1::AddMemberResponse AddNewMember(RelaisEnv& env) {
  v1::AddMemberRequest req;
  req.mutable_member()->set_service_id(env.service_id("amo"));
  req.mutable_member()->set_display_name("Nouvelle collègue");
  req.mutable_member()->set_login(kNewLogin);
  req.mutable_member()->add_roles(v1::ROLE_CASEWORKER);
  v1::AddMemberResponse out;
  grpc::Status s = env.directory().AddMember(env.As(kAmoCoordinator).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

// Every audit event of `action`, oldest first (read by the DPO).
std::vector<v1::AuditEvent> EventsFor(RelaisEnv& env, v1::Action action) {
  v1::QueryEventsRequest req;
  req.set_page_size(1000);
  v1::QueryEventsResponse resp;
  grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<v1::AuditEvent> out;
  for (const v1::AuditEvent& e : resp.events()) {
    if (e.action() == action) out.push_back(e);
  }
  return out;
}

std::string AllStrings(const v1::AuditEvent& e) {
  return absl::StrCat(e.request_id(), "|", e.actor_member_id(), "|", e.actor_service_id(), "|",
                      e.actor_roles(), "|", e.client_identity(), "|", e.youth_id(), "|",
                      e.entry_id(), "|", e.object_id(), "|", e.reason_code());
}

// ---- One-time passwords -------------------------------------------------------

TEST(PasswordLifecycle, ANewMembersOneTimePasswordOnlyServesToChooseTheirOwn) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::AddMemberResponse added = AddNewMember(*env);
  const std::string one_time = added.one_time_password();
  ASSERT_EQ(one_time.size(), 26u);
  EXPECT_EQ(common::FromProto(added.one_time_password_expires_at()),
            env->clock().Now() + absl::Hours(72));

  // It opens no session...
  v1::LoginResponse session;
  grpc::Status s = Login(*env, kNewLogin, one_time, &session);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "password_change_required");
  EXPECT_TRUE(session.token().empty());
  // ...but lets the member choose a password, and answers a working token.
  ASSERT_TRUE(ChangePassword(*env, kNewLogin, one_time, kChosen, &session).ok());
  EXPECT_EQ(session.member_id(), added.member().id());
  v1::GlossaryResponse glossary;
  EXPECT_TRUE(env->directory().Glossary(WithToken(session.token()).get(), {}, &glossary).ok());

  // The one-time password is spent; the chosen one works.
  v1::LoginResponse again;
  EXPECT_EQ(ReasonCode(Login(*env, kNewLogin, one_time, &again)), "invalid_credentials");
  EXPECT_EQ(ReasonCode(ChangePassword(*env, kNewLogin, one_time, "encore un autre choix", &again)),
            "invalid_credentials");
  EXPECT_TRUE(Login(*env, kNewLogin, kChosen, &again).ok());

  // Audited, with the member as actor, never a password.
  const std::vector<v1::AuditEvent> changes = EventsFor(*env, v1::ACTION_CHANGE_PASSWORD);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(changes[0].actor_member_id(), added.member().id());
  EXPECT_EQ(changes[1].decision(), v1::DECISION_DENY);
  EXPECT_EQ(changes[1].reason_code(), "invalid_credentials");
  EXPECT_EQ(changes[1].actor_member_id(), "");
  const std::vector<v1::AuditEvent> logins = EventsFor(*env, v1::ACTION_LOGIN);
  ASSERT_FALSE(logins.empty());
  EXPECT_EQ(logins[0].reason_code(), "password_change_required");
  EXPECT_EQ(logins[0].reason(), v1::ACCESS_REASON_PASSWORD_CHANGE_REQUIRED);
  for (const auto& list : {changes, logins}) {
    for (const v1::AuditEvent& e : list) {
      EXPECT_THAT(AllStrings(e), Not(HasSubstr(one_time)));
      EXPECT_THAT(AllStrings(e), Not(HasSubstr("relève")));
    }
  }
}

TEST(PasswordLifecycle, AnExpiredOneTimePasswordAnswersLikeAWrongPassword) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const v1::AddMemberResponse added = AddNewMember(*env);
  env->clock().Advance(absl::Hours(72));
  v1::LoginResponse out;
  grpc::Status login = Login(*env, kNewLogin, added.one_time_password(), &out);
  EXPECT_EQ(login.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(login), "invalid_credentials");
  EXPECT_EQ(ReasonCode(ChangePassword(*env, kNewLogin, added.one_time_password(), kChosen, &out)),
            "invalid_credentials");

  // The coordinator resets it: a fresh one-time password works again.
  v1::ResetPasswordRequest req;
  req.set_member_id(added.member().id());
  v1::ResetPasswordResponse reset;
  ASSERT_TRUE(env->directory().ResetPassword(env->As(kAmoCoordinator).get(), req, &reset).ok());
  EXPECT_NE(reset.one_time_password(), added.one_time_password());
  EXPECT_TRUE(ChangePassword(*env, kNewLogin, reset.one_time_password(), kChosen, &out).ok());
}

TEST(PasswordLifecycle, AResetReplacesTheOldPasswordAtOnceWithAOneTimePassword) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::ResetPasswordRequest req;
  req.set_member_id(env->member_id(kAmoCaseworker));
  v1::ResetPasswordResponse reset;
  ASSERT_TRUE(env->directory().ResetPassword(env->As(kAmoCoordinator).get(), req, &reset).ok());
  v1::LoginResponse out;
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, kPassword, &out)), "invalid_credentials");
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, reset.one_time_password(), &out)),
            "password_change_required");
  ASSERT_TRUE(ChangePassword(*env, kAmoCaseworker, reset.one_time_password(), kChosen, &out).ok());
  EXPECT_TRUE(Login(*env, kAmoCaseworker, kChosen, &out).ok());

  const std::vector<v1::AuditEvent> resets = EventsFor(*env, v1::ACTION_RESET_PASSWORD);
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0].decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(resets[0].actor_member_id(), env->member_id(kAmoCoordinator));
  EXPECT_EQ(resets[0].object_id(), env->member_id(kAmoCaseworker));
  EXPECT_THAT(AllStrings(resets[0]), Not(HasSubstr(reset.one_time_password())));
}

TEST(PasswordLifecycle, NobodyResetsTheirOwnPasswordNorOneOfAnotherService) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::ResetPasswordRequest req;
  v1::ResetPasswordResponse reset;
  req.set_member_id(env->member_id(kAmoCaseworker));
  grpc::Status other = env->directory().ResetPassword(env->As(kSajCoordinator).get(), req, &reset);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(other), "wrong_service");
  req.set_member_id(env->member_id(kAmoCoordinator));
  grpc::Status self = env->directory().ResetPassword(env->As(kAmoCoordinator).get(), req, &reset);
  EXPECT_EQ(self.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(self), "separation_of_duties");
  req.set_member_id(env->member_id(kAmoCoordinator));
  EXPECT_EQ(ReasonCode(env->directory().ResetPassword(env->As(kAmoCaseworker).get(), req, &reset)),
            "role_not_permitted");
  EXPECT_TRUE(reset.one_time_password().empty());
  // Every password still works.
  v1::LoginResponse out;
  for (const char* login : {kAmoCaseworker, kAmoCoordinator}) {
    EXPECT_TRUE(Login(*env, login, kPassword, &out).ok()) << login;
  }
  const std::vector<v1::AuditEvent> resets = EventsFor(*env, v1::ACTION_RESET_PASSWORD);
  ASSERT_EQ(resets.size(), 3u);
  for (const v1::AuditEvent& e : resets) EXPECT_EQ(e.decision(), v1::DECISION_DENY);
}

// ---- Sessions end with the password ---------------------------------------------

// What a call with `token` gets: OK, or the reason code of its refusal.
std::string Outcome(RelaisEnv& env, const std::string& token) {
  v1::GlossaryResponse glossary;
  grpc::Status s = env.directory().Glossary(WithToken(token).get(), {}, &glossary);
  return s.ok() ? "ok" : ReasonCode(s);
}

std::string RefreshOutcome(RelaisEnv& env, const std::string& token) {
  v1::LoginResponse out;
  grpc::Status s = env.auth().Refresh(WithToken(token).get(), v1::RefreshRequest(), &out);
  return s.ok() ? "ok" : ReasonCode(s);
}

TEST(PasswordLifecycle, AChangedPasswordEndsEveryEarlierTokenOfTheMemberAtTheNextCall) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  // Two sessions of the member (two devices), and a colleague's.
  v1::LoginResponse laptop, phone, colleague;
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &laptop).ok());
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &phone).ok());
  ASSERT_TRUE(Login(*env, kAmoCoordinator, kPassword, &colleague).ok());
  ASSERT_EQ(Outcome(*env, laptop.token()), "ok");
  ASSERT_EQ(Outcome(*env, phone.token()), "ok");

  v1::LoginResponse changed;
  ASSERT_TRUE(ChangePassword(*env, kAmoCaseworker, kPassword, kChosen, &changed).ok());
  // The very next call, in the same second: no clock moves.
  EXPECT_EQ(Outcome(*env, laptop.token()), "token_revoked");
  EXPECT_EQ(Outcome(*env, phone.token()), "token_revoked");
  EXPECT_EQ(RefreshOutcome(*env, phone.token()), "token_revoked");
  // The token ChangePassword answered, and other members' tokens, work.
  EXPECT_EQ(Outcome(*env, changed.token()), "ok");
  EXPECT_EQ(Outcome(*env, colleague.token()), "ok");

  // Each refusal is audited (a revoked token names no actor: it no longer verifies).
  v1::QueryEventsRequest req;
  req.set_decision(v1::DECISION_DENY);
  req.set_page_size(1000);
  v1::QueryEventsResponse resp;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), req, &resp).ok());
  int revoked = 0;
  for (const v1::AuditEvent& e : resp.events()) {
    if (e.reason_code() != "token_revoked") continue;
    ++revoked;
    EXPECT_EQ(e.reason(), v1::ACCESS_REASON_TOKEN_REVOKED);
  }
  EXPECT_EQ(revoked, 3);
}

TEST(PasswordLifecycle, AResetEndsEveryTokenOfTheMemberAtTheNextCallButNotTheResetters) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse worker, other_worker;
  ASSERT_TRUE(Login(*env, kAmoCaseworker, kPassword, &worker).ok());
  ASSERT_TRUE(Login(*env, kSajCaseworker, kPassword, &other_worker).ok());
  ASSERT_EQ(Outcome(*env, worker.token()), "ok");

  // A refused reset (wrong service) ends nothing.
  v1::ResetPasswordRequest req;
  req.set_member_id(env->member_id(kAmoCaseworker));
  v1::ResetPasswordResponse reset;
  EXPECT_EQ(ReasonCode(env->directory().ResetPassword(env->As(kSajCoordinator).get(), req, &reset)),
            "wrong_service");
  EXPECT_EQ(Outcome(*env, worker.token()), "ok");

  auto coordinator = env->As(kAmoCoordinator);
  ASSERT_TRUE(env->directory().ResetPassword(coordinator.get(), req, &reset).ok());
  EXPECT_EQ(Outcome(*env, worker.token()), "token_revoked");
  EXPECT_EQ(RefreshOutcome(*env, worker.token()), "token_revoked");
  EXPECT_EQ(Outcome(*env, other_worker.token()), "ok");
  v1::GlossaryResponse glossary;
  EXPECT_TRUE(env->directory().Glossary(env->As(kAmoCoordinator).get(), {}, &glossary).ok());

  // The member's next session starts from the one-time password.
  v1::LoginResponse fresh;
  ASSERT_TRUE(
      ChangePassword(*env, kAmoCaseworker, reset.one_time_password(), kChosen, &fresh).ok());
  EXPECT_EQ(Outcome(*env, fresh.token()), "ok");
  EXPECT_EQ(Outcome(*env, worker.token()), "token_revoked");
}

// ---- ChangePassword -----------------------------------------------------------

TEST(PasswordLifecycle, AWrongCurrentPasswordIsRefusedAndCountedByTheLoginThrottle) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse out;
  for (int i = 0; i < 5; ++i) {
    grpc::Status s = ChangePassword(*env, kSajCaseworker, "pas le bon mot de passe", kChosen, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(ReasonCode(s), "invalid_credentials");
  }
  // Five failures lock the account for Login and ChangePassword alike, even
  // with the right password.
  grpc::Status login = Login(*env, kSajCaseworker, kPassword, &out);
  EXPECT_EQ(login.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonCode(login), "account_locked");
  EXPECT_EQ(ReasonCode(ChangePassword(*env, kSajCaseworker, kPassword, kChosen, &out)),
            "account_locked");
  // An unknown login gets the same answer as a wrong password.
  EXPECT_EQ(ReasonCode(ChangePassword(*env, "personne.inconnue", kPassword, kChosen, &out)),
            "invalid_credentials");
}

TEST(PasswordLifecycle, TheNewPasswordFollowsThePolicyAndDiffersFromTheCurrentOne) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse out;
  struct Case {
    std::string next;
    const char* reason;
  } cases[] = {
      {"court-11car", "password_too_short"},   {std::string(129, 'x'), "password_too_long"},
      {"Qwerty123456", "password_too_common"}, {"1QAZ2WSX3EDC", "password_too_common"},
      {kPassword, "password_unchanged"},
  };
  for (const Case& c : cases) {
    grpc::Status s = ChangePassword(*env, kAmoCaseworker, kPassword, c.next, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.reason;
    EXPECT_EQ(ReasonCode(s), c.reason);
  }
  EXPECT_TRUE(Login(*env, kAmoCaseworker, kPassword, &out).ok());
  // A long passphrase of 128 characters is fine.
  ASSERT_TRUE(ChangePassword(*env, kAmoCaseworker, kPassword, std::string(128, 'z'), &out).ok());
  EXPECT_EQ(ReasonCode(Login(*env, kAmoCaseworker, kPassword, &out)), "invalid_credentials");
}

// ---- Step-up -----------------------------------------------------------------

// The reason a stale (6-minute-old login) call gets, checked in the audit log too.
void ExpectStepUpRefused(RelaisEnv& env, const grpc::Status& status, v1::Action action) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(ReasonCode(status), "reauthentication_required");
  const std::vector<v1::AuditEvent> events = EventsFor(env, action);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().decision(), v1::DECISION_DENY);
  EXPECT_EQ(events.back().reason(), v1::ACCESS_REASON_REAUTHENTICATION_REQUIRED);
}

constexpr absl::Duration kStale = absl::Minutes(6);
constexpr absl::Duration kRecent = absl::Minutes(4);

TEST(StepUp, RoleChangesAndPasswordResetsNeedARecentLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::SetMemberRolesRequest roles;
  roles.set_member_id(env->member_id(kAmoCaseworker));
  roles.add_roles(v1::ROLE_COORDINATOR);
  v1::Member member;
  ExpectStepUpRefused(*env,
                      env->directory().SetMemberRoles(
                          AsLoggedIn(*env, kAmoCoordinator, kStale).get(), roles, &member),
                      v1::ACTION_MANAGE_DIRECTORY);
  v1::ResetPasswordRequest reset;
  reset.set_member_id(env->member_id(kAmoCaseworker));
  v1::ResetPasswordResponse otp;
  ExpectStepUpRefused(
      *env,
      env->directory().ResetPassword(AsLoggedIn(*env, kAmoCoordinator, kStale).get(), reset, &otp),
      v1::ACTION_RESET_PASSWORD);
  v1::LoginResponse out;
  EXPECT_TRUE(Login(*env, kAmoCaseworker, kPassword, &out).ok());  // nothing changed

  EXPECT_TRUE(env->directory()
                  .SetMemberRoles(AsLoggedIn(*env, kAmoCoordinator, kRecent).get(), roles, &member)
                  .ok());
  EXPECT_TRUE(env->directory()
                  .ResetPassword(AsLoggedIn(*env, kAmoCoordinator, kRecent).get(), reset, &otp)
                  .ok());
}

TEST(StepUp, ARefreshedTokenDoesNotRenewTheLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::LoginResponse session;
  ASSERT_TRUE(Login(*env, kAmoCoordinator, kPassword, &session).ok());
  env->clock().Advance(kStale);
  v1::LoginResponse refreshed;
  ASSERT_TRUE(env->auth().Refresh(WithToken(session.token()).get(), {}, &refreshed).ok());
  v1::SetMemberRolesRequest roles;
  roles.set_member_id(env->member_id(kAmoCaseworker));
  roles.add_roles(v1::ROLE_COORDINATOR);
  v1::Member member;
  ExpectStepUpRefused(
      *env, env->directory().SetMemberRoles(WithToken(refreshed.token()).get(), roles, &member),
      v1::ACTION_MANAGE_DIRECTORY);
  // Logging in again is the way.
  ASSERT_TRUE(Login(*env, kAmoCoordinator, kPassword, &session).ok());
  EXPECT_TRUE(
      env->directory().SetMemberRoles(WithToken(session.token()).get(), roles, &member).ok());
}

TEST(StepUp, ErasureApprovalNeedsARecentLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::EraseYouthRequest erase;
  erase.set_youth_id(youth);
  erase.set_reason("Le jeune demande l'effacement");
  v1::ErasureRequest request;
  ASSERT_TRUE(env->record().EraseYouth(env->As(kAmoCoordinator).get(), erase, &request).ok());
  v1::ApproveErasureRequest approve;
  approve.set_request_id(request.id());
  v1::ErasureRequest approved;
  ExpectStepUpRefused(
      *env,
      env->record().ApproveErasure(AsLoggedIn(*env, kAuditor, kStale).get(), approve, &approved),
      v1::ACTION_APPROVE_ERASURE);
  ASSERT_TRUE(env->record()
                  .ApproveErasure(AsLoggedIn(*env, kAuditor, kRecent).get(), approve, &approved)
                  .ok());
  EXPECT_EQ(approved.state(), v1::ERASURE_STATE_APPROVED);
}

TEST(StepUp, FullExportApprovalAndUseNeedARecentLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::RequestFullExportRequest ask;
  ask.set_youth_id(youth);
  ask.set_reason("Réquisition du parquet");
  v1::FullExportRequest fx;
  ASSERT_TRUE(env->record().RequestFullExport(env->As(kAdmin).get(), ask, &fx).ok());
  v1::ApproveFullExportRequest approve;
  approve.set_request_id(fx.id());
  ExpectStepUpRefused(
      *env, env->record().ApproveFullExport(AsLoggedIn(*env, kAuditor, kStale).get(), approve, &fx),
      v1::ACTION_APPROVE_FULL_EXPORT);
  ASSERT_TRUE(env->record()
                  .ApproveFullExport(AsLoggedIn(*env, kAuditor, kRecent).get(), approve, &fx)
                  .ok());

  auto export_as = [&](absl::Duration ago, int* items) {
    v1::ExportYouthRequest req;
    req.set_youth_id(youth);
    req.set_full_export_request_id(fx.id());
    auto ctx = AsLoggedIn(*env, kAdmin, ago);
    auto reader = env->record().ExportYouth(ctx.get(), req);
    *items = 0;
    for (v1::ExportYouthItem item; reader->Read(&item);) ++*items;
    return reader->Finish();
  };
  int items = 0;
  ExpectStepUpRefused(*env, export_as(kStale, &items), v1::ACTION_EXPORT_YOUTH);
  EXPECT_EQ(items, 0);
  grpc::Status full = export_as(kRecent, &items);
  EXPECT_TRUE(full.ok()) << full.error_message();
  EXPECT_GT(items, 0);
}

TEST(StepUp, BackupNeedsARecentLogin) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  auto stub = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env->host().port()), grpc::InsecureChannelCredentials()));
  auto backup_as = [&](absl::Duration ago, int* chunks) {
    auto ctx = AsLoggedIn(*env, kAdmin, ago);
    auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
    *chunks = 0;
    for (v1::BackupDatabaseChunk chunk; reader->Read(&chunk);) ++*chunks;
    return reader->Finish();
  };
  int chunks = 0;
  ExpectStepUpRefused(*env, backup_as(kStale, &chunks), v1::ACTION_BACKUP);
  EXPECT_EQ(chunks, 0);
  grpc::Status fresh = backup_as(kRecent, &chunks);
  EXPECT_TRUE(fresh.ok()) << fresh.error_message();
  EXPECT_GT(chunks, 0);
}

}  // namespace
}  // namespace relais::testing
