#ifndef RELAIS_SERVICES_DIRECTORY_PLATFORM_AUDITOR_H_
#define RELAIS_SERVICES_DIRECTORY_PLATFORM_AUDITOR_H_

// Header-only: the record and audit services call it through DirectoryApi
// without linking the directory's store.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"

namespace relais::directory {

// Whether `caller` is a platform auditor (the DPO, DESIGN.md "Separated
// duties"): ROLE_AUDITOR in a service the directory marks platform. An auditor
// of any other service is scoped to that service. False when the caller's
// service is unknown; any other directory error is returned, so that the
// caller refuses with it (a service row whose MAC fails answers
// PERMISSION_DENIED "integrity_violation", never "not the DPO").
inline absl::StatusOr<bool> IsPlatformAuditor(const DirectoryApi& directory,
                                              const rpc::Caller& caller) {
  if (!caller.HasRole(v1::ROLE_AUDITOR)) return false;
  absl::StatusOr<ServiceInfo> service = directory.GetService(caller.service_id());
  if (absl::IsNotFound(service.status())) return false;
  if (!service.ok()) return service.status();
  return service->platform;
}

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_PLATFORM_AUDITOR_H_
