#ifndef RELAIS_OBSERVABILITY_HEALTH_H_
#define RELAIS_OBSERVABILITY_HEALTH_H_

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"

namespace relais::observability {

// Drives grpc.health.v1 for every service of the server: SERVING only once
// the host is ready (SetReady(true)) and while the last database probe
// succeeded; NOT_SERVING otherwise. A thread runs `probe` every `interval`
// and logs each transition once. Thread-safe.
class HealthReporter {
 public:
  // `health` is not owned and must outlive this object or a Retarget() (it is
  // the server's).
  // `services` are the fully-qualified service names; "" (the server as a
  // whole) is always reported too.
  HealthReporter(grpc::HealthCheckServiceInterface* health, std::vector<std::string> services,
                 std::function<absl::Status()> probe, absl::Duration interval);
  ~HealthReporter();  // Stop()

  // A further condition for one service only (e.g. the audit checkpointer
  // for relais.v1.AuditService): while `ok` returns false, that service is
  // NOT_SERVING; the others and the server as a whole are not affected.
  // Evaluated with each probe. Call before Start().
  void AddServiceCheck(std::string service, std::function<bool()> ok);

  // Everything starts NOT_SERVING; this runs one probe and starts the thread.
  void Start();
  void SetReady(bool ready);
  // Stops the thread; the statuses are left as they are. Idempotent.
  void Stop();
  // Publishes to `health` from now on, every status at once (a TLS reload's
  // new server; the old one's health is left as it was). Not owned.
  void Retarget(grpc::HealthCheckServiceInterface* health);

  bool serving() const;
  // The status last published for `service` (a name given to the constructor).
  bool serving(const std::string& service) const;

 private:
  void ProbeOnce();
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_);
  const std::vector<std::string> services_;
  const std::function<absl::Status()> probe_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool db_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool published_ ABSL_GUARDED_BY(mu_) = false;
  bool has_published_ ABSL_GUARDED_BY(mu_) = false;
  // Service checks and their last results (AddServiceCheck).
  std::map<std::string, std::function<bool()>> checks_;
  std::map<std::string, bool> check_ok_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> published_checks_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace relais::observability

#endif  // RELAIS_OBSERVABILITY_HEALTH_H_
