#include "services/host/host.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/trusted_file.h"
#include "grpc/grpc.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "observability/request_log.h"
#include "services/care/care_store.h"
#include "services/care/handover_text.h"
#include "services/record/record_store.h"
#include "storage/row_mac.h"

namespace relais::host {
namespace {

constexpr char kAudience[] = "relais";
constexpr size_t kSecretBytes = 32;

// Reads a 32-byte secret from `path`, creating it (0600) if missing. Refuses a
// file that group or others may read.
absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& path) {
  absl::StatusOr<std::string> existing =
      common::ReadTrustedFile(path, kSecretBytes, /*owner_only=*/true);
  if (existing.ok()) {
    if (existing->size() != kSecretBytes) {
      return absl::DataLossError(absl::StrCat(path, " does not hold a 32-byte secret"));
    }
    return existing;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  std::string secret(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), kSecretBytes) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("create ", path, ": ", strerror(errno)));
  const bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(kSecretBytes) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("write ", path));
  return secret;
}

// Refuses options no step could work with, before anything is opened.
absl::Status ValidateOptions(const HostOptions& options) {
  RETURN_IF_ERROR(CheckServiceNames(options.services));
  RETURN_IF_ERROR(options.retention.Validate());
  if (options.erasure_grace_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("erasure_grace_period must not be negative");
  }
  if (options.one_time_password_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("one_time_password_lifetime must be positive");
  }
  if (options.checkpoint_every_events < 1 || options.checkpoint_every <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("audit checkpoint intervals must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckServiceNames(const std::vector<std::string>& services) {
  for (size_t i = 0; i < services.size(); ++i) {
    if (!absl::c_any_of(kServedServices,
                        [&](const ServedService& s) { return services[i] == s.name; })) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown service \"", services[i],
                       "\" (directory, auth, record, care, partnership, inbox, audit, admin)"));
    }
    if (std::find(services.begin(), services.begin() + i, services[i]) != services.begin() + i) {
      return absl::InvalidArgumentError(absl::StrCat("service \"", services[i], "\" named twice"));
    }
  }
  return absl::OkStatus();
}

bool Host::Serves(absl::string_view name) const {
  return options_.services.empty() || absl::c_linear_search(options_.services, name);
}

