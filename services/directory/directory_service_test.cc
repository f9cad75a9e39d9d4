#include "services/directory/directory_service.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "access/roles.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/directory.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/common/paging.h"
#include "storage/testing/fresh_database.h"

namespace relais::directory {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kAudience[] = "relais-test";
constexpr char kPassword[] = "a long enough first password";

// The ErrorDetail reason rpc::ToGrpc attached to a failed call.
std::string ReasonOf(const grpc::Status& status) {
  v1::RpcStatus rpc_status;
  v1::ErrorDetail detail;
  if (!rpc_status.ParseFromString(status.error_details()) || rpc_status.details_size() != 1 ||
      !rpc_status.details(0).UnpackTo(&detail)) {
    return "<no detail>";
  }
  return detail.reason();
}

// Every string an audit event holds, to check none of them is content.
std::vector<std::string> Strings(const v1::AuditEvent& e) {
  return {e.request_id(),  e.actor_member_id(), e.actor_service_id(),
          e.actor_roles(), e.client_identity(), e.youth_id(),
          e.entry_id(),    e.object_id(),       e.reason_code()};
}

// A real server on 127.0.0.1:0 over a fresh database, with three services:
// the admins', an AMO (coordinator + caseworker) and a CPAS (coordinator).
class DirectoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/directory_service_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto audit = audit::AuditLog::Create(db_.get(), &clock_);
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
    auto store = DirectoryStore::Create(db_.get(), &clock_, {.scrypt = auth::FastParamsForTests()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    {
      // The row MAC key relaisd binds, here a fixed test key.
      auto mac = storage::RowMac::Derive({std::string(32, 'k')});
      ASSERT_TRUE(mac.ok()) << mac.status();
      auto binding = storage::BindRowMac(*db_, *mac);
      ASSERT_TRUE(binding.ok()) << binding.status();
      row_mac_ = *std::move(binding);
    }

    auto revocations = auth_store::RevocationStore::Create(db_.get(), &clock_);
    ASSERT_TRUE(revocations.ok()) << revocations.status();
    revocations_ = *std::move(revocations);

    key_ring_ = auth::KeyRing::InMemory();
    issuer_ = std::make_unique<auth::TokenIssuer>(key_ring_.get(), &clock_, kAudience,
                                                  auth::kDefaultTokenLifetime, revocations_.get());
    verifier_ = std::make_unique<auth::TokenVerifier>(key_ring_.get(), &clock_, kAudience,
                                                      revocations_.get());
    gate_ = std::make_unique<rpc::CallGate>(verifier_.get(), audit_.get(), &clock_);
    service_ = std::make_unique<DirectoryServiceImpl>(gate_.get(), store_.get(), db_.get(),
                                                      revocations_.get());

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = v1::DirectoryService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                              grpc::InsecureChannelCredentials()));

    admin_service_ = MustCreateService("Administration Relais", "prevention");
    amo_ = MustCreateService("AMO Le Relais (Charleroi)", "aide_jeunesse");
    cpas_ = MustCreateService("CPAS de Charleroi", "action_sociale");
    admin_token_ = TokenFor(MustAddMember(admin_service_, "root.admin", {v1::ROLE_ADMIN}));
    coordinator_token_ = TokenFor(MustAddMember(amo_, "amo.head", {v1::ROLE_COORDINATOR}));
    caseworker_token_ = TokenFor(MustAddMember(amo_, "amo.worker", {v1::ROLE_CASEWORKER}));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
    store_.reset();
    audit_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  ServiceInfo MustCreateService(const std::string& name, const std::string& sector) {
    auto s = store_->CreateService({"", name, sector, ""});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.value_or(ServiceInfo{});
  }

  MemberInfo MustAddMember(const ServiceInfo& service, const std::string& login,
                           std::vector<v1::Role> roles) {
    auto m = store_->AddMember({"", service.id, "Prénom Nom", login, std::move(roles)}, kPassword);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.value_or(MemberInfo{});
  }

