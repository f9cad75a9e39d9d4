#ifndef RELAIS_ACCESS_ROLES_H_
#define RELAIS_ACCESS_ROLES_H_

// Rule 1 of the access rule for every call: the roles that may make it, in one
// table (roles.cc). Handlers ask here instead of listing roles themselves;
// what a role may then do to which youth is the rest of the rule (policy.h).

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "relais/v1/common.pb.h"

namespace relais::access {

// The roles that may make the call `method`, named "Service.Method" in
// package relais.v1 (e.g. "CareService.OpenAccompaniment"). Empty for an
// unknown method: nobody (deny by default).
const std::vector<v1::Role>& RolesFor(absl::string_view method);

// Whether a member holding `held` may make the call.
bool RoleAllows(absl::string_view method, const std::vector<v1::Role>& held);

// A role's name in tokens and the directory ("caseworker", "coordinator",
// "auditor", "admin"); "" for an unspecified or unknown role.
std::string RoleName(v1::Role role);
// The role named `name`; ROLE_UNSPECIFIED for an unknown name.
v1::Role RoleFromName(absl::string_view name);

// Every method the table names, for the test that checks it against the API.
std::vector<absl::string_view> MethodsInTable();

}  // namespace relais::access

#endif  // RELAIS_ACCESS_ROLES_H_