absl::StatusOr<std::unique_ptr<grpc::Server>> Host::NewServer(
    std::shared_ptr<grpc::ServerCredentials> credentials, const std::string& address, int* port) {
  grpc::ServerBuilder builder;
  // One JSON log line per RPC, feeding the metrics as well.
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    // First, so that the request log and metrics see the status it sets.
    creators.push_back(
        std::make_unique<MalformedRequestFactory>(verifier_.get(), audit_log_.get()));
    creators.push_back(std::make_unique<observability::RequestLogFactory>(metrics_.get()));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  // Plaintext only without TLS credentials; relaisd refuses to bind it beyond
  // loopback (see main).
  builder.AddListeningPort(address, std::move(credentials), port);
  // gRPC's default on Linux, stated: a TLS reload binds a second server to
  // the port while the first one still listens.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 1);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(16 * options_.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  // Callback services are not bound to one server: a reload's new server
  // serves the same objects.
  const std::pair<const char*, grpc::Service*> services[] = {
      {"directory", directory_service_.get()},
      {"auth", auth_service_.get()},
      {"record", record_.get()},
      {"care", care_.get()},
      {"partnership", partnership_service_.get()},
      {"inbox", inbox_service_.get()},
      {"audit", audit_service_.get()},
      {"admin", admin_service_.get()},
  };
  for (const auto& [name, service] : services) {
    if (Serves(name)) builder.RegisterService(service);
  }
  if (diagnostics_ != nullptr) builder.RegisterService(diagnostics_.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  return server;
}

// The keys BuildServices hands to the record service; the national-number key
// is wiped when this goes.
struct Host::LoadedKeys {
  LoadedKeys() = default;
  LoadedKeys(LoadedKeys&&) = default;
  LoadedKeys& operator=(LoadedKeys&&) = default;
  ~LoadedKeys() { OPENSSL_cleanse(national_key.data(), national_key.size()); }

  std::string national_key;
  std::unique_ptr<storage::crypto::MasterKeyRing> master_keys;
};

absl::StatusOr<std::unique_ptr<Host>> Host::Start(HostOptions options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  // TlsMaterial takes the only copy of the private key: none stays in options_.
  TlsCredentials tls = std::move(options.tls);
  options.tls = TlsCredentials();
  auto host = absl::WrapUnique(new Host());
  host->clock_ = options.clock != nullptr ? options.clock : &common::RealClock();
  host->options_ = std::move(options);
  RETURN_IF_ERROR(host->OpenStorage());
  ASSIGN_OR_RETURN(LoadedKeys keys, host->LoadKeys(std::move(tls)));
  RETURN_IF_ERROR(host->BuildServices(std::move(keys)));
  RETURN_IF_ERROR(host->BuildServer());
  host->StartMetrics();
  host->StartBackgroundWork();
  common::LogInfo("relaisd serving", {{"address", host->address()},
                                      {"transport", host->tls_ != nullptr ? "mtls" : "plaintext"}});
  return host;
}

absl::Status Host::OpenStorage() {
  ASSIGN_OR_RETURN(db_, storage::Database::Open({.path = options_.db_path,
                                                 .busy_timeout = options_.db_busy_timeout,
                                                 .vfs = options_.db_vfs,
                                                 .group_commit = options_.db_group_commit}));
  ASSIGN_OR_RETURN(audit_log_, audit::AuditLog::Create(db_.get(), clock_));
  // Server-side revocation (Logout, Refresh rotation, revoke-all on member
  // changes): every token verification reads it.
  ASSIGN_OR_RETURN(revocations_, auth_store::RevocationStore::Create(db_.get(), clock_));
  ASSIGN_OR_RETURN(directory_, directory::DirectoryStore::Create(db_.get(), clock_,
                                                                 {.scrypt = options_.scrypt}));
  RETURN_IF_ERROR(record::RecordServiceImpl::Migrate(db_.get()));
  RETURN_IF_ERROR(care::CareServiceImpl::Migrate(db_.get()));
  // Applies the "partnership" migrations.
  ASSIGN_OR_RETURN(partnership_store_, partnership::PartnershipStore::Create(db_.get(), clock_));
  ASSIGN_OR_RETURN(inbox_store_, inbox::InboxStore::Create(db_.get(), clock_, directory_.get()));
  return absl::OkStatus();
}

absl::StatusOr<Host::LoadedKeys> Host::LoadKeys(TlsCredentials tls) {
  LoadedKeys loaded;
  RETURN_IF_ERROR(LoadTokenKeys(&loaded));
  if (tls.enabled()) {
    ASSIGN_OR_RETURN(tls_, TlsMaterial::Create(std::move(tls), clock_));
  }
  RETURN_IF_ERROR(LoadMasterKeys(&loaded));
  // The audit signing key lives apart from the token keys (a subdirectory the
  // token ring ignores), so auditors are handed only the audit public key.
  if (options_.keys_dir.empty()) {
    audit_keys_ = auth::KeyRing::InMemory();
  } else {
    ASSIGN_OR_RETURN(audit_keys_,
                     auth::KeyRing::LoadOrCreate(absl::StrCat(options_.keys_dir, "/audit")));
  }
  return loaded;
}

absl::Status Host::LoadTokenKeys(LoadedKeys* loaded) {
  if (options_.keys_dir.empty()) {
    keys_ = auth::KeyRing::InMemory();
    std::string& key = loaded->national_key;
    key.assign(kSecretBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kSecretBytes) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  } else {
    ASSIGN_OR_RETURN(keys_, auth::KeyRing::LoadOrCreate(options_.keys_dir));
    ASSIGN_OR_RETURN(loaded->national_key,
                     LoadOrCreateSecret(absl::StrCat(options_.keys_dir, "/national-hash.key")));
  }
  RETURN_IF_ERROR(RetireTokenKeys());
  issuer_ = std::make_unique<auth::TokenIssuer>(keys_.get(), clock_, kAudience,
                                                options_.token_lifetime, revocations_.get());
  verifier_ =
      std::make_unique<auth::TokenVerifier>(keys_.get(), clock_, kAudience, revocations_.get());
  return absl::OkStatus();
}

absl::Status Host::LoadMasterKeys(LoadedKeys* loaded) {
  ASSIGN_OR_RETURN(storage::crypto::MasterKeyRing master_keys,
                   record::RecordServiceImpl::LoadMasterKeys(
                       db_.get(), {.file = options_.master_key_file,
                                   .previous_file = options_.previous_master_key_file,
                                   .keys_dir = options_.keys_dir}));
  // Authenticated access facts: the row MAC key derives from the master keys
  // (current first), then rows written before MACs existed are sealed once.
  std::vector<absl::string_view> mac_keys{master_keys.current().key().bytes()};
  for (const std::string& id : master_keys.previous_ids()) {
    mac_keys.push_back(master_keys.Find(id)->key().bytes());
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const storage::RowMac> row_mac,
                   storage::RowMac::Derive(mac_keys));
  ASSIGN_OR_RETURN(row_mac_binding_, storage::BindRowMac(*db_, std::move(row_mac)));
  RETURN_IF_ERROR(directory::SealExistingRows(*db_));
  RETURN_IF_ERROR(care::store::SealExistingRows(*db_));
  RETURN_IF_ERROR(record::store::SealExistingRows(*db_));
  RETURN_IF_ERROR(partnership::SealExistingRows(*db_));
  loaded->master_keys = std::make_unique<storage::crypto::MasterKeyRing>(std::move(master_keys));
  return absl::OkStatus();
}

absl::Status Host::BuildServices(LoadedKeys loaded) {
  gate_ = std::make_unique<rpc::CallGate>(verifier_.get(), audit_log_.get(), clock_, tls_.get());
  executor_ = std::make_unique<rpc::CallExecutor>(options_.call_workers, options_.call_queue);
  gate_->set_executor(executor_.get());
  // The care records' facts first: the record service decides with them, and
  // CareService (which also needs the records) comes after both.
  care_ledger_ = std::make_unique<care::CareLedger>(db_.get(), clock_, directory_.get(),
                                                    options_.care.self_consent_age, conventions());
  // The record service holds its own copy of the national key; `loaded`
  // wipes this one when it goes.
  record_ = std::make_unique<record::RecordServiceImpl>(
      record::RecordServiceImpl::Options{.national_number_key = loaded.national_key,
                                         .master_keys = std::move(loaded.master_keys),
                                         .retention = options_.retention,
                                         .find_youth_per_hour = options_.find_youth_per_hour,
                                         .erasure_grace_period = options_.erasure_grace_period,
                                         .directory = directory_.get()},
      db_.get(), clock_, gate_.get(), care_ledger_.get());
  care_ = std::make_unique<care::CareServiceImpl>(options_.care, db_.get(), clock_, gate_.get(),
                                                  directory_.get(), care_ledger_.get(),
                                                  record_.get(), conventions(), inbox_store_.get());
  // Handover reasons written in clear before they were sealed: sealed once.
  RETURN_IF_ERROR(care::SealHandoverText(*db_, *record_));
  directory_service_ = std::make_unique<directory::DirectoryServiceImpl>(
      gate_.get(), directory_.get(), db_.get(), revocations_.get(),
      options_.one_time_password_lifetime, care_.get(), clock_);
  partnership_service_ = std::make_unique<partnership::PartnershipServiceImpl>(
      gate_.get(), partnership_store_.get(), db_.get(), directory_.get(), directory_.get(),
      inbox_store_.get());
  partnership_digest_ = std::make_unique<partnership::Digest>(partnership_store_.get());
  inbox_service_ = std::make_unique<inbox::InboxServiceImpl>(
      gate_.get(), inbox_store_.get(), care_.get(), partnership_digest_.get());
  auth_service::AuthServiceImpl::Options auth_options;
  auth_options.session_max_lifetime = options_.session_max_lifetime;
  auth_options.max_concurrent_password_checks = options_.max_concurrent_password_checks;
  auth_options.login_gateways = options_.login_gateways;
  auth_service_ = std::make_unique<auth_service::AuthServiceImpl>(
      directory_.get(), issuer_.get(), verifier_.get(), keys_.get(), audit_log_.get(),
      auth_service::AuthServiceImpl::Sessions{
          .db = db_.get(), .clock = clock_, .revocations = revocations_.get()},
      auth_options, tls_.get());
  RETURN_IF_ERROR(BuildAuditService());
  // Backup copies wait in a private directory beside the database file; a
  // PostgreSQL database has no file here (its backups are the server's own),
  // so the directory sits with the keys.
  const std::string backup_dir =
      storage::IsPostgresUri(options_.db_path)
          ? absl::StrCat(options_.keys_dir.empty() ? "." : options_.keys_dir, "/backup.d")
          : admin::AdminServiceImpl::BackupDirFor(options_.db_path);
  RETURN_IF_ERROR(admin::AdminServiceImpl::PrepareBackupDir(backup_dir));
  admin_service_ =
      std::make_unique<admin::AdminServiceImpl>(db_.get(), gate_.get(), clock_, backup_dir);
  if (options_.diagnostics) {
    diagnostics_ = std::make_unique<diagnostics::DiagnosticsServiceImpl>(gate_.get());
  }
  return absl::OkStatus();
}

absl::Status Host::BuildAuditService() {
  // What was signed is also kept outside the database (the state and witness
  // files, services/audit/witness.h): a rewritten database cannot rewrite them.
  std::string checkpoint_state, witness;
  if (!options_.keys_dir.empty()) {
    checkpoint_state = absl::StrCat(options_.keys_dir, "/audit-checkpoint.state");
    witness = options_.audit_witness_file.empty()
                  ? absl::StrCat(options_.keys_dir, "/audit-witness.jsonl")
                  : options_.audit_witness_file;
  }
  checkpointer_ = std::make_unique<audit::Checkpointer>(
      audit_log_.get(), audit_keys_.get(), clock_,
      audit::Checkpointer::Options{
          .every_events = options_.checkpoint_every_events,
          .every = options_.checkpoint_every,
          .poll_interval = std::min(absl::Seconds(1), options_.checkpoint_every),
          .state_file = checkpoint_state,
          .witness_file = witness});
  audit_service_ = std::make_unique<audit::AuditServiceImpl>(
      audit_log_.get(), gate_.get(), directory_.get(), care_ledger_.get(), care_.get(),
      checkpointer_.get(),
      audit::AuditServiceOptions{.access_report_names_members =
                                     options_.access_report_names_members});
  return absl::OkStatus();
}

absl::Status Host::BuildServer() {
  grpc::EnableDefaultHealthCheckService(true);
  // Reflection answers from the generated descriptor pool: referencing the
  // health schema links it in, so reflection clients can call Health too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (tls_ != nullptr) {
    ASSIGN_OR_RETURN(credentials, tls_->MakeServerCredentials());
  }
  // Before the server: its request log interceptor reports to it.
  metrics_ = std::make_unique<observability::Metrics>();
  grpc::HealthCheckServiceInterface* server_health = nullptr;
  {
    absl::MutexLock lock(&shutdown_mu_);
    ASSIGN_OR_RETURN(server_, NewServer(std::move(credentials), options_.listen_address, &port_));
    server_health = server_->GetHealthCheckService();
  }
  // NOT_SERVING for every service until ready and while the database probe
  // fails (see HealthReporter).
  std::vector<std::string> served;
  for (const ServedService& s : kServedServices) {
    if (Serves(s.name)) served.push_back(s.full_name);
  }
  health_ = std::make_unique<observability::HealthReporter>(
      server_health, std::move(served), [db = db_.get()] { return db->Probe(); },
      options_.health_probe_interval);
  // A checkpointer that refuses to sign (a rewritten or shortened log) takes
  // the audit service out of rotation, visibly, until a head is signed again.
  if (Serves("audit")) {
    health_->AddServiceCheck("relais.v1.AuditService",
                             [cp = checkpointer_.get()] { return !cp->refusing(); });
  }
  health_->Start();
  return absl::OkStatus();
}

