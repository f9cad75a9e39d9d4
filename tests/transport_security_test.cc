// Transport security: relaisd serves mutual TLS 1.3 only, each service client
// app presents a certificate naming its service, and the certificate must
// agree with the caseworker token's service. Certificates come from
// deploy/make-dev-certs.sh, run into temporary directories.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/host/tls_credentials.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"
#include "tests/tls_handshake.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Runs deploy/make-dev-certs.sh into a fresh directory and returns it.
std::string MakeCerts(absl::string_view stem) {
  const std::string dir = FreshPath(stem);
  const std::string command =
      absl::StrCat(RELAIS_SOURCE_DIR, "/deploy/make-dev-certs.sh '", dir, "' >/dev/null 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return dir;
}

// One PKI made by the script, read once per test binary.
struct Pki {
  std::string dir;
  std::string ca_pem;

  host::TlsCredentials Server() const {
    return {ReadFile(dir + "/server.pem"), ReadFile(dir + "/server.key"), ca_pem, ""};
  }
  std::string CertPath(absl::string_view service) const {
    return absl::StrCat(dir, "/clients/", service, ".pem");
  }
  std::string KeyPath(absl::string_view service) const {
    return absl::StrCat(dir, "/clients/", service, ".key");
  }
};

class TransportSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trusted_ = new Pki{MakeCerts("pki"), ""};
    trusted_->ca_pem = ReadFile(trusted_->dir + "/ca.pem");
    rogue_ = new Pki{MakeCerts("rogue_pki"), ""};
    rogue_->ca_pem = ReadFile(rogue_->dir + "/ca.pem");
  }
  static void TearDownTestSuite() {
    delete trusted_;
    delete rogue_;
  }

  // Trusts the deployment's CA; presents `service`'s certificate from `pki`
  // (none if `service` is empty).
  static grpc::SslCredentialsOptions Client(absl::string_view service, const Pki* pki = nullptr) {
    if (pki == nullptr) pki = trusted_;
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trusted_->ca_pem;
    if (!service.empty()) {
      options.pem_cert_chain = ReadFile(pki->CertPath(service));
      options.pem_private_key = ReadFile(pki->KeyPath(service));
    }
    return options;
  }

  void SetUp() override {
    env_ = RelaisEnv::StartTls({trusted_->Server(), Client("svc_amo_charleroi")});
    ASSERT_NE(env_, nullptr);
  }

  // The status of an unauthenticated call (PublicKeys) over `channel`.
  static grpc::Status Probe(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::AuthService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::PublicKeysResponse reply;
    return stub->PublicKeys(&ctx, v1::PublicKeysRequest(), &reply);
  }

  int64_t AuditLength() {
    auto n = env_->host().audit().Length();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  // The events `login` was the actor of, oldest first.
  std::vector<v1::AuditEvent> EventsOf(absl::string_view login) {
    audit::EventFilter filter;
    filter.actor_member_id = env_->member_id(login);
    auto events = env_->host().audit().Query(filter, 0, audit::AuditLog::kMaxQueryLimit);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.value_or(std::vector<v1::AuditEvent>{});
  }

  static Pki* trusted_;
  static Pki* rogue_;
  std::unique_ptr<RelaisEnv> env_;
};

Pki* TransportSecurityTest::trusted_ = nullptr;
Pki* TransportSecurityTest::rogue_ = nullptr;

TEST_F(TransportSecurityTest, PlaintextClientIsRefusedAndTheServerKeepsServing) {
  const int64_t before = AuditLength();
  grpc::Status plaintext = Probe(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env_->host().port()), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  EXPECT_EQ(AuditLength(), before) << "a refused connection reaches no service";

  grpc::Status tls = Probe(env_->NewChannel(grpc::SslCredentials(Client("svc_amo_charleroi"))));
  EXPECT_TRUE(tls.ok()) << tls.error_message();
}

