#include "observability/health.h"

#include <utility>

#include "common/log.h"

namespace relais::observability {

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

void HealthReporter::AddServiceCheck(std::string service, std::function<bool()> ok) {
  checks_.emplace(std::move(service), std::move(ok));
}

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

void HealthReporter::Retarget(grpc::HealthCheckServiceInterface* health) {
  absl::MutexLock lock(&mu_);
  health_ = health;
  has_published_ = false;
  Publish();
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

bool HealthReporter::serving(const std::string& service) const {
  absl::MutexLock lock(&mu_);
  auto it = check_ok_.find(service);
  return ready_ && db_ok_ && (it == check_ok_.end() || it->second);
}

void HealthReporter::ProbeOnce() {
  const absl::Status status = probe_();
  std::map<std::string, bool> checks;
  for (const auto& [service, ok] : checks_) checks[service] = ok();
  absl::MutexLock lock(&mu_);
  for (const auto& [service, ok] : checks) {
    auto it = check_ok_.find(service);
    if (it != check_ok_.end() && it->second != ok) {
      if (ok) {
        common::LogInfo("service check passes again", {{"service", service}});
      } else {
        common::LogError("service check fails: service not serving", {{"service", service}});
      }
    }
    check_ok_[service] = ok;
  }
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
  if (has_published_ && serving == published_ && check_ok_ == published_checks_) return;
  has_published_ = true;
  published_ = serving;
  published_checks_ = check_ok_;
  health_->SetServingStatus("", serving);
  for (const std::string& name : services_) {
    auto check = check_ok_.find(name);
    health_->SetServingStatus(name, serving && (check == check_ok_.end() || check->second));
  }
}

}  // namespace relais::observability