void Host::StartMetrics() {
  metrics_->AddGauge("relais_audit_chain_length", "Events in the audit hash chain.",
                     [log = audit_log_.get()]() -> double {
                       absl::StatusOr<audit::ChainHead> head = log->Head();
                       return head.ok() ? static_cast<double>(head->sequence) : -1;
                     });
  metrics_->AddCounter("relais_audit_checkpoint_refusals_total",
                       "Times the audit checkpointer refused to sign the chain head because "
                       "the log does not extend the last checkpoint it signed.",
                       [cp = checkpointer_.get()] { return static_cast<double>(cp->refusals()); });
  metrics_->AddGauge("relais_database_bytes",
                     "Size of the SQLite database file plus its WAL, in bytes.",
                     [db = db_.get()] { return static_cast<double>(db->FileBytes()); });
  // Their ratio is the mean write group: how many calls shared a transaction.
  metrics_->AddCounter("relais_database_writes_total",
                       "Write calls run against the database (each audited access is one).",
                       [db = db_.get()] { return static_cast<double>(db->write_stats().calls); });
  metrics_->AddCounter(
      "relais_database_write_groups_total",
      "Transactions the write calls shared (group commit); writes / groups is the mean group.",
      [db = db_.get()] { return static_cast<double>(db->write_stats().transactions); });
  // Audit timestamps are evidence: checked now and on each sweep (ASVS 7.3.4).
  clock_sync_ = std::make_unique<observability::ClockSyncWatch>();
  clock_sync_->Check();
  metrics_->AddGauge("relais_clock_synchronized",
                     "1 if the kernel reports the system clock synchronized (NTP), else 0.",
                     [w = clock_sync_.get()] { return w->synchronized() ? 1.0 : 0.0; });
  if (options_.metrics_listen.empty()) return;
  // Metrics are not worth refusing calls for: without the endpoint, serve on.
  absl::StatusOr<std::unique_ptr<observability::MetricsHttpServer>> http =
      observability::MetricsHttpServer::Start(options_.metrics_listen,
                                              [m = metrics_.get()] { return m->Render(); });
  if (!http.ok()) {
    common::LogError("metrics endpoint not served", {{"status", http.status().ToString()}});
    return;
  }
  metrics_http_ = *std::move(http);
  common::LogInfo("metrics serving",
                  {{"metrics_address", absl::StrCat("127.0.0.1:", metrics_http_->port())}});
}

