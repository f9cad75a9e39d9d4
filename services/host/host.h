#ifndef RELAIS_SERVICES_HOST_HOST_H_
#define RELAIS_SERVICES_HOST_HOST_H_

#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "observability/clock_sync.h"
#include "observability/health.h"
#include "observability/metrics.h"
#include "services/admin/admin_service.h"
#include "services/audit/audit_log.h"
#include "services/audit/audit_service.h"
#include "services/audit/checkpointer.h"
#include "services/auth/auth_service.h"
#include "services/auth_store/revocation_store.h"
#include "services/care/care_service.h"
#include "services/common/call_executor.h"
#include "services/common/rpc.h"
#include "services/diagnostics/diagnostics_service.h"
#include "services/directory/directory_service.h"
#include "services/directory/directory_store.h"
#include "services/host/malformed_request.h"
#include "services/host/tls_credentials.h"
#include "services/host/tls_material.h"
#include "services/inbox/inbox_service.h"
#include "services/inbox/inbox_store.h"
#include "services/partnership/partnership_digest.h"
#include "services/partnership/partnership_service.h"
#include "services/partnership/partnership_store.h"
#include "services/record/record_service.h"
#include "services/record/retention_policy.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::host {

// The gRPC services relaisd serves: the name --services takes, and the full
// name clients, health checks and reflection use.
struct ServedService {
  const char* name;
  const char* full_name;
};
inline constexpr ServedService kServedServices[] = {
    {"directory", "relais.v1.DirectoryService"},
    {"auth", "relais.v1.AuthService"},
    {"record", "relais.v1.RecordService"},
    {"care", "relais.v1.CareService"},
    {"partnership", "relais.v1.PartnershipService"},
    {"inbox", "relais.v1.InboxService"},
    {"audit", "relais.v1.AuditService"},
    {"admin", "relais.v1.AdminService"},
};

// OK if `services` names each service of kServedServices at most once;
// otherwise INVALID_ARGUMENT naming the first unknown or repeated name.
absl::Status CheckServiceNames(const std::vector<std::string>& services);

struct HostOptions {
  // The SQLite file (created if missing).
  std::string db_path;
  // A registered SQLite VFS to open it through (tests: storage::FaultVfs);
  // empty: the default. How long a write waits for a lock held elsewhere.
  std::string db_vfs{};
  absl::Duration db_busy_timeout = absl::Seconds(5);
  // Group commit of concurrent writes (storage::Database::Options).
  bool db_group_commit = true;
  // Threads that run handler bodies, and calls that may wait for one before
  // new ones are refused RESOURCE_EXHAUSTED (rpc::CallExecutor). Threads, not
  // cores: a handler mostly waits on SQLite, and a commit group is at most as
  // large as the number of handlers writing at once.
  int call_workers = 64;
  int call_queue = 1024;
  // Holds the token signing keys and the national-number hash key (0600 files).
  // Empty: keys live in memory only (tests).
  std::string keys_dir;
  // Encryption at rest (docs/security.md): the master key file (0600), else
  // $RELAIS_MASTER_KEY, else <keys_dir>/master.key (created while the database
  // holds no data key), else (keys_dir empty) an in-memory key.
  std::string master_key_file;
  // During a master key rotation: the old master key, which then only unwraps.
  std::string previous_master_key_file;
  // host:port; port 0 picks a free one (tests).
  std::string listen_address = "127.0.0.1:0";
  // Mutual TLS (TLS 1.3, client certificate required and verified against
  // tls.client_ca_pem). All empty: plaintext, for tests and relaisd
  // --insecure_dev, which main() allows on loopback only.
  TlsCredentials tls;
  // After a TLS reload with a new certificate, key or client CA, the old
  // server finishes its calls in flight for up to this long, then cancels them.
  absl::Duration tls_reload_drain = absl::Minutes(5);
  // Not owned; must outlive the host. Null means the wall clock.
  const common::Clock* clock = nullptr;
  care::CareServiceImpl::Options care;
  auth::ScryptParams scrypt;
  absl::Duration token_lifetime = absl::Minutes(15);
  // Refresh refuses once this long has passed since the member last gave
  // their password (config auth.session_max_lifetime).
  absl::Duration session_max_lifetime = absl::Hours(12);
  // scrypt computations at once for logins; 0: 2 x cores
  // (config auth.max_concurrent_password_checks).
  int max_concurrent_password_checks = 0;
  // Services trusted to name the address of who logs in through them
  // (config auth.login_gateways; AuthServiceImpl::Options).
  std::vector<std::string> login_gateways;
  // How long a one-time password (AddMember, ResetPassword) stays valid
  // (config auth.one_time_password_lifetime).
  absl::Duration one_time_password_lifetime = directory::kDefaultOneTimePasswordLifetime;
  // How often accepted handovers whose window has closed are completed (and
  // approved erasures whose grace period has passed are executed).
  absl::Duration sweep_interval = absl::Minutes(1);
  // Four-eyes erasure: from an approval to the erasure (config
  // record.erasure_grace_period); zero erases right after the approval.
  absl::Duration erasure_grace_period = absl::Hours(24 * 7);
  // Per-category retention periods and how often the retention sweep runs
  // (docs/retention.md); zero sweep_interval disables the scheduled sweep.
  record::RetentionPolicy retention = record::RetentionPolicy::Defaults();
  // Largest request accepted, in bytes.
  int max_message_bytes = 1 << 20;
  // Signed audit checkpoints: once this many events are unsigned, or the
  // last checkpoint is this old (by `clock`); also on shutdown and for each
  // export. Signed with the audit key in <keys_dir>/audit/ (in memory when
  // keys_dir is empty), never with a token key.
  int64_t checkpoint_every_events = 100;
  absl::Duration checkpoint_every = absl::Seconds(60);
  // Every signed checkpoint is appended here, one JSON line each, for the
  // operator to ship off the host (config audit.witness_file). Empty:
  // <keys_dir>/audit-witness.jsonl; none when keys_dir is empty. The last
  // checkpoint signed is kept in <keys_dir>/audit-checkpoint.state.
  std::string audit_witness_file{};
  // grpc.health.v1: every service is NOT_SERVING until the host is ready and
  // while the database probe (Database::Probe) fails. With ready_on_start
  // false the host reports NOT_SERVING until SetReady(true) (relaisd: after
  // loading the demo data).
  bool ready_on_start = true;
  absl::Duration health_probe_interval = absl::Seconds(5);
  // Prometheus text endpoint (GET /metrics), loopback only; "" disables it,
  // port 0 picks one (tests). If it cannot bind, relaisd logs an error and
  // serves without it: metrics are not worth refusing calls for.
  std::string metrics_listen{};
  // Access reports name the member behind each access (default: services and
  // roles only). relaisd --access_report_names_members.
  bool access_report_names_members = false;
  // FindYouth look-ups per member in any sliding hour (RecordServiceImpl::Options).
  // relaisd --find_youth_per_hour, config record.find_youth_per_hour.
  int find_youth_per_hour = 20;
  // Serves DiagnosticsService (Echo, the load driver's baseline). relaisd
  // --diagnostics; off by default.
  bool diagnostics = false;
  // The services this process serves, by kServedServices names; empty: all
  // (docs/deployment.md, "Services apart"). Every process opens the same
  // database and reads the facts its services decide on there, through the
  // same stores as when all run together. Each background task runs only
  // where its service is served: the care sweeps with care, erasures and
  // retention with record, inbox pruning with inbox, checkpoints with audit.
  std::vector<std::string> services{};
};