TEST_F(TransportSecurityTest, ClientWithoutCertificateIsRefused) {
  grpc::Status s = Probe(env_->NewChannel(grpc::SslCredentials(Client(""))));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TransportSecurityTest, ClientCertificateFromAnUnknownCaIsRefused) {
  // Same Common Name as a real service, issued by another CA.
  grpc::Status s =
      Probe(env_->NewChannel(grpc::SslCredentials(Client("svc_amo_charleroi", rogue_))));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // The server is unharmed.
  grpc::Status ok = Probe(env_->NewChannel(grpc::SslCredentials(Client("svc_saj_charleroi"))));
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(TransportSecurityTest, TokenOfAnotherServiceIsDeniedAndAudited) {
  // The env's stubs present the AMO's certificate; saj.sam's token is the SAJ's.
  v1::CreateYouthRequest req;
  req.mutable_youth()->set_display_name("Test Youth");
  req.mutable_youth()->set_date_of_birth("2011-03-14");
  v1::Youth youth;
  grpc::Status s = env_->record().CreateYouth(env_->As(kSajCaseworker).get(), req, &youth);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "certificate_service_mismatch");

  const std::vector<v1::AuditEvent> events = EventsOf(kSajCaseworker);
  ASSERT_EQ(events.size(), 1u);
  const v1::AuditEvent& e = events.back();
  EXPECT_EQ(e.decision(), v1::DECISION_DENY);
  EXPECT_EQ(e.reason(), v1::ACCESS_REASON_CERTIFICATE_SERVICE_MISMATCH);
  EXPECT_EQ(e.reason_code(), "certificate_service_mismatch");
  EXPECT_EQ(e.action(), v1::ACTION_CREATE_YOUTH);
  EXPECT_EQ(e.actor_service_id(), "svc_saj_charleroi");
  EXPECT_EQ(e.client_identity(), "cn=svc_amo_charleroi");
}

TEST_F(TransportSecurityTest, TokenOfTheCertificatesServiceIsAllowedAndNamedInTheLog) {
  const std::string youth_id = env_->CreateYouth(15, kAmoCaseworker);
  ASSERT_FALSE(youth_id.empty());
  const std::vector<v1::AuditEvent> events = EventsOf(kAmoCaseworker);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(events.back().youth_id(), youth_id);
  EXPECT_EQ(events.back().client_identity(), "cn=svc_amo_charleroi");
}

TEST_F(TransportSecurityTest, PlatformMembersPresentTheirOwnServiceCertificate) {
  auto agaj = v1::AuditService::NewStub(env_->NewChannel(grpc::SslCredentials(Client("svc_agaj"))));
  v1::VerifyLogResponse verified;
  grpc::Status s = agaj->VerifyLog(env_->As(kAuditor).get(), v1::VerifyLogRequest(), &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verified.ok());

  // The auditor's token from the AMO's software is refused.
  s = env_->audit().VerifyLog(env_->As(kAuditor).get(), v1::VerifyLogRequest(), &verified);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "certificate_service_mismatch");
}

TEST_F(TransportSecurityTest, TokenProblemsStillComeFirstAndNameTheCertificate) {
  v1::RefreshRequest req;
  v1::LoginResponse reply;
  grpc::Status s = env_->auth().Refresh(env_->Anonymous().get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(s), "token_missing");
  auto events = env_->host().audit().Query({}, 0, audit::AuditLog::kMaxQueryLimit);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().reason_code(), "token_missing");
  EXPECT_EQ(events->back().client_identity(), "cn=svc_amo_charleroi");
}

// A right password through another service's client software must teach
// nothing: the answer is byte for byte a wrong password's, and it counts
// toward the account's lock. The audit log says what happened.
TEST_F(TransportSecurityTest, ARightPasswordThroughAnotherServicesCertificateAnswersLikeAWrongOne) {
  auto login = [&](v1::AuthService::Stub& stub, absl::string_view password) {
    v1::LoginRequest req;
    req.set_login(kSajCaseworker);
    req.set_password(std::string(password));
    v1::LoginResponse reply;
    grpc::Status s = stub.Login(env_->Anonymous().get(), req, &reply);
    EXPECT_TRUE(reply.token().empty());
    return s;
  };
  // The env's stubs present the AMO's certificate; saj.sam is the SAJ's.
  const grpc::Status right = login(env_->auth(), kPassword);
  const grpc::Status wrong = login(env_->auth(), "not the password at all");
  EXPECT_EQ(right.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonCode(right), "invalid_credentials");
  EXPECT_EQ(right.error_message(), wrong.error_message());
  EXPECT_EQ(right.error_details(), wrong.error_details());

  const std::vector<v1::AuditEvent> events = EventsOf(kSajCaseworker);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action(), v1::ACTION_LOGIN);
  EXPECT_EQ(events[0].decision(), v1::DECISION_DENY);
  EXPECT_EQ(events[0].reason_code(), "certificate_service_mismatch");
  EXPECT_EQ(events[0].client_identity(), "cn=svc_amo_charleroi");

  // Two failures so far; three more lock the account, even for the right
  // password through the SAJ's own software.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ReasonCode(login(env_->auth(), kPassword)), "invalid_credentials");
  auto saj =
      v1::AuthService::NewStub(env_->NewChannel(grpc::SslCredentials(Client("svc_saj_charleroi"))));
  const grpc::Status locked = login(*saj, kPassword);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonCode(locked), "account_locked");
}

