// relaisd: every Relais service in one process over one embedded SQLite file.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
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

namespace {

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("relaisd: the Relais case-coordination server");
  absl::ParseCommandLine(argc, argv);
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
  // This build serves plaintext gRPC: it never listens beyond this machine.
  if (!IsLoopback(listen)) {
    relais::common::LogError("refusing to serve plaintext beyond loopback",
                             {{"listen", listen}});
    return 2;
  }
  relais::host::HostOptions options;
  options.db_path = absl::GetFlag(FLAGS_db);
  options.keys_dir = absl::GetFlag(FLAGS_keys_dir);
  options.listen_address = listen;
  options.care.max_overlap = absl::Hours(24) * absl::GetFlag(FLAGS_max_overlap_days);
  options.care.self_consent_age = absl::GetFlag(FLAGS_self_consent_age);
  options.token_lifetime = absl::Minutes(absl::GetFlag(FLAGS_token_lifetime_minutes));
  std::error_code ec;
  const auto parent = std::filesystem::path(options.db_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);

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
    std::printf(
        "\nRelais demo is serving on %s (plaintext, loopback only).\n"
        "Members (password \"%s\"): admin, dpo (auditor), amo.camille, amo.coord,\n"
        "  saj.sam, saj.coord, pms.pauline.%s\n"
        "Explore the API through reflection, e.g.:\n"
        "  buf curl --protocol grpc --http2-prior-knowledge \\\n"
        "    -d '{\"login\":\"amo.camille\",\"password\":\"%s\"}' \\\n"
        "    http://%s/relais.v1.AuthService/Login\n\n",
        (*host)->address().c_str(), relais::host::kDemoPassword,
        demo->created ? absl::StrCat("\nDemo youth id: ", demo->youth_id).c_str() : "",
        relais::host::kDemoPassword, (*host)->address().c_str());
    std::fflush(stdout);
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  relais::common::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  (*host)->Shutdown(absl::Seconds(10));
  return 0;
}
