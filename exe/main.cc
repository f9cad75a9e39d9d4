// relaisd: every Relais service in one process over one embedded SQLite file.

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "demo/banner.h"
#include "demo/seed.h"
#include "services/host/config.h"
#include "services/host/host.h"
#include "storage/database.h"

ABSL_FLAG(std::string, config, "",
          "Configuration file: a text-format relais.v1.ServerConfig (see "
          "deploy/relaisd.textproto). Flags given on the command line override it");
ABSL_FLAG(std::string, db, "data/relais.db",
          "SQLite database file (created if missing), or a postgresql:// URI "
          "(docs/postgresql.md)");
ABSL_FLAG(std::string, keys_dir, "data/keys",
          "Directory of the token signing keys and the national-number hash key (mode 0700)");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "Address to serve gRPC on");
ABSL_FLAG(bool, group_commit, true,
          "Commit concurrent writes and their audit events together, one fsync per group; "
          "false (one transaction per call) exists to measure the difference");
ABSL_FLAG(int, call_workers, 64, "Threads running calls (they mostly wait on the database)");
ABSL_FLAG(int, call_queue, 1024,
          "Calls that may wait for a thread; beyond, RESOURCE_EXHAUSTED server_busy");
ABSL_FLAG(bool, diagnostics, false,
          "Serve relais.v1.DiagnosticsService (Echo, the load driver's baseline; token-checked, "
          "touches no data)");
ABSL_FLAG(std::vector<std::string>, services, {},
          "Serve only these services (comma-separated: directory, auth, record, care, "
          "partnership, inbox, audit, admin); empty: all. Processes serving different services "
          "share one --db and --keys_dir (docs/deployment.md)");
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
ABSL_FLAG(std::string, tls_crl, "",
          "PEM file: CRL(s) of the client CA; a client certificate listed there is refused on "
          "every call. relaisd re-reads the TLS files on SIGHUP");
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
ABSL_FLAG(bool, access_report_names_members, false,
          "Access reports (AuditService.AccessReport) name the member behind each access; "
          "by default they name services and roles only");
ABSL_FLAG(absl::Duration, retention_sweep_interval, absl::Hours(24),
          "How often the retention sweep erases what is due (docs/retention.md); "
          "0 disables the scheduled sweep (RecordService.SweepRetention still runs on demand)");
ABSL_FLAG(std::vector<std::string>, login_gateways, {},
          "Services (comma-separated ids) whose client certificate may name, in the "
          "x-relais-client-address metadata of a login, the address of who logs in through "
          "them (their browser console): failed logins are then counted per that address");
ABSL_FLAG(int, find_youth_per_hour, 20,
          "FindYouth look-ups allowed per member in any sliding hour, found or not "
          "(the national number is an existence oracle); 1 to 10000");
ABSL_FLAG(bool, insecure_dev, false,
          "Serve plaintext gRPC without TLS or client certificates: development only, "
          "loopback addresses only");