TEST_F(TransportSecurityTest, CreateServiceRpcIgnoresAClientChosenId) {
  // Only bootstrap code chooses service ids; over the API the server does.
  auto agaj =
      v1::DirectoryService::NewStub(env_->NewChannel(grpc::SslCredentials(Client("svc_agaj"))));
  v1::CreateServiceRequest req;
  req.mutable_service()->set_id("svc_chosen_by_client");
  req.mutable_service()->set_name("Service libre");
  req.mutable_service()->set_sector_id("prevention");
  v1::Service created;
  grpc::Status s = agaj->CreateService(env_->As(kAdmin).get(), req, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(created.id(), ::testing::MatchesRegex("svc_[0-9a-f]+"));
  EXPECT_FALSE(env_->host().directory().GetService("svc_chosen_by_client").ok());
}

TEST(PlaintextTransport, ClientIdentityStaysThePeerAddress) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth_id = env->CreateYouth(15, kAmoCaseworker);
  audit::EventFilter filter;
  filter.youth_id = youth_id;
  auto events = env->host().audit().Query(filter, 0, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_FALSE(events->empty());
  EXPECT_THAT(events->front().client_identity(), StartsWith("ipv4:127.0.0.1:"));
}

// --- Protocol version, checked with OpenSSL directly -------------------------

TEST_F(TransportSecurityTest, OnlyTls13IsNegotiated) {
  const int port = env_->host().port();
  const std::string ca = trusted_->dir + "/ca.pem";
  const std::string cert = trusted_->CertPath("svc_amo_charleroi");
  const std::string key = trusted_->KeyPath("svc_amo_charleroi");
  // What a client that allows any version gets.
  EXPECT_EQ(Handshake(port, 0, 0, ca, cert, key), TLS1_3_VERSION);
  // A client limited to TLS 1.2 (or older) is refused during the handshake.
  EXPECT_EQ(Handshake(port, TLS1_2_VERSION, TLS1_2_VERSION, ca, cert, key), std::nullopt);
  EXPECT_EQ(Handshake(port, 0, TLS1_2_VERSION, ca, cert, key), std::nullopt);
  EXPECT_EQ(Handshake(port, TLS1_3_VERSION, TLS1_3_VERSION, ca, cert, key), TLS1_3_VERSION);
}

// --- Certificate revocation and reloading ---------------------------------------

// A CRL of `pki`'s CA listing the client certificates of `services`, valid
// from an hour ago for `valid_for` (negative: already past its next update).
std::string MakeCrl(const Pki& pki, const std::vector<std::string>& services,
                    absl::Duration valid_for = absl::Hours(24)) {
  auto pem_of = [](const std::string& text, auto read) {
    BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    auto* out = read(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return out;
  };
  X509* ca = pem_of(pki.ca_pem, PEM_read_bio_X509);
  EVP_PKEY* ca_key = pem_of(ReadFile(pki.dir + "/ca.key"), PEM_read_bio_PrivateKey);
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
  const time_t now = absl::ToTimeT(absl::Now());
  ASN1_TIME* last = ASN1_TIME_set(nullptr, now - 3600);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, now + absl::ToInt64Seconds(valid_for));
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  for (const std::string& service : services) {
    X509* cert = pem_of(ReadFile(pki.CertPath(service)), PEM_read_bio_X509);
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert));
    X509_REVOKED_set_revocationDate(r, last);
    X509_CRL_add0_revoked(crl, r);
    X509_free(cert);
  }
  X509_CRL_sort(crl);
  EXPECT_GT(X509_CRL_sign(crl, ca_key, EVP_sha256()), 0);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(out, crl);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(out);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  EVP_PKEY_free(ca_key);
  X509_free(ca);
  return pem;
}

