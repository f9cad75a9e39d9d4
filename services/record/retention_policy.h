#ifndef RELAIS_SERVICES_RECORD_RETENTION_POLICY_H_
#define RELAIS_SERVICES_RECORD_RETENTION_POLICY_H_

#include <map>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "relais/v1/common.pb.h"

namespace relais::record {

// How long a closed record's entries are kept (docs/retention.md). The clock
// starts when the youth's last accompaniment ends (record creation when there
// never was one); a youth with an active accompaniment is never swept.
struct RetentionPolicy {
  // Kept this long after the youth's last accompaniment ended; per category.
  std::map<v1::DataCategory, absl::Duration> period;  // filled by Defaults()
  // How often relaisd runs the sweep; zero disables the scheduled sweep.
  absl::Duration sweep_interval = absl::Hours(24);

  static RetentionPolicy Defaults();
  // Every category present, > 0, special categories (health, judicial) >= general.
  absl::Status Validate() const;

  // The longest period: once it has elapsed the whole youth is erased.
  absl::Duration MaxPeriod() const;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_RETENTION_POLICY_H_
