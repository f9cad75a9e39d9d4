#ifndef RELAIS_TESTS_TEST_ENV_H_
#define RELAIS_TESTS_TEST_ENV_H_

// A real relaisd (services::host::Host) on a fresh SQLite file and a loopback
// port, with a fake clock and a small directory: what the integration tests
// drive through generated gRPC stubs.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/directory.grpc.pb.h"
#include "relais/v1/inbox.grpc.pb.h"
#include "relais/v1/partnership.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/host/host.h"

namespace relais::testing {

// 2026-11-25 09:00 UTC: a fixed "now" so ages and windows are reproducible.
absl::Time TestEpoch();

// A unique path under the test temp dir.
std::string FreshPath(absl::string_view stem);

// The member logins the environment creates.
inline constexpr char kAmoCaseworker[] = "amo.camille";
inline constexpr char kAmoCoordinator[] = "amo.coord";
inline constexpr char kSajCaseworker[] = "saj.sam";
inline constexpr char kSajCoordinator[] = "saj.coord";
inline constexpr char kPmsCaseworker[] = "pms.pauline";
inline constexpr char kAuditor[] = "dpo";
inline constexpr char kAdmin[] = "admin";
inline constexpr char kPassword[] = "correct horse battery";

// The service ids StartTls() seeds, by service key.
inline constexpr std::pair<const char*, const char*> kTlsServiceIds[] = {
    {"amo", "svc_amo_charleroi"},
    {"saj", "svc_saj_charleroi"},
    {"pms", "svc_pms_charleroi"},
    {"agaj", "svc_agaj"},
};

class RelaisEnv {
 public:
  // Starts a server on `db_path` (fresh if empty). With `seed`, creates the AMO,
  // SAJ and PMS services and their members (skip it when reopening a database).
  static std::unique_ptr<RelaisEnv> Start(std::string db_path = "", bool seed = true,
                                          std::string keys_dir = "");
  // Like Start(), with the master key files of the encryption at rest
  // (HostOptions::master_key_file and previous_master_key_file).
  static std::unique_ptr<RelaisEnv> StartWithMasterKeys(std::string db_path, bool seed,
                                                        std::string keys_dir,
                                                        std::string master_key_file,
                                                        std::string previous_master_key_file = "");
  // Like Start() on a fresh database opened through the SQLite VFS `vfs` (a
  // registered storage::FaultVfs, for fault injection), whose writes wait at
  // most `busy_timeout` for a lock held elsewhere.
  static std::unique_ptr<RelaisEnv> StartOnVfs(std::string vfs, absl::Duration busy_timeout);
  // Like Start() on a fresh database, with access reports naming members
  // (HostOptions::access_report_names_members).
  static std::unique_ptr<RelaisEnv> StartNamingMembers();
  // Like Start() on a fresh database, with these retention periods and sweep
  // interval (HostOptions::retention).
  static std::unique_ptr<RelaisEnv> StartWithRetention(record::RetentionPolicy retention);
  // Like Start() on a fresh database, with this erasure grace period
  // (HostOptions::erasure_grace_period; default 7 days).
  static std::unique_ptr<RelaisEnv> StartWithErasureGracePeriod(absl::Duration grace);
  // Like Start() on a fresh database, serving DiagnosticsService (HostOptions::diagnostics).
  static std::unique_ptr<RelaisEnv> StartWithDiagnostics();

  // Mutual TLS, for transport tests: the server serves `server`; the env's own
  // stubs connect to "localhost:<port>" with `client` (its certificate decides
  // which service's members they can act for).
  struct Tls {
    host::TlsCredentials server;
    grpc::SslCredentialsOptions client;
    std::vector<std::string> login_gateways = {};  // HostOptions::login_gateways
  };
  // Like Start() on a fresh database, over mutual TLS. The seeded services get
  // the demo's stable ids (kTlsServiceIds), so that the client certificates of
  // deploy/make-dev-certs.sh name them.
  static std::unique_ptr<RelaisEnv> StartTls(Tls tls);
  // A new channel to this server: "localhost:<port>" with `credentials`.
  std::shared_ptr<grpc::Channel> NewChannel(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) const;
  ~RelaisEnv();

  // Stops the server (the database file stays).
  void Stop();

  common::FakeClock& clock() { return clock_; }
  host::Host& host() { return *host_; }
  const std::string& db_path() const { return db_path_; }
  // The process's row-integrity violation counts, by table, when this
  // environment started: the counter is the process's, and a test binary runs
  // all its cases in one process.
  const std::map<std::string, int64_t>& violations_at_start() const { return violations_at_start_; }
  const std::string& keys_dir() const { return keys_dir_; }

