// A browser console logs every member of its service in from its own address.
// relaisd counts failed logins per address (20 in 15 minutes), so one person
// guessing passwords at a console would lock all its members out. A service
// listed in auth.login_gateways names the browser's address in the
// x-relais-client-address metadata, and that address is counted instead;
// anyone else's metadata is ignored, and a malformed one counts against the
// gateway itself.

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "relais/v1/auth.grpc.pb.h"
#include "tests/test_env.h"
#include "tests/tls_handshake.h"

namespace relais::testing {
namespace {

constexpr int kPeerLimit = 20;  // auth_store::PeerThrottle::Limits

class LoginGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakeDevPki(FreshPath("pki"));
    // The AMO's console is a gateway; the SAJ's application is not.
    env_ = RelaisEnv::StartTls(
        {pki_.Server(), pki_.Client("svc_amo_charleroi"), {"svc_amo_charleroi"}});
    ASSERT_NE(env_, nullptr);
  }

  // A login through `service`'s certificate, naming `client` (none if empty).
  grpc::Status Login(const std::string& service, const std::string& login,
                     const std::string& password, const std::string& client) {
    auto stub =
        v1::AuthService::NewStub(env_->NewChannel(grpc::SslCredentials(pki_.Client(service))));
    grpc::ClientContext ctx;
    if (!client.empty()) ctx.AddMetadata("x-relais-client-address", client);
    v1::LoginRequest req;
    req.set_login(login);
    req.set_password(password);
    v1::LoginResponse reply;
    return stub->Login(&ctx, req, &reply);
  }

  // `kPeerLimit` failed logins, each on a made-up login (no account lock).
  void FailFrom(const std::string& service, const std::string& client, const std::string& tag) {
    for (int i = 0; i < kPeerLimit; ++i) {
      grpc::Status s = Login(service, absl::StrCat("nobody.", tag, i), "wrong", client);
      ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << i << s.error_message();
    }
  }

  DevPki pki_;
  std::unique_ptr<RelaisEnv> env_;
};

TEST_F(LoginGatewayTest, OneBrowserGuessingAtTheConsoleLocksOutThatBrowserOnly) {
  FailFrom("svc_amo_charleroi", "203.0.113.7", "a");
  grpc::Status s = Login("svc_amo_charleroi", kAmoCaseworker, kPassword, "203.0.113.7");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonCode(s), "too_many_attempts");
  // Another browser behind the same console, and the console itself, log in.
  s = Login("svc_amo_charleroi", kAmoCaseworker, kPassword, "198.51.100.2");
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Login("svc_amo_charleroi", kAmoCoordinator, kPassword, "2001:db8::1");
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Login("svc_amo_charleroi", kAmoCaseworker, kPassword, "");
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(LoginGatewayTest, AMalformedAddressCountsAgainstTheGatewayAndOthersCannotNameOne) {
  // Not an address: counted against the console's own address.
  FailFrom("svc_amo_charleroi", "203.0.113.7, 10.0.0.1", "b");
  grpc::Status s = Login("svc_amo_charleroi", kAmoCaseworker, kPassword, "");
  EXPECT_EQ(ReasonCode(s), "too_many_attempts");
  s = Login("svc_amo_charleroi", kAmoCaseworker, kPassword, "198.51.100.2");
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The SAJ is no gateway: its metadata is ignored, and it shares the
  // locked address (everything here comes from 127.0.0.1).
  s = Login("svc_saj_charleroi", kSajCaseworker, kPassword, "198.51.100.9");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonCode(s), "too_many_attempts");
}

}  // namespace
}  // namespace relais::testing