void Host::StartBackgroundWork() {
  sweeper_ = std::thread([this] { SweepLoop(); });
  if (Serves("record") && options_.retention.sweep_interval > absl::ZeroDuration()) {
    retention_sweeper_ = std::thread([this] { RetentionLoop(); });
  }
  // Checkpoints are signed where the audit service is served, one instance
  // at a time when several serve it (the log's signer lease).
  if (Serves("audit")) checkpointer_->Start();
  if (options_.ready_on_start) health_->SetReady(true);
}

Host::~Host() { Shutdown(); }

std::string Host::address() const {
  const std::string& listen = options_.listen_address;
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port_);
}

absl::Status Host::RetireTokenKeys() {
  absl::StatusOr<int> retired = keys_->RetireExpired(clock_->Now(), options_.token_lifetime);
  if (!retired.ok()) return retired.status();
  if (*retired > 0) common::LogInfo("token keys retired", {{"count", absl::StrCat(*retired)}});
  return absl::OkStatus();
}

namespace {

// Logs a failed sweep step, or its count when it did something.
void LogSweep(absl::string_view what, const absl::StatusOr<int>& done) {
  if (!done.ok()) {
    common::LogError(absl::StrCat(what, " failed"), {{"status", done.status().ToString()}});
  } else if (*done > 0) {
    common::LogInfo(std::string(what), {{"count", absl::StrCat(*done)}});
  }
}

}  // namespace

