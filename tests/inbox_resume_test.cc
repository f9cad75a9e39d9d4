// The inbox stream survives relaisd being killed (issue #14): a coordinator
// watching their inbox loses the connection when relaisd dies (SIGKILL), and
// after the restart resumes from the last cursor received and gets every item
// it had not received, in order, with no gap: what was committed stays.
// The real relaisd binary, over gRPC only.

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/inbox.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kDemoPassword[] = "demo-relais-2026";

class Relaisd : public RelaisdProcess {
 public:
  explicit Relaisd(const std::string& dir)
      : RelaisdProcess(RELAISD_PATH,
                       {"--insecure_dev", "--listen=127.0.0.1:0", "--demo",
                        "--db=" + dir + "/relais.db", "--keys_dir=" + dir + "/keys"}) {}
};

// The calls the test makes, as one member, on one relaisd.
struct Client {
  Client(int port, std::string token_in) : token(std::move(token_in)) {
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    auth = v1::AuthService::NewStub(channel);
    care = v1::CareService::NewStub(channel);
    record = v1::RecordService::NewStub(channel);
    inbox = v1::InboxService::NewStub(channel);
  }
  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }
  std::string token;
  std::unique_ptr<v1::AuthService::Stub> auth;
  std::unique_ptr<v1::CareService::Stub> care;
  std::unique_ptr<v1::RecordService::Stub> record;
  std::unique_ptr<v1::InboxService::Stub> inbox;
};

struct Member {
  std::string token, member_id;
};

Member Login(int port, const std::string& login) {
  Client anon(port, "");
  v1::LoginRequest req;
  req.set_login(login);
  req.set_password(kDemoPassword);
  v1::LoginResponse resp;
  grpc::Status s = anon.auth->Login(anon.Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << login << ": " << s.error_message();
  return {resp.token(), resp.member_id()};
}

// A new youth the AMO accompanies, proposed to the SAJ: one item in the SAJ
// coordinator's inbox. Returns the handover id.
std::string HandOverToSaj(int port, const Member& caseworker, const Member& coordinator) {
  Client cw(port, caseworker.token), coord(port, coordinator.token);
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Jeune (test)");
  create.mutable_youth()->set_date_of_birth("2011-04-02");
  create.mutable_youth()->add_guardians()->set_display_name("Parent");
  v1::Youth youth;
  grpc::Status s = cw.record->CreateYouth(cw.Ctx().get(), create, &youth);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(caseworker.member_id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment acc;
  s = coord.care->OpenAccompaniment(coord.Ctx().get(), open, &acc);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth.id());
  propose.set_to_service_id("svc_saj_charleroi");
  propose.set_reason("mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(absl::Now() + absl::Minutes(5));
  *propose.mutable_overlap_end() = common::ToProto(absl::Now() + absl::Hours(24 * 20));
  v1::Handover h;
  s = cw.care->ProposeHandover(cw.Ctx().get(), propose, &h);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return h.id();
}

TEST(InboxResume, AWatcherResumesAfterRelaisdIsKilledWithoutAGap) {
  const std::string dir = FreshPath("inbox_resume");
  std::vector<std::string> proposed, received;
  std::string cursor;
  {
    Relaisd relaisd(dir);
    ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
    const int port = relaisd.ServingPort();
    const Member camille = Login(port, "amo.camille"), amo = Login(port, "amo.coord");
    const Member saj = Login(port, "saj.coord");
    for (int i = 0; i < 3; ++i) proposed.push_back(HandOverToSaj(port, camille, amo));
    Client watcher(port, saj.token);
    auto ctx = watcher.Ctx();
    auto stream = watcher.inbox->Watch(ctx.get(), v1::WatchRequest());
    v1::InboxItem item;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(stream->Read(&item));
      received.push_back(item.handover_id());
      cursor = item.cursor();
    }
    // More are committed; then relaisd dies with the stream open.
    for (int i = 0; i < 2; ++i) proposed.push_back(HandOverToSaj(port, camille, amo));
    ::kill(relaisd.pid(), SIGKILL);
    EXPECT_EQ(relaisd.Exit(), -1);
    // The client sees the stream break, whatever it had buffered.
    while (stream->Read(&item)) {
      received.push_back(item.handover_id());
      cursor = item.cursor();
    }
    EXPECT_FALSE(stream->Finish().ok());
  }
  Relaisd relaisd(dir);
  ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
  const int port = relaisd.ServingPort();
  const Member camille = Login(port, "amo.camille"), amo = Login(port, "amo.coord");
  const Member saj = Login(port, "saj.coord");
  proposed.push_back(HandOverToSaj(port, camille, amo));
  Client watcher(port, saj.token);
  auto ctx = watcher.Ctx();
  v1::WatchRequest resume;
  resume.set_after_cursor(cursor);
  auto stream = watcher.inbox->Watch(ctx.get(), resume);
  v1::InboxItem item;
  while (received.size() < proposed.size() && stream->Read(&item)) {
    ASSERT_EQ(item.kind(), v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED);
    received.push_back(item.handover_id());
  }
  // Every proposal, in the order it was made, each once.
  EXPECT_EQ(received, proposed);
  ctx->TryCancel();
  while (stream->Read(&item)) {
  }
  stream->Finish();
}

}  // namespace
}  // namespace relais::testing
