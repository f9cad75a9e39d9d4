#include "services/auth/auth_service.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/auth.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/directory/directory_store.h"
#include "storage/testing/fresh_database.h"

namespace relais::auth_service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kAudience[] = "relais-test";
constexpr char kLogin[] = "marie.dupont";
constexpr char kPassword[] = "Marie's very own passphrase";
constexpr char kWrongPassword[] = "not Marie's passphrase";

std::string ReasonOf(const grpc::Status& status) {
  v1::RpcStatus rpc_status;
  v1::ErrorDetail detail;
  if (!rpc_status.ParseFromString(status.error_details()) || rpc_status.details_size() != 1 ||
      !rpc_status.details(0).UnpackTo(&detail)) {
    return "<no detail>";
  }
  return detail.reason();
}

std::vector<std::string> Strings(const v1::AuditEvent& e) {
  return {e.request_id(),  e.actor_member_id(), e.actor_service_id(),
          e.actor_roles(), e.client_identity(), e.youth_id(),
          e.entry_id(),    e.object_id(),       e.reason_code()};
}

// A real server on 127.0.0.1:0 with AuthService over a fresh directory that
// holds one caseworker, Marie, in an AMO.
class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/auth_service_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto audit = audit::AuditLog::Create(db_.get(), &clock_);
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
    auto store = directory::DirectoryStore::Create(db_.get(), &clock_,
                                                   {.scrypt = auth::FastParamsForTests()});
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
    auto service = store_->CreateService({"", "AMO Le Relais", "aide_jeunesse", "AMO"});
    ASSERT_TRUE(service.ok()) << service.status();
    auto marie = store_->AddMember({"", service->id, "Marie Dupont", kLogin, {v1::ROLE_CASEWORKER}},
                                   kPassword);
    ASSERT_TRUE(marie.ok()) << marie.status();
    marie_ = *marie;

    auto revocations = auth_store::RevocationStore::Create(db_.get(), &clock_);
    ASSERT_TRUE(revocations.ok()) << revocations.status();
    revocations_ = *std::move(revocations);

    key_ring_ = auth::KeyRing::InMemory();
    issuer_ = std::make_unique<auth::TokenIssuer>(key_ring_.get(), &clock_, kAudience,
                                                  auth::kDefaultTokenLifetime, revocations_.get());
    verifier_ = std::make_unique<auth::TokenVerifier>(key_ring_.get(), &clock_, kAudience,
                                                      revocations_.get());
    AuthServiceImpl::Options options;
    options.max_concurrent_password_checks = 2;
    options.password_check_wait = password_check_wait_;
    service_ = std::make_unique<AuthServiceImpl>(
        store_.get(), issuer_.get(), verifier_.get(), key_ring_.get(), audit_.get(),
        AuthServiceImpl::Sessions{
            .db = db_.get(), .clock = &clock_, .revocations = revocations_.get()},
        options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AuthService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                         grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
    revocations_.reset();
    store_.reset();
    audit_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  grpc::Status Login(const std::string& login, const std::string& password,
                     v1::LoginResponse* reply) {
    v1::LoginRequest req;
    req.set_login(login);
    req.set_password(password);
    return stub_->Login(Ctx().get(), req, reply);
  }

  grpc::Status Refresh(const std::string& token, v1::LoginResponse* reply) {
    return stub_->Refresh(Ctx(token).get(), v1::RefreshRequest(), reply);
  }

  std::vector<v1::AuditEvent> Events(v1::Decision decision = v1::DECISION_UNSPECIFIED) {
    auto events = audit_->Query({.decision = decision}, 0, audit::AuditLog::kMaxQueryLimit);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.value_or(std::vector<v1::AuditEvent>{});
  }

  // No event holds the login, the name or any password that was tried.
  void ExpectNoCredentialsInTheLog() {
    for (const v1::AuditEvent& e : Events()) {
      for (const std::string& s : Strings(e)) {
        for (const char* secret : {kLogin, "Marie", kPassword, kWrongPassword}) {
          EXPECT_THAT(s, Not(HasSubstr(secret))) << "event " << e.sequence();
        }
      }
    }
  }

  absl::Duration password_check_wait_ = absl::Seconds(60);
  std::string path_;
  common::FakeClock clock_{absl::FromUnixSeconds(1764115200)};
  std::unique_ptr<storage::RowMacBinding> row_mac_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<directory::DirectoryStore> store_;
  directory::MemberInfo marie_;
  std::unique_ptr<auth_store::RevocationStore> revocations_;
  std::unique_ptr<auth::KeyRing> key_ring_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<AuthServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AuthService::Stub> stub_;
};