void Host::SweepLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.sweep_interval)) {
    clock_sync_->Check();
    // Every process caches unwrapped keys and verifies tokens.
    record_->PurgeExpiredKeys();
    if (absl::Status retired = RetireTokenKeys(); !retired.ok()) {
      common::LogError("token key retirement failed", {{"status", retired.ToString()}});
    }
    if (Serves("care")) LogSweep("care reminders", care_->PostReminders());
    if (Serves("partnership")) {
      LogSweep("partnership reminders", partnership_service_->PostReminders());
    }
    if (Serves("inbox")) LogSweep("inbox pruning", inbox_store_->Prune());
    if (Serves("care")) LogSweep("handover sweep", care_->CompleteDueHandovers());
    // Four-eyes erasures whose grace period has passed. Counts only.
    if (Serves("record")) LogSweep("erasure sweep", record_->ExecuteDueErasures());
    // A rewrite after an erasure that an old snapshot held off.
    if (absl::Status compacted = db_->CompactPending(); !compacted.ok()) {
      common::LogWarning("table rewrite after erasure still pending",
                         {{"status", compacted.ToString()}});
    }
  }
}

// Scheduled retention sweep (docs/retention.md). Logs counts only: never an id,
// a name or content.
void Host::RetentionLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.retention.sweep_interval)) {
    absl::StatusOr<v1::SweepRetentionResponse> r = record_->RunScheduledRetentionSweep();
    if (!r.ok()) {
      common::LogError("retention sweep failed", {{"status", r.status().ToString()}});
      continue;
    }
    common::LogInfo("retention sweep done",
                    {{"youths_erased", absl::StrCat(r->youths_erased())},
                     {"entries_erased", absl::StrCat(r->entries_erased())},
                     {"youths_skipped", absl::StrCat(r->youths_skipped())}});
  }
}

