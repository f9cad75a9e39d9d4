#ifndef RELAIS_SERVICES_RECORD_RETENTION_SWEEPER_H_
#define RELAIS_SERVICES_RECORD_RETENTION_SWEEPER_H_

// Retention (docs/retention.md): the sweep that erases what the per-category
// retention periods make due, on demand (RecordService.SweepRetention) or
// scheduled by relaisd.

#include "absl/status/statusor.h"
#include "access/facts.h"
#include "common/clock.h"
#include "relais/v1/record.pb.h"
#include "services/audit/audit_log.h"
#include "services/record/retention_policy.h"
#include "services/record/youth_keys.h"
#include "storage/database.h"

namespace relais::record {

// Thread-safe; two sweeps at once are safe (each erasure re-checks inside its
// transaction) but do the work twice.
class RetentionSweeper {
 public:
  // Pointers are borrowed and must outlive the sweeper; `policy` must Validate().
  // Without `care` every sweep fails with FAILED_PRECONDITION.
  struct Deps {
    storage::Database* db = nullptr;
    const YouthKeys* keys = nullptr;
    const access::CareFacts* care = nullptr;
    audit::AuditLog* audit = nullptr;
    const common::Clock* clock = nullptr;
    RetentionPolicy policy = RetentionPolicy::Defaults();
  };
  explicit RetentionSweeper(Deps deps) : deps_(std::move(deps)) {}

  // The sweep at the clock's now. A youth accompanied now or later is never
  // swept; one under legal hold or restriction is reported skipped. Unless
  // `dry_run`, each youth's erasures and their ACTION_RETENTION_ERASE events
  // (request and object id from `sweep`, the already-audited event of the
  // sweep itself) commit in one transaction that first re-checks the youth is
  // still closed and not held or restricted. A dry run changes nothing and
  // reports what would be erased.
  absl::StatusOr<v1::SweepRetentionResponse> Sweep(bool dry_run,
                                                   const audit::EventInput& sweep) const;

  // The scheduled sweep: appends an ACTION_RETENTION_SWEEP event as the
  // server ("relaisd", reason code "scheduled"), then Sweep(false).
  absl::StatusOr<v1::SweepRetentionResponse> RunScheduled() const;

 private:
  // Erases what is due for `youth_id` in one transaction; nullopt if nothing
  // was due any more once re-read there.
  absl::StatusOr<std::optional<v1::RetentionItem>> EraseDue(absl::string_view youth_id,
                                                            const audit::EventInput& sweep,
                                                            absl::Time now) const;

  const Deps deps_;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_RETENTION_SWEEPER_H_
