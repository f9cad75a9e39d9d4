// relaisd: every Relais service in one process over one embedded SQLite file.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "services/host/demo_data.h"
#include "services/host/host.h"

ABSL_FLAG(std::string, db, "data/relais.db", "SQLite database file (created if missing)");
ABSL_FLAG(std::string, keys_dir, "data/keys",
          "Directory of the token signing keys and the national-number hash key (mode 0700)");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "Address to serve gRPC on");
ABSL_FLAG(bool, demo, false, "Load the demo data set if the database is empty");
ABSL_FLAG(int, max_overlap_days, 90, "Longest handover overlap window, in days");
ABSL_FLAG(int, self_consent_age, 12, "Age from which the youth consents personally");
ABSL_FLAG(int, token_lifetime_minutes, 15, "Lifetime of caseworker tokens");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int64_t, checkpoint_every_events, 100,
          "Sign an audit checkpoint once this many events are not covered by one");
ABSL_FLAG(int64_t, checkpoint_every_seconds, 60,
          "Sign an audit checkpoint when the last one is this old and new events exist");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM file: the server's certificate, then any intermediate CA certificates");
ABSL_FLAG(std::string, tls_key, "", "PEM file: the server's private key (mode 0600)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM file: the CA certificate(s) that issue the service clients' certificates");
ABSL_FLAG(std::string, master_key_file, "",
          "File (mode 0600) holding the master key of the encryption at rest: 32 raw bytes or "
          "their base64. Else $RELAIS_MASTER_KEY (base64), else <keys_dir>/master.key, created "
          "on first start (development)");
ABSL_FLAG(std::string, previous_master_key_file, "",
          "During a master key rotation: the old master key file, used only to unwrap data "
          "keys not yet re-wrapped (see relais-admin rotate-master-key)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Loopback address of the Prometheus text endpoint (GET /metrics); empty: none");
ABSL_FLAG(bool, allow_grpc_trace, false,
          "Start even though GRPC_TRACE is set (gRPC tracing logs tokens and content)");
ABSL_FLAG(bool, insecure_dev, false,
          "Serve plaintext gRPC without TLS or client certificates: development only, "
          "loopback addresses only");

namespace {

// True for "127.x.y.z:port", "[::1]:port" and "localhost:port": literal
// loopback addresses only, so that a host name such as "127.0.0.1.example.org"
// is not mistaken for one.
bool IsLoopback(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr v6;
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6) == 1 &&
           IN6_IS_ADDR_LOOPBACK(&v6);
  }
  in_addr v4;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

