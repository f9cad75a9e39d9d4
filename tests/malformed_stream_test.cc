// The malformed-request interceptor (services/host/malformed_request.h) on
// server-streaming methods: a request whose bytes do not parse gets
// INVALID_ARGUMENT "malformed_request" and no message, is audited once, and the
// server keeps serving; the same method with well-formed bytes streams.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/sync_stream.h"
#include "gtest/gtest.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using grpc::StatusCode;

// Sends `bytes` as the one request of the server-streaming `method`, as
// `login`, and reads the stream out: its status, and how many messages came.
struct Streamed {
  grpc::Status status;
  int messages = 0;
};
Streamed SendRawStream(RelaisEnv& env, const char* method, const std::string& bytes,
                       absl::string_view login, const std::string& request_id) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", env.host().port()),
                                     grpc::InsecureChannelCredentials());
  const grpc::internal::RpcMethod rpc(method, grpc::internal::RpcMethod::SERVER_STREAMING);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::ClientContext> ctx = env.As(login);
  ctx->AddMetadata("x-request-id", request_id);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), rpc, ctx.get(),
                                                                    request));
  Streamed out;
  grpc::ByteBuffer message;
  while (reader->Read(&message)) ++out.messages;
  out.status = reader->Finish();
  return out;
}

class MalformedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    ASSERT_NE(env_, nullptr);
  }

  std::vector<v1::AuditEvent> EventsOfRequest(const std::string& request_id) {
    v1::QueryEventsRequest req;
    req.set_page_size(1000);
    v1::QueryEventsResponse resp;
    grpc::Status s = env_->audit().QueryEvents(env_->As(kAuditor).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<v1::AuditEvent> found;
    for (const auto& e : resp.events()) {
      if (e.request_id() == request_id) found.push_back(e);
    }
    return found;
  }

  std::unique_ptr<RelaisEnv> env_;
};

// Bytes that never parse: field 1 with the invalid wire type 7, a varint that
// never ends, a length beyond the message.
const std::vector<std::string>& Garbage() {
  static const auto* bodies = new std::vector<std::string>{
      std::string("\x0f\x01\x02", 3),
      std::string(16, '\xff'),
      std::string{'\x0a', '\xe8', '\x07', 'a', 'b', 'c'},
  };
  return *bodies;
}

TEST_F(MalformedStreamTest, ExportEventsWithBytesThatDoNotParseIsAMalformedRequestAudited) {
  // Well-formed, the same call streams the log and ends OK.
  Streamed sane = SendRawStream(*env_, "/relais.v1.AuditService/ExportEvents",
                                v1::ExportEventsRequest().SerializeAsString(), kAuditor, "sane");
  ASSERT_TRUE(sane.status.ok()) << sane.status.error_code() << " " << sane.status.error_message();
  EXPECT_GT(sane.messages, 0);

  for (size_t i = 0; i < Garbage().size(); ++i) {
    SCOPED_TRACE(absl::StrCat("body #", i));
    const std::string request_id = absl::StrCat("malformed-export-", i);
    Streamed s = SendRawStream(*env_, "/relais.v1.AuditService/ExportEvents", Garbage()[i],
                               kAuditor, request_id);
    EXPECT_EQ(s.status.error_code(), StatusCode::INVALID_ARGUMENT) << s.status.error_message();
    EXPECT_EQ(ReasonCode(s.status), "malformed_request");
    EXPECT_THAT(s.status.error_message(), ::testing::StartsWith("malformed_request: "));
    EXPECT_EQ(s.messages, 0) << "nothing of the log may stream for a request that did not parse";
    const std::vector<v1::AuditEvent> events = EventsOfRequest(request_id);
    ASSERT_EQ(events.size(), 1u) << "audited exactly once, and no export event";
    EXPECT_EQ(events[0].decision(), v1::DECISION_DENY);
    EXPECT_EQ(events[0].action(), v1::ACTION_REJECT_MALFORMED_REQUEST);
    EXPECT_EQ(events[0].reason(), v1::ACCESS_REASON_MALFORMED_REQUEST);
    EXPECT_EQ(events[0].object_id(), "AuditService.ExportEvents");
    EXPECT_EQ(events[0].actor_member_id(), env_->member_id(kAuditor));
  }
  // Still serving.
  Streamed after = SendRawStream(*env_, "/relais.v1.AuditService/ExportEvents",
                                 v1::ExportEventsRequest().SerializeAsString(), kAuditor, "after");
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
}

TEST_F(MalformedStreamTest, ExportYouthWithBytesThatDoNotParseIsAMalformedRequestAudited) {
  const std::string youth = env_->CreateYouth(15);
  v1::ExportYouthRequest good;
  good.set_youth_id(youth);
  Streamed sane = SendRawStream(*env_, "/relais.v1.RecordService/ExportYouth",
                                good.SerializeAsString(), kAmoCoordinator, "sane-youth");
  EXPECT_NE(sane.status.error_code(), StatusCode::INVALID_ARGUMENT)
      << "well-formed bytes are judged by the handler, not the interceptor";

  Streamed s = SendRawStream(*env_, "/relais.v1.RecordService/ExportYouth", Garbage()[0],
                             kAmoCoordinator, "malformed-youth");
  EXPECT_EQ(s.status.error_code(), StatusCode::INVALID_ARGUMENT) << s.status.error_message();
  EXPECT_EQ(ReasonCode(s.status), "malformed_request");
  EXPECT_EQ(s.messages, 0);
  const std::vector<v1::AuditEvent> events = EventsOfRequest("malformed-youth");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action(), v1::ACTION_REJECT_MALFORMED_REQUEST);
  EXPECT_EQ(events[0].object_id(), "RecordService.ExportYouth");
  EXPECT_EQ(events[0].actor_member_id(), env_->member_id(kAmoCoordinator));
  EXPECT_EQ(events[0].youth_id(), "") << "the bytes are never read for ids";
}

}  // namespace
}  // namespace relais::testing
