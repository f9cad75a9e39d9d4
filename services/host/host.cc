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

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/trusted_file.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/handover_text.h"
#include "services/record/record_store.h"
#include "storage/row_mac.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpc/health/v1/health.pb.h"

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

// The row MAC key bound to each live host's database. Kept here rather than
// as a Host member so that host.h (which every integration test includes)
// stays as it is; released when the host goes.
class BindingTable {
 public:
  void Put(const Host* host, std::unique_ptr<storage::RowMacBinding> binding) {
    absl::MutexLock lock(&mu_);
    bindings_[host] = std::move(binding);
  }
  void Drop(const Host* host) {
    std::unique_ptr<storage::RowMacBinding> gone;
    absl::MutexLock lock(&mu_);
    auto it = bindings_.find(host);
    if (it == bindings_.end()) return;
    gone = std::move(it->second);
    bindings_.erase(it);
  }

 private:
  absl::Mutex mu_;
  std::map<const Host*, std::unique_ptr<storage::RowMacBinding>> bindings_ ABSL_GUARDED_BY(mu_);
};

BindingTable& RowMacBindings() {
  static BindingTable* table = new BindingTable();
  return *table;
}

}  // namespace

absl::StatusOr<std::unique_ptr<grpc::Server>> Host::BuildServer(
    std::shared_ptr<grpc::ServerCredentials> credentials, const std::string& address,
    int* port) {
  grpc::ServerBuilder builder;
  // One JSON log line per RPC, feeding the metrics as well.
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    // First, so that the request log and metrics see the status it sets.
    creators.push_back(
        std::make_unique<MalformedRequestFactory>(verifier_.get(), audit_log_.get()));
    creators.push_back(std::make_unique<RequestLogFactory>(metrics_.get()));
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
  builder.RegisterService(directory_service_.get());
  builder.RegisterService(auth_service_.get());
  builder.RegisterService(record_.get());
  builder.RegisterService(care_.get());
  builder.RegisterService(audit_service_.get());
  builder.RegisterService(admin_service_.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  return server;
}

absl::StatusOr<std::unique_ptr<Host>> Host::Start(HostOptions options) {
  auto host = absl::WrapUnique(new Host());
  host->options_ = options;
  host->clock_ = options.clock != nullptr ? options.clock : &common::RealClock();
  ASSIGN_OR_RETURN(host->db_, storage::Database::Open({.path = options.db_path,
                                                       .busy_timeout = options.db_busy_timeout,
                                                       .vfs = options.db_vfs}));
  ASSIGN_OR_RETURN(host->audit_log_, audit::AuditLog::Create(host->db_.get(), host->clock_));

  std::string national_key;
  if (options.keys_dir.empty()) {
    host->keys_ = auth::KeyRing::InMemory();
    national_key.assign(kSecretBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(national_key.data()), kSecretBytes) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  } else {
    ASSIGN_OR_RETURN(host->keys_, auth::KeyRing::LoadOrCreate(options.keys_dir));
    ASSIGN_OR_RETURN(national_key,
                     LoadOrCreateSecret(absl::StrCat(options.keys_dir, "/national-hash.key")));
  }
  // Server-side revocation (Logout, Refresh rotation, revoke-all on member
  // changes): every token verification reads it.
  ASSIGN_OR_RETURN(host->revocations_,
                   auth_store::RevocationStore::Create(host->db_.get(), host->clock_));
  RETURN_IF_ERROR(host->RetireTokenKeys());
  host->issuer_ = std::make_unique<auth::TokenIssuer>(host->keys_.get(), host->clock_, kAudience,
                                                      options.token_lifetime,
                                                      host->revocations_.get());
  host->verifier_ = std::make_unique<auth::TokenVerifier>(host->keys_.get(), host->clock_,
                                                          kAudience, host->revocations_.get());
  if (options.tls.enabled()) {
    ASSIGN_OR_RETURN(host->tls_, TlsMaterial::Create(std::move(options.tls), host->clock_));
  }
  // The material holds the key from here on; no other copy stays behind.
  OPENSSL_cleanse(host->options_.tls.server_key_pem.data(),
                  host->options_.tls.server_key_pem.size());
  host->options_.tls = TlsCredentials();
  host->gate_ = std::make_unique<rpc::CallGate>(host->verifier_.get(), host->audit_log_.get(),
                                                host->clock_, host->tls_.get());

  ASSIGN_OR_RETURN(host->directory_,
                   directory::DirectoryStore::Create(host->db_.get(), host->clock_,
                                                     {.scrypt = options.scrypt}));
  RETURN_IF_ERROR(options.retention.Validate());
  if (options.erasure_grace_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("erasure_grace_period must not be negative");
  }
  RETURN_IF_ERROR(record::RecordServiceImpl::Migrate(host->db_.get()));
  RETURN_IF_ERROR(care::CareServiceImpl::Migrate(host->db_.get()));
  ASSIGN_OR_RETURN(storage::crypto::MasterKeyRing master_keys,
                   record::RecordServiceImpl::LoadMasterKeys(
                       host->db_.get(), {.file = options.master_key_file,
                                         .previous_file = options.previous_master_key_file,
                                         .keys_dir = options.keys_dir}));
  // Authenticated access facts: the row MAC key derives from the master keys
  // (current first), then rows written before MACs existed are sealed once.
  {
    std::vector<absl::string_view> mac_keys{master_keys.current().key().bytes()};
    for (const std::string& id : master_keys.previous_ids()) {
      mac_keys.push_back(master_keys.Find(id)->key().bytes());
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const storage::RowMac> row_mac,
                     storage::RowMac::Derive(mac_keys));
    ASSIGN_OR_RETURN(std::unique_ptr<storage::RowMacBinding> binding,
                     storage::BindRowMac(*host->db_, std::move(row_mac)));
    RowMacBindings().Put(host.get(), std::move(binding));
    RETURN_IF_ERROR(directory::SealExistingRows(*host->db_));
    RETURN_IF_ERROR(care::store::SealExistingRows(*host->db_));
    RETURN_IF_ERROR(record::store::SealExistingRows(*host->db_));
  }
  // The care records' facts first: the record service decides with them, and
  // CareService (which also needs the records) comes after both.
  host->care_ledger_ = std::make_unique<care::CareLedger>(
      host->db_.get(), host->clock_, host->directory_.get(), options.care.self_consent_age);
  host->record_ = std::make_unique<record::RecordServiceImpl>(
      record::RecordServiceImpl::Options{
          .national_number_key = national_key,
          .master_keys = std::make_unique<storage::crypto::MasterKeyRing>(std::move(master_keys)),
          .retention = options.retention,
          .find_youth_per_hour = options.find_youth_per_hour,
          .erasure_grace_period = options.erasure_grace_period,
          .directory = host->directory_.get()},
      host->db_.get(), host->clock_, host->gate_.get(), host->care_ledger_.get());
  // The record service holds its own copy; this one is not needed any more.
  OPENSSL_cleanse(national_key.data(), national_key.size());
  host->care_ = std::make_unique<care::CareServiceImpl>(
      options.care, host->db_.get(), host->clock_, host->gate_.get(), host->directory_.get(),
      host->care_ledger_.get(), host->record_.get());
  if (options.one_time_password_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("one_time_password_lifetime must be positive");
  }
  // Handover reasons written in clear before they were sealed: sealed once.
  RETURN_IF_ERROR(care::SealHandoverText(*host->db_, *host->record_));
  host->directory_service_ = std::make_unique<directory::DirectoryServiceImpl>(
      host->gate_.get(), host->directory_.get(), host->db_.get(), host->revocations_.get(),
      options.one_time_password_lifetime);
  auth_service::AuthServiceImpl::Options auth_options;
  auth_options.session_max_lifetime = options.session_max_lifetime;
  auth_options.max_concurrent_password_checks = options.max_concurrent_password_checks;
  host->auth_service_ = std::make_unique<auth_service::AuthServiceImpl>(
      host->directory_.get(), host->issuer_.get(), host->verifier_.get(), host->keys_.get(),
      host->audit_log_.get(),
      auth_service::AuthServiceImpl::Sessions{.db = host->db_.get(),
                                              .clock = host->clock_,
                                              .revocations = host->revocations_.get()},
      auth_options, host->tls_.get());
  // The audit signing key lives apart from the token keys (a subdirectory the
  // token ring ignores), so auditors are handed only the audit public key.
  if (options.keys_dir.empty()) {
    host->audit_keys_ = auth::KeyRing::InMemory();
  } else {
    ASSIGN_OR_RETURN(host->audit_keys_,
                     auth::KeyRing::LoadOrCreate(absl::StrCat(options.keys_dir, "/audit")));
  }
  if (options.checkpoint_every_events < 1 || options.checkpoint_every <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("audit checkpoint intervals must be positive");
  }
  // What was signed is also kept outside the database (the state and witness
  // files, services/audit/witness.h): a rewritten database cannot rewrite them.
  std::string checkpoint_state, witness;
  if (!options.keys_dir.empty()) {
    checkpoint_state = absl::StrCat(options.keys_dir, "/audit-checkpoint.state");
    witness = options.audit_witness_file.empty()
                  ? absl::StrCat(options.keys_dir, "/audit-witness.jsonl")
                  : options.audit_witness_file;
  }
  host->checkpointer_ = std::make_unique<audit::Checkpointer>(
      host->audit_log_.get(), host->audit_keys_.get(), host->clock_,
      audit::Checkpointer::Options{
          .every_events = options.checkpoint_every_events,
          .every = options.checkpoint_every,
          .poll_interval = std::min(absl::Seconds(1), options.checkpoint_every),
          .state_file = checkpoint_state,
          .witness_file = witness});
  host->audit_service_ = std::make_unique<audit::AuditServiceImpl>(
      host->audit_log_.get(), host->gate_.get(), host->directory_.get(), host->care_ledger_.get(),
      host->care_.get(), host->checkpointer_.get(),
      audit::AuditServiceOptions{.access_report_names_members =
                                     options.access_report_names_members});

  // Backup copies wait in a private directory beside the database.
  const std::string backup_dir = admin::AdminServiceImpl::BackupDirFor(options.db_path);
  RETURN_IF_ERROR(admin::AdminServiceImpl::PrepareBackupDir(backup_dir));
  host->admin_service_ = std::make_unique<admin::AdminServiceImpl>(
      host->db_.get(), host->gate_.get(), host->clock_, backup_dir);

  grpc::EnableDefaultHealthCheckService(true);
  // Reflection answers from the generated descriptor pool: referencing the
  // health schema links it in, so reflection clients can call Health too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (host->tls_ != nullptr) {
    ASSIGN_OR_RETURN(credentials, host->tls_->MakeServerCredentials());
  }
  host->metrics_ = std::make_unique<Metrics>();
  grpc::HealthCheckServiceInterface* server_health = nullptr;
  {
    absl::MutexLock lock(&host->shutdown_mu_);
    ASSIGN_OR_RETURN(host->server_,
                     host->BuildServer(std::move(credentials), options.listen_address,
                                       &host->port_));
    server_health = host->server_->GetHealthCheckService();
  }
  // NOT_SERVING for every service until ready and while the database probe
  // fails (see HealthReporter).
  host->health_ = std::make_unique<HealthReporter>(
      server_health,
      std::vector<std::string>{"relais.v1.DirectoryService", "relais.v1.AuthService",
                               "relais.v1.RecordService", "relais.v1.CareService",
                               "relais.v1.AuditService", "relais.v1.AdminService"},
      [db = host->db_.get()] { return db->Probe(); }, options.health_probe_interval);
  // A checkpointer that refuses to sign (a rewritten or shortened log) takes
  // the audit service out of rotation, visibly, until a head is signed again.
  host->health_->AddServiceCheck("relais.v1.AuditService",
                                 [cp = host->checkpointer_.get()] { return !cp->refusing(); });
  host->health_->Start();
  host->metrics_->AddGauge("relais_audit_chain_length", "Events in the audit hash chain.",
                           [log = host->audit_log_.get()]() -> double {
                             absl::StatusOr<audit::ChainHead> head = log->Head();
                             return head.ok() ? static_cast<double>(head->sequence) : -1;
                           });
  host->metrics_->AddCounter("relais_audit_checkpoint_refusals_total",
                             "Times the audit checkpointer refused to sign the chain head because "
                             "the log does not extend the last checkpoint it signed.",
                             [cp = host->checkpointer_.get()] {
                               return static_cast<double>(cp->refusals());
                             });
  host->metrics_->AddGauge("relais_database_bytes",
                           "Size of the SQLite database file plus its WAL, in bytes.",
                           [db = host->db_.get()] { return static_cast<double>(db->FileBytes()); });
  // Audit timestamps are evidence: checked now and on each sweep (ASVS 7.3.4).
  host->clock_sync_ = std::make_unique<ClockSyncWatch>();
  host->clock_sync_->Check();
  host->metrics_->AddGauge("relais_clock_synchronized",
                           "1 if the kernel reports the system clock synchronized (NTP), else 0.",
                           [w = host->clock_sync_.get()] { return w->synchronized() ? 1.0 : 0.0; });
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http = MetricsHttpServer::Start(
        options.metrics_listen, [m = host->metrics_.get()] { return m->Render(); });
    if (http.ok()) {
      host->metrics_http_ = *std::move(http);
      common::LogInfo("metrics serving",
                      {{"metrics_address",
                        absl::StrCat("127.0.0.1:", host->metrics_http_->port())}});
    } else {
      common::LogError("metrics endpoint not served", {{"status", http.status().ToString()}});
    }
  }
  host->sweeper_ = std::thread([h = host.get()] { h->SweepLoop(); });
  if (options.retention.sweep_interval > absl::ZeroDuration()) {
    host->retention_sweeper_ = std::thread([h = host.get()] { h->RetentionLoop(); });
  }
  host->checkpointer_->Start();
  if (options.ready_on_start) host->health_->SetReady(true);
  common::LogInfo("relaisd serving",
                  {{"address", host->address()},
                   {"transport", host->tls_ != nullptr ? "mtls" : "plaintext"}});
  return host;
}

