#ifndef RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_
#define RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/common.pb.h"

namespace relais::directory {

struct ServiceInfo {
  std::string id;
  std::string name;
  std::string sector_id;
  std::string kind;
  // The platform operator's service: its auditors are the DPO (platform-wide).
  bool platform = false;
};

struct MemberInfo {
  std::string id;
  std::string service_id;
  std::string display_name;
  std::string login;
  std::vector<v1::Role> roles;
  bool active = true;
};

// What other services may ask of the directory. relaisd wires the in-process
// store; a split deployment can implement it with a gRPC client. Thread-safe.
class DirectoryApi {
 public:
  virtual ~DirectoryApi() = default;
  // NOT_FOUND "service_not_found" if unknown.
  virtual absl::StatusOr<ServiceInfo> GetService(absl::string_view service_id) const = 0;
  // NOT_FOUND "member_not_found" if unknown.
  virtual absl::StatusOr<MemberInfo> GetMember(absl::string_view member_id) const = 0;
};

// What AuthService needs to check a login: kept apart from DirectoryApi because
// password hashes never leave the process that stores them (a split deployment
// runs AuthService next to the directory's database). Thread-safe.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // The member with this login and its stored password hash (an
  // auth::HashPassword string). NOT_FOUND "member_not_found" if no member has
  // this login; inactive members are returned too (with active == false), so
  // the caller decides, after checking the password, what to answer.
  virtual absl::StatusOr<std::pair<MemberInfo, std::string>> FindCredentials(
      absl::string_view login) const = 0;
  // Same contract as DirectoryApi::GetMember.
  virtual absl::StatusOr<MemberInfo> GetMember(absl::string_view member_id) const = 0;
};

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_
