#ifndef RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_
#define RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/common.pb.h"
#include "storage/database.h"

namespace relais::directory {

struct ServiceInfo {
  std::string id;
  std::string name;
  std::string sector_id;
  std::string kind;
  // The platform operator's service: its auditors are the DPO (platform-wide).
  bool platform = false;
  // Has had a caseworker or coordinator: its coordinators staff it from now on.
  bool staffed = false;
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

// The active members of a service, for those who count its staff (the
// partnership protocols' coverage). Thread-safe.
class MemberRoster {
 public:
  virtual ~MemberRoster() = default;
  // The active members of `service_id`, by id; empty for an unknown service.
  virtual absl::StatusOr<std::vector<MemberInfo>> ActiveMembers(
      absl::string_view service_id) const = 0;
};

// What a member's removal must settle elsewhere first (turnover): the
// accompaniments of which they are the referent. The care service implements
// it in-process; both calls run in the removal's write transaction. Thread-safe.
class Departures {
 public:
  virtual ~Departures() = default;
  struct Referral {
    std::string accompaniment_id;
    std::string youth_id;
  };
  // The accompaniments not yet ended whose referent is `member_id`.
  virtual absl::StatusOr<std::vector<Referral>> Referrals(storage::Connection& txn,
                                                          absl::string_view member_id) const = 0;
  // Makes `successor`, an active member of the same service, the referent of
  // each, recorded as changed by `by_member_id`.
  virtual absl::Status Reassign(storage::Connection& txn, absl::string_view member_id,
                                absl::string_view successor,
                                absl::string_view by_member_id) const = 0;
};

// A member's stored password, as CredentialSource::FindCredentials reads it.
struct Credentials {
  MemberInfo member;
  std::string password_hash;  // an auth::HashPassword string, never a password
  // A one-time password (AddMember, ResetPassword): it serves only to choose a
  // new password with AuthService.ChangePassword, and only before
  // `password_expires_at`.
  bool must_change = false;
  absl::Time password_expires_at = absl::InfiniteFuture();
};

// A new password, checked and hashed (slowly, outside any transaction), ready
// to store.
struct PasswordUpdate {
  std::string password_hash;
  bool must_change = false;  // a one-time password
  absl::Time expires_at = absl::InfiniteFuture();
};

// What AuthService needs to check a login: kept apart from DirectoryApi because
// password hashes never leave the process that stores them (a split deployment
// runs AuthService next to the directory's database). Thread-safe.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // The member with this login and its stored password. NOT_FOUND
  // "member_not_found" if no member has this login; inactive members are
  // returned too (with active == false), so the caller decides, after checking
  // the password, what to answer.
  virtual absl::StatusOr<Credentials> FindCredentials(absl::string_view login) const = 0;
  // Checks `password` against the password policy (auth::CheckNewPassword:
  // INVALID_ARGUMENT "password_too_short" / "password_too_long" /
  // "password_too_common" on `field`) and hashes it. Slow by design (scrypt):
  // call it outside any transaction.
  virtual absl::StatusOr<PasswordUpdate> PrepareNewPassword(absl::string_view password,
                                                            absl::string_view field) const = 0;
  // In one write transaction: replaces the member's password with `update` if
  // its stored hash is still `expected_hash` (so a password, one-time or not,
  // is replaced once), then runs `also` (the caller appends its audit event);
  // all or nothing. ABORTED "password_changed" if the hash changed meanwhile;
  // NOT_FOUND "member_not_found"; else the status of `also` or the database.
  virtual absl::Status ReplacePassword(
      absl::string_view member_id, absl::string_view expected_hash, const PasswordUpdate& update,
      absl::FunctionRef<absl::Status(storage::Connection&)> also) = 0;
  // Same contract as DirectoryApi::GetMember.
  virtual absl::StatusOr<MemberInfo> GetMember(absl::string_view member_id) const = 0;
};

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_DIRECTORY_API_H_
