#ifndef RELAIS_SERVICES_HOST_HOST_H_
#define RELAIS_SERVICES_HOST_HOST_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "services/audit/audit_log.h"
#include "services/audit/audit_service.h"
#include "services/auth/auth_service.h"
#include "services/care/care_service.h"
#include "services/common/rpc.h"
#include "services/directory/directory_service.h"
#include "services/directory/directory_store.h"
#include "services/record/record_service.h"
#include "storage/database.h"

namespace relais::host {

struct HostOptions {
  // The SQLite file (created if missing).
  std::string db_path;
  // Holds the token signing keys and the national-number hash key (0600 files).
  // Empty: keys live in memory only (tests).
  std::string keys_dir;
  // host:port; port 0 picks a free one (tests).
  std::string listen_address = "127.0.0.1:0";
  // Not owned; must outlive the host. Null means the wall clock.
  const common::Clock* clock = nullptr;
  care::CareServiceImpl::Options care;
  auth::ScryptParams scrypt;
  absl::Duration token_lifetime = absl::Minutes(15);
  // How often accepted handovers whose window has closed are completed.
  absl::Duration sweep_interval = absl::Minutes(1);
  // Largest request accepted, in bytes.
  int max_message_bytes = 1 << 20;
};

// relaisd in one object: the database, every service wired in-process, and the
// gRPC server with health checking and reflection. Thread-safe after Start().
class Host {
 public:
  static absl::StatusOr<std::unique_ptr<Host>> Start(HostOptions options);
  ~Host();

  // Stops accepting calls, lets in-flight ones finish (up to `grace`), stops the
  // sweeper. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  // Blocks until Shutdown() is called from another thread.
  void Wait();

  int port() const { return port_; }
  // A channel to this server that does not leave the process.
  std::shared_ptr<grpc::Channel> InProcessChannel();
  std::string address() const;

  storage::Database& db() { return *db_; }
  audit::AuditLog& audit() { return *audit_log_; }
  directory::DirectoryStore& directory() { return *directory_; }
  care::CareServiceImpl& care() { return *care_; }
  const auth::TokenIssuer& issuer() const { return *issuer_; }
  auth::KeyRing& keys() { return *keys_; }

 private:
  Host() = default;
  void SweepLoop();

  HostOptions options_;
  const common::Clock* clock_ = nullptr;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<auth::KeyRing> keys_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<rpc::CallGate> gate_;
  std::unique_ptr<directory::DirectoryStore> directory_;
  std::unique_ptr<record::RecordServiceImpl> record_;
  std::unique_ptr<care::CareServiceImpl> care_;
  std::unique_ptr<directory::DirectoryServiceImpl> directory_service_;
  std::unique_ptr<auth_service::AuthServiceImpl> auth_service_;
  std::unique_ptr<audit::AuditServiceImpl> audit_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread sweeper_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_HOST_H_
