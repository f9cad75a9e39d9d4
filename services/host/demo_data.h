#ifndef RELAIS_SERVICES_HOST_DEMO_DATA_H_
#define RELAIS_SERVICES_HOST_DEMO_DATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/host/host.h"

namespace relais::host {

// Every demo member's password (the demo is for a loopback server only). It is
// a lasting password set host-side, not a one-time one, so docs/api.md's
// walkthrough can log in directly; it still passes the password policy
// (DirectoryStore::PrepareMember checks it), and being published it must never
// protect real data.
inline constexpr char kDemoPassword[] = "demo-relais-2026";

struct DemoSummary {
  std::string youth_id;
  std::string amo_service_id;
  std::string saj_service_id;
  bool created = false;  // false: the demo data was already there
};

// Fills an empty directory with the demo: services named after those of the
// Chantier 5 report (an AMO, a SAJ, a PMS centre, a CPAS, a prevention service,
// a MADO, a mental-health service, the AGAJ), members of every role, and a
// 15-year-old accompanied by the AMO with entries and a consent. Youth data goes
// through the real gRPC services (so it is checked and audited like any other).
// Idempotent: does nothing if the demo admin already exists.
absl::StatusOr<DemoSummary> SeedDemo(Host& host);

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_DEMO_DATA_H_
