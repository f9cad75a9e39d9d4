// Separated duties (DESIGN.md), through a real server: the auditor's scope
// (platform DPO or one service), the access report's scope, the FindYouth
// look-up limit, and relais-admin, the only way to the admin role and the
// platform flag.

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "observability/metrics.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::grpc::StatusCode;

constexpr char kSajAuditor[] = "saj.auditor";

// Events of the whole log as the DPO sees them (QueryEvents pages).
std::vector<v1::AuditEvent> AllEvents(RelaisEnv& env, v1::Action action = v1::ACTION_UNSPECIFIED) {
  std::vector<v1::AuditEvent> out;
  std::string token;
  do {
    v1::QueryEventsRequest q;
    q.set_page_size(1000);
    q.set_page_token(token);
    v1::QueryEventsResponse r;
    grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), q, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    for (const auto& e : r.events()) {
      if (action == v1::ACTION_UNSPECIFIED || e.action() == action) out.push_back(e);
    }
    token = r.next_page_token();
  } while (!token.empty());
  return out;
}

// The last event `login` caused.
v1::AuditEvent LastEventOf(RelaisEnv& env, absl::string_view login) {
  v1::AuditEvent last;
  for (const v1::AuditEvent& e : AllEvents(env)) {
    if (e.actor_member_id() == env.member_id(login)) last = e;
  }
  return last;
}

// ---- Auditor scope ----------------------------------------------------------

TEST(AuditorScope, AServiceAuditorSeesOnlyTheirOwnServicesEvents) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember(kSajAuditor, "saj", v1::ROLE_AUDITOR);
  const std::string youth = env->CreateYouth(15);  // an AMO event
  {
    v1::GetYouthRequest req;  // a SAJ event (denied: no accompaniment)
    req.set_youth_id(youth);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Youth out;
    EXPECT_FALSE(env->record().GetYouth(env->As(kSajCaseworker).get(), req, &out).ok());
  }

  // No filter: forced to the SAJ's own events.
  v1::QueryEventsRequest q;
  v1::QueryEventsResponse r;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kSajAuditor).get(), q, &r).ok());
  ASSERT_FALSE(r.events().empty());
  bool saw_youth = false;
  for (const auto& e : r.events()) {
    EXPECT_EQ(e.actor_service_id(), env->service_id("saj")) << e.ShortDebugString();
    saw_youth = saw_youth || e.youth_id() == youth;
  }
  EXPECT_TRUE(saw_youth);
  // By youth: still only the SAJ's events about them.
  q.set_youth_id(youth);
  r.Clear();
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kSajAuditor).get(), q, &r).ok());
  ASSERT_EQ(r.events_size(), 1);
  EXPECT_EQ(r.events(0).actor_service_id(), env->service_id("saj"));
  // Naming their own service is fine; naming another is refused and audited.
  q.set_actor_service_id(env->service_id("saj"));
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kSajAuditor).get(), q, &r).ok());
  q.set_actor_service_id(env->service_id("amo"));
  r.Clear();
  grpc::Status other = env->audit().QueryEvents(env->As(kSajAuditor).get(), q, &r);
  EXPECT_EQ(other.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(other), "wrong_service");
  EXPECT_TRUE(r.events().empty());
  const v1::AuditEvent denied = LastEventOf(*env, kSajAuditor);
  EXPECT_EQ(denied.action(), v1::ACTION_QUERY_AUDIT);
  EXPECT_EQ(denied.decision(), v1::DECISION_DENY);
  EXPECT_EQ(denied.reason_code(), "wrong_service");

  // The DPO keeps the whole log.
  r.Clear();
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &r).ok());
  ASSERT_FALSE(r.events().empty());
  EXPECT_EQ(r.events(0).actor_service_id(), env->service_id("amo"));
}