class CertificateRevocationTest : public TransportSecurityTest {
 protected:
  void SetUp() override {}  // each test starts its own server

  void Start(std::string crl_pem) {
    host::TlsCredentials server = trusted_->Server();
    server.crl_pem = std::move(crl_pem);
    env_ = RelaisEnv::StartTls({server, Client("svc_amo_charleroi")});
    ASSERT_NE(env_, nullptr);
  }
  std::shared_ptr<grpc::Channel> ChannelOf(absl::string_view service, const Pki* pki = nullptr) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", env_->host().port()),
                                     grpc::SslCredentials(Client(service, pki)), args);
  }
  // Refresh with `login`'s token over `channel`.
  grpc::Status Refresh(const std::shared_ptr<grpc::Channel>& channel, absl::string_view login) {
    auto stub = v1::AuthService::NewStub(channel);
    std::unique_ptr<grpc::ClientContext> ctx = env_->As(login);
    v1::LoginResponse reply;
    return stub->Refresh(ctx.get(), v1::RefreshRequest(), &reply);
  }
};

TEST_F(CertificateRevocationTest, ARevokedCertificateIsRefusedOnEveryCallAndAtLoginAndAudited) {
  Start(MakeCrl(*trusted_, {"svc_saj_charleroi"}));
  auto saj = ChannelOf("svc_saj_charleroi");
  grpc::Status s = Refresh(saj, kSajCoordinator);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "certificate_revoked");
  std::vector<v1::AuditEvent> events = EventsOf(kSajCoordinator);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().decision(), v1::DECISION_DENY);
  EXPECT_EQ(events.back().reason(), v1::ACCESS_REASON_CERTIFICATE_REVOKED);
  EXPECT_EQ(events.back().client_identity(), "cn=svc_saj_charleroi");

  v1::LoginRequest login;
  login.set_login(std::string(kSajCoordinator));
  login.set_password(std::string(kPassword));
  grpc::ClientContext ctx;
  v1::LoginResponse reply;
  s = v1::AuthService::NewStub(saj)->Login(&ctx, login, &reply);
  EXPECT_EQ(ReasonCode(s), "certificate_revoked") << s.error_message();
  EXPECT_TRUE(reply.token().empty());

  // Another service's certificate is untouched.
  EXPECT_TRUE(Refresh(ChannelOf("svc_amo_charleroi"), kAmoCaseworker).ok());
}

TEST_F(CertificateRevocationTest, AReloadTakesEffectOnTheNextCallOfAnOpenConnection) {
  Start("");
  auto amo = ChannelOf("svc_amo_charleroi");
  ASSERT_TRUE(Refresh(amo, kAmoCaseworker).ok());

  host::TlsCredentials revoking = trusted_->Server();
  revoking.crl_pem = MakeCrl(*trusted_, {"svc_amo_charleroi"});
  ASSERT_TRUE(env_->host().ReloadTls(revoking).ok());
  EXPECT_EQ(ReasonCode(Refresh(amo, kAmoCaseworker)), "certificate_revoked");
  EXPECT_EQ(amo->GetState(false), GRPC_CHANNEL_READY);  // the same connection

  ASSERT_TRUE(env_->host().ReloadTls(trusted_->Server()).ok());
  EXPECT_TRUE(Refresh(amo, kAmoCaseworker).ok());
}

