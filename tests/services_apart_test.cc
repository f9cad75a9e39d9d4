// Services apart (issue #15 item 4): three relaisd processes over one
// database, each serving some of the services (--services), run the handover
// story together. A client reaches each service at its own process; a process
// answers UNIMPLEMENTED for a service it does not serve and its health checks
// list only its own. What one process decides, the others see: a token
// revoked at the auth process is refused at the record process, and the audit
// process verifies one chain that holds the events of all three. The split is
// made from a deployment that ran whole (relaisd --demo), as an operator would.

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/host/host.h"
#include "storage/testing/fresh_database.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kDemoPassword[] = "demo-relais-2026";
constexpr int kServing = 1;

// The database of the deployment in `dir`: its SQLite file, or in the @pg run
// a PostgreSQL schema of its own. One per directory, however often asked.
const std::string& DbOf(const std::string& dir) {
  static auto* dbs = new std::map<std::string, std::string>();
  auto [it, fresh] = dbs->try_emplace(dir);
  if (fresh) {
    std::filesystem::create_directories(dir);  // the keys go there on both back ends
    it->second = storage::testing::FreshDatabase(dir + "/relais.db");
  }
  return it->second;
}

// One relaisd over the shared database and keys: all the services with the
// demo data (the deployment before the split), or those of `services`.
class Part : public RelaisdProcess {
 public:
  Part(const std::string& dir, const std::string& services)
      : RelaisdProcess(RELAISD_PATH, Args(dir, services)) {}

  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", ServingPort()),
                               grpc::InsecureChannelCredentials());
  }

 private:
  static std::vector<std::string> Args(const std::string& dir, const std::string& services) {
    std::vector<std::string> args = {"--insecure_dev", "--listen=127.0.0.1:0",
                                     "--metrics_listen=", "--db=" + DbOf(dir),
                                     "--keys_dir=" + dir + "/keys"};
    args.push_back(services.empty() ? "--demo" : "--services=" + services);
    return args;
  }
};

// The deployment before the split: relaisd whole, with the demo data, once.
void RunWholeOnce(const std::string& dir) {
  Part whole(dir, "");
  ASSERT_TRUE(whole.WaitFor("Relais demo is serving")) << whole.output();
  ASSERT_EQ(whole.Exit(/*terminate=*/true), 0) << whole.output();
}

class ServicesApart : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = FreshPath("services_apart");
    ASSERT_NO_FATAL_FAILURE(RunWholeOnce(dir));
    people_ = std::make_unique<Part>(dir, "directory,auth");
    care_ = std::make_unique<Part>(dir, "record,care,partnership,inbox");
    audit_ = std::make_unique<Part>(dir, "audit,admin");
    ASSERT_TRUE(people_->WaitFor("relaisd serving")) << people_->output();
    ASSERT_TRUE(care_->WaitFor("relaisd serving")) << care_->output();
    ASSERT_TRUE(audit_->WaitFor("relaisd serving")) << audit_->output();
    auth_stub_ = v1::AuthService::NewStub(people_->Channel());
    record_stub_ = v1::RecordService::NewStub(care_->Channel());
    care_stub_ = v1::CareService::NewStub(care_->Channel());
    audit_stub_ = v1::AuditService::NewStub(audit_->Channel());
  }

  std::unique_ptr<Part> people_, care_, audit_;
  std::unique_ptr<v1::AuthService::Stub> auth_stub_;
  std::unique_ptr<v1::RecordService::Stub> record_stub_;
  std::unique_ptr<v1::CareService::Stub> care_stub_;
  std::unique_ptr<v1::AuditService::Stub> audit_stub_;
};