TEST(AuditorScope, ExportAndEmergencyReviewAreThePlatformAuditorsOnlyVerifyIsEveryAuditors) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember(kSajAuditor, "saj", v1::ROLE_AUDITOR);

  auto export_as = [&](absl::string_view login, int* items) {
    auto ctx = env->As(login);
    v1::ExportEventsRequest req;
    auto reader = env->audit().ExportEvents(ctx.get(), req);
    v1::ExportItem item;
    *items = 0;
    while (reader->Read(&item)) ++*items;
    return reader->Finish();
  };
  int items = 0;
  grpc::Status exported = export_as(kSajAuditor, &items);
  EXPECT_EQ(exported.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(exported), "role_not_permitted");
  EXPECT_EQ(items, 0);
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).reason_code(), "role_not_permitted");
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).action(), v1::ACTION_EXPORT_AUDIT);

  v1::ListEmergencyAccessesRequest list;
  v1::ListEmergencyAccessesResponse grants;
  grpc::Status listed =
      env->audit().ListEmergencyAccesses(env->As(kSajAuditor).get(), list, &grants);
  EXPECT_EQ(ReasonCode(listed), "role_not_permitted");
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).action(), v1::ACTION_LIST_EMERGENCY_ACCESS);
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).decision(), v1::DECISION_DENY);

  v1::ReviewEmergencyAccessRequest review;
  review.set_grant_id("eg_whatever");
  review.set_verdict(v1::EMERGENCY_VERDICT_JUSTIFIED);
  v1::EmergencyAccess reviewed;
  grpc::Status judged =
      env->audit().ReviewEmergencyAccess(env->As(kSajAuditor).get(), review, &reviewed);
  EXPECT_EQ(ReasonCode(judged), "role_not_permitted");
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).action(), v1::ACTION_REVIEW_EMERGENCY_ACCESS);
  EXPECT_EQ(LastEventOf(*env, kSajAuditor).reason_code(), "role_not_permitted");

  v1::VerifyLogResponse verified;
  ASSERT_TRUE(
      env->audit().VerifyLog(env->As(kSajAuditor).get(), v1::VerifyLogRequest(), &verified).ok());
  EXPECT_TRUE(verified.ok());

  // The DPO does all of it.
  ASSERT_TRUE(export_as(kAuditor, &items).ok());
  EXPECT_GT(items, 0);
  ASSERT_TRUE(env->audit().ListEmergencyAccesses(env->As(kAuditor).get(), list, &grants).ok());
  grpc::Status dpo_review =
      env->audit().ReviewEmergencyAccess(env->As(kAuditor).get(), review, &reviewed);
  EXPECT_NE(ReasonCode(dpo_review), "role_not_permitted") << dpo_review.error_message();
}

// ---- Access report scope ----------------------------------------------------

std::set<std::string> ReportServices(RelaisEnv& env, absl::string_view login,
                                     const std::string& youth, grpc::Status* status) {
  v1::AccessReportRequest req;
  req.set_youth_id(youth);
  v1::AccessReportResponse resp;
  *status = env.audit().AccessReport(env.As(login).get(), req, &resp);
  std::set<std::string> services;
  for (const auto& line : resp.lines()) services.insert(line.service_id());
  return services;
}