Host::~Host() {
  Shutdown();
  RowMacBindings().Drop(this);
}

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

void Host::SweepLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.sweep_interval)) {
    clock_sync_->Check();
    record_->PurgeExpiredKeys();
    if (absl::Status retired = RetireTokenKeys(); !retired.ok()) {
      common::LogError("token key retirement failed", {{"status", retired.ToString()}});
    }
    absl::StatusOr<int> n = care_->CompleteDueHandovers();
    if (!n.ok()) {
      common::LogError("handover sweep failed", {{"status", n.status().ToString()}});
    } else if (*n > 0) {
      common::LogInfo("handovers completed", {{"count", absl::StrCat(*n)}});
    }
    // Four-eyes erasures whose grace period has passed. Counts only.
    absl::StatusOr<int> erased = record_->ExecuteDueErasures();
    if (!erased.ok()) {
      common::LogError("erasure sweep failed", {{"status", erased.status().ToString()}});
    } else if (*erased > 0) {
      common::LogInfo("erasures executed", {{"count", absl::StrCat(*erased)}});
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
      common::LogWarning("wal checkpoint at shutdown failed",
                         {{"status", checkpoint.ToString()}});
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
        BuildServer(*std::move(credentials), address(), &port);
    if (server.ok() && port != port_) {
      (*server)->Shutdown(absl::ToChronoTime(absl::Now()));
      server = absl::InternalError(absl::StrCat("the new server bound port ", port));
    }
    if (!server.ok()) return refuse(server.status());
    tls_->Commit(*std::move(staged));
    health_->Retarget((*server)->GetHealthCheckService());
    std::swap(server_, *server);
    // The old server stops listening, sends GOAWAY and lets its calls in
    // flight finish; connections it had queued but not accepted are reset
    // and their clients reconnect, to the new server.
    Draining& old = draining_.emplace_back();
    old.server = *std::move(server);
    old.thread = std::thread([&old, drain = options_.tls_reload_drain] {
      old.server->Shutdown(absl::ToChronoTime(absl::Now() + drain));
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
