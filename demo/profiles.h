#ifndef RELAIS_DEMO_PROFILES_H_
#define RELAIS_DEMO_PROFILES_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "services/directory/directory_api.h"
#include "services/host/host.h"

namespace relais::demo {

// Writes the demo services' profiles (who they help, where, how to reach
// them) through the store, host-side like the rest of the directory, each
// stamped as reviewed by `reviewer_id` (the demo admin) at the host clock's
// now, except the MADO's, last reviewed 400 days ago so that the
// review_overdue flag shows. `service_ids`: World::service_ids.
absl::Status SeedServiceProfiles(host::Host& host,
                                 const std::map<std::string, std::string, std::less<>>& service_ids,
                                 const std::string& reviewer_id);

}  // namespace relais::demo

#endif  // RELAIS_DEMO_PROFILES_H_