TEST(AccessReportScope, WholeReportForTheDpoOwnServiceLinesForEveryoneElse) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember(kSajAuditor, "saj", v1::ROLE_AUDITOR);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  {
    v1::GetYouthRequest req;  // a SAJ access, refused
    req.set_youth_id(youth);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Youth out;
    EXPECT_FALSE(env->record().GetYouth(env->As(kSajCaseworker).get(), req, &out).ok());
  }
  const std::string amo = env->service_id("amo");
  const std::string saj = env->service_id("saj");
  const std::string agaj = env->service_id("agaj");

  grpc::Status s;
  // The DPO: every service that touched the record (and their own reads).
  std::set<std::string> dpo = ReportServices(*env, kAuditor, youth, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(dpo.count(amo));
  EXPECT_TRUE(dpo.count(saj));

  // The accompanying coordinator: their own service's accesses only.
  std::set<std::string> coord = ReportServices(*env, kAmoCoordinator, youth, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(coord, std::set<std::string>{amo});

  // A service auditor: their own service's lines, nothing of the AMO's.
  std::set<std::string> saj_auditor = ReportServices(*env, kSajAuditor, youth, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(saj_auditor, std::set<std::string>{saj});

  // A coordinator whose service does not accompany the youth: refused, as before.
  std::set<std::string> none = ReportServices(*env, kSajCoordinator, youth, &s);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(LastEventOf(*env, kSajCoordinator).action(), v1::ACTION_ACCESS_REPORT);
  EXPECT_EQ(LastEventOf(*env, kSajCoordinator).decision(), v1::DECISION_DENY);
  (void)agaj;
}

// ---- FindYouth look-up limit ------------------------------------------------

std::string Number(int i) { return absl::StrCat("900101", 10000 + i); }  // 11 digits

grpc::Status Find(RelaisEnv& env, absl::string_view login, const std::string& number,
                  v1::FindYouthResponse* out) {
  v1::FindYouthRequest req;
  req.set_national_number(number);
  return env.record().FindYouth(env.As(login).get(), req, out);
}

TEST(FindYouthLimit, TwentyLookUpsAnHourFoundOrNotThenRateLimitedWhateverTheNumber) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string known = Number(0);
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Test Youth");
  create.mutable_youth()->set_date_of_birth("2011-05-04");
  create.mutable_youth()->add_guardians()->set_display_name("Test Guardian");
  create.set_national_number(known);
  v1::Youth youth;
  ASSERT_TRUE(env->record().CreateYouth(env->As(kAmoCaseworker).get(), create, &youth).ok());

  // 1 found + 19 not found: 20 look-ups, each audited with its outcome.
  v1::FindYouthResponse found;
  ASSERT_TRUE(Find(*env, kSajCaseworker, known, &found).ok());
  EXPECT_EQ(found.youth_id(), youth.id());
  env->clock().Advance(absl::Minutes(1));
  for (int i = 1; i < 20; ++i) {
    grpc::Status s = Find(*env, kSajCaseworker, Number(i), &found);
    ASSERT_EQ(s.error_code(), StatusCode::NOT_FOUND) << i << " " << s.error_message();
    EXPECT_EQ(ReasonCode(s), "youth_not_found");
  }
  env->clock().Advance(absl::Minutes(58));
  // The 21st, known number or not: the same refusal, before any database read.
  grpc::Status known_refused = Find(*env, kSajCaseworker, known, &found);
  grpc::Status unknown_refused = Find(*env, kSajCaseworker, Number(99), &found);
  for (const grpc::Status& s : {known_refused, unknown_refused}) {
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_EQ(ReasonCode(s), "rate_limited");
  }
  EXPECT_EQ(known_refused.error_message(), unknown_refused.error_message());

  // Another member is not affected.
  ASSERT_TRUE(Find(*env, kAmoCaseworker, known, &found).ok());

  // The audit trail: every look-up with its outcome.
  int allowed = 0, not_found = 0, limited = 0;
  for (const v1::AuditEvent& e : AllEvents(*env, v1::ACTION_FIND_YOUTH)) {
    if (e.actor_member_id() != env->member_id(kSajCaseworker)) continue;
    if (e.decision() == v1::DECISION_ALLOW) {
      ++allowed;
      EXPECT_EQ(e.youth_id(), youth.id());
    } else if (e.reason_code() == "youth_not_found") {
      ++not_found;
      EXPECT_TRUE(e.youth_id().empty());
    } else {
      ++limited;
      EXPECT_EQ(e.reason_code(), "rate_limited");
      EXPECT_EQ(e.reason(), v1::ACCESS_REASON_RATE_LIMITED);
      EXPECT_EQ(e.decision(), v1::DECISION_DENY);
      EXPECT_TRUE(e.youth_id().empty());  // the refusal names no youth
    }
  }
  EXPECT_EQ(allowed, 1);
  EXPECT_EQ(not_found, 19);
  EXPECT_EQ(limited, 2);

  // Sliding hour: once the first look-up is an hour old, one more is allowed.
  env->clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(Find(*env, kSajCaseworker, known, &found).ok());
  EXPECT_EQ(ReasonCode(Find(*env, kSajCaseworker, known, &found)), "rate_limited");

  // The metrics count the look-ups by outcome (the request log feeds them
  // once the reply is sent: give it a moment).
  std::string page;
  for (int i = 0; i < 100; ++i) {
    page = env->host().metrics().Render();
    if (absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"rate_limited\"} 3")) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"found\"} 3"))
      << page;
  EXPECT_TRUE(absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"not_found\"} 19"))
      << page;
  EXPECT_TRUE(
      absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"rate_limited\"} 3"))
      << page;
}