  std::string TokenFor(const MemberInfo& m) {
    std::vector<std::string> roles;
    for (v1::Role r : m.roles) roles.push_back(access::RoleName(r));
    auto token = issuer_->Issue(m.id, m.service_id, roles);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  // A context carrying `token` (none if empty) and a deadline.
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  grpc::Status CreateService(const std::string& token, const std::string& name,
                             v1::Service* reply) {
    v1::CreateServiceRequest req;
    req.mutable_service()->set_name(name);
    req.mutable_service()->set_sector_id("enseignement");
    req.mutable_service()->set_kind("PMS");
    return stub_->CreateService(Ctx(token).get(), req, reply);
  }

  // AddMember through the API; the one-time password it answered, if asked.
  grpc::Status AddMember(const std::string& token, const std::string& service_id,
                         const std::string& login, std::vector<v1::Role> roles, v1::Member* reply,
                         v1::AddMemberResponse* response = nullptr) {
    v1::AddMemberRequest req;
    req.mutable_member()->set_service_id(service_id);
    req.mutable_member()->set_display_name("Jeanne Lambert");
    req.mutable_member()->set_login(login);
    for (v1::Role r : roles) req.mutable_member()->add_roles(r);
    v1::AddMemberResponse out;
    grpc::Status status = stub_->AddMember(Ctx(token).get(), req, &out);
    *reply = out.member();
    if (response != nullptr) *response = out;
    return status;
  }

  std::vector<v1::AuditEvent> Events(v1::Decision decision = v1::DECISION_UNSPECIFIED) {
    auto events = audit_->Query({.decision = decision}, 0, audit::AuditLog::kMaxQueryLimit);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.value_or(std::vector<v1::AuditEvent>{});
  }

  bool ServiceNamed(const std::string& name) {
    auto page = store_->ListServices("", rpc::kServicePages.max_size, "");
    EXPECT_TRUE(page.ok());
    for (const ServiceInfo& s : page->services) {
      if (s.name == name) return true;
    }
    return false;
  }

  std::string path_;
  common::FakeClock clock_{absl::FromUnixSeconds(1764115200)};
  std::unique_ptr<storage::RowMacBinding> row_mac_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<DirectoryStore> store_;
  std::unique_ptr<auth::KeyRing> key_ring_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<rpc::CallGate> gate_;
  std::unique_ptr<auth_store::RevocationStore> revocations_;
  std::unique_ptr<DirectoryServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::DirectoryService::Stub> stub_;
  ServiceInfo admin_service_, amo_, cpas_;
  std::string admin_token_, coordinator_token_, caseworker_token_;
};

TEST_F(DirectoryServiceTest, AdminCreatesAServiceAndTheChangeIsAudited) {
  v1::Service reply;
  grpc::Status status = CreateService(admin_token_, "Centre PMS libre de Charleroi", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(reply.id(), StartsWith("svc_"));
  EXPECT_EQ(reply.sector_id(), "enseignement");
  auto stored = store_->GetService(reply.id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->name, "Centre PMS libre de Charleroi");

  std::vector<v1::AuditEvent> allowed = Events(v1::DECISION_ALLOW);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[0].action(), v1::ACTION_MANAGE_DIRECTORY);
  EXPECT_EQ(allowed[0].object_id(), reply.id());
  EXPECT_EQ(allowed[0].actor_service_id(), admin_service_.id);
  EXPECT_EQ(allowed[0].reason_code(), "allowed");
}

TEST_F(DirectoryServiceTest, CaseworkerCannotCreateAServiceAndTheDenialIsAudited) {
  v1::Service reply;
  grpc::Status status = CreateService(caseworker_token_, "Service pirate", &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), StartsWith("role_not_permitted"));
  EXPECT_EQ(ReasonOf(status), "role_not_permitted");
  EXPECT_FALSE(ServiceNamed("Service pirate"));

  std::vector<v1::AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 1u) << "one call, one event";
  EXPECT_EQ(events[0].decision(), v1::DECISION_DENY);
  EXPECT_EQ(events[0].reason(), v1::ACCESS_REASON_ROLE_NOT_PERMITTED);
  EXPECT_EQ(events[0].reason_code(), "role_not_permitted");
  EXPECT_EQ(events[0].action(), v1::ACTION_MANAGE_DIRECTORY);
  EXPECT_EQ(events[0].actor_service_id(), amo_.id);
}

TEST_F(DirectoryServiceTest, CallsWithoutAValidTokenAreUnauthenticatedAndAudited) {
  v1::Service reply;
  grpc::Status missing = CreateService("", "Sans jeton", &reply);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(missing), "token_missing");
  grpc::Status forged = CreateService("v1.bm90LWEtdG9rZW4.c2ln", "Jeton forgé", &reply);
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  clock_.Advance(absl::Hours(1));
  v1::ListSectorsResponse sectors;
  grpc::Status expired =
      stub_->ListSectors(Ctx(admin_token_).get(), v1::ListSectorsRequest(), &sectors);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(expired), "token_expired");
  EXPECT_FALSE(ServiceNamed("Sans jeton"));

  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 3u);
  EXPECT_EQ(denied[0].reason_code(), "token_missing");
  EXPECT_EQ(denied[2].reason_code(), "token_expired");
  for (const v1::AuditEvent& e : denied) EXPECT_EQ(e.actor_member_id(), "") << e.reason_code();
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
}