TEST_F(AuthServiceTest, RightPasswordGivesATokenEveryServiceCanVerify) {
  v1::LoginResponse reply;
  grpc::Status status = Login(kLogin, kPassword, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.member_id(), marie_.id);
  EXPECT_EQ(reply.service_id(), marie_.service_id);
  EXPECT_THAT(reply.roles(), ElementsAre(v1::ROLE_CASEWORKER));
  EXPECT_EQ(common::FromProto(reply.expires_at()), clock_.Now() + auth::kDefaultTokenLifetime);

  absl::StatusOr<auth::Principal> principal = verifier_->Verify(reply.token());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->member_id, marie_.id);
  EXPECT_THAT(principal->roles, ElementsAre("caseworker"));

  std::vector<v1::AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action(), v1::ACTION_LOGIN);
  EXPECT_EQ(events[0].decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(events[0].actor_member_id(), marie_.id);
  EXPECT_EQ(events[0].actor_service_id(), marie_.service_id);
  ExpectNoCredentialsInTheLog();
}

TEST_F(AuthServiceTest, LoginIgnoresTheCaseOfTheLogin) {
  v1::LoginResponse reply;
  EXPECT_TRUE(Login("Marie.Dupont", kPassword, &reply).ok());
}

TEST_F(AuthServiceTest, WrongPasswordAndUnknownLoginLookTheSame) {
  v1::LoginResponse wrong_reply, unknown_reply;
  grpc::Status wrong = Login(kLogin, kWrongPassword, &wrong_reply);
  grpc::Status unknown = Login("nobody.here", kWrongPassword, &unknown_reply);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), "invalid_credentials: login or password is wrong");
  EXPECT_EQ(unknown.error_message(), wrong.error_message());
  EXPECT_EQ(wrong.error_details(), unknown.error_details());
  EXPECT_EQ(ReasonOf(wrong), "invalid_credentials");
  EXPECT_TRUE(wrong_reply.token().empty());
  EXPECT_TRUE(unknown_reply.token().empty());

  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 2u);
  for (const v1::AuditEvent& e : denied) {
    EXPECT_EQ(e.action(), v1::ACTION_LOGIN);
    EXPECT_EQ(e.reason_code(), "invalid_credentials");
    EXPECT_EQ(e.actor_member_id(), "");
    EXPECT_EQ(e.actor_service_id(), "");
  }
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
  ExpectNoCredentialsInTheLog();
}

TEST_F(AuthServiceTest, DeactivatedMemberCannotLogInEvenWithTheRightPassword) {
  ASSERT_TRUE(store_->SetMemberActive(marie_.id, false).ok());
  v1::LoginResponse reply;
  grpc::Status status = Login(kLogin, kPassword, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), kInvalidCredentialsMessage);
  EXPECT_TRUE(reply.token().empty());
}

TEST_F(AuthServiceTest, OversizedOrMissingCredentialsAreInvalidArguments) {
  v1::LoginResponse reply;
  grpc::Status long_login = Login(std::string(65, 'm'), kPassword, &reply);
  EXPECT_EQ(long_login.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(long_login), "field_too_long");
  grpc::Status long_password = Login(kLogin, std::string(1025, 'p'), &reply);
  EXPECT_EQ(long_password.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status empty = Login(kLogin, "", &reply);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(empty), "field_required");

  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 3u);
  EXPECT_EQ(denied[0].reason_code(), "field_too_long");
  ExpectNoCredentialsInTheLog();
}