TEST(FindYouthMetrics, CountsLookUpsByOutcomeAndNothingElse) {
  observability::Metrics m;
  const std::string method = "/relais.v1.RecordService/FindYouth";
  m.OnRpcDone(method, grpc::StatusCode::OK, "allowed", absl::Milliseconds(1));
  m.OnRpcDone(method, grpc::StatusCode::NOT_FOUND, "youth_not_found", absl::Milliseconds(1));
  m.OnRpcDone(method, grpc::StatusCode::NOT_FOUND, "youth_not_found", absl::Milliseconds(1));
  m.OnRpcDone(method, grpc::StatusCode::RESOURCE_EXHAUSTED, "rate_limited", absl::Milliseconds(1));
  // Not look-ups: a refused role, a malformed number, another method.
  m.OnRpcDone(method, grpc::StatusCode::PERMISSION_DENIED, "role_not_permitted",
              absl::Milliseconds(1));
  m.OnRpcDone(method, grpc::StatusCode::INVALID_ARGUMENT, "malformed_national_number",
              absl::Milliseconds(1));
  m.OnRpcDone("/relais.v1.RecordService/GetYouth", grpc::StatusCode::OK, "allowed",
              absl::Milliseconds(1));
  const std::string page = m.Render();
  EXPECT_TRUE(absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"found\"} 1\n"));
  EXPECT_TRUE(
      absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"not_found\"} 2\n"));
  EXPECT_TRUE(
      absl::StrContains(page, "relais_find_youth_lookups_total{outcome=\"rate_limited\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(page, "# TYPE relais_find_youth_lookups_total counter\n"));
}

// ---- relais-admin: the admin role and the platform flag ----------------------

CommandResult Admin(const std::vector<std::string>& args, const std::string& input = "") {
  return RunCommand(RELAIS_ADMIN, args, {}, input);
}

TEST(RelaisAdmin, CreatesTheFirstAdminOfAnEmptyDeploymentAndManagesTheAdminRole) {
  const std::string db = FreshPath("bootstrap") + ".db";
  // The rows it writes carry a MAC under relaisd's master key: it is given
  // the same key file as relaisd.
  const std::string key_file = FreshPath("bootstrap_master") + ".key";
  ASSERT_EQ(Admin({"new-master-key", "--out=" + key_file}).exit_code, 0);
  const std::string base = "--db=" + db;
  const std::string key = "--master_key_file=" + key_file;
  // Without the key, nothing is written.
  EXPECT_NE(
      Admin({"create-admin", base, "--service=svc_plateforme", "--service_name=Plateforme Relais",
             "--sector=aide_jeunesse", "--login=first.admin", "--display_name=Premier admin"})
          .exit_code,
      0);
  const std::vector<std::string> create = {"create-admin",
                                           base,
                                           key,
                                           "--service=svc_plateforme",
                                           "--service_name=Plateforme Relais",
                                           "--sector=aide_jeunesse",
                                           "--login=first.admin",
                                           "--display_name=Premier admin"};
  // Nobody chooses the admin's lasting password on the command line.
  std::vector<std::string> with_flag = create;
  with_flag.push_back("--password=correct horse battery");
  EXPECT_NE(Admin(with_flag, "").exit_code, 0);
  // A missing service needs its name and sector.
  EXPECT_EQ(Admin({"create-admin", base, key, "--service=svc_autre", "--login=other.admin",
                   "--display_name=Autre"})
                .exit_code,
            2);

  CommandResult made = Admin(create);
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_THAT(made.out, ::testing::HasSubstr("created platform service svc_plateforme"));
  // It prints a one-time password, once, which the admin must change.
  const std::string kOtpLabel = "one-time password for first.admin: ";
  const size_t at = made.out.find(kOtpLabel);
  ASSERT_NE(at, std::string::npos) << made.out;
  const std::string one_time = made.out.substr(at + kOtpLabel.size(), 26);

  // relaisd on that database: the admin logs in and sees the platform service.
  host::HostOptions options;
  options.db_path = db;
  options.master_key_file = key_file;
  options.sweep_interval = absl::Hours(1);
  auto host = host::Host::Start(options);
  ASSERT_TRUE(host.ok()) << host.status();
  auto channel = (*host)->InProcessChannel();
  auto auth = v1::AuthService::NewStub(channel);
  auto directory = v1::DirectoryService::NewStub(channel);
  v1::LoginRequest login;
  login.set_login("first.admin");
  login.set_password(one_time);
  v1::LoginResponse session;
  {
    grpc::ClientContext ctx;
    grpc::Status s = auth->Login(&ctx, login, &session);
    EXPECT_EQ(ReasonCode(s), "password_change_required") << s.error_message();
  }
  {
    v1::ChangePasswordRequest change;
    change.set_login("first.admin");
    change.set_current_password(one_time);
    change.set_new_password(kPassword);
    grpc::ClientContext ctx;
    grpc::Status s = auth->ChangePassword(&ctx, change, &session);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    // The rows relais-admin wrote verify: the admin logs in as admin.
    login.set_password(kPassword);
    v1::LoginResponse again;
    grpc::ClientContext ctx;
    grpc::Status s = auth->Login(&ctx, login, &again);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_THAT(again.roles(), ::testing::ElementsAre(v1::ROLE_ADMIN));
  }
  auto as_admin = [&] {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + session.token());
    return ctx;
  };
  v1::ListServicesResponse services;
  ASSERT_TRUE(directory->ListServices(as_admin().get(), v1::ListServicesRequest(), &services).ok());
  ASSERT_EQ(services.services_size(), 1);
  EXPECT_EQ(services.services(0).id(), "svc_plateforme");
  EXPECT_TRUE(services.services(0).platform());
  // The platform service's members (admins, the DPO) are not the online
  // admin's to make: the DPO approves what an admin asks.
  v1::AddMemberRequest add;
  add.mutable_member()->set_service_id("svc_plateforme");
  add.mutable_member()->set_display_name("Second");
  add.mutable_member()->set_login("second.member");
  add.mutable_member()->add_roles(v1::ROLE_AUDITOR);
  v1::AddMemberResponse added;
  {
    auto ctx = as_admin();
    EXPECT_EQ(ReasonCode(directory->AddMember(ctx.get(), add, &added)), "role_not_permitted");
  }
  CommandResult dpo = Admin({"create-auditor", base, key, "--service=svc_plateforme",
                             "--login=second.member", "--display_name=Second"});
  ASSERT_EQ(dpo.exit_code, 0) << dpo.out << dpo.err;
  EXPECT_THAT(dpo.out, ::testing::HasSubstr("created auditor second.member"));
  EXPECT_THAT(dpo.out, ::testing::HasSubstr("one-time password for second.member: "));
  auto dpo_member = (*host)->directory().FindCredentials("second.member");
  ASSERT_TRUE(dpo_member.ok());
  EXPECT_TRUE(dpo_member->must_change);
  const directory::MemberInfo second = dpo_member->member;

  // Beside the running server: grant, then take away, the admin role.
  // Under another master key the tool refuses the member row (and writes
  // nothing that relaisd would refuse).
  const std::string other_key = FreshPath("bootstrap_other") + ".key";
  ASSERT_EQ(Admin({"new-master-key", "--out=" + other_key}).exit_code, 0);
  CommandResult wrong =
      Admin({"grant-admin", base, "--master_key_file=" + other_key, "--login=second.member"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, ::testing::HasSubstr("integrity_violation"));
  CommandResult granted = Admin({"grant-admin", base, key, "--login=second.member"});
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  auto member = (*host)->directory().GetMember(second.id);
  ASSERT_TRUE(member.ok());
  EXPECT_THAT(member->roles, ::testing::ElementsAre(v1::ROLE_AUDITOR, v1::ROLE_ADMIN));
  CommandResult revoked = Admin({"revoke-admin", base, key, "--login=second.member"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  member = (*host)->directory().GetMember(second.id);
  EXPECT_THAT(member->roles, ::testing::ElementsAre(v1::ROLE_AUDITOR));
  EXPECT_TRUE(member->active);
  EXPECT_EQ(Admin({"grant-admin", base, key, "--login=nobody.here"}).exit_code, 1);

  // The platform flag, set and unset on the host only.
  ASSERT_EQ(
      Admin({"set-platform-service", base, key, "--service=svc_plateforme", "--platform=false"})
          .exit_code,
      0);
  EXPECT_FALSE((*host)->directory().GetService("svc_plateforme")->platform);
  ASSERT_EQ(Admin({"set-platform-service", base, key, "--service=svc_plateforme"}).exit_code, 0);
  EXPECT_TRUE((*host)->directory().GetService("svc_plateforme")->platform);
  EXPECT_EQ(Admin({"set-platform-service", base, key, "--service=svc_nowhere"}).exit_code, 1);

  // Every change the tool made is in the chain, which still verifies.
  auto events = (*host)->audit().Query({.actor_member_id = "relais-admin"}, 0, 1000);
  ASSERT_TRUE(events.ok());
  // Service + first admin, the DPO, grant, revoke, two platform changes.
  EXPECT_EQ(events->size(), 7u);
  for (const auto& e : *events) {
    EXPECT_EQ(e.action(), v1::ACTION_MANAGE_DIRECTORY);
    EXPECT_EQ(e.decision(), v1::DECISION_ALLOW);
  }
  auto verified = (*host)->audit().Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;

  // Taking away the only role leaves the member inactive.
  CommandResult last = Admin({"revoke-admin", base, key, "--login=first.admin"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  auto first = (*host)->directory().FindCredentials("first.admin");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->member.active);
  (*host)->Shutdown();
}

}  // namespace
}  // namespace relais::testing