TEST_F(DirectoryServiceTest, CoordinatorAddsAColleagueWithAOneTimePasswordNotInTheLog) {
  v1::Member reply;
  v1::AddMemberResponse response;
  grpc::Status status = AddMember(coordinator_token_, amo_.id, "jeanne.lambert",
                                  {v1::ROLE_CASEWORKER}, &reply, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(reply.id(), StartsWith("mbr_"));
  EXPECT_EQ(reply.login(), "jeanne.lambert");
  // A random secret nobody chose, to be changed within 72 hours.
  const std::string& one_time = response.one_time_password();
  EXPECT_EQ(one_time.size(), auth::kOneTimePasswordChars);
  EXPECT_EQ(common::FromProto(response.one_time_password_expires_at()),
            clock_.Now() + absl::Hours(72));
  auto creds = store_->FindCredentials("jeanne.lambert");
  ASSERT_TRUE(creds.ok());
  EXPECT_TRUE(auth::VerifyPassword(one_time, creds->password_hash));
  EXPECT_TRUE(creds->must_change);
  EXPECT_EQ(creds->password_expires_at, clock_.Now() + absl::Hours(72));

  std::vector<v1::AuditEvent> allowed = Events(v1::DECISION_ALLOW);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[0].object_id(), reply.id());
  for (const v1::AuditEvent& e : Events()) {
    for (const std::string& s : Strings(e)) {
      EXPECT_THAT(s, Not(HasSubstr("jeanne")));
      EXPECT_THAT(s, Not(HasSubstr("Lambert")));
      EXPECT_THAT(s, Not(HasSubstr(one_time)));
    }
  }
}

TEST_F(DirectoryServiceTest, CoordinatorCannotGrantAdminNorStaffAnotherService) {
  v1::Member reply;
  grpc::Status grant =
      AddMember(coordinator_token_, amo_.id, "would.be.admin", {v1::ROLE_ADMIN}, &reply);
  EXPECT_EQ(grant.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(grant.error_message(), StartsWith("role_not_permitted"));
  grpc::Status other =
      AddMember(coordinator_token_, cpas_.id, "cpas.worker", {v1::ROLE_CASEWORKER}, &reply);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(other), "wrong_service");
  grpc::Status caseworker =
      AddMember(caseworker_token_, amo_.id, "self.made", {v1::ROLE_CASEWORKER}, &reply);
  EXPECT_EQ(caseworker.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(caseworker), "role_not_permitted");

  for (const char* login : {"would.be.admin", "cpas.worker", "self.made"}) {
    EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials(login).status())) << login;
  }
  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 3u);
  EXPECT_EQ(denied[0].reason_code(), "role_not_permitted");
  EXPECT_EQ(denied[1].reason_code(), "wrong_service");
  EXPECT_EQ(denied[1].reason(), v1::ACCESS_REASON_WRONG_SERVICE);
  EXPECT_EQ(denied[2].reason_code(), "role_not_permitted");
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());

  // An admin may staff another service, but grants the admin role no more
  // than a coordinator does: only relais-admin, on the host, does.
  ASSERT_TRUE(AddMember(admin_token_, cpas_.id, "cpas.worker", {v1::ROLE_CASEWORKER}, &reply).ok());
  grpc::Status admin = AddMember(admin_token_, cpas_.id, "cpas.admin", {v1::ROLE_ADMIN}, &reply);
  EXPECT_EQ(admin.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(admin), "role_not_permitted");
  EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials("cpas.admin").status()));
}

TEST_F(DirectoryServiceTest, InvalidMembersAreRefusedWithTheFieldAndAudited) {
  v1::Member reply;
  grpc::Status taken =
      AddMember(coordinator_token_, amo_.id, "amo.worker", {v1::ROLE_CASEWORKER}, &reply);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(taken), "login_taken") << taken.error_message();
  grpc::Status no_role = AddMember(coordinator_token_, amo_.id, "no.role", {}, &reply);
  EXPECT_EQ(no_role.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_EQ(denied[0].reason_code(), "login_taken");
  EXPECT_EQ(denied[1].reason_code(), "field_required");
}