// relaisd in one object: the database, every service wired in-process, and the
// gRPC server with health checking and reflection. Thread-safe after Start().
class Host {
 public:
  static absl::StatusOr<std::unique_ptr<Host>> Start(HostOptions options);
  ~Host();

  // Stops accepting calls, lets in-flight ones finish (up to `grace`, servers
  // still draining after a TLS reload too), stops the sweeper. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  // Blocks until Shutdown() has stopped the server (called from another thread).
  void Wait();

  // Health: see HostOptions::ready_on_start.
  void SetReady(bool ready);
  // True if this process serves `name` (a kServedServices name).
  bool Serves(absl::string_view name) const;
  // True while grpc.health.v1 reports SERVING.
  bool serving() const;
  // The same for one service, e.g. "relais.v1.AuditService" (NOT_SERVING
  // while the audit checkpointer refuses to sign).
  bool serving(const std::string& service) const;
  // Request counts, latencies and access decisions (fed by the request log
  // interceptor), audit chain length, database size.
  observability::Metrics& metrics() { return *metrics_; }
  // The metrics endpoint's port; 0 when it is not served.
  int metrics_port() const { return metrics_http_ != nullptr ? metrics_http_->port() : 0; }

  int port() const { return port_; }
  // A channel to the current server that does not leave the process (after a
  // TLS reload, one to the old server ends with its drain).
  std::shared_ptr<grpc::Channel> InProcessChannel();
  std::string address() const;

  storage::Database& db() { return *db_; }
  // HostOptions::clock, or the wall clock.
  const common::Clock& clock() const { return *clock_; }
  audit::AuditLog& audit() { return *audit_log_; }
  directory::DirectoryStore& directory() { return *directory_; }
  care::CareServiceImpl& care() { return *care_; }
  partnership::PartnershipServiceImpl& partnership_service() { return *partnership_service_; }
  record::RecordServiceImpl& record() { return *record_; }
  // The partnership conventions' terms, for the care service.
  const partnership::ConventionBook* conventions() const { return partnership_store_.get(); }
  partnership::PartnershipStore& partnership() { return *partnership_store_; }
  // The care records' facts the access rule is decided on.
  const access::CareFacts& care_facts() const { return *care_ledger_; }
  const auth::TokenIssuer& issuer() const { return *issuer_; }
  auth::KeyRing& keys() { return *keys_; }
  // Drops token keys whose last token has expired (at start, then each sweep).
  absl::Status RetireTokenKeys();
  auth::KeyRing& audit_keys() { return *audit_keys_; }
  audit::Checkpointer& checkpointer() { return *checkpointer_; }

