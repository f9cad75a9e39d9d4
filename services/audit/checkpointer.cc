#include "services/audit/checkpointer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/audit/checkpoint.h"

namespace relais::audit {

Checkpointer::Checkpointer(AuditLog* log, const auth::KeyRing* keys, const common::Clock* clock,
                           Options options)
    : log_(log), keys_(keys), clock_(clock), options_(options), started_(clock->Now()) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Start() {
  absl::StatusOr<std::optional<v1::Checkpoint>> latest = log_->LatestCheckpoint();
  if (latest.ok()) covered_.store(latest->has_value() ? (*latest)->sequence() : 0);
  log_->SetAppendListener(this);
  thread_ = std::thread([this] { Loop(); });
}

void Checkpointer::Stop() {
  {
    absl::MutexLock lock(&wake_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    wake_cv_.Signal();
  }
  if (!thread_.joinable()) return;  // never started: nothing to finish
  thread_.join();
  log_->SetAppendListener(nullptr);
  absl::StatusOr<std::optional<v1::Checkpoint>> last = CheckpointNow();
  if (!last.ok()) {
    common::LogError("final audit checkpoint failed", {{"status", last.status().ToString()}});
  }
}

void Checkpointer::Appended(int64_t sequence) {
  const int64_t covered = covered_.load(std::memory_order_relaxed);
  if (covered < 0 || sequence - covered < options_.every_events) return;
  absl::MutexLock lock(&wake_mu_);
  wake_ = true;
  wake_cv_.Signal();
}

void Checkpointer::Loop() {
  std::string last_error;  // logged once per distinct failure, not every poll
  absl::Time retry_after = absl::InfinitePast();
  while (true) {
    bool woken = false;
    {
      absl::MutexLock lock(&wake_mu_);
      if (!stopping_ && !wake_) wake_cv_.WaitWithTimeout(&wake_mu_, options_.poll_interval);
      if (stopping_) return;
      woken = wake_;
      wake_ = false;
    }
    // After a failure (a damaged log is re-verified from the last checkpoint
    // on every attempt) wait a full period rather than retry on every append.
    if (absl::Now() < retry_after) continue;
    // The append that woke us was still in its transaction: let it finish,
    // or the snapshot read next would not see it.
    if (woken) log_->AwaitPendingAppends().IgnoreError();
    absl::StatusOr<std::optional<v1::Checkpoint>> made = CheckpointIfDue();
    if (!made.ok()) {
      retry_after = absl::Now() + std::max(options_.every, options_.poll_interval);
      if (made.status().ToString() != last_error) {
        last_error = made.status().ToString();
        common::LogError("audit checkpoint failed", {{"status", last_error}});
      }
    } else {
      last_error.clear();
    }
  }
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::CheckpointNow() {
  return SignHead(/*only_if_due=*/false);
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::CheckpointIfDue() {
  return SignHead(/*only_if_due=*/true);
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::SignHead(bool only_if_due) {
  absl::MutexLock lock(&checkpoint_mu_);
  ASSIGN_OR_RETURN(const CheckpointCandidate candidate, log_->PrepareCheckpoint());
  covered_.store(candidate.covered());
  if (!candidate.has_new_events()) return std::nullopt;
  const absl::Time now = clock_->Now();
  if (only_if_due) {
    const absl::Time last =
        candidate.last_checkpoint
            ? absl::FromUnixMicros(TimestampMicros(candidate.last_checkpoint->time()))
            : started_;
    const bool due = candidate.head.sequence - candidate.covered() >= options_.every_events ||
                     now - last >= options_.every;
    if (!due) return std::nullopt;
  }
  if (candidate.last_checkpoint) {
    // The events were verified from this checkpoint's hash on; make sure the
    // hash itself is one this server signed, not a row planted in the table.
    const v1::Checkpoint& previous = *candidate.last_checkpoint;
    absl::StatusOr<std::string> input = CheckpointSigningInput(previous);
    if (!input.ok() || !keys_->Verify(previous.key_id(), *input, previous.signature())) {
      return absl::DataLossError(absl::StrCat("audit checkpoint ", previous.sequence(),
                                              " is not signed by this server's audit keys"));
    }
  }
  ASSIGN_OR_RETURN(v1::Checkpoint checkpoint,
                   SignCheckpoint(*keys_, candidate.head.sequence, candidate.head.hash, now));
  RETURN_IF_ERROR(log_->StoreCheckpoint(checkpoint));
  covered_.store(checkpoint.sequence());
  common::LogDebug("audit checkpoint", {{"sequence", absl::StrCat(checkpoint.sequence())},
                                        {"key_id", checkpoint.key_id()}});
  return checkpoint;
}

}  // namespace relais::audit
