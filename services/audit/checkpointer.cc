#include "services/audit/checkpointer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/audit/checkpoint.h"
#include "services/audit/export_verifier.h"
#include "services/audit/witness.h"

namespace relais::audit {

Checkpointer::Checkpointer(AuditLog* log, const auth::KeyRing* keys, const common::Clock* clock,
                           Options options)
    : log_(log),
      keys_(keys),
      clock_(clock),
      options_(options),
      started_(clock->Now()),
      holder_(absl::StrFormat("signer-%016x", absl::Uniform<uint64_t>(absl::BitGen()))) {}

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

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::LastSigned() {
  absl::MutexLock lock(&checkpoint_mu_);
  RETURN_IF_ERROR(LoadStateLocked());
  return signed_;
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::SignHead(bool only_if_due) {
  absl::MutexLock lock(&checkpoint_mu_);
  absl::StatusOr<std::optional<v1::Checkpoint>> made = SignHeadLocked(only_if_due);
  if (made.ok()) {
    if (made->has_value() && refusing_.exchange(false)) {
      common::LogInfo("audit checkpoints signed again",
                      {{"sequence", absl::StrCat((*made)->sequence())}});
    }
  } else if (absl::IsDataLoss(made.status()) || absl::IsFailedPrecondition(made.status())) {
    // Every refusal, loudly: the message holds sequences and paths, no content.
    refusals_.fetch_add(1);
    refusing_.store(true);
    common::LogError("audit checkpoint refused", {{"status", made.status().ToString()}});
  }
  return made;
}

absl::StatusOr<std::optional<v1::Checkpoint>> Checkpointer::SignHeadLocked(bool only_if_due) {
  RETURN_IF_ERROR(LoadStateLocked());
  if (only_if_due && !refusing_.load()) {
    // Not due by what this server last signed: done, without re-reading the
    // events since (a poll every second would otherwise verify a growing
    // tail of the log each time). A due checkpoint verifies them all below;
    // once refusing, every poll checks again (and says so).
    ASSIGN_OR_RETURN(const ChainHead head, log_->Head());
    const int64_t covered = signed_ ? signed_->sequence() : 0;
    const absl::Time last =
        signed_ ? absl::FromUnixMicros(TimestampMicros(signed_->time())) : started_;
    if (head.sequence - covered < options_.every_events && clock_->Now() - last < options_.every) {
      return std::nullopt;
    }
  }
  // One instance signs at a time; a due poll leaves its turn to the one
  // signing now, a checkpoint asked for waits for it.
  ASSIGN_OR_RETURN(const bool leased, TakeLease(/*wait=*/!only_if_due));
  if (!leased) return std::nullopt;
  absl::Cleanup release = [this] {
    if (absl::Status s = log_->ReleaseSignerLease(holder_); !s.ok()) {
      common::LogError("audit signer lease not released", {{"status", s.ToString()}});
    }
  };
  ASSIGN_OR_RETURN(const CheckpointCandidate candidate,
                   log_->PrepareCheckpoint(signed_ ? signed_->sequence() : 0));
  if (signed_) RETURN_IF_ERROR(CheckExtendsSigned(candidate));
  covered_.store(candidate.covered());
  if (candidate.last_checkpoint) {
    // The events were verified from this checkpoint's hash on; make sure the
    // hash itself is one this server signed, not a row planted in the table.
    const v1::Checkpoint& previous = *candidate.last_checkpoint;
    absl::StatusOr<std::string> input = CheckpointSigningInput(previous);
    if (!input.ok() || !keys_->Verify(previous.key_id(), *input, previous.signature())) {
      return absl::DataLossError(absl::StrCat("audit checkpoint ", previous.sequence(),
                                              " is not signed by this server's audit keys"));
    }
    if (!signed_ || previous.sequence() > signed_->sequence()) {
      // Stored but not recorded (a crash in between): it extends what we
      // signed (checked above), so record it now. Already witnessed or not,
      // a second line would not be the one written at signing time.
      RETURN_IF_ERROR(Remember(previous, /*witness=*/false));
    }
  }
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
  ASSIGN_OR_RETURN(v1::Checkpoint checkpoint,
                   SignCheckpoint(*keys_, candidate.head.sequence, candidate.head.hash, now));
  RETURN_IF_ERROR(log_->StoreCheckpoint(checkpoint));
  covered_.store(checkpoint.sequence());
  // Stored first, recorded after: a crash in between leaves a stored
  // checkpoint newer than the state, which the next call adopts above.
  RETURN_IF_ERROR(Remember(checkpoint, /*witness=*/true));
  common::LogDebug("audit checkpoint", {{"sequence", absl::StrCat(checkpoint.sequence())},
                                        {"key_id", checkpoint.key_id()}});
  return checkpoint;
}

absl::StatusOr<bool> Checkpointer::TakeLease(bool wait) {
  const absl::Time deadline = absl::Now() + options_.lease_wait;
  while (true) {
    ASSIGN_OR_RETURN(const bool taken, log_->TakeSignerLease(holder_, options_.lease_ttl));
    if (taken || !wait) return taken;
    if (absl::Now() >= deadline) {
      return absl::UnavailableError("another instance is signing the audit log; retry");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status Checkpointer::CheckExtendsSigned(const CheckpointCandidate& candidate) const {
  const int64_t sequence = signed_->sequence();
  if (candidate.head.sequence < sequence) {
    return absl::DataLossError(absl::StrCat(
        "audit log ends at event ", candidate.head.sequence, " but this server signed event ",
        sequence,
        ": events were removed (after restoring a backup, see docs/operations.md \"Backup "
        "and restore\")"));
  }
  if (candidate.pinned_hash != signed_->head_hash()) {
    return absl::DataLossError(absl::StrCat("audit event ", sequence,
                                            " no longer has the hash this server signed:"
                                            " the log was rewritten"));
  }
  const std::optional<v1::Checkpoint>& stored = candidate.last_checkpoint;
  if (!stored.has_value() || stored->sequence() < sequence) {
    return absl::DataLossError(absl::StrCat("the checkpoint of audit event ", sequence,
                                            " that this server signed is missing from the"
                                            " database"));
  }
  if (stored->sequence() == sequence && (stored->head_hash() != signed_->head_hash() ||
                                         stored->signature() != signed_->signature())) {
    return absl::DataLossError(absl::StrCat("the stored checkpoint of audit event ", sequence,
                                            " is not the one this server signed"));
  }
  return absl::OkStatus();
}

absl::Status Checkpointer::Remember(const v1::Checkpoint& checkpoint, bool witness) {
  signed_ = checkpoint;
  if (!options_.state_file.empty()) {
    RETURN_IF_ERROR(WriteStateFile(options_.state_file, checkpoint));
  }
  if (witness && !options_.witness_file.empty()) {
    RETURN_IF_ERROR(AppendWitnessLine(options_.witness_file, checkpoint));
  }
  return absl::OkStatus();
}

absl::Status Checkpointer::LoadStateLocked() {
  if (state_loaded_) return absl::OkStatus();
  const std::vector<auth::VerifyingKey> trusted = TrustedKeys(*keys_);
  if (!options_.state_file.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::Checkpoint> state, ReadStateFile(options_.state_file));
    if (state.has_value()) {
      if (!VerifyCheckpointSignature(*state, trusted)) {
        return absl::DataLossError(
            absl::StrCat(options_.state_file, " is not signed by this server's audit keys"));
      }
      signed_ = *std::move(state);
      state_loaded_ = true;
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(const std::optional<v1::Checkpoint> latest, log_->LatestCheckpoint());
  if (!latest.has_value()) {
    state_loaded_ = true;  // nothing signed yet
    return absl::OkStatus();
  }
  // No record of what was signed: adopt the newest stored checkpoint only if
  // the whole log up to it is what the audit key (and the witness) vouch for.
  ASSIGN_OR_RETURN(ExportVerifier verifier, ExportVerifier::Create(TrustedKeys(*keys_)));
  if (!options_.witness_file.empty()) {
    ASSIGN_OR_RETURN(Witness witness, ReadWitnessFile(options_.witness_file, trusted));
    if (!witness.empty()) verifier.SetWitness(std::move(witness));
  }
  v1::ExportItem announced;
  *announced.mutable_checkpoint() = *latest;
  RETURN_IF_ERROR(verifier.Add(announced));
  RETURN_IF_ERROR(log_->FeedVerifier(latest->sequence(), verifier));
  const ExportReport report = verifier.Finish();
  if (!report.ok || report.witness_beyond > 0) {
    return absl::DataLossError(
        absl::StrCat("cannot adopt audit checkpoint ", latest->sequence(), ": ",
                     report.ok ? "the witness file holds later checkpoints" : report.problem,
                     " at ", report.ok ? latest->sequence() + 1 : report.problem_sequence));
  }
  RETURN_IF_ERROR(Remember(*latest, /*witness=*/false));
  state_loaded_ = true;
  if (!options_.state_file.empty()) {
    common::LogWarning(
        "audit checkpoint state missing: adopted the newest stored checkpoint"
        " after verifying the log up to it",
        {{"sequence", absl::StrCat(latest->sequence())}});
  }
  return absl::OkStatus();
}

}  // namespace relais::audit