TEST_F(DirectoryServiceTest, AnyMemberReadsTheDirectoryPageByPage) {
  for (int i = 0; i < 3; ++i) MustCreateService("AMO " + std::to_string(i), "aide_jeunesse");
  std::vector<std::string> ids;
  std::string token;
  do {
    v1::ListServicesRequest req;
    req.set_sector_id("aide_jeunesse");
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListServicesResponse reply;
    grpc::Status status = stub_->ListServices(Ctx(caseworker_token_).get(), req, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::Service& s : reply.services()) ids.push_back(s.id());
    token = reply.next_page_token();
  } while (!token.empty() && ids.size() < 100);
  EXPECT_EQ(ids.size(), 4u);  // the fixture's AMO and three more
  for (int32_t bad : {-1, rpc::kServicePages.max_size + 1}) {
    v1::ListServicesRequest req;
    req.set_page_size(bad);
    v1::ListServicesResponse reply;
    grpc::Status status = stub_->ListServices(Ctx(caseworker_token_).get(), req, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(ReasonOf(status), "out_of_range") << bad;
  }

  v1::GlossaryRequest glossary_req;
  glossary_req.set_sector_id("aide_jeunesse");
  v1::GlossaryResponse glossary;
  ASSERT_TRUE(stub_->Glossary(Ctx(caseworker_token_).get(), glossary_req, &glossary).ok());
  bool has_amo = false;
  for (const v1::GlossaryTerm& t : glossary.terms()) {
    if (t.acronym() == "AMO") {
      has_amo = true;
      EXPECT_EQ(t.expansion(), "Service d'Action en Milieu Ouvert");
    }
  }
  EXPECT_TRUE(has_amo);

  v1::ListSectorsResponse sectors;
  ASSERT_TRUE(
      stub_->ListSectors(Ctx(caseworker_token_).get(), v1::ListSectorsRequest(), &sectors).ok());
  EXPECT_EQ(sectors.sectors_size(), 5);

  std::vector<v1::AuditEvent> allowed = Events(v1::DECISION_ALLOW);
  ASSERT_EQ(allowed.size(), 4u);  // two pages, the glossary, the sectors
  for (const v1::AuditEvent& e : allowed) EXPECT_EQ(e.action(), v1::ACTION_READ_DIRECTORY);
}

TEST_F(DirectoryServiceTest, OnlyAdminsCreateSectors) {
  v1::CreateSectorRequest req;
  req.mutable_sector()->set_id("parrainage");
  req.mutable_sector()->set_name("Parrainage");
  v1::Sector reply;
  EXPECT_EQ(stub_->CreateSector(Ctx(coordinator_token_).get(), req, &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->CreateSector(Ctx(admin_token_).get(), req, &reply).ok());
  EXPECT_EQ(reply.id(), "parrainage");
  grpc::Status again = stub_->CreateSector(Ctx(admin_token_).get(), req, &reply);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(again), "sector_exists");
}

TEST_F(DirectoryServiceTest, NoChangeIsMadeWhenItCannotBeAudited) {
  ASSERT_TRUE(
      db_->Write([](storage::Connection& c) { return c.Exec("DROP TABLE audit_events"); }).ok());
  v1::Service reply;
  grpc::Status status = CreateService(admin_token_, "Service fantôme", &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(ServiceNamed("Service fantôme"));
}

namespace duties {

// The separated duties of DESIGN.md, through the real server: each refusal
// with its reason code and a DENY event naming the member; each allowed
// change with its ALLOW event.
class SeparatedDutiesTest : public DirectoryServiceTest {
 protected:
  void SetUp() override {
    DirectoryServiceTest::SetUp();
    admin_ = store_->FindCredentials("root.admin")->member;
    coordinator_ = store_->FindCredentials("amo.head")->member;
    caseworker_ = store_->FindCredentials("amo.worker")->member;
    auditor_ = MustAddMember(amo_, "amo.auditor", {v1::ROLE_AUDITOR});
    second_admin_ = MustAddMember(admin_service_, "second.admin", {v1::ROLE_ADMIN});
  }

  grpc::Status SetRoles(const std::string& token, const std::string& member_id,
                        std::vector<v1::Role> roles, v1::Member* reply = nullptr) {
    v1::SetMemberRolesRequest req;
    req.set_member_id(member_id);
    for (v1::Role r : roles) req.add_roles(r);
    v1::Member ignored;
    return stub_->SetMemberRoles(Ctx(token).get(), req, reply != nullptr ? reply : &ignored);
  }

  grpc::Status Remove(const std::string& token, const std::string& member_id) {
    v1::RemoveMemberRequest req;
    req.set_member_id(member_id);
    v1::Member reply;
    return stub_->RemoveMember(Ctx(token).get(), req, &reply);
  }

  std::vector<v1::Role> RolesOf(const MemberInfo& m) {
    auto stored = store_->GetMember(m.id);
    EXPECT_TRUE(stored.ok());
    return stored.ok() ? stored->roles : std::vector<v1::Role>{};
  }

  // The last event, which must be the refusal of `reason` about `member_id`.
  void ExpectLastDenied(const std::string& reason, const std::string& member_id,
                        v1::Action action = v1::ACTION_MANAGE_DIRECTORY) {
    std::vector<v1::AuditEvent> events = Events();
    ASSERT_FALSE(events.empty());
    const v1::AuditEvent& e = events.back();
    EXPECT_EQ(e.decision(), v1::DECISION_DENY);
    EXPECT_EQ(e.reason_code(), reason);
    EXPECT_EQ(e.action(), action);
    EXPECT_EQ(e.object_id(), member_id);
  }

  MemberInfo admin_, coordinator_, caseworker_, auditor_, second_admin_;
};

TEST_F(SeparatedDutiesTest, NobodyChangesTheirOwnRolesNorRemovesThemselves) {
  grpc::Status own =
      SetRoles(coordinator_token_, coordinator_.id, {v1::ROLE_COORDINATOR, v1::ROLE_CASEWORKER});
  EXPECT_EQ(own.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(own), "separation_of_duties");
  ExpectLastDenied("separation_of_duties", coordinator_.id);
  EXPECT_EQ(Events().back().reason(), v1::ACCESS_REASON_SEPARATION_OF_DUTIES);

  grpc::Status own_admin = SetRoles(admin_token_, admin_.id, {v1::ROLE_ADMIN, v1::ROLE_AUDITOR});
  EXPECT_EQ(ReasonOf(own_admin), "separation_of_duties");
  ExpectLastDenied("separation_of_duties", admin_.id);

  for (const auto& [token, member] :
       {std::pair{coordinator_token_, coordinator_}, std::pair{admin_token_, admin_}}) {
    grpc::Status self = Remove(token, member.id);
    EXPECT_EQ(self.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ReasonOf(self), "separation_of_duties");
    ExpectLastDenied("separation_of_duties", member.id);
    EXPECT_TRUE(store_->GetMember(member.id)->active);
  }
  EXPECT_EQ(RolesOf(coordinator_), std::vector<v1::Role>{v1::ROLE_COORDINATOR});
  EXPECT_EQ(RolesOf(admin_), std::vector<v1::Role>{v1::ROLE_ADMIN});
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
}

TEST_F(SeparatedDutiesTest, TheAdminRoleIsNeitherGrantedNorTakenThroughTheApi) {
  // Not granted, not even by an admin.
  grpc::Status grant =
      SetRoles(admin_token_, caseworker_.id, {v1::ROLE_CASEWORKER, v1::ROLE_ADMIN});
  EXPECT_EQ(grant.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(grant), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", caseworker_.id);
  EXPECT_EQ(RolesOf(caseworker_), std::vector<v1::Role>{v1::ROLE_CASEWORKER});

  // Not taken away: neither by a change of roles nor by removing the admin.
  grpc::Status take = SetRoles(admin_token_, second_admin_.id, {v1::ROLE_AUDITOR});
  EXPECT_EQ(ReasonOf(take), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", second_admin_.id);
  grpc::Status remove = Remove(admin_token_, second_admin_.id);
  EXPECT_EQ(ReasonOf(remove), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", second_admin_.id);
  EXPECT_EQ(RolesOf(second_admin_), std::vector<v1::Role>{v1::ROLE_ADMIN});
  EXPECT_TRUE(store_->GetMember(second_admin_.id)->active);

  // A coordinator cannot touch an admin at all.
  grpc::Status coord = SetRoles(coordinator_token_, second_admin_.id, {v1::ROLE_ADMIN});
  EXPECT_EQ(coord.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());

  // Keeping the admin role while changing the others is no grant.
  v1::Member reply;
  grpc::Status keep =
      SetRoles(admin_token_, second_admin_.id, {v1::ROLE_ADMIN, v1::ROLE_CASEWORKER}, &reply);
  ASSERT_TRUE(keep.ok()) << keep.error_message();
  EXPECT_EQ(reply.roles_size(), 2);
  ASSERT_EQ(Events(v1::DECISION_ALLOW).size(), 1u);
  EXPECT_EQ(Events(v1::DECISION_ALLOW)[0].object_id(), second_admin_.id);
}

TEST_F(SeparatedDutiesTest, OnlyAnAdminGrantsOrRemovesTheAuditorRole) {
  // A coordinator, even in their own service, neither grants it...
  grpc::Status grant = SetRoles(coordinator_token_, caseworker_.id, {v1::ROLE_AUDITOR});
  EXPECT_EQ(grant.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(grant), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", caseworker_.id);
  v1::Member reply;
  grpc::Status add =
      AddMember(coordinator_token_, amo_.id, "amo.new.auditor", {v1::ROLE_AUDITOR}, &reply);
  EXPECT_EQ(ReasonOf(add), "role_not_permitted");
  EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials("amo.new.auditor").status()));
  // ...nor changes or removes a member who holds it.
  grpc::Status change = SetRoles(coordinator_token_, auditor_.id, {v1::ROLE_CASEWORKER});
  EXPECT_EQ(ReasonOf(change), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", auditor_.id);
  grpc::Status remove = Remove(coordinator_token_, auditor_.id);
  EXPECT_EQ(ReasonOf(remove), "role_not_permitted");
  ExpectLastDenied("role_not_permitted", auditor_.id);
  EXPECT_EQ(RolesOf(caseworker_), std::vector<v1::Role>{v1::ROLE_CASEWORKER});
  EXPECT_EQ(RolesOf(auditor_), std::vector<v1::Role>{v1::ROLE_AUDITOR});
  EXPECT_TRUE(store_->GetMember(auditor_.id)->active);
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());

  // An admin does all three.
  ASSERT_TRUE(SetRoles(admin_token_, caseworker_.id, {v1::ROLE_CASEWORKER, v1::ROLE_AUDITOR}).ok());
  EXPECT_EQ(RolesOf(caseworker_), (std::vector<v1::Role>{v1::ROLE_CASEWORKER, v1::ROLE_AUDITOR}));
  grpc::Status back = SetRoles(admin_token_, caseworker_.id, {v1::ROLE_CASEWORKER});
  ASSERT_TRUE(back.ok()) << back.error_message();
  ASSERT_TRUE(AddMember(admin_token_, amo_.id, "amo.new.auditor", {v1::ROLE_AUDITOR}, &reply).ok());
  ASSERT_TRUE(Remove(admin_token_, auditor_.id).ok());
  EXPECT_FALSE(store_->GetMember(auditor_.id)->active);
  EXPECT_EQ(Events(v1::DECISION_ALLOW).size(), 4u);
}

TEST_F(SeparatedDutiesTest, ACoordinatorManagesTheirOwnServiceOnly) {
  const MemberInfo cpas_worker = MustAddMember(cpas_, "cpas.worker", {v1::ROLE_CASEWORKER});
  grpc::Status change = SetRoles(coordinator_token_, cpas_worker.id, {v1::ROLE_COORDINATOR});
  EXPECT_EQ(ReasonOf(change), "wrong_service");
  ExpectLastDenied("wrong_service", cpas_worker.id);
  grpc::Status remove = Remove(coordinator_token_, cpas_worker.id);
  EXPECT_EQ(ReasonOf(remove), "wrong_service");
  ExpectLastDenied("wrong_service", cpas_worker.id);
  EXPECT_TRUE(store_->GetMember(cpas_worker.id)->active);
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());

  // In their own service, caseworkers and coordinators are theirs to manage.
  v1::Member reply;
  ASSERT_TRUE(SetRoles(coordinator_token_, caseworker_.id,
                       {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR}, &reply)
                  .ok());
  EXPECT_EQ(reply.roles_size(), 2);
  ASSERT_TRUE(Remove(coordinator_token_, caseworker_.id).ok());
  EXPECT_FALSE(store_->GetMember(caseworker_.id)->active);
  EXPECT_EQ(Events(v1::DECISION_ALLOW).size(), 2u);
}

TEST_F(SeparatedDutiesTest, ThePlatformFlagIsShownButNeverSetThroughTheApi) {
  ASSERT_TRUE(store_->SetServicePlatform(admin_service_.id, true).ok());
  v1::CreateServiceRequest req;
  req.mutable_service()->set_name("Prétendue plateforme");
  req.mutable_service()->set_sector_id("prevention");
  req.mutable_service()->set_platform(true);
  v1::Service created;
  ASSERT_TRUE(stub_->CreateService(Ctx(admin_token_).get(), req, &created).ok());
  EXPECT_FALSE(created.platform());
  EXPECT_FALSE(store_->GetService(created.id())->platform);

  v1::ListServicesRequest list;
  v1::ListServicesResponse page;
  ASSERT_TRUE(stub_->ListServices(Ctx(caseworker_token_).get(), list, &page).ok());
  int platforms = 0;
  for (const v1::Service& s : page.services()) {
    EXPECT_EQ(s.platform(), s.id() == admin_service_.id) << s.id();
    platforms += s.platform() ? 1 : 0;
  }
  EXPECT_EQ(platforms, 1);
}

// ---- ResetPassword and step-up ---------------------------------------------

grpc::Status ResetPasswordOf(v1::DirectoryService::Stub& stub,
                             std::unique_ptr<grpc::ClientContext> ctx, const std::string& member_id,
                             v1::ResetPasswordResponse* reply) {
  v1::ResetPasswordRequest req;
  req.set_member_id(member_id);
  return stub.ResetPassword(ctx.get(), req, reply);
}

TEST_F(SeparatedDutiesTest, ACoordinatorResetsAColleaguesPasswordToAOneTimePassword) {
  v1::ResetPasswordResponse reply;
  grpc::Status s = ResetPasswordOf(*stub_, Ctx(coordinator_token_), caseworker_.id, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto creds = store_->FindCredentials("amo.worker");
  ASSERT_TRUE(creds.ok());
  // The old password stops working at once; the secret is to be changed.
  EXPECT_FALSE(auth::VerifyPassword(kPassword, creds->password_hash));
  EXPECT_TRUE(auth::VerifyPassword(reply.one_time_password(), creds->password_hash));
  EXPECT_TRUE(creds->must_change);
  EXPECT_EQ(common::FromProto(reply.one_time_password_expires_at()),
            clock_.Now() + absl::Hours(72));
  std::vector<v1::AuditEvent> allowed = Events(v1::DECISION_ALLOW);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[0].action(), v1::ACTION_RESET_PASSWORD);
  EXPECT_EQ(allowed[0].object_id(), caseworker_.id);
  for (const std::string& text : Strings(allowed[0])) {
    EXPECT_THAT(text, Not(HasSubstr(reply.one_time_password())));
  }
}

TEST_F(SeparatedDutiesTest, NobodyResetsTheirOwnNorAnotherServicesNorAnAdminsPassword) {
  const MemberInfo cpas_worker = MustAddMember(cpas_, "cpas.worker", {v1::ROLE_CASEWORKER});
  v1::ResetPasswordResponse reply;
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(coordinator_token_), coordinator_.id, &reply)),
            "separation_of_duties");
  ExpectLastDenied("separation_of_duties", coordinator_.id, v1::ACTION_RESET_PASSWORD);
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(coordinator_token_), cpas_worker.id, &reply)),
            "wrong_service");
  ExpectLastDenied("wrong_service", cpas_worker.id, v1::ACTION_RESET_PASSWORD);
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(coordinator_token_), auditor_.id, &reply)),
            "role_not_permitted");
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(caseworker_token_), coordinator_.id, &reply)),
            "role_not_permitted");
  // Not even an admin takes over another admin's account this way.
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(admin_token_), second_admin_.id, &reply)),
            "role_not_permitted");
  EXPECT_EQ(ReasonOf(ResetPasswordOf(*stub_, Ctx(admin_token_), admin_.id, &reply)),
            "separation_of_duties");
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
  for (const char* login : {"amo.head", "cpas.worker", "amo.auditor", "second.admin"}) {
    auto creds = store_->FindCredentials(login);
    ASSERT_TRUE(creds.ok()) << login;
    EXPECT_FALSE(creds->must_change) << login;
    EXPECT_TRUE(auth::VerifyPassword(kPassword, creds->password_hash)) << login;
  }
  // An admin resets a service's auditor, whom only an admin manages.
  ASSERT_TRUE(ResetPasswordOf(*stub_, Ctx(admin_token_), auditor_.id, &reply).ok());
}