TEST_F(AuthServiceTest, RefreshGivesAFreshTokenWithTheCurrentRoles) {
  // A token minted with a role Marie does not (or no longer) hold.
  auto stale = issuer_->Issue(marie_.id, marie_.service_id, {"caseworker", "coordinator"});
  ASSERT_TRUE(stale.ok());
  clock_.Advance(absl::Minutes(10));
  v1::LoginResponse reply;
  grpc::Status status = Refresh(*stale, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(reply.token(), *stale);
  EXPECT_THAT(reply.roles(), ElementsAre(v1::ROLE_CASEWORKER));
  EXPECT_EQ(common::FromProto(reply.expires_at()), clock_.Now() + auth::kDefaultTokenLifetime);
  auto principal = verifier_->Verify(reply.token());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_THAT(principal->roles, ElementsAre("caseworker"));

  std::vector<v1::AuditEvent> allowed = Events(v1::DECISION_ALLOW);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[0].actor_member_id(), marie_.id);
  EXPECT_EQ(allowed[0].actor_roles(), "caseworker");
}

TEST_F(AuthServiceTest, RefreshRefusesMissingExpiredAndDeactivatedCallers) {
  v1::LoginResponse reply;
  grpc::Status missing = Refresh("", &reply);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(missing), "token_missing");

  auto token = issuer_->Issue(marie_.id, marie_.service_id, {"caseworker"});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(store_->SetMemberActive(marie_.id, false).ok());
  grpc::Status inactive = Refresh(*token, &reply);
  EXPECT_EQ(inactive.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(inactive.error_message(), StartsWith("member_inactive"));

  auto ghost = issuer_->Issue("mbr_gone", marie_.service_id, {"caseworker"});
  ASSERT_TRUE(ghost.ok());
  EXPECT_EQ(ReasonOf(Refresh(*ghost, &reply)), "member_inactive");

  ASSERT_TRUE(store_->SetMemberActive(marie_.id, true).ok());
  clock_.Advance(auth::kDefaultTokenLifetime);
  grpc::Status expired = Refresh(*token, &reply);
  EXPECT_EQ(ReasonOf(expired), "token_expired");
  EXPECT_TRUE(reply.token().empty());

  std::vector<v1::AuditEvent> denied = Events(v1::DECISION_DENY);
  ASSERT_EQ(denied.size(), 4u);
  EXPECT_EQ(denied[0].reason_code(), "token_missing");
  EXPECT_EQ(denied[1].reason_code(), "member_inactive");
  EXPECT_EQ(denied[1].actor_member_id(), marie_.id);
  EXPECT_EQ(denied[3].reason_code(), "token_expired");
  EXPECT_TRUE(Events(v1::DECISION_ALLOW).empty());
}