  // Replaces the TLS material (SIGHUP in relaisd): the next call on every
  // connection is checked against the new CRL. A new certificate, key or
  // client CA is served by a new server on the same port (SO_REUSEPORT), TLS
  // 1.3 only with a verified client certificate as before; the old server
  // has stopped listening when this returns (every later connection meets the
  // new material), sends GOAWAY and drains (HostOptions::tls_reload_drain).
  // On error (bad material, the port not bindable) the current material and
  // server stay. FAILED_PRECONDITION on a plaintext server or after Shutdown().
  absl::Status ReloadTls(TlsCredentials tls);

 private:
  // A server replaced by ReloadTls, finishing its calls in flight.
  struct Draining {
    std::unique_ptr<grpc::Server> server;
    absl::Notification done;
    std::thread thread;
  };

  // The keys the services are built with, wiped when dropped (host.cc).
  struct LoadedKeys;

  Host() = default;
  // Start-up, step by step, in this order (Start() reads as the list). Each
  // step sets the members it names; an error leaves the host to be destroyed.
  // The database, the audit log and every store's tables.
  absl::Status OpenStorage();
  // Token signing keys (issuer, verifier), TLS material, the national-number
  // hash key, the master keys (and the row MAC key bound to the database,
  // with old rows sealed once), the audit signing key.
  absl::StatusOr<LoadedKeys> LoadKeys(TlsCredentials tls);
  absl::Status LoadTokenKeys(LoadedKeys* loaded);
  absl::Status LoadMasterKeys(LoadedKeys* loaded);
  // The call gate and the six gRPC services over the stores.
  absl::Status BuildServices(LoadedKeys loaded);
  absl::Status BuildAuditService();
  // The gRPC server (health checking, reflection, the request log feeding
  // metrics_) on the listen address, and the health reporter.
  absl::Status BuildServer();
  // The gauges, the clock-sync watch and the metrics endpoint (one that
  // cannot bind is logged and left out).
  void StartMetrics();
  // The sweeper threads and the checkpointer; SERVING if ready_on_start.
  void StartBackgroundWork();
  // A started server with every service, on `address` (port 0: any; the port
  // bound is stored in *port).
  absl::StatusOr<std::unique_ptr<grpc::Server>> NewServer(
      std::shared_ptr<grpc::ServerCredentials> credentials, const std::string& address, int* port);
  void SweepLoop();
  void RetentionLoop();

  HostOptions options_;
  const common::Clock* clock_ = nullptr;
  std::unique_ptr<storage::Database> db_;
  // The row MAC key bound to db_ (storage/row_mac.h); released before db_.
  std::unique_ptr<storage::RowMacBinding> row_mac_binding_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<auth::KeyRing> keys_;
  std::unique_ptr<auth_store::RevocationStore> revocations_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<TlsMaterial> tls_;  // null on plaintext
  std::unique_ptr<rpc::CallGate> gate_;
  std::unique_ptr<directory::DirectoryStore> directory_;
  std::unique_ptr<care::CareLedger> care_ledger_;
  std::unique_ptr<record::RecordServiceImpl> record_;
  std::unique_ptr<care::CareServiceImpl> care_;
  std::unique_ptr<directory::DirectoryServiceImpl> directory_service_;
  std::unique_ptr<partnership::PartnershipStore> partnership_store_;
  std::unique_ptr<partnership::PartnershipServiceImpl> partnership_service_;
  std::unique_ptr<inbox::InboxStore> inbox_store_;
  std::unique_ptr<partnership::Digest> partnership_digest_;
  std::unique_ptr<inbox::InboxServiceImpl> inbox_service_;
  std::unique_ptr<auth_service::AuthServiceImpl> auth_service_;
  // Before audit_service_, which uses it, so it is destroyed after it.
  std::unique_ptr<auth::KeyRing> audit_keys_;
  std::unique_ptr<audit::Checkpointer> checkpointer_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<admin::AdminServiceImpl> admin_service_;
  std::unique_ptr<diagnostics::DiagnosticsServiceImpl> diagnostics_;  // null unless asked for
  // After the services its tasks use, so it is joined before they go.
  std::unique_ptr<rpc::CallExecutor> executor_;
  // Before metrics_, whose gauge reads it.
  std::unique_ptr<observability::ClockSyncWatch> clock_sync_;
  // Before server_: its interceptors report to it until the server is gone.
  std::unique_ptr<observability::Metrics> metrics_;
  // Guards the server swap (ReloadTls) against Shutdown() and readers.
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(shutdown_mu_);
  // Servers replaced by ReloadTls until their drain ends.
  std::list<Draining> draining_ ABSL_GUARDED_BY(shutdown_mu_);
  std::unique_ptr<observability::MetricsHttpServer> metrics_http_;
  // After server_: it publishes to the server's health service.
  std::unique_ptr<observability::HealthReporter> health_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread sweeper_;
  std::thread retention_sweeper_;  // only while retention.sweep_interval > 0
};

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_HOST_H_