// Whoever adds a member or resets their password learns a secret that lets
// them act as the member; whoever grants a role may know it. An admin reads no
// entry body, so never mints a caseworker or coordinator of a service that has
// records: once staffed, a service staffs itself.
TEST_F(SeparatedDutiesTest, AnAdminStaffsANewServiceButNeverOneAlreadyStaffed) {
  v1::Member reply;
  v1::ResetPasswordResponse otp;
  const std::vector<std::pair<std::string, grpc::Status>> refused = {
      {"add", AddMember(admin_token_, amo_.id, "amo.mole", {v1::ROLE_CASEWORKER}, &reply)},
      {"add coordinator",
       AddMember(admin_token_, amo_.id, "amo.mole2", {v1::ROLE_COORDINATOR}, &reply)},
      {"reset", ResetPasswordOf(*stub_, Ctx(admin_token_), caseworker_.id, &otp)},
      {"reset coordinator", ResetPasswordOf(*stub_, Ctx(admin_token_), coordinator_.id, &otp)},
      // The auditor's secret an admin may know: no field role on top of it.
      {"grant to auditor",
       SetRoles(admin_token_, auditor_.id, {v1::ROLE_AUDITOR, v1::ROLE_CASEWORKER})},
      {"promote", SetRoles(admin_token_, caseworker_.id, {v1::ROLE_COORDINATOR})},
  };
  for (const auto& [what, status] : refused) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_EQ(ReasonOf(status), "separation_of_duties") << what;
  }
  ExpectLastDenied("separation_of_duties", caseworker_.id);
  EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials("amo.mole").status()));
  EXPECT_TRUE(
      auth::VerifyPassword(kPassword, store_->FindCredentials("amo.worker")->password_hash));
  EXPECT_EQ(RolesOf(auditor_), std::vector<v1::Role>{v1::ROLE_AUDITOR});
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
  // Taking roles away gives nobody anything: still the admin's to do.
  EXPECT_TRUE(Remove(admin_token_, caseworker_.id).ok());

  // A new service: the admin adds its first coordinator, then it is staffed.
  v1::Service fresh;
  ASSERT_TRUE(CreateService(admin_token_, "PMS de Marcinelle", &fresh).ok());
  EXPECT_FALSE(store_->GetService(fresh.id())->staffed);
  v1::AddMemberResponse first;
  ASSERT_TRUE(
      AddMember(admin_token_, fresh.id(), "pms.head", {v1::ROLE_COORDINATOR}, &reply, &first).ok());
  EXPECT_TRUE(store_->GetService(fresh.id())->staffed);
  EXPECT_EQ(
      ReasonOf(AddMember(admin_token_, fresh.id(), "pms.second", {v1::ROLE_CASEWORKER}, &reply)),
      "separation_of_duties");
  // From now on its coordinator staffs it.
  const MemberInfo head = store_->FindCredentials("pms.head")->member;
  ASSERT_TRUE(
      AddMember(TokenFor(head), fresh.id(), "pms.second", {v1::ROLE_CASEWORKER}, &reply).ok());

  // Removing every coordinator does not make the AMO new again.
  ASSERT_TRUE(Remove(admin_token_, coordinator_.id).ok());
  EXPECT_EQ(ReasonOf(AddMember(admin_token_, amo_.id, "amo.mole", {v1::ROLE_COORDINATOR}, &reply)),
            "separation_of_duties");
  EXPECT_TRUE(store_->GetService(amo_.id)->staffed);
}