  v1::DirectoryService::Stub& directory() { return *directory_; }
  v1::AuthService::Stub& auth() { return *auth_; }
  v1::CareService::Stub& care() { return *care_; }
  v1::PartnershipService::Stub& partnership() { return *partnership_; }
  v1::InboxService::Stub& inbox() { return *inbox_; }
  v1::RecordService::Stub& record() { return *record_; }
  v1::AuditService::Stub& audit() { return *audit_; }

  // A client context carrying a fresh token of `login` (issued at the fake
  // clock's now, so moving the clock never leaves a test with an expired token).
  std::unique_ptr<grpc::ClientContext> As(absl::string_view login);
  // A context with no token, or with a raw authorization value.
  std::unique_ptr<grpc::ClientContext> Anonymous(absl::string_view authorization = "");

  const std::string& service_id(absl::string_view key) const;  // "amo", "saj", "pms", "agaj"
  const std::string& member_id(absl::string_view login) const;

  // Creates a youth of the given age (birthday `age` years before TestEpoch's
  // day, minus `days_before_birthday` so a birthday can be made to fall soon),
  // with one guardian, as `creator`; returns its id. Fails the test on error.
  std::string CreateYouth(int age, absl::string_view creator = kAmoCaseworker,
                          int days_before_birthday = 0);
  // Adds a member with one role to a service ("amo", "saj", ...); fails the test on error.
  void AddMember(absl::string_view login, absl::string_view service_key, v1::Role role);
  void AddMember(absl::string_view login, absl::string_view service_key,
                 std::vector<v1::Role> roles);
  // Creates a service (through the directory store) known by `key` from then on.
  void AddService(absl::string_view key, absl::string_view name, absl::string_view sector_id,
                  absl::string_view kind);
  // The youth's first guardian id.
  std::string GuardianOf(absl::string_view youth_id, absl::string_view reader);
  // Opens an accompaniment of `youth_id` by the coordinator's service and, when
  // it waits to be vouched for, has a coordinator of a service that accompanies
  // the youth confirm it (the honest path). Fails the test if none can.
  void Accompany(absl::string_view youth_id, absl::string_view coordinator,
                 absl::string_view referent);
  // Opens an accompaniment and returns it as the server answered (pending or
  // not); fails the test on error.
  v1::Accompaniment OpenAccompaniment(
      absl::string_view youth_id, absl::string_view coordinator, absl::string_view referent,
      v1::AccompanimentBasis basis = v1::ACCOMPANIMENT_BASIS_VOLUNTARY);

 private:
  RelaisEnv() : clock_(TestEpoch()) {}
  static std::unique_ptr<RelaisEnv> Launch(std::unique_ptr<RelaisEnv> env, std::string db_path,
                                           bool seed, std::string keys_dir);
  void Connect();

  common::FakeClock clock_;
  std::optional<Tls> tls_;                            // set by StartTls()
  std::string master_key_file_;                       // set by StartWithMasterKeys()
  std::string previous_master_key_file_;              // set by StartWithMasterKeys()
  std::string vfs_;                                   // set by StartOnVfs()
  absl::Duration busy_timeout_ = absl::Seconds(5);    // set by StartOnVfs()
  bool names_members_ = false;                        // set by StartNamingMembers()
  bool diagnostics_ = false;                          // set by StartWithDiagnostics()
  std::optional<record::RetentionPolicy> retention_;  // set by StartWithRetention()
  std::optional<absl::Duration> erasure_grace_;       // set by StartWithErasureGracePeriod()
  std::string db_path_;
  std::string keys_dir_;
  std::map<std::string, int64_t> violations_at_start_;
  std::unique_ptr<host::Host> host_;
  std::unique_ptr<v1::DirectoryService::Stub> directory_;
  std::unique_ptr<v1::AuthService::Stub> auth_;
  std::unique_ptr<v1::CareService::Stub> care_;
  std::unique_ptr<v1::PartnershipService::Stub> partnership_;
  std::unique_ptr<v1::InboxService::Stub> inbox_;
  std::unique_ptr<v1::RecordService::Stub> record_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::map<std::string, std::string, std::less<>> services_;
  std::map<std::string, directory::MemberInfo, std::less<>> members_;
};

// grpc.health.v1.Health/Check of `service` ("" for the server as a whole):
// 1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, -1 if the call failed (NOT_FOUND for
// a service the server does not serve).
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// The reason code a Relais error carries (from its ErrorDetail), or "" if none.
std::string ReasonCode(const grpc::Status& status);

// Every audit event about `youth`, oldest first, read as the auditor through
// AuditService.QueryEvents (so the reads add events of their own).
std::vector<v1::AuditEvent> EventsOf(RelaisEnv& env, const std::string& youth);

}  // namespace relais::testing

#endif  // RELAIS_TESTS_TEST_ENV_H_
