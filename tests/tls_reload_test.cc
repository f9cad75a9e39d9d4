// TLS reload without a restart (issue #11 item 4): a new server certificate,
// key or client CA is served by new handshakes after Host::ReloadTls (relaisd:
// SIGHUP), still TLS 1.3 only with a verified client certificate, while calls
// in flight finish. Certificates come from deploy/make-dev-certs.sh, each run
// a new CA.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/host/tls_credentials.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"
#include "tests/tls_handshake.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A CA with its server and client certificates (deploy/make-dev-certs.sh).
struct Pki {
  std::string dir;

  static Pki Make(absl::string_view stem) {
    Pki pki{FreshPath(stem)};
    const std::string command = absl::StrCat(RELAIS_SOURCE_DIR, "/deploy/make-dev-certs.sh '",
                                             pki.dir, "' >/dev/null 2>&1");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return pki;
  }
  std::string ca_path() const { return dir + "/ca.pem"; }
  std::string ca() const { return ReadFile(ca_path()); }
  std::string cert_path(absl::string_view service) const {
    return absl::StrCat(dir, "/clients/", service, ".pem");
  }
  std::string key_path(absl::string_view service) const {
    return absl::StrCat(dir, "/clients/", service, ".key");
  }
  // This PKI's server certificate and key; clients of `client_ca` accepted.
  host::TlsCredentials Server(const Pki& client_ca) const {
    return {ReadFile(dir + "/server.pem"), ReadFile(dir + "/server.key"), client_ca.ca(), ""};
  }
};

// A BackupDatabase call whose header has arrived, over a connection trusting
// the old CA: a stream larger than any flow-control window the client grants,
// so the server is still sending until the client reads on.
struct BigBackup {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::BackupDatabaseChunk>> reader;
  int64_t size = 0;

  // Reads to the end: the status, and whether every byte and the trailer came.
  grpc::Status ReadToEnd(bool* complete) {
    v1::BackupDatabaseChunk chunk;
    int64_t received = 0;
    bool trailer = false;
    while (reader->Read(&chunk)) {
      if (chunk.has_data()) received += static_cast<int64_t>(chunk.data().size());
      if (chunk.has_trailer()) trailer = true;
    }
    *complete = trailer && received == size;
    return reader->Finish();
  }
};

class TlsReloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    old_ = new Pki(Pki::Make("old_pki"));
    new_ = new Pki(Pki::Make("new_pki"));
  }
  static void TearDownTestSuite() {
    delete old_;
    delete new_;
  }

  void SetUp() override {
    grpc::SslCredentialsOptions client;
    client.pem_root_certs = old_->ca();
    client.pem_cert_chain = ReadFile(old_->cert_path("svc_amo_charleroi"));
    client.pem_private_key = ReadFile(old_->key_path("svc_amo_charleroi"));
    env_ = RelaisEnv::StartTls({old_->Server(*old_), client});
    ASSERT_NE(env_, nullptr);
  }

  // A channel with a connection of its own that trusts `trust`'s CA only and
  // presents `service`'s certificate from `cert_pki`.
  std::shared_ptr<grpc::Channel> ChannelOf(const Pki& trust, const Pki& cert_pki,
                                           absl::string_view service = "svc_amo_charleroi",
                                           grpc::ChannelArguments args = {}) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trust.ca();
    options.pem_cert_chain = ReadFile(cert_pki.cert_path(service));
    options.pem_private_key = ReadFile(cert_pki.key_path(service));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", env_->host().port()),
                                     grpc::SslCredentials(options), args);
  }

  // An unauthenticated call (PublicKeys): OK once the handshake succeeded.
  static grpc::Status Probe(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::AuthService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::PublicKeysResponse reply;
    return stub->PublicKeys(&ctx, v1::PublicKeysRequest(), &reply);
  }

  // Fills the database and starts a BigBackup.
  void StartBigBackup(BigBackup& backup);

  static Pki* old_;
  static Pki* new_;
  std::unique_ptr<RelaisEnv> env_;
};

Pki* TlsReloadTest::old_ = nullptr;
Pki* TlsReloadTest::new_ = nullptr;