// The platform service's auditors are the DPO, who approves what an admin
// asks (a full export): its members change only with relais-admin, so no
// online admin learns the DPO's secret or makes one.
TEST_F(SeparatedDutiesTest, ThePlatformServicesMembersChangeOnlyOnTheHost) {
  ASSERT_TRUE(store_->SetServicePlatform(admin_service_.id, true).ok());
  const MemberInfo dpo = MustAddMember(admin_service_, "dpo", {v1::ROLE_AUDITOR});
  v1::Member reply;
  v1::ResetPasswordResponse otp;
  const std::vector<std::pair<std::string, grpc::Status>> refused = {
      {"add", AddMember(admin_token_, admin_service_.id, "dpo2", {v1::ROLE_AUDITOR}, &reply)},
      {"reset", ResetPasswordOf(*stub_, Ctx(admin_token_), dpo.id, &otp)},
      {"grant", SetRoles(admin_token_, second_admin_.id, {v1::ROLE_ADMIN, v1::ROLE_AUDITOR})},
      {"remove", Remove(admin_token_, dpo.id)},
  };
  for (const auto& [what, status] : refused) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_EQ(ReasonOf(status), "role_not_permitted") << what;
  }
  EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials("dpo2").status()));
  EXPECT_TRUE(auth::VerifyPassword(kPassword, store_->FindCredentials("dpo")->password_hash));
  EXPECT_TRUE(store_->GetMember(dpo.id)->active);
  EXPECT_EQ(RolesOf(second_admin_), std::vector<v1::Role>{v1::ROLE_ADMIN});
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
}