TEST_F(ServicesApart, TheHandoverStoryRunsAcrossThreeProcesses) {
  const DemoMember camille = DemoLogin(*auth_stub_, "amo.camille");
  const DemoMember amo = DemoLogin(*auth_stub_, "amo.coord");
  const DemoMember saj = DemoLogin(*auth_stub_, "saj.coord");
  const DemoMember dpo = DemoLogin(*auth_stub_, "dpo");

  // Record and care: a youth, an entry, an accompaniment, a handover accepted.
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Jeune (services apart)");
  create.mutable_youth()->set_date_of_birth("2011-04-02");
  v1::Youth youth;
  grpc::Status s = record_stub_->CreateYouth(CallContext(camille.token).get(), create, &youth);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(camille.member_id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment accompaniment;
  s = care_stub_->OpenAccompaniment(CallContext(amo.token).get(), open, &accompaniment);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::AddEntryRequest add;
  v1::Entry* entry = add.mutable_entry();
  entry->set_youth_id(youth.id());
  entry->set_kind(v1::ENTRY_KIND_NOTE);
  entry->set_category(v1::DATA_CATEGORY_GENERAL);
  entry->set_visibility(v1::VISIBILITY_SHARED);
  entry->set_body("Premier entretien");
  v1::Entry added;
  s = record_stub_->AddEntry(CallContext(camille.token).get(), add, &added);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth.id());
  propose.set_to_service_id("svc_saj_charleroi");
  propose.set_reason("mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(absl::Now() + absl::Minutes(5));
  *propose.mutable_overlap_end() = common::ToProto(absl::Now() + absl::Hours(24 * 20));
  v1::Handover handover;
  s = care_stub_->ProposeHandover(CallContext(camille.token).get(), propose, &handover);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(handover.id());
  accept.set_referent_member_id(saj.member_id);
  v1::Handover accepted;
  s = care_stub_->AcceptHandover(CallContext(saj.token).get(), accept, &accepted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(accepted.state(), v1::HANDOVER_STATE_ACCEPTED);

  // Logout at the auth process: the record process refuses the token next.
  v1::LogoutResponse out;
  s = auth_stub_->Logout(CallContext(camille.token).get(), v1::LogoutRequest(), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetEntryRequest get;
  get.set_entry_id(added.id());
  get.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry read;
  s = record_stub_->GetEntry(CallContext(camille.token).get(), get, &read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "token_revoked");

  // The audit process: one chain with every process's events, verified.
  v1::QueryEventsRequest query;
  query.set_youth_id(youth.id());
  query.set_page_size(1000);
  v1::QueryEventsResponse events;
  s = audit_stub_->QueryEvents(CallContext(dpo.token).get(), query, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<v1::Action> actions;
  for (const v1::AuditEvent& e : events.events()) actions.push_back(e.action());
  for (v1::Action want : {v1::ACTION_CREATE_YOUTH, v1::ACTION_ADD_ENTRY,
                          v1::ACTION_PROPOSE_HANDOVER, v1::ACTION_ACCEPT_HANDOVER}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), want), actions.end())
        << v1::Action_Name(want);
  }
  v1::QueryEventsRequest logins;
  logins.set_actor_member_id(camille.member_id);
  logins.set_page_size(1000);
  s = audit_stub_->QueryEvents(CallContext(dpo.token).get(), logins, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int login_events = 0;
  for (const v1::AuditEvent& e : events.events()) login_events += e.action() == v1::ACTION_LOGIN;
  EXPECT_GE(login_events, 1);
  // The refused read, audited by the record process (a revoked token names
  // nobody).
  v1::QueryEventsRequest denials;
  denials.set_decision(v1::DECISION_DENY);
  denials.set_page_size(1000);
  s = audit_stub_->QueryEvents(CallContext(dpo.token).get(), denials, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int refused_reads = 0;
  for (const v1::AuditEvent& e : events.events()) {
    refused_reads += e.action() == v1::ACTION_READ_ENTRY && e.reason_code() == "token_revoked";
  }
  EXPECT_EQ(refused_reads, 1);
  v1::VerifyLogResponse verified;
  s = audit_stub_->VerifyLog(CallContext(dpo.token).get(), v1::VerifyLogRequest(), &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_GT(verified.events_checked(), 10);
}

TEST_F(ServicesApart, EachProcessServesOnlyItsServices) {
  const DemoMember camille = DemoLogin(*auth_stub_, "amo.camille");
  // The record service, asked at the auth process and at the audit process.
  for (Part* part : {people_.get(), audit_.get()}) {
    auto record = v1::RecordService::NewStub(part->Channel());
    v1::GetEntryRequest get;
    get.set_entry_id("e_any");
    get.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry read;
    const grpc::Status s = record->GetEntry(CallContext(camille.token).get(), get, &read);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  }
  // Login at the record process.
  auto auth_at_care = v1::AuthService::NewStub(care_->Channel());
  v1::LoginRequest req;
  req.set_login("amo.camille");
  req.set_password(kDemoPassword);
  v1::LoginResponse resp;
  EXPECT_EQ(auth_at_care->Login(CallContext("").get(), req, &resp).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  // Health lists each process's own services, and only those.
  const std::vector<std::pair<Part*, std::vector<std::string>>> served = {
      {people_.get(), {"relais.v1.DirectoryService", "relais.v1.AuthService"}},
      {care_.get(),
       {"relais.v1.RecordService", "relais.v1.CareService", "relais.v1.PartnershipService",
        "relais.v1.InboxService"}},
      {audit_.get(), {"relais.v1.AuditService", "relais.v1.AdminService"}},
  };
  for (const auto& [part, own] : served) {
    const std::shared_ptr<grpc::Channel> channel = part->Channel();
    EXPECT_EQ(HealthStatus(channel, ""), kServing);
    for (const auto& [other, theirs] : served) {
      for (const std::string& service : theirs) {
        EXPECT_EQ(HealthStatus(channel, service), other == part ? kServing : -1)
            << service << " at " << own.front();
      }
    }
  }
}

// Several instances, one truth (issue #15 item 3): two relaisd serving every
// service over one database take writes at once; every write either one
// acknowledged is there, read through the other, and the audit log is one
// gap-free chain that both verify, signed by one instance at a time.
TEST(SeveralInstances, ConcurrentWritesThroughTwoInstancesKeepOneChain) {
  const std::string dir = FreshPath("several_instances");
  ASSERT_NO_FATAL_FAILURE(RunWholeOnce(dir));
  const std::vector<std::string> all = {"--insecure_dev",    "--listen=127.0.0.1:0",
                                        "--metrics_listen=", "--checkpoint_every_events=10",
                                        "--db=" + DbOf(dir), "--keys_dir=" + dir + "/keys"};
  RelaisdProcess one(RELAISD_PATH, all), two(RELAISD_PATH, all);
  ASSERT_TRUE(one.WaitFor("relaisd serving")) << one.output();
  ASSERT_TRUE(two.WaitFor("relaisd serving")) << two.output();
  std::shared_ptr<grpc::Channel> channels[] = {
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", one.ServingPort()),
                          grpc::InsecureChannelCredentials()),
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", two.ServingPort()),
                          grpc::InsecureChannelCredentials())};
  auto auth = v1::AuthService::NewStub(channels[0]);
  const DemoMember camille = DemoLogin(*auth, "amo.camille");
  const DemoMember amo = DemoLogin(*auth, "amo.coord");
  const DemoMember dpo = DemoLogin(*auth, "dpo");
  auto record = v1::RecordService::NewStub(channels[1]);
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Jeune (deux instances)");
  create.mutable_youth()->set_date_of_birth("2010-09-14");
  v1::Youth youth;
  grpc::Status s = record->CreateYouth(CallContext(camille.token).get(), create, &youth);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(camille.member_id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment accompaniment;
  s = v1::CareService::NewStub(channels[0])
          ->OpenAccompaniment(CallContext(amo.token).get(), open, &accompaniment);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Four writers, two through each instance.
  constexpr int kWriters = 4, kEach = 25;
  std::vector<std::vector<std::string>> acknowledged(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::RecordService::NewStub(channels[w % 2]);
      for (int i = 0; i < kEach; ++i) {
        v1::AddEntryRequest add;
        v1::Entry* entry = add.mutable_entry();
        entry->set_youth_id(youth.id());
        entry->set_kind(v1::ENTRY_KIND_NOTE);
        entry->set_category(v1::DATA_CATEGORY_GENERAL);
        entry->set_visibility(v1::VISIBILITY_SHARED);
        entry->set_body(absl::StrCat("Note ", w, ".", i));
        // UNAVAILABLE (the other instance held the write lock too long)
        // means retry, as a client would; nothing was written then.
        for (int attempt = 0; attempt < 5; ++attempt) {
          v1::Entry added;
          const grpc::Status st = stub->AddEntry(CallContext(camille.token).get(), add, &added);
          if (st.ok()) acknowledged[w].push_back(added.id());
          if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  int total = 0;
  for (int w = 0; w < kWriters; ++w) {
    total += static_cast<int>(acknowledged[w].size());
    // Read back through the instance that did not take the write.
    auto other = v1::RecordService::NewStub(channels[(w + 1) % 2]);
    for (const std::string& id : acknowledged[w]) {
      v1::GetEntryRequest get;
      get.set_entry_id(id);
      get.set_purpose(v1::PURPOSE_COORDINATION);
      v1::Entry read;
      s = other->GetEntry(CallContext(camille.token).get(), get, &read);
      EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    }
  }
  EXPECT_EQ(total, kWriters * kEach) << "a write refused under concurrency";

  for (const std::shared_ptr<grpc::Channel>& channel : channels) {
    auto audit = v1::AuditService::NewStub(channel);
    v1::VerifyLogResponse verified;
    s = audit->VerifyLog(CallContext(dpo.token).get(), v1::VerifyLogRequest(), &verified);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
    v1::QueryEventsRequest query;
    query.set_youth_id(youth.id());
    query.set_page_size(1000);
    v1::QueryEventsResponse events;
    s = audit->QueryEvents(CallContext(dpo.token).get(), query, &events);
    ASSERT_TRUE(s.ok()) << s.error_message();
    int adds = 0;
    for (const v1::AuditEvent& e : events.events()) {
      adds += e.action() == v1::ACTION_ADD_ENTRY && e.decision() == v1::DECISION_ALLOW;
    }
    EXPECT_EQ(adds, total);
  }
  EXPECT_EQ(one.Exit(/*terminate=*/true), 0);
  EXPECT_EQ(two.Exit(/*terminate=*/true), 0);
}

TEST(ServiceNames, UnknownOrRepeatedNamesAreRefused) {
  EXPECT_TRUE(host::CheckServiceNames({}).ok());
  EXPECT_TRUE(host::CheckServiceNames({"record", "care", "audit"}).ok());
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"records"}, {"care", "care"}, {""}, {"Record"}}) {
    EXPECT_EQ(host::CheckServiceNames(bad).code(), absl::StatusCode::kInvalidArgument)
        << bad.front();
  }
}

TEST(ServiceNames, RelaisdRefusesToStartOnABadSplit) {
  const std::string dir = FreshPath("services_apart_bad");
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--services=record,records"},
                                             {"--services=care,care"},
                                             {"--services=record", "--demo"}}) {
    std::vector<std::string> args = {"--insecure_dev", "--listen=127.0.0.1:0",
                                     "--metrics_listen=", "--db=" + DbOf(dir),
                                     "--keys_dir=" + dir + "/keys"};
    args.insert(args.end(), flags.begin(), flags.end());
    RelaisdProcess relaisd(RELAISD_PATH, args);
    EXPECT_NE(relaisd.Exit(), 0) << flags.front();
    EXPECT_EQ(relaisd.ServingPort(), 0) << relaisd.output();
  }
}

}  // namespace
}  // namespace relais::testing