// grpc.reflection.v1alpha list_services ("*"), raw: the response bytes, or
// "" if the call failed.
std::string ReflectionList(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto step = [&] { return cq.Next(&tag, &ok) && ok; };
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  std::string bytes;
  call->StartCall(nullptr);
  bool alive = step();
  grpc::Slice slice(std::string("\x3a\x01*", 3));
  grpc::ByteBuffer request(&slice, 1);
  if (alive) {
    call->Write(request, nullptr);
    alive = step();
  }
  if (alive) {
    call->WritesDone(nullptr);
    alive = step();
  }
  grpc::ByteBuffer response;
  if (alive) {
    call->Read(&response, nullptr);
    if (step()) {
      std::vector<grpc::Slice> slices;
      if (response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
    }
  }
  ctx.TryCancel();
  grpc::Status status;
  call->Finish(&status, nullptr);
  step();
  call.reset();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return bytes;
}

TEST_F(TlsReloadTest, ANewServerCertificateServesNewHandshakesOnly) {
  auto before = ChannelOf(*old_, *old_);
  ASSERT_TRUE(Probe(before).ok());
  // Not yet: the server still presents the old certificate.
  EXPECT_EQ(Probe(ChannelOf(*new_, *old_)).error_code(), grpc::StatusCode::UNAVAILABLE);

  // A certificate and key from another CA; the client CA stays.
  ASSERT_TRUE(env_->host().ReloadTls(new_->Server(*old_)).ok());

  grpc::Status trusting_new = Probe(ChannelOf(*new_, *old_));
  EXPECT_TRUE(trusting_new.ok()) << trusting_new.error_message();
  grpc::Status trusting_old = Probe(ChannelOf(*old_, *old_));
  EXPECT_EQ(trusting_old.error_code(), grpc::StatusCode::UNAVAILABLE)
      << trusting_old.error_message();
  // The open connection was told to go away; its reconnection meets the new
  // certificate, which that client does not trust.
  EXPECT_EQ(Probe(before).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Health and reflection answer on the new server.
  auto now = ChannelOf(*new_, *old_);
  EXPECT_EQ(HealthStatus(now, ""), 1);
  EXPECT_THAT(ReflectionList(now), HasSubstr("relais.v1.RecordService"));
  EXPECT_TRUE(env_->host().serving());
}

TEST_F(TlsReloadTest, TheNewServerStillRefusesTls12AndClientsWithoutACertificate) {
  ASSERT_TRUE(env_->host().ReloadTls(new_->Server(*old_)).ok());
  const int port = env_->host().port();
  const std::string cert = old_->cert_path("svc_amo_charleroi");
  const std::string key = old_->key_path("svc_amo_charleroi");
  EXPECT_EQ(Handshake(port, 0, 0, new_->ca_path(), cert, key), TLS1_3_VERSION);
  EXPECT_EQ(Handshake(port, TLS1_2_VERSION, TLS1_2_VERSION, new_->ca_path(), cert, key),
            std::nullopt);
  EXPECT_EQ(Handshake(port, 0, TLS1_2_VERSION, new_->ca_path(), cert, key), std::nullopt);

  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = new_->ca();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride("localhost");
  EXPECT_EQ(Probe(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                            grpc::SslCredentials(no_cert), args))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsReloadTest, ANewClientCaAdmitsItsCertificatesAndShutsOutTheRemovedCas) {
  EXPECT_EQ(Probe(ChannelOf(*old_, *new_)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The same server certificate; clients of the new CA only.
  ASSERT_TRUE(env_->host().ReloadTls(old_->Server(*new_)).ok());

  grpc::Status admitted = Probe(ChannelOf(*old_, *new_));
  EXPECT_TRUE(admitted.ok()) << admitted.error_message();
  grpc::Status removed = Probe(ChannelOf(*old_, *old_));
  EXPECT_EQ(removed.error_code(), grpc::StatusCode::UNAVAILABLE) << removed.error_message();
  // Calls through a new-CA certificate reach the services as before.
  auto amo = v1::AuthService::NewStub(ChannelOf(*old_, *new_));
  v1::LoginResponse reply;
  grpc::Status refreshed =
      amo->Refresh(env_->As(kAmoCaseworker).get(), v1::RefreshRequest(), &reply);
  EXPECT_TRUE(refreshed.ok()) << refreshed.error_message();
}

// The old server stops listening before ReloadTls returns: the first
// connection after it meets the new client CA, never the one just removed
// (until then the two servers shared the port, and the kernel picked one).
TEST_F(TlsReloadTest, TheFirstConnectionAfterAReloadMeetsTheNewClientCa) {
  const Pki* removed = old_;
  const Pki* admitted = new_;
  for (int round = 0; round < 12; ++round) {
    ASSERT_TRUE(env_->host().ReloadTls(old_->Server(*admitted)).ok());
    grpc::Status in = Probe(ChannelOf(*old_, *admitted));
    EXPECT_TRUE(in.ok()) << "round " << round << ": " << in.error_message();
    grpc::Status out = Probe(ChannelOf(*old_, *removed));
    EXPECT_EQ(out.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "round " << round << ": " << out.error_message();
    std::swap(removed, admitted);
  }
}

void TlsReloadTest::StartBigBackup(BigBackup& backup) {
  ASSERT_TRUE(env_->host()
                  .db()
                  .Write([](storage::Connection& c) {
                    return c.Exec(
                        "CREATE TABLE reload_filler(b BLOB);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                        "WHERE i < 256) INSERT INTO reload_filler SELECT randomblob(65536) "
                        "FROM n;");
                  })
                  .ok());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // windows stay at their defaults
  backup.channel = ChannelOf(*old_, *old_, "svc_agaj", args);
  backup.ctx = env_->As(kAdmin);
  backup.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  backup.reader = v1::AdminService::NewStub(backup.channel)
                      ->BackupDatabase(backup.ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupDatabaseChunk chunk;
  ASSERT_TRUE(backup.reader->Read(&chunk));
  ASSERT_TRUE(chunk.has_header());
  backup.size = chunk.header().size_bytes();
  ASSERT_GT(backup.size, 16 << 20);
}

TEST_F(TlsReloadTest, ACallInFlightFinishesOnTheOldServer) {
  BigBackup backup;
  ASSERT_NO_FATAL_FAILURE(StartBigBackup(backup));

  ASSERT_TRUE(env_->host().ReloadTls(new_->Server(*old_)).ok());
  // New handshakes meet the new certificate meanwhile.
  EXPECT_TRUE(Probe(ChannelOf(*new_, *old_)).ok());

  bool complete = false;
  grpc::Status status = backup.ReadToEnd(&complete);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(complete);
}

TEST_F(TlsReloadTest, ShutdownCancelsACallStillDrainingOnceItsGraceIsOver) {
  BigBackup backup;
  ASSERT_NO_FATAL_FAILURE(StartBigBackup(backup));
  ASSERT_TRUE(env_->host().ReloadTls(new_->Server(*old_)).ok());
  // And a second reload at once: two servers drain when the host stops.
  ASSERT_TRUE(env_->host().ReloadTls(old_->Server(*old_)).ok());
  EXPECT_TRUE(Probe(ChannelOf(*old_, *old_)).ok());

  const absl::Time start = absl::Now();
  env_->host().Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20)) << "not the 5 minutes of a drain";
  bool complete = true;
  EXPECT_FALSE(backup.ReadToEnd(&complete).ok());
  EXPECT_FALSE(complete);
  EXPECT_EQ(env_->host().ReloadTls(new_->Server(*old_)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TlsReloadTest, BadMaterialLeavesTheOldOneServingAndSaysWhy) {
  std::vector<std::string> lines;
  absl::Mutex mu;
  common::SetLogSink([&](absl::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  // The new certificate with the old key; the old key with garbage for a
  // certificate; no key at all; a client CA file without a certificate.
  host::TlsCredentials mismatch = new_->Server(*old_);
  mismatch.server_key_pem = ReadFile(old_->dir + "/server.key");
  host::TlsCredentials garbage = old_->Server(*old_);
  garbage.server_cert_pem = "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n";
  host::TlsCredentials no_key = new_->Server(*old_);
  no_key.server_key_pem.clear();
  host::TlsCredentials no_ca = new_->Server(*old_);
  no_ca.client_ca_pem = "no certificate here";
  for (const host::TlsCredentials& bad : {mismatch, garbage, no_key, no_ca}) {
    EXPECT_EQ(env_->host().ReloadTls(bad).code(), absl::StatusCode::kInvalidArgument);
  }
  // An unreadable file never gets as far as the host: relaisd logs it and
  // keeps what it had (RelaisdSighup below).
  const std::string missing = FreshPath("missing") + ".pem";
  EXPECT_EQ(
      host::LoadTlsCredentials(missing, old_->dir + "/server.key", old_->ca_path()).status().code(),
      absl::StatusCode::kNotFound);
  common::SetLogSink(nullptr);
  {
    absl::MutexLock lock(&mu);
    int refusals = 0;
    for (const std::string& line : lines) {
      if (absl::StrContains(line, "tls material not reloaded")) ++refusals;
      EXPECT_THAT(line, ::testing::Not(HasSubstr("PRIVATE KEY"))) << "no key material in logs";
    }
    EXPECT_EQ(refusals, 4);
  }
  // Nothing changed: the old certificate and client CA serve.
  EXPECT_TRUE(Probe(ChannelOf(*old_, *old_)).ok());
  EXPECT_EQ(Probe(ChannelOf(*new_, *old_)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(ChannelOf(*old_, *new_)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// relaisd itself: SIGHUP with new files at the same paths.
TEST_F(TlsReloadTest, RelaisdServesANewCertificateAfterSighup) {
  const std::string certs = FreshPath("served");
  std::filesystem::create_directories(certs);
  auto put = [&](const std::string& from, const std::string& name) {
    std::filesystem::copy_file(from, certs + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  };
  put(old_->dir + "/server.pem", "server.pem");
  put(old_->dir + "/server.key", "server.key");
  put(old_->ca_path(), "ca.pem");
  RelaisdProcess relaisd(
      RELAISD_PATH, {absl::StrCat("--db=", FreshPath("sighup_db"), ".sqlite"),
                     absl::StrCat("--keys_dir=", FreshPath("sighup_keys")), "--listen=127.0.0.1:0",
                     absl::StrCat("--tls_cert=", certs, "/server.pem"),
                     absl::StrCat("--tls_key=", certs, "/server.key"),
                     absl::StrCat("--tls_client_ca=", certs, "/ca.pem")});
  ASSERT_TRUE(relaisd.WaitFor("relaisd serving")) << relaisd.output();
  const int port = relaisd.ServingPort();
  ASSERT_GT(port, 0) << relaisd.output();
  auto channel = [&](const Pki& trust) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trust.ca();
    options.pem_cert_chain = ReadFile(old_->cert_path("svc_amo_charleroi"));
    options.pem_private_key = ReadFile(old_->key_path("svc_amo_charleroi"));
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::SslCredentials(options), args);
  };
  ASSERT_TRUE(Probe(channel(*old_)).ok());

  // Half-way through a renewal: the new certificate, the old key.
  put(new_->dir + "/server.pem", "server.pem");
  ASSERT_EQ(::kill(relaisd.pid(), SIGHUP), 0);
  ASSERT_TRUE(relaisd.WaitFor("does not match the server certificate")) << relaisd.output();
  EXPECT_TRUE(Probe(channel(*old_)).ok());

  std::filesystem::remove(certs + "/server.key");
  put(new_->dir + "/server.key", "server.key");
  ASSERT_EQ(::kill(relaisd.pid(), SIGHUP), 0);
  ASSERT_TRUE(relaisd.WaitFor("\"certificate_key_client_ca\":\"replaced\"")) << relaisd.output();
  grpc::Status renewed = Probe(channel(*new_));
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  EXPECT_EQ(Probe(channel(*old_)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
}

}  // namespace
}  // namespace relais::testing