TEST_F(SeparatedDutiesTest, RoleChangesAndResetsNeedALoginOfTheLastFiveMinutes) {
  // The coordinator's token was signed at a login six minutes ago (a
  // refreshed token carries that login's time).
  clock_.Advance(absl::Minutes(6));
  const std::string stale = coordinator_token_;
  grpc::Status roles = SetRoles(stale, caseworker_.id, {v1::ROLE_COORDINATOR});
  EXPECT_EQ(roles.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(roles), "reauthentication_required");
  ExpectLastDenied("reauthentication_required", caseworker_.id);
  v1::ResetPasswordResponse reply;
  grpc::Status reset = ResetPasswordOf(*stub_, Ctx(stale), caseworker_.id, &reply);
  EXPECT_EQ(ReasonOf(reset), "reauthentication_required");
  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.back().action(), v1::ACTION_RESET_PASSWORD);
  EXPECT_EQ(denied.back().reason(), v1::ACCESS_REASON_REAUTHENTICATION_REQUIRED);
  EXPECT_EQ(RolesOf(caseworker_), std::vector<v1::Role>{v1::ROLE_CASEWORKER});
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());

  // Just logged in (a token signed now): both go ahead.
  const std::string fresh = TokenFor(coordinator_);
  EXPECT_TRUE(SetRoles(fresh, caseworker_.id, {v1::ROLE_COORDINATOR}).ok());
  EXPECT_TRUE(ResetPasswordOf(*stub_, Ctx(fresh), caseworker_.id, &reply).ok());
  // Exactly five minutes is still recent.
  clock_.Advance(absl::Minutes(5));
  EXPECT_TRUE(SetRoles(fresh, caseworker_.id, {v1::ROLE_CASEWORKER}).ok());
}

}  // namespace duties

}  // namespace
}  // namespace relais::directory