namespace {

// Whether a flag was given on the command line (or in a --flagfile). Debian's
// abseil 20220623 has no public way to ask (CommandLineFlag::IsSpecifiedOnCommandLine
// is private); this is the record absl's own parser keeps for the question.
// Comparing with the default would miss a flag given with its default value.
bool Given(absl::string_view name) { return absl::flags_internal::WasPresentOnCommandLine(name); }

// Sets `s` from the flags: every one (its default unless given), or with
// `only_given` only those given on the command line, which then override the
// configuration file. Returns the names of the flags applied.
std::vector<std::string> ApplyFlags(bool only_given, relais::host::ServerSettings* s) {
  std::vector<std::string> applied;
  auto use = [&](const char* name) {
    if (only_given && !Given(name)) return false;
    applied.emplace_back(name);
    return true;
  };
  relais::host::HostOptions& o = s->host;
  if (use("db")) o.db_path = absl::GetFlag(FLAGS_db);
  if (use("group_commit")) o.db_group_commit = absl::GetFlag(FLAGS_group_commit);
  if (use("call_workers")) o.call_workers = std::clamp(absl::GetFlag(FLAGS_call_workers), 1, 1024);
  if (use("diagnostics")) o.diagnostics = absl::GetFlag(FLAGS_diagnostics);
  if (use("services")) o.services = absl::GetFlag(FLAGS_services);
  if (use("call_queue")) o.call_queue = std::clamp(absl::GetFlag(FLAGS_call_queue), 1, 1 << 20);
  if (use("keys_dir")) o.keys_dir = absl::GetFlag(FLAGS_keys_dir);
  if (use("master_key_file")) o.master_key_file = absl::GetFlag(FLAGS_master_key_file);
  if (use("previous_master_key_file")) {
    o.previous_master_key_file = absl::GetFlag(FLAGS_previous_master_key_file);
  }
  if (use("listen")) o.listen_address = absl::GetFlag(FLAGS_listen);
  if (use("tls_cert")) s->tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  if (use("tls_key")) s->tls_key_file = absl::GetFlag(FLAGS_tls_key);
  if (use("tls_client_ca")) s->tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  if (use("tls_crl")) s->tls_crl_file = absl::GetFlag(FLAGS_tls_crl);
  if (use("max_overlap_days")) {
    o.care.max_overlap = absl::Hours(24) * absl::GetFlag(FLAGS_max_overlap_days);
  }
  if (use("self_consent_age")) o.care.self_consent_age = absl::GetFlag(FLAGS_self_consent_age);
  if (use("token_lifetime_minutes")) {
    o.token_lifetime = absl::Minutes(absl::GetFlag(FLAGS_token_lifetime_minutes));
  }
  if (use("checkpoint_every_events")) {
    o.checkpoint_every_events = absl::GetFlag(FLAGS_checkpoint_every_events);
  }
  if (use("checkpoint_every_seconds")) {
    o.checkpoint_every = absl::Seconds(absl::GetFlag(FLAGS_checkpoint_every_seconds));
  }
  if (use("metrics_listen")) o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (use("access_report_names_members")) {
    o.access_report_names_members = absl::GetFlag(FLAGS_access_report_names_members);
  }
  if (use("retention_sweep_interval")) {
    o.retention.sweep_interval = absl::GetFlag(FLAGS_retention_sweep_interval);
  }
  if (use("find_youth_per_hour")) o.find_youth_per_hour = absl::GetFlag(FLAGS_find_youth_per_hour);
  if (use("login_gateways")) o.login_gateways = absl::GetFlag(FLAGS_login_gateways);
  if (use("log_level")) s->log_level = absl::GetFlag(FLAGS_log_level);
  return applied;
}

// Numeric flags given on the command line pass the same range checks as the
// file's fields (config.cc), so `--self_consent_age=40` is refused as the file's
// `care { self_consent_age: 40 }` is.
absl::Status CheckGivenFlags() {
  relais::v1::ServerConfig c;
  if (Given("self_consent_age")) {
    c.mutable_care()->set_self_consent_age(absl::GetFlag(FLAGS_self_consent_age));
  }
  if (Given("max_overlap_days")) {
    c.mutable_care()->set_max_overlap(absl::StrCat(absl::GetFlag(FLAGS_max_overlap_days), "d"));
  }
  if (Given("token_lifetime_minutes")) {
    c.mutable_auth()->set_token_lifetime(
        absl::StrCat(absl::GetFlag(FLAGS_token_lifetime_minutes), "m"));
  }
  if (Given("checkpoint_every_events")) {
    c.mutable_audit()->set_checkpoint_every_events(absl::GetFlag(FLAGS_checkpoint_every_events));
  }
  if (Given("checkpoint_every_seconds")) {
    c.mutable_audit()->set_checkpoint_every(
        absl::StrCat(absl::GetFlag(FLAGS_checkpoint_every_seconds), "s"));
  }
  if (Given("find_youth_per_hour")) {
    c.mutable_record()->set_find_youth_per_hour(absl::GetFlag(FLAGS_find_youth_per_hour));
  }
  for (const std::string& gateway : absl::GetFlag(FLAGS_login_gateways)) {
    c.mutable_auth()->add_login_gateways(gateway);
  }
  relais::host::ServerSettings scratch;
  absl::Status checked = relais::host::ApplyConfig(c, &scratch);
  if (checked.ok()) return checked;
  return absl::InvalidArgumentError(absl::StrCat("flag refused (", checked.message(), ")"));
}

absl::Status LoadConfigFile(const std::string& path, relais::host::ServerSettings* settings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("config: cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError("config: cannot read the file");
  absl::StatusOr<relais::v1::ServerConfig> config = relais::host::ParseConfig(text.str());
  if (!config.ok()) return config.status();
  return relais::host::ApplyConfig(*config, settings);
}

// gRPC's own tracing prints call metadata (bearer tokens) and, at "all",
// message contents: never let it run against real data unnoticed.
bool GrpcTraceRefused() {
  const char* trace = std::getenv("GRPC_TRACE");
  if (trace == nullptr || *trace == '\0' || absl::GetFlag(FLAGS_allow_grpc_trace)) return false;
  std::fprintf(stderr,
               "relaisd: GRPC_TRACE is set; gRPC tracing logs tokens and content. Unset it, "
               "or pass --allow_grpc_trace on a development server.\n");
  return true;
}

// SIGINT/SIGTERM (shut down) and SIGHUP (re-read the TLS files) are blocked
// in every thread and taken by sigwait() in ServeUntilSignalled, in normal
// context rather than in a signal handler. Call before any thread starts.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Defaults < file < flags: every flag's value (its default unless given),
// then the configuration file, then the flags given on the command line; and
// the log level they set. False, with the reason logged, if refused.
bool LoadSettings(relais::host::ServerSettings* settings) {
  if (absl::Status flags = CheckGivenFlags(); !flags.ok()) {
    relais::common::LogError("relaisd refuses a flag", {{"error", std::string(flags.message())}});
    return false;
  }
  ApplyFlags(/*only_given=*/false, settings);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  std::vector<std::string> overriding;
  if (!config_path.empty()) {
    if (absl::Status loaded = LoadConfigFile(config_path, settings); !loaded.ok()) {
      relais::common::LogError("relaisd refuses its configuration file",
                               {{"config", config_path}, {"error", std::string(loaded.message())}});
      return false;
    }
    overriding = ApplyFlags(/*only_given=*/true, settings);
  }
  using relais::common::LogLevel;
  const std::string& level = settings->log_level;
  relais::common::SetLogLevel(level == "debug"     ? LogLevel::kDebug
                              : level == "warning" ? LogLevel::kWarning
                              : level == "error"   ? LogLevel::kError
                                                   : LogLevel::kInfo);
  if (!config_path.empty()) {
    relais::common::LogInfo(
        "configuration file applied",
        {{"config", config_path}, {"overridden_by_flags", absl::StrJoin(overriding, ",")}});
  }
  return true;
}

// Plaintext with --insecure_dev, on a loopback address only; otherwise mutual
// TLS from the settings' PEM files, loaded into options->tls. False, with the
// reason logged, if neither can be.
bool ChooseTransport(const relais::host::ServerSettings& s, relais::host::HostOptions* options) {
  const bool any_tls_file = !s.tls_cert_file.empty() || !s.tls_key_file.empty() ||
                            !s.tls_client_ca_file.empty() || !s.tls_crl_file.empty();
  if (absl::GetFlag(FLAGS_insecure_dev)) {
    if (any_tls_file) {
      relais::common::LogError(
          "--insecure_dev serves plaintext: drop it or the TLS files (the --tls_* flags or "
          "the configuration file's tls section), not both");
      return false;
    }
    // Plaintext never listens beyond this machine.
    if (!relais::host::IsLoopbackAddress(options->listen_address)) {
      relais::common::LogError(
          "refusing to serve plaintext beyond loopback: --insecure_dev needs a 127.x.x.x, "
          "[::1] or localhost --listen address",
          {{"listen", options->listen_address}});
      return false;
    }
    relais::common::LogWarning(
        "INSECURE: --insecure_dev serves plaintext gRPC, without TLS or client certificates; "
        "anyone on this machine can connect, and tokens travel in clear. Development only",
        {{"listen", options->listen_address}});
    return true;
  }
  if (s.tls_cert_file.empty() || s.tls_key_file.empty() || s.tls_client_ca_file.empty()) {
    relais::common::LogError(
        "relaisd serves mutual TLS: pass --tls_cert, --tls_key and --tls_client_ca (PEM "
        "files; deploy/make-dev-certs.sh makes development ones) or set the configuration "
        "file's tls section, or pass --insecure_dev to serve plaintext on a loopback address");
    return false;
  }
  auto tls = relais::host::LoadTlsCredentials(s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file,
                                              s.tls_crl_file);
  if (!tls.ok()) {
    relais::common::LogError("relaisd cannot load its TLS credentials",
                             {{"status", tls.status().ToString()}});
    return false;
  }
  options->tls = *std::move(tls);
  return true;
}

// Serves until SIGINT or SIGTERM, re-reading the TLS files (same paths) on
// SIGHUP; a bad file leaves the current material. Returns the signal.
int ServeUntilSignalled(relais::host::Host& host, const relais::host::ServerSettings& s,
                        const sigset_t& signals) {
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    if (s.tls_cert_file.empty()) {
      relais::common::LogInfo("SIGHUP: plaintext server, no TLS files to re-read");
      continue;
    }
    auto tls = relais::host::LoadTlsCredentials(s.tls_cert_file, s.tls_key_file,
                                                s.tls_client_ca_file, s.tls_crl_file);
    if (!tls.ok()) {
      relais::common::LogError("tls material not reloaded; the current one stays",
                               {{"status", tls.status().ToString()}});
      continue;
    }
    (void)host.ReloadTls(*std::move(tls));
  }
  return signal_number;
}

// Seeds the demo world and prints the banner. False, with the reason logged,
// if seeding fails.
bool SeedDemo(relais::host::Host& host, bool tls, const std::string& client_ca) {
  relais::demo::Seeder seeder(host);
  absl::StatusOr<bool> created = seeder.SeedAll();
  if (!created.ok()) {
    relais::common::LogError("demo data failed", {{"status", created.status().ToString()}});
    return false;
  }
  const std::string banner =
      relais::demo::Banner(host.address(), seeder.world().youth_id, tls, client_ca);
  std::fputs(banner.c_str(), stdout);
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("relaisd: the Relais case-coordination server");
  absl::ParseCommandLine(argc, argv);
#ifdef NDEBUG
  // Debian builds Abseil with deadlock detection on: a graph update on every
  // lock, measured at several percent of a call's CPU. Debug builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  if (GrpcTraceRefused()) return 2;
  // Database, WAL and key files hold minors' data and secrets: owner only.
  ::umask(077);
  const sigset_t signals = BlockSignals();
  relais::host::ServerSettings settings;
  if (!LoadSettings(&settings)) return 2;
  relais::host::HostOptions options = settings.host;
  if (!ChooseTransport(settings, &options)) return 2;
  if (absl::GetFlag(FLAGS_demo) && !options.services.empty()) {
    // The demo data is loaded through the services' own calls.
    relais::common::LogError(
        "--demo loads the demo data through every service: start relaisd "
        "once with --demo and without --services, then split it");
    return 2;
  }
  const bool tls = options.tls.enabled();
  std::error_code ec;
  if (!relais::storage::IsPostgresUri(options.db_path)) {
    const auto parent = std::filesystem::path(options.db_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }

  // NOT_SERVING (grpc.health.v1) until the demo data, if any, is in place.
  options.ready_on_start = false;
  auto host = relais::host::Host::Start(options);
  // The host holds the key now: wipe this copy.
  OPENSSL_cleanse(options.tls.server_key_pem.data(), options.tls.server_key_pem.size());
  options.tls.server_key_pem.clear();
  if (!host.ok()) {
    relais::common::LogError("relaisd cannot start", {{"status", host.status().ToString()}});
    return 1;
  }
  if (absl::GetFlag(FLAGS_demo) && !SeedDemo(**host, tls, settings.tls_client_ca_file)) return 1;
  (*host)->SetReady(true);
  const int signal_number = ServeUntilSignalled(**host, settings, signals);
  relais::common::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  (*host)->Shutdown(absl::Seconds(10));
  return 0;
}
