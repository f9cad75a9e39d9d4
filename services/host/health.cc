#include "services/host/health.h"

#include <utility>

#include "common/log.h"

namespace relais::host {

HealthReporter::HealthReporter(grpc::HealthCheckServiceInterface* health,
                               std::vector<std::string> services,
                               std::function<absl::Status()> probe, absl::Duration interval)
    : health_(health),
      services_(std::move(services)),
      probe_(std::move(probe)),
      interval_(interval) {
  absl::MutexLock lock(&mu_);
  Publish();
}

HealthReporter::~HealthReporter() { Stop(); }

void HealthReporter::Start() {
  ProbeOnce();
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) ProbeOnce();
  });
}

void HealthReporter::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void HealthReporter::SetReady(bool ready) {
  absl::MutexLock lock(&mu_);
  ready_ = ready;
  Publish();
}

bool HealthReporter::serving() const {
  absl::MutexLock lock(&mu_);
  return ready_ && db_ok_;
}

void HealthReporter::ProbeOnce() {
  const absl::Status status = probe_();
  absl::MutexLock lock(&mu_);
  if (status.ok() != db_ok_) {
    if (status.ok()) {
      common::LogInfo("database reachable again");
    } else {
      common::LogError("database probe failed", {{"status", status.ToString()}});
    }
  }
  db_ok_ = status.ok();
  Publish();
}

void HealthReporter::Publish() {
  const bool serving = ready_ && db_ok_;
  if (has_published_ && serving == published_) return;
  has_published_ = true;
  published_ = serving;
  health_->SetServingStatus("", serving);
  for (const std::string& name : services_) health_->SetServingStatus(name, serving);
}

}  // namespace relais::host
