#ifndef RELAIS_SERVICES_AUDIT_CHECKPOINTER_H_
#define RELAIS_SERVICES_AUDIT_CHECKPOINTER_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "common/clock.h"
#include "relais/v1/audit.pb.h"
#include "services/audit/audit_log.h"

namespace relais::audit {

// Signs the head of the audit chain (checkpoint.h) with the audit key ring and
// stores the checkpoint beside the events: when `every_events` events have
// been appended since the last checkpoint, when the last one is `every`
// old (measured with the injected clock) and new events exist, on demand
// (CheckpointNow, e.g. for an export), and once more on Stop().
//
// The request path is not made to wait: appends only tell the checkpointer
// their sequence (AppendListener, an atomic compare and at most a wake-up),
// and the signing runs on the checkpointer's own thread, outside the append
// transaction, so a rolled-back append is never signed. A head is signed only
// after the events since the previous checkpoint verify (see
// AuditLog::PrepareCheckpoint) and the previous checkpoint's signature
// verifies with the ring: a damaged log is reported, never blessed.
//
// The database alone cannot be trusted to say what was signed before (a
// rewrite can delete checkpoint rows and re-hash events). So the last
// checkpoint signed is also kept outside it, in `state_file` (witness.h), and
// each new head must extend it: the log still reaches its sequence, the event
// there still has its hash, and the newest stored checkpoint is that one (or
// a later one signed by the ring, left by a crash between storing and
// recording). Otherwise the checkpointer refuses, every time, with DataLoss:
// it counts the refusal (refusals()), reports refusing() until a head is
// signed again, and logs an error. Each checkpoint signed is also appended to
// `witness_file`, for the operator to ship off the host.
//
// Trust decision when the state file is missing (first start, an upgrade, or
// moved aside after restoring a backup, docs/operations.md "Backup and restore"): with no stored
// checkpoint the log is new and nothing is adopted; otherwise the newest
// stored checkpoint is adopted only if the whole log up to it verifies
// (chain, every stored checkpoint's signature) and, when a witness file
// exists, agrees with it and the witness holds nothing later. The state file
// is then written and a warning logged.
//
// Thread-safe. The log, key ring and clock must outlive it.
class Checkpointer final : public AppendListener {
 public:
  struct Options {
    // Checkpoint once this many events are not yet covered (>= 1).
    int64_t every_events = 100;
    // ... or once the last checkpoint is this old and events are uncovered.
    absl::Duration every = absl::Seconds(60);
    // How often the background thread looks at the clock (real time).
    absl::Duration poll_interval = absl::Seconds(1);
    // The last checkpoint signed, outside the database (relaisd:
    // <keys_dir>/audit-checkpoint.state). Empty: kept in memory only.
    std::string state_file{};
    // Every checkpoint signed, one JSON line each (relaisd:
    // <keys_dir>/audit-witness.jsonl, config audit.witness_file). Empty: none.
    std::string witness_file{};
    // Instances sharing the database sign one at a time, under the log's
    // signer lease (AuditLog::TakeSignerLease), held while one signs and
    // released after. A signer that dies keeps it until `lease_ttl` (by
    // `clock`) passes. CheckpointNow waits up to `lease_wait` (real time)
    // for another instance to finish signing, then fails UNAVAILABLE; longer
    // than the ttl, so a lease left by a killed relaisd never fails the
    // next start's checkpoints.
    absl::Duration lease_ttl = absl::Seconds(10);
    absl::Duration lease_wait = absl::Seconds(15);
  };

  Checkpointer(AuditLog* log, const auth::KeyRing* keys, const common::Clock* clock,
               Options options);
  ~Checkpointer() override;  // Stop()

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Registers with the log and starts the background thread. Call once.
  void Start();

  // Stops the background thread, unregisters from the log, and makes a last
  // checkpoint (a failure is logged). Idempotent; does nothing if Start()
  // was never called. Call it only once nothing
  // appends any more (the server is shut down), or the tail stays unsigned
  // until the next start.
  void Stop();

  // Signs and stores the current head unless a checkpoint already covers it.
  // Returns the new checkpoint, or nullopt if there was nothing to sign.
  // DataLoss if the log fails verification since the last checkpoint or that
  // checkpoint's signature is not the ring's; Internal if signing fails;
  // UNAVAILABLE if another instance held the signer lease for all of
  // `lease_wait`; otherwise the database's status.
  absl::StatusOr<std::optional<v1::Checkpoint>> CheckpointNow();

  // CheckpointNow() if a checkpoint is due by count or by age; nullopt if not.
  absl::StatusOr<std::optional<v1::Checkpoint>> CheckpointIfDue();

  // The last checkpoint this checkpointer signed or adopted (state file),
  // nullopt before any. Loads the state if not done yet (errors: as
  // CheckpointNow's).
  absl::StatusOr<std::optional<v1::Checkpoint>> LastSigned();

  // Refusals to sign since construction (each CheckpointNow/IfDue that ended
  // in DataLoss or FailedPrecondition).
  int64_t refusals() const { return refusals_.load(); }
  // True from a refusal until a head is signed again.
  bool refusing() const { return refusing_.load(); }

  // AppendListener: wakes the background thread when `every_events` events
  // are uncovered. Never blocks on the database.
  void Appended(int64_t sequence) override;

  const auth::KeyRing& keys() const { return *keys_; }
  const std::string& witness_file() const { return options_.witness_file; }

 private:
  void Loop();
  absl::StatusOr<std::optional<v1::Checkpoint>> SignHead(bool only_if_due)
      ABSL_LOCKS_EXCLUDED(checkpoint_mu_);
  absl::StatusOr<std::optional<v1::Checkpoint>> SignHeadLocked(bool only_if_due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);
  // Reads the state file once (adopting a stored checkpoint without one).
  absl::Status LoadStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);
  // Takes the signer lease: true once held; false, or after `wait` UNAVAILABLE
  // when it still is not, while another instance holds it.
  absl::StatusOr<bool> TakeLease(bool wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);
  // DataLoss unless `candidate` extends signed_ (see the class comment).
  absl::Status CheckExtendsSigned(const CheckpointCandidate& candidate) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);
  // Makes `checkpoint` the last signed: memory, state file, witness file.
  absl::Status Remember(const v1::Checkpoint& checkpoint, bool witness)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);

  AuditLog* const log_;
  const auth::KeyRing* const keys_;
  const common::Clock* const clock_;
  const Options options_;
  // The clock's time at construction: the age of "no checkpoint yet".
  const absl::Time started_;
  // This checkpointer's name in the signer lease.
  const std::string holder_;

  // Serialises checkpointing (thread, exports, Stop) so each head is signed once.
  absl::Mutex checkpoint_mu_;
  // Sequence covered by the newest checkpoint this process knows of; read on
  // the append path without a lock.
  std::atomic<int64_t> covered_{-1};  // -1: not read yet
  bool state_loaded_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::optional<v1::Checkpoint> signed_ ABSL_GUARDED_BY(checkpoint_mu_);
  std::atomic<int64_t> refusals_{0};
  std::atomic<bool> refusing_{false};

  absl::Mutex wake_mu_;
  absl::CondVar wake_cv_;
  bool wake_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
};

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_CHECKPOINTER_H_