TEST_F(CertificateRevocationTest, BadMaterialIsRefusedAndANewClientCaServesWithoutARestart) {
  Start("");
  env_->clock().Set(absl::Now());  // CRL validity is judged by the server's clock
  auto amo = ChannelOf("svc_amo_charleroi");
  ASSERT_TRUE(Refresh(amo, kAmoCaseworker).ok());

  // Refused and without effect: a CRL of a CA the server does not trust, an
  // expired CRL, a key of another certificate.
  host::TlsCredentials bad = trusted_->Server();
  bad.crl_pem = MakeCrl(*rogue_, {"svc_amo_charleroi"});
  EXPECT_EQ(env_->host().ReloadTls(bad).code(), absl::StatusCode::kInvalidArgument);
  bad.crl_pem = MakeCrl(*trusted_, {"svc_amo_charleroi"}, -absl::Minutes(1));
  EXPECT_EQ(env_->host().ReloadTls(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = trusted_->Server();
  bad.server_key_pem = ReadFile(rogue_->dir + "/server.key");
  EXPECT_EQ(env_->host().ReloadTls(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Refresh(amo, kAmoCaseworker).ok());

  // A second client CA serves at once (tests/tls_reload_test.cc has more);
  // the open connection's client reconnects and carries on.
  EXPECT_EQ(Probe(ChannelOf("svc_amo_charleroi", rogue_)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  host::TlsCredentials both = trusted_->Server();
  both.client_ca_pem = absl::StrCat(trusted_->ca_pem, rogue_->ca_pem);
  ASSERT_TRUE(env_->host().ReloadTls(both).ok());
  EXPECT_TRUE(Probe(ChannelOf("svc_amo_charleroi", rogue_)).ok());
  EXPECT_TRUE(Refresh(amo, kAmoCaseworker).ok());
}

// --- relaisd's command line ---------------------------------------------------

// relaisd run as a child process (tests/relaisd_process.h).
class Relaisd : public RelaisdProcess {
 public:
  explicit Relaisd(std::vector<std::string> args) : RelaisdProcess(RELAISD_PATH, std::move(args)) {}
};

class RelaisdCommandLineTest : public TransportSecurityTest {
 protected:
  void SetUp() override {}  // no in-process server

  std::vector<std::string> Files() {
    return {absl::StrCat("--db=", FreshPath("cli_db"), ".sqlite"),
            absl::StrCat("--keys_dir=", FreshPath("cli_keys"))};
  }
  std::vector<std::string> TlsFlags() {
    return {absl::StrCat("--tls_cert=", trusted_->dir, "/server.pem"),
            absl::StrCat("--tls_key=", trusted_->dir, "/server.key"),
            absl::StrCat("--tls_client_ca=", trusted_->dir, "/ca.pem")};
  }
  static std::vector<std::string> Concat(std::vector<std::string> a,
                                         const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
};

TEST_F(RelaisdCommandLineTest, RefusesToStartWithoutCertificates) {
  Relaisd relaisd(Concat(Files(), {"--listen=127.0.0.1:0"}));
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_THAT(relaisd.output(), HasSubstr("pass --tls_cert, --tls_key and --tls_client_ca"));

  Relaisd partial(Concat(Files(), {"--listen=127.0.0.1:0",
                                   absl::StrCat("--tls_cert=", trusted_->dir, "/server.pem")}));
  EXPECT_EQ(partial.Exit(), 2) << partial.output();
}

TEST_F(RelaisdCommandLineTest, RefusesPlaintextBeyondLoopback) {
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "127.0.0.1.example.org:0", "10.1.2.3:0"}) {
    Relaisd relaisd(Concat(Files(), {"--insecure_dev", absl::StrCat("--listen=", listen)}));
    EXPECT_EQ(relaisd.Exit(), 2) << listen << ": " << relaisd.output();
    EXPECT_THAT(relaisd.output(), HasSubstr("refusing to serve plaintext beyond loopback"));
  }
}

TEST_F(RelaisdCommandLineTest, RefusesInsecureDevWithTlsFlags) {
  Relaisd relaisd(Concat(Concat(Files(), TlsFlags()), {"--insecure_dev", "--listen=127.0.0.1:0"}));
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
}

TEST_F(RelaisdCommandLineTest, RefusesAKeyOthersCanRead) {
  const std::string key = FreshPath("open_key");
  std::filesystem::copy_file(trusted_->dir + "/server.key", key);
  ::chmod(key.c_str(), 0644);
  Relaisd relaisd(Concat(
      Files(), {"--listen=127.0.0.1:0", absl::StrCat("--tls_cert=", trusted_->dir, "/server.pem"),
                absl::StrCat("--tls_key=", key),
                absl::StrCat("--tls_client_ca=", trusted_->dir, "/ca.pem")}));
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_THAT(relaisd.output(), HasSubstr("chmod 600"));
}

TEST_F(RelaisdCommandLineTest, RefusesAKeyOfAnotherCertificate) {
  Relaisd relaisd(Concat(
      Files(), {"--listen=127.0.0.1:0", absl::StrCat("--tls_cert=", trusted_->dir, "/server.pem"),
                absl::StrCat("--tls_key=", rogue_->dir, "/server.key"),
                absl::StrCat("--tls_client_ca=", trusted_->dir, "/ca.pem")}));
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_THAT(relaisd.output(), HasSubstr("does not match the server certificate"));
}

TEST_F(RelaisdCommandLineTest, SighupReReadsTheTlsFilesAndKeepsTheOldOnesIfTheNewAreBad) {
  const std::string crl = FreshPath("crl") + ".pem";
  std::ofstream(crl) << MakeCrl(*trusted_, {});
  Relaisd relaisd(Concat(Concat(Files(), TlsFlags()),
                         {"--demo", "--listen=127.0.0.1:0", absl::StrCat("--tls_crl=", crl)}));
  ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
  const int port = relaisd.ServingPort();
  auto amo = v1::AuthService::NewStub(grpc::CreateChannel(
      absl::StrCat("localhost:", port), grpc::SslCredentials(Client("svc_amo_charleroi"))));
  auto login = [&] {
    v1::LoginRequest req;
    req.set_login("amo.camille");
    req.set_password("demo-relais-2026");
    v1::LoginResponse reply;
    grpc::ClientContext ctx;
    return amo->Login(&ctx, req, &reply);
  };
  ASSERT_TRUE(login().ok());

  std::ofstream(crl, std::ios::trunc) << "not a CRL";
  ASSERT_EQ(::kill(relaisd.pid(), SIGHUP), 0);
  ASSERT_TRUE(relaisd.WaitFor("tls material not reloaded")) << relaisd.output();
  EXPECT_TRUE(login().ok());

  std::ofstream(crl, std::ios::trunc) << MakeCrl(*trusted_, {"svc_amo_charleroi"});
  ASSERT_EQ(::kill(relaisd.pid(), SIGHUP), 0);
  ASSERT_TRUE(relaisd.WaitFor("\"msg\":\"tls material reloaded\"")) << relaisd.output();
  EXPECT_EQ(ReasonCode(login()), "certificate_revoked");
  EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
}

TEST_F(RelaisdCommandLineTest, InsecureDevServesLoopbackWithALoudWarning) {
  Relaisd relaisd(Concat(Files(), {"--insecure_dev", "--listen=127.0.0.1:0"}));
  ASSERT_TRUE(relaisd.WaitFor("relaisd serving")) << relaisd.output();
  EXPECT_THAT(relaisd.output(), HasSubstr("\"level\":\"warning\",\"msg\":\"INSECURE: "));
  EXPECT_THAT(relaisd.output(), HasSubstr("\"transport\":\"plaintext\""));
  EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
}

// The demo as deploy/run-demo.sh starts it: the script's certificates, the
// demo's stable service ids, mutual TLS end to end.
TEST_F(RelaisdCommandLineTest, ServesTheDemoOverMutualTlsWithTheScriptsCertificates) {
  Relaisd relaisd(Concat(Concat(Files(), TlsFlags()), {"--demo", "--listen=127.0.0.1:0"}));
  ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
  EXPECT_THAT(relaisd.output(), HasSubstr("\"transport\":\"mtls\""));
  EXPECT_THAT(relaisd.output(), HasSubstr("--cert "));
  const int port = relaisd.ServingPort();
  ASSERT_GT(port, 0) << relaisd.output();
  auto channel_of = [&](absl::string_view service) {
    return grpc::CreateChannel(absl::StrCat("localhost:", port),
                               grpc::SslCredentials(Client(service)));
  };
  auto amo = v1::AuthService::NewStub(channel_of("svc_amo_charleroi"));
  auto saj = v1::AuthService::NewStub(channel_of("svc_saj_charleroi"));

  v1::LoginRequest login;
  login.set_login("amo.camille");
  login.set_password("demo-relais-2026");
  v1::LoginResponse token;
  grpc::ClientContext login_ctx;
  grpc::Status s = amo->Login(&login_ctx, login, &token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(token.service_id(), "svc_amo_charleroi");

  auto with_token = [&] {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token.token()));
    return ctx;
  };
  v1::LoginResponse refreshed;
  s = amo->Refresh(with_token().get(), v1::RefreshRequest(), &refreshed);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // Refresh rotated the token out; the fresh one, through the SAJ's software.
  token = refreshed;
  s = saj->Refresh(with_token().get(), v1::RefreshRequest(), &refreshed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "certificate_service_mismatch");

  EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
}

}  // namespace
}  // namespace relais::testing