void PrintDemoBanner(const relais::host::Host& host, const relais::host::DemoSummary& demo,
                     bool tls) {
  const std::string address = host.address();
  std::printf(
      "\nRelais demo is serving on %s (%s).\n"
      "Members (password \"%s\"): admin, dpo (auditor), amo.camille, amo.coord,\n"
      "  saj.sam, saj.coord, pms.pauline.%s\n",
      address.c_str(), tls ? "mutual TLS 1.3" : "PLAINTEXT, --insecure_dev, loopback only",
      relais::host::kDemoPassword,
      demo.created ? absl::StrCat("\nDemo youth id: ", demo.youth_id).c_str() : "");
  if (tls) {
    // deploy/make-dev-certs.sh puts the client certificates beside the CA.
    const std::string certs =
        std::filesystem::path(absl::GetFlag(FLAGS_tls_client_ca)).parent_path().string();
    const std::string dir = certs.empty() ? "." : certs;
    std::printf(
        "Every call presents the client certificate of the member's service\n"
        "(%s/clients/<service id>.pem and .key: amo.* svc_amo_charleroi, saj.*\n"
        "svc_saj_charleroi, pms.* svc_pms_charleroi, admin and dpo svc_agaj).\n"
        "Explore the API through reflection, e.g.:\n"
        "  buf curl --protocol grpc --cacert %s \\\n"
        "    --cert %s/clients/svc_amo_charleroi.pem \\\n"
        "    --key %s/clients/svc_amo_charleroi.key \\\n"
        "    -d '{\"login\":\"amo.camille\",\"password\":\"%s\"}' \\\n"
        "    https://%s/relais.v1.AuthService/Login\n"
        "then add -H \"Authorization: Bearer <token>\" with the same certificate.\n\n",
        dir.c_str(), absl::GetFlag(FLAGS_tls_client_ca).c_str(), dir.c_str(), dir.c_str(),
        relais::host::kDemoPassword, address.c_str());
  } else {
    std::printf(
        "Explore the API through reflection, e.g.:\n"
        "  buf curl --protocol grpc --http2-prior-knowledge \\\n"
        "    -d '{\"login\":\"amo.camille\",\"password\":\"%s\"}' \\\n"
        "    http://%s/relais.v1.AuthService/Login\n\n",
        relais::host::kDemoPassword, address.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("relaisd: the Relais case-coordination server");
  absl::ParseCommandLine(argc, argv);
  // gRPC's own tracing prints call metadata (bearer tokens) and, at "all",
  // message contents: never let it run against real data unnoticed.
  if (const char* trace = std::getenv("GRPC_TRACE"); trace != nullptr && *trace != '\0' &&
                                                      !absl::GetFlag(FLAGS_allow_grpc_trace)) {
    std::fprintf(stderr,
                 "relaisd: GRPC_TRACE is set; gRPC tracing logs tokens and content. Unset it, "
                 "or pass --allow_grpc_trace on a development server.\n");
    return 2;
  }
  // Database, WAL and key files hold minors' data and secrets: owner only.
  ::umask(077);
  // SIGINT/SIGTERM are blocked in every thread and taken by sigwait() below, so
  // shutdown runs in normal context rather than in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  using relais::common::LogLevel;
  const std::string level = absl::GetFlag(FLAGS_log_level);
  relais::common::SetLogLevel(level == "debug"     ? LogLevel::kDebug
                              : level == "warning" ? LogLevel::kWarning
                              : level == "error"   ? LogLevel::kError
                                                   : LogLevel::kInfo);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string tls_cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string tls_key = absl::GetFlag(FLAGS_tls_key);
  const std::string tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  const bool any_tls_flag = !tls_cert.empty() || !tls_key.empty() || !tls_client_ca.empty();
  relais::host::HostOptions options;
  if (absl::GetFlag(FLAGS_insecure_dev)) {
    if (any_tls_flag) {
      relais::common::LogError(
          "--insecure_dev serves plaintext: drop it or the --tls_* flags, not both");
      return 2;
    }
    // Plaintext never listens beyond this machine.
    if (!IsLoopback(listen)) {
      relais::common::LogError(
          "refusing to serve plaintext beyond loopback: --insecure_dev needs a 127.x.x.x, "
          "[::1] or localhost --listen address",
          {{"listen", listen}});
      return 2;
    }
    relais::common::LogWarning(
        "INSECURE: --insecure_dev serves plaintext gRPC, without TLS or client certificates; "
        "anyone on this machine can connect, and tokens travel in clear. Development only",
        {{"listen", listen}});
  } else {
    if (tls_cert.empty() || tls_key.empty() || tls_client_ca.empty()) {
      relais::common::LogError(
          "relaisd serves mutual TLS: pass --tls_cert, --tls_key and --tls_client_ca (PEM "
          "files; deploy/make-dev-certs.sh makes development ones), or --insecure_dev to serve "
          "plaintext on a loopback address");
      return 2;
    }
    auto tls = relais::host::LoadTlsCredentials(tls_cert, tls_key, tls_client_ca);
    if (!tls.ok()) {
      relais::common::LogError("relaisd cannot load its TLS credentials",
                               {{"status", tls.status().ToString()}});
      return 2;
    }
    options.tls = *std::move(tls);
  }
  options.db_path = absl::GetFlag(FLAGS_db);
  options.keys_dir = absl::GetFlag(FLAGS_keys_dir);
  options.master_key_file = absl::GetFlag(FLAGS_master_key_file);
  options.previous_master_key_file = absl::GetFlag(FLAGS_previous_master_key_file);
  options.listen_address = listen;
  options.care.max_overlap = absl::Hours(24) * absl::GetFlag(FLAGS_max_overlap_days);
  options.care.self_consent_age = absl::GetFlag(FLAGS_self_consent_age);
  options.token_lifetime = absl::Minutes(absl::GetFlag(FLAGS_token_lifetime_minutes));
  options.checkpoint_every_events = absl::GetFlag(FLAGS_checkpoint_every_events);
  options.checkpoint_every = absl::Seconds(absl::GetFlag(FLAGS_checkpoint_every_seconds));
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  std::error_code ec;
  const auto parent = std::filesystem::path(options.db_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);

  // NOT_SERVING (grpc.health.v1) until the demo data, if any, is in place.
  options.ready_on_start = false;
  auto host = relais::host::Host::Start(options);
  if (!host.ok()) {
    relais::common::LogError("relaisd cannot start", {{"status", host.status().ToString()}});
    return 1;
  }
  if (absl::GetFlag(FLAGS_demo)) {
    auto demo = relais::host::SeedDemo(**host);
    if (!demo.ok()) {
      relais::common::LogError("demo data failed", {{"status", demo.status().ToString()}});
      return 1;
    }
    PrintDemoBanner(**host, *demo, options.tls.enabled());
  }
  (*host)->SetReady(true);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  relais::common::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  (*host)->Shutdown(absl::Seconds(10));
  return 0;
}
