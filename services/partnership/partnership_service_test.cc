// PartnershipServiceImpl on a real gRPC server over a bare database (no
// relaisd): every call leaves one audit event, allowed or denied, whose
// strings are ids and codes, never the purpose, the reason or a text.

#include "services/partnership/partnership_service.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "access/roles.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/clock.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/audit/audit_log.h"
#include "services/auth_store/revocation_store.h"
#include "services/directory/directory_store.h"
#include "storage/row_mac.h"
#include "storage/testing/fresh_database.h"

namespace relais::partnership {
namespace {

constexpr char kAudience[] = "relais-test";
constexpr char kSecret[] = "UN-TEXTE-QUI-NE-DOIT-PAS-FUIR";
const absl::Time kNow = absl::FromUnixSeconds(1795000000);

std::string ReasonOf(const grpc::Status& status) {
  v1::RpcStatus rpc_status;
  v1::ErrorDetail detail;
  if (!rpc_status.ParseFromString(status.error_details()) || rpc_status.details_size() != 1 ||
      !rpc_status.details(0).UnpackTo(&detail)) {
    return "<no detail>";
  }
  return detail.reason();
}

class PartnershipServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/partnership_service_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    db_ = *storage::Database::Open({.path = path_});
    audit_ = *audit::AuditLog::Create(db_.get(), &clock_);
    directory_ = *directory::DirectoryStore::Create(db_.get(), &clock_,
                                                    {.scrypt = auth::FastParamsForTests()});
    store_ = *PartnershipStore::Create(db_.get(), &clock_);
    row_mac_ = *storage::BindRowMac(*db_, *storage::RowMac::Derive({std::string(32, 'k')}));
    ASSERT_TRUE(directory::SealExistingRows(*db_).ok());
    revocations_ = *auth_store::RevocationStore::Create(db_.get(), &clock_);
    keys_ = auth::KeyRing::InMemory();
    issuer_ = std::make_unique<auth::TokenIssuer>(keys_.get(), &clock_, kAudience,
                                                  auth::kDefaultTokenLifetime, revocations_.get());
    verifier_ =
        std::make_unique<auth::TokenVerifier>(keys_.get(), &clock_, kAudience, revocations_.get());
    gate_ = std::make_unique<rpc::CallGate>(verifier_.get(), audit_.get(), &clock_);
    service_ = std::make_unique<PartnershipServiceImpl>(gate_.get(), store_.get(), db_.get(),
                                                        directory_.get(), directory_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::PartnershipService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    amo_ = Service("AMO");
    pms_ = Service("PMS");
    saj_ = Service("SAJ");
    amo_coord_ = Member(amo_, "amo.coord", v1::ROLE_COORDINATOR);
    amo_worker_ = Member(amo_, "amo.worker", v1::ROLE_CASEWORKER);
    pms_coord_ = Member(pms_, "pms.coord", v1::ROLE_COORDINATOR);
    saj_coord_ = Member(saj_, "saj.coord", v1::ROLE_COORDINATOR);
  }

  void TearDown() override {
    server_->Shutdown();
    server_.reset();
    service_.reset();
    store_.reset();
    directory_.reset();
    audit_.reset();
    db_.reset();
    row_mac_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  std::string Service(const std::string& name) {
    return directory_->CreateService({"", name, "aide_jeunesse", ""})->id;
  }
  std::string Member(const std::string& service, const std::string& login, v1::Role role) {
    const directory::MemberInfo m =
        *directory_->AddMember({"", service, "Prénom Nom", login, {role}}, "a long first password");
    return *issuer_->Issue(m.id, m.service_id, {access::RoleName(role)});
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }
  std::vector<v1::AuditEvent> Events() {
    return *audit_->Query({}, 0, audit::AuditLog::kMaxQueryLimit);
  }

  v1::ProposeConventionRequest Proposal() {
    v1::ProposeConventionRequest req;
    v1::Convention* c = req.mutable_convention();
    c->set_title("AMO – PMS");
    c->set_purpose(kSecret);
    c->add_party_service_ids(amo_);
    c->add_party_service_ids(pms_);
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
    c->mutable_scope()->set_max_overlap_days(30);
    *c->mutable_start_time() = common::ToProto(kNow);
    *c->mutable_end_time() = common::ToProto(kNow + absl::Hours(24 * 365));
    *c->mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 100));
    return req;
  }