TEST_F(AuthServiceTest, PublicKeysListEveryKeyOfTheRingWithoutAToken) {
  ASSERT_TRUE(key_ring_->Rotate().ok());
  v1::PublicKeysResponse reply;
  grpc::Status status = stub_->PublicKeys(Ctx().get(), v1::PublicKeysRequest(), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto expected = key_ring_->PublicKeys();
  ASSERT_EQ(reply.keys_size(), 2);
  for (int i = 0; i < reply.keys_size(); ++i) {
    EXPECT_EQ(reply.keys(i).key_id(), expected[i].first);
    EXPECT_EQ(reply.keys(i).public_key(), expected[i].second);
    EXPECT_EQ(reply.keys(i).public_key().size(), 32u);
    EXPECT_EQ(reply.keys(i).algorithm(), "Ed25519");
  }
  EXPECT_EQ(reply.keys(1).key_id(), key_ring_->CurrentKeyId());
}

TEST_F(AuthServiceTest, NoTokenIsHandedOutWhenTheLoginCannotBeAudited) {
  ASSERT_TRUE(
      db_->Write([](storage::Connection& c) { return c.Exec("DROP TABLE audit_events"); }).ok());
  v1::LoginResponse reply;
  grpc::Status status = Login(kLogin, kPassword, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(reply.token().empty());
}

TEST_F(AuthServiceTest, LogoutRevokesThePresentedTokenOnlyAndIsAudited) {
  v1::LoginResponse first, second;
  ASSERT_TRUE(Login(kLogin, kPassword, &first).ok());
  ASSERT_TRUE(Login(kLogin, kPassword, &second).ok());
  v1::LogoutResponse out;
  ASSERT_TRUE(stub_->Logout(Ctx(first.token()).get(), v1::LogoutRequest(), &out).ok());
  EXPECT_EQ(auth::TokenRejectionReason(verifier_->Verify(first.token()).status()),
            auth::kTokenRevoked);
  EXPECT_TRUE(verifier_->Verify(second.token()).ok());
  // Again with the same token: it is revoked, like for any call.
  grpc::Status again = stub_->Logout(Ctx(first.token()).get(), v1::LogoutRequest(), &out);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(again), "token_revoked");
  v1::LoginResponse refreshed;
  EXPECT_EQ(ReasonOf(Refresh(first.token(), &refreshed)), "token_revoked");

  int logouts = 0, revoked_denials = 0;
  for (const v1::AuditEvent& e : Events()) {
    if (e.action() == v1::ACTION_LOGOUT && e.decision() == v1::DECISION_ALLOW) {
      ++logouts;
      EXPECT_EQ(e.actor_member_id(), marie_.id);
    }
    if (e.decision() == v1::DECISION_DENY && e.reason() == v1::ACCESS_REASON_TOKEN_REVOKED) {
      ++revoked_denials;
    }
  }
  EXPECT_EQ(logouts, 1);
  EXPECT_EQ(revoked_denials, 2);
  ExpectNoCredentialsInTheLog();
}

TEST_F(AuthServiceTest, RefreshRotatesTheTokenAndKeepsWhenThePasswordWasGiven) {
  v1::LoginResponse login;
  ASSERT_TRUE(Login(kLogin, kPassword, &login).ok());
  const absl::Time logged_in = clock_.Now();
  clock_.Advance(absl::Minutes(10));
  v1::LoginResponse refreshed;
  ASSERT_TRUE(Refresh(login.token(), &refreshed).ok());
  auto principal = verifier_->Verify(refreshed.token());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->authenticated_at, logged_in);
  EXPECT_EQ(principal->issued_at, clock_.Now());
  // The presented token was rotated out.
  v1::LoginResponse replay;
  EXPECT_EQ(ReasonOf(Refresh(login.token(), &replay)), "token_revoked");
  EXPECT_TRUE(replay.token().empty());
}