void Host::Shutdown(absl::Duration grace) {
  grpc::Server* server = nullptr;
  std::list<Draining> draining;
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;  // from here on, ReloadTls changes nothing
    server = server_.get();
    draining.splice(draining.end(), draining_);
  }
  if (health_ != nullptr) health_->Stop();
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  const absl::Time deadline = absl::Now() + grace;
  if (server != nullptr) {
    grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
    if (health != nullptr) health->Shutdown();
    // Open Watch streams end at once (OK): their clients resume with a cursor.
    if (inbox_service_ != nullptr) inbox_service_->CloseStreams();
    server->Shutdown(absl::ToChronoTime(deadline));
  }
  // Servers replaced by a TLS reload get the same grace, not the rest of
  // their drain.
  for (Draining& d : draining) {
    absl::Time until = deadline;
    while (!d.done.WaitForNotificationWithDeadline(until)) {
      // Again until its drain ends: a call may have started since.
      grpc_server_cancel_all_calls(d.server->c_server());
      until = absl::Now() + absl::Milliseconds(100);
    }
    d.thread.join();
  }
  draining.clear();
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (sweeper_.joinable()) sweeper_.join();
  if (retention_sweeper_.joinable()) retention_sweeper_.join();
  // Nothing appends any more: sign the tail of the log.
  if (checkpointer_ != nullptr) checkpointer_->Stop();
  // Fold the WAL into the database file so that a stopped relaisd leaves one
  // self-contained file (backups by copy, restores) and no -wal content.
  if (db_ != nullptr) {
    absl::Status checkpoint = db_->Checkpoint();
    if (!checkpoint.ok()) {
      common::LogWarning("wal checkpoint at shutdown failed", {{"status", checkpoint.ToString()}});
    }
  }
  common::LogInfo("relaisd stopped");
}