  common::FakeClock clock_{kNow};
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<directory::DirectoryStore> directory_;
  std::unique_ptr<PartnershipStore> store_;
  std::unique_ptr<storage::RowMacBinding> row_mac_;
  std::unique_ptr<auth_store::RevocationStore> revocations_;
  std::unique_ptr<auth::KeyRing> keys_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<rpc::CallGate> gate_;
  std::unique_ptr<PartnershipServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::PartnershipService::Stub> stub_;
  std::string amo_, pms_, saj_;
  std::string amo_coord_, amo_worker_, pms_coord_, saj_coord_;
};

TEST_F(PartnershipServiceTest, EveryCallLeavesOneEventWithIdsNeverText) {
  v1::Convention c;
  ASSERT_TRUE(stub_->ProposeConvention(Ctx(amo_coord_).get(), Proposal(), &c).ok());
  v1::SignConventionRequest sign;
  sign.set_convention_id(c.id());
  EXPECT_EQ(ReasonOf(stub_->SignConvention(Ctx(saj_coord_).get(), sign, &c)), "wrong_service");
  ASSERT_TRUE(stub_->SignConvention(Ctx(pms_coord_).get(), sign, &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_IN_FORCE);
  v1::TerminateConventionRequest end;
  end.set_convention_id(c.id());
  end.set_reason(kSecret);
  EXPECT_EQ(ReasonOf(stub_->TerminateConvention(Ctx(amo_worker_).get(), end, &c)),
            "role_not_permitted");
  ASSERT_TRUE(stub_->TerminateConvention(Ctx(pms_coord_).get(), end, &c).ok());

  const std::vector<v1::AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 5u);
  const v1::Action want[] = {v1::ACTION_PROPOSE_CONVENTION, v1::ACTION_SIGN_CONVENTION,
                             v1::ACTION_SIGN_CONVENTION, v1::ACTION_TERMINATE_CONVENTION,
                             v1::ACTION_TERMINATE_CONVENTION};
  const v1::Decision decided[] = {v1::DECISION_ALLOW, v1::DECISION_DENY, v1::DECISION_ALLOW,
                                  v1::DECISION_DENY, v1::DECISION_ALLOW};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].action(), want[i]) << i;
    EXPECT_EQ(events[i].decision(), decided[i]) << i;
    // A role refusal comes first, before the request is looked at.
    EXPECT_EQ(events[i].object_id(), i == 3 ? "" : c.id()) << i;
    EXPECT_EQ(events[i].DebugString().find(kSecret), std::string::npos) << i;
  }
}

TEST_F(PartnershipServiceTest, AProtocolConcernsOnlyItsServicesAndRoles) {
  v1::CreateProtocolRequest req;
  req.mutable_protocol()->set_title("Accueil");
  req.mutable_protocol()->add_service_ids(amo_);
  req.mutable_protocol()->add_roles(v1::ROLE_CASEWORKER);
  *req.mutable_protocol()->mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 30));
  req.mutable_first_version()->set_summary("V1");
  req.mutable_first_version()->set_text(kSecret);
  v1::Protocol p;
  ASSERT_TRUE(stub_->CreateProtocol(Ctx(amo_coord_).get(), req, &p).ok());
  EXPECT_TRUE(p.current_version().text().empty());
  v1::AcknowledgeProtocolRequest ack;
  ack.set_protocol_id(p.id());
  ack.set_version(1);
  // The AMO's coordinator holds a role the protocol does not name.
  grpc::Status s = stub_->AcknowledgeProtocol(Ctx(amo_coord_).get(), ack, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "not_concerned");
  ASSERT_TRUE(stub_->AcknowledgeProtocol(Ctx(amo_worker_).get(), ack, &p).ok());
  v1::ProtocolCoverageRequest cov;
  cov.set_protocol_id(p.id());
  v1::ProtocolCoverageResponse coverage;
  ASSERT_TRUE(stub_->ProtocolCoverage(Ctx(amo_coord_).get(), cov, &coverage).ok());
  ASSERT_EQ(coverage.services_size(), 1);
  EXPECT_EQ(coverage.services(0).members_concerned(), 1);
  EXPECT_EQ(coverage.services(0).members_acknowledged(), 1);
  EXPECT_EQ(ReasonOf(stub_->ProtocolCoverage(Ctx(pms_coord_).get(), cov, &coverage)),
            "wrong_service");
  for (const v1::AuditEvent& e : Events()) {
    EXPECT_EQ(e.object_id(), p.id());
    EXPECT_EQ(e.DebugString().find(kSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace relais::partnership