TEST_F(AuthServiceTest, RefreshStopsTwelveHoursAfterThePasswordWasGiven) {
  const absl::Time now = clock_.Now();
  auto young = issuer_->Issue(marie_.id, marie_.service_id, {"caseworker"},
                              now - absl::Hours(12) + absl::Seconds(1));
  auto old = issuer_->Issue(marie_.id, marie_.service_id, {"caseworker"}, now - absl::Hours(12));
  ASSERT_TRUE(young.ok() && old.ok());
  v1::LoginResponse reply;
  grpc::Status capped = Refresh(*old, &reply);
  EXPECT_EQ(capped.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(capped), "session_expired");
  EXPECT_TRUE(reply.token().empty());
  ASSERT_TRUE(Refresh(*young, &reply).ok());
  // The refreshed token ends with the session, not a token lifetime later.
  EXPECT_EQ(common::FromProto(reply.expires_at()), now + absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  v1::LoginResponse next;
  EXPECT_EQ(ReasonOf(Refresh(reply.token(), &next)), "token_expired");
  // A session past the cap is a token_expired denial in the log.
  int expired = 0;
  for (const v1::AuditEvent& e : Events(v1::DECISION_DENY)) {
    if (e.reason_code() == "session_expired") {
      EXPECT_EQ(e.reason(), v1::ACCESS_REASON_TOKEN_EXPIRED);
      ++expired;
    }
  }
  EXPECT_EQ(expired, 1);
}

// 50 wrong attempts at once: exactly five passwords are checked (five
// invalid_credentials), the other 45 are refused before scrypt, and a made-up
// login is treated exactly alike.
TEST_F(AuthServiceTest, FiftyConcurrentWrongAttemptsCheckExactlyFivePasswords) {
  for (const std::string& login : {std::string(kLogin), std::string("nobody.here")}) {
    std::vector<std::thread> threads;
    std::atomic<int> invalid{0}, locked{0}, other{0};
    for (int i = 0; i < 50; ++i) {
      threads.emplace_back([&] {
        v1::LoginResponse reply;
        grpc::Status s = Login(login, kWrongPassword, &reply);
        if (ReasonOf(s) == "invalid_credentials") {
          ++invalid;
        } else if (ReasonOf(s) == "account_locked" &&
                   s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++locked;
        } else {
          ++other;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(invalid.load(), 5) << login;
    EXPECT_EQ(locked.load(), 45) << login;
    EXPECT_EQ(other.load(), 0) << login;
    // Locked: the right password does not help and is not checked.
    v1::LoginResponse reply;
    EXPECT_EQ(ReasonOf(Login(login, kPassword, &reply)), "account_locked");
    EXPECT_TRUE(reply.token().empty());
  }
  int checked = 0, refused = 0, locks = 0;
  for (const v1::AuditEvent& e : Events(v1::DECISION_DENY)) {
    if (e.action() == v1::ACTION_LOGIN && e.reason_code() == "invalid_credentials") ++checked;
    if (e.action() == v1::ACTION_LOGIN && e.reason_code() == "account_locked") ++refused;
    if (e.action() == v1::ACTION_LOCK_ACCOUNT) {
      ++locks;
      EXPECT_EQ(e.reason(), v1::ACCESS_REASON_ACCOUNT_LOCKED);
      EXPECT_TRUE(e.object_id().empty() || e.object_id() == marie_.id) << e.object_id();
    }
  }
  EXPECT_EQ(checked, 10);
  EXPECT_EQ(refused, 92);
  EXPECT_EQ(locks, 2);
  ExpectNoCredentialsInTheLog();
}

// Waits only briefly for a password slot.
class AuthServiceBusyTest : public AuthServiceTest {
 protected:
  AuthServiceBusyTest() { password_check_wait_ = absl::Milliseconds(50); }
};

TEST_F(AuthServiceBusyTest, WhenEveryPasswordSlotIsBusyLoginAnswersLoginBusyAndCountsNothing) {
  PasswordSlots& slots = service_->password_slots();
  ASSERT_TRUE(slots.Acquire(absl::ZeroDuration()));
  ASSERT_TRUE(slots.Acquire(absl::ZeroDuration()));
  v1::LoginResponse reply;
  for (int i = 0; i < 6; ++i) {
    grpc::Status busy = Login(kLogin, kPassword, &reply);
    EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(ReasonOf(busy), "login_busy");
  }
  EXPECT_TRUE(reply.token().empty());
  slots.Release();
  slots.Release();
  // The busy attempts were handed back: the account is not locked.
  EXPECT_TRUE(Login(kLogin, kPassword, &reply).ok());
}

TEST(DummyPasswordHash, CostsAsMuchAsARealProductionHash) {
  // Unknown logins are checked against it: it must parse (or VerifyPassword
  // would return at once) and use the production cost.
  const auth::ScryptParams production;
  int log2_n = 0;
  while ((uint64_t{1} << log2_n) < production.n) ++log2_n;
  EXPECT_THAT(
      std::string(kDummyPasswordHash),
      StartsWith(absl::StrCat("scrypt$", log2_n, "$", production.r, "$", production.p, "$")));
  EXPECT_TRUE(auth::VerifyPassword(kDummyPassword, kDummyPasswordHash));
}

}  // namespace
}  // namespace relais::auth_service