std::shared_ptr<grpc::Channel> Host::InProcessChannel() {
  absl::MutexLock lock(&shutdown_mu_);
  return server_->InProcessChannel(grpc::ChannelArguments());
}

absl::Status Host::ReloadTls(TlsCredentials tls) {
  if (tls_ == nullptr) {
    return absl::FailedPreconditionError("this server serves plaintext: nothing to reload");
  }
  auto refuse = [](const absl::Status& status) {
    common::LogError("tls material not reloaded; the current one stays",
                     {{"status", status.ToString()}});
    return status;
  };
  // Held throughout: one reload at a time, and none once Shutdown() began.
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return refuse(absl::FailedPreconditionError("relaisd is shutting down"));
  absl::StatusOr<TlsMaterial::Staged> staged = tls_->Stage(std::move(tls));
  if (!staged.ok()) return refuse(staged.status());
  const bool new_server = staged->handshake_changed();
  if (new_server) {
    // A second server on the same port (SO_REUSEPORT) with the new material;
    // new connections reach it once the old one stops listening.
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        tls_->MakeServerCredentials(*staged);
    if (!credentials.ok()) return refuse(credentials.status());
    int port = 0;
    absl::StatusOr<std::unique_ptr<grpc::Server>> server =
        NewServer(*std::move(credentials), address(), &port);
    if (server.ok() && port != port_) {
      (*server)->Shutdown(absl::ToChronoTime(absl::Now()));
      server = absl::InternalError(absl::StrCat("the new server bound port ", port));
    }
    if (!server.ok()) return refuse(server.status());
    tls_->Commit(*std::move(staged));
    health_->Retarget((*server)->GetHealthCheckService());
    std::swap(server_, *server);
    // The old server stops listening before this returns (its listening
    // sockets are shut down inside grpc_server_shutdown_and_notify), so every
    // connection made after the reload meets the new material; connections it
    // had queued but not accepted are reset and their clients reconnect, to
    // the new server. It sends GOAWAY and lets its calls in flight finish.
    Draining& old = draining_.emplace_back();
    old.server = *std::move(server);
    grpc_completion_queue* shutdown_cq = grpc_completion_queue_create_for_next(nullptr);
    grpc_server_shutdown_and_notify(old.server->c_server(), shutdown_cq, &old);
    old.thread = std::thread([&old, shutdown_cq, drain = options_.tls_reload_drain] {
      old.server->Shutdown(absl::ToChronoTime(absl::Now() + drain));
      // The shutdown has ended, so its tag is queued: take it, then the end.
      grpc_completion_queue_shutdown(shutdown_cq);
      while (grpc_completion_queue_next(shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr)
                 .type != GRPC_QUEUE_SHUTDOWN) {
      }
      grpc_completion_queue_destroy(shutdown_cq);
      old.done.Notify();
    });
    // Earlier drains that have ended.
    for (auto it = draining_.begin(); it != draining_.end();) {
      if (!it->done.HasBeenNotified()) {
        ++it;
        continue;
      }
      it->thread.join();
      it = draining_.erase(it);
    }
  } else {
    tls_->Commit(*std::move(staged));
  }
  common::LogInfo("tls material reloaded",
                  {{"revoked_certificates", absl::StrCat(tls_->revoked_count())},
                   {"certificate_key_client_ca", new_server ? "replaced" : "unchanged"}});
  return absl::OkStatus();
}

void Host::SetReady(bool ready) {
  if (health_ != nullptr) health_->SetReady(ready);
}

bool Host::serving() const { return health_ != nullptr && health_->serving(); }

bool Host::serving(const std::string& service) const {
  return health_ != nullptr && health_->serving(service);
}

void Host::Wait() { stop_.WaitForNotification(); }

}  // namespace relais::host
