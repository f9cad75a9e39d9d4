// DiagnosticsService.Echo, the load driver's baseline (issue #13): off unless
// asked for, token-checked like every call, and it neither reads nor writes.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "relais/v1/diagnostics.grpc.pb.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

grpc::Status Echo(RelaisEnv& env, grpc::ClientContext* ctx, const std::string& payload,
                  std::string* echoed) {
  const auto stub =
      v1::DiagnosticsService::NewStub(env.NewChannel(grpc::InsecureChannelCredentials()));
  v1::EchoRequest req;
  req.set_payload(payload);
  v1::EchoResponse resp;
  const grpc::Status status = stub->Echo(ctx, req, &resp);
  *echoed = resp.payload();
  return status;
}

int64_t AuditHead(RelaisEnv& env) {
  const auto head = env.host().audit().Head();
  EXPECT_TRUE(head.ok());
  return head.ok() ? head->sequence : -1;
}

TEST(Diagnostics, IsNotServedUnlessAskedFor) {
  const auto env = RelaisEnv::Start();
  std::string echoed;
  EXPECT_EQ(Echo(*env, env->As(kAmoCaseworker).get(), "ping", &echoed).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(Diagnostics, EchoAnswersItsPayloadToAMemberAndRecordsNothing) {
  const auto env = RelaisEnv::StartWithDiagnostics();
  const int64_t before = AuditHead(*env);
  const std::string payload("\x00\x01 binary \xff", 12);
  std::string echoed;
  ASSERT_TRUE(Echo(*env, env->As(kAmoCaseworker).get(), payload, &echoed).ok());
  EXPECT_EQ(echoed, payload);
  ASSERT_TRUE(Echo(*env, env->As(kAuditor).get(), "", &echoed).ok());
  EXPECT_EQ(echoed, "");
  EXPECT_EQ(AuditHead(*env), before);
}

TEST(Diagnostics, EchoRefusesACallWithoutAValidToken) {
  const auto env = RelaisEnv::StartWithDiagnostics();
  std::string echoed;
  grpc::Status s = Echo(*env, env->Anonymous().get(), "ping", &echoed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(s), "token_missing");
  s = Echo(*env, env->Anonymous("Bearer v1.bm90.c2ln").get(), "ping", &echoed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(s), "token_malformed");
  EXPECT_EQ(echoed, "");
  // A token that worked (and is remembered) stops working when it expires
  // and once its session is logged out.
  v1::LoginRequest login;
  login.set_login(kAmoCaseworker);
  login.set_password(kPassword);
  v1::LoginResponse session;
  ASSERT_TRUE(env->auth().Login(env->Anonymous().get(), login, &session).ok());
  const std::string bearer = absl::StrCat("Bearer ", session.token());
  ASSERT_TRUE(Echo(*env, env->Anonymous(bearer).get(), "a", &echoed).ok());
  ASSERT_TRUE(Echo(*env, env->Anonymous(bearer).get(), "b", &echoed).ok());
  const absl::Time now = env->clock().Now();
  env->clock().Advance(absl::Minutes(15));
  s = Echo(*env, env->Anonymous(bearer).get(), "c", &echoed);
  EXPECT_EQ(ReasonCode(s), "token_expired");
  env->clock().Set(now);
  ASSERT_TRUE(Echo(*env, env->Anonymous(bearer).get(), "d", &echoed).ok());
  v1::LogoutResponse out;
  ASSERT_TRUE(env->auth().Logout(env->Anonymous(bearer).get(), {}, &out).ok());
  s = Echo(*env, env->Anonymous(bearer).get(), "e", &echoed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(s), "token_revoked");
}

}  // namespace
}  // namespace relais::testing
