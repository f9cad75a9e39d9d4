#ifndef RELAIS_SERVICES_DIRECTORY_DIRECTORY_STORE_H_
#define RELAIS_SERVICES_DIRECTORY_DIRECTORY_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/password.h"
#include "common/clock.h"
#include "services/directory/directory_api.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::directory {

// Authenticated access facts (storage/row_mac.h): the columns of a member and
// of a service that decide access carry a MAC, checked on every read
// (PERMISSION_DENIED "integrity_violation"). A member's password columns are
// not among them: they change on their own and scrypt checks them.
inline constexpr char kMemberMacColumns[] = "id, service_id, login, roles, active";
inline constexpr storage::MacTable kMemberMac{"dir_members", "id", kMemberMacColumns,
                                              storage::CountColumns(kMemberMacColumns)};
inline constexpr char kServiceMacColumns[] = "id, sector_id, platform, staffed";
inline constexpr storage::MacTable kServiceMac{"dir_services", "id", kServiceMacColumns,
                                               storage::CountColumns(kServiceMacColumns)};
// MACs the members and services written before the MACs (once), or re-MACs
// them after a master key rotation; needs the row MAC key bound.
absl::Status SealExistingRows(storage::Database& db);

struct SectorInfo {
  std::string id;  // lower-case slug, e.g. "aide_jeunesse"
  std::string name;
};

struct GlossaryEntry {
  std::string acronym;
  std::string expansion;
  std::string sector_id;  // empty: a term every sector uses (e.g. RGPD)
  std::string description;
};

struct ServicePage {
  std::vector<ServiceInfo> services;
  std::string next_page_token;  // empty when there are no more
};

// A member checked and hashed by PrepareMember(), ready to insert.
struct NewMember {
  MemberInfo info;          // id still empty
  PasswordUpdate password;  // its first password, hashed
};

// A one-time password made by PrepareOneTimePassword(): `secret` is shown to
// the person who asked for it, once, and never stored; `update` stores its hash.
struct OneTimePassword {
  std::string secret;
  absl::Time expires_at;
  PasswordUpdate update;
};

// How long a one-time password lets its member choose a password (config
// auth.one_time_password_lifetime).
inline constexpr absl::Duration kDefaultOneTimePasswordLifetime = absl::Hours(72);

// Limits enforced on every write. Sizes are in bytes.
inline constexpr size_t kMaxNameBytes = 200;
inline constexpr size_t kMaxKindBytes = 64;
inline constexpr size_t kMinLoginBytes = 3;
inline constexpr size_t kMaxLoginBytes = 64;

// The directory's tables in the shared database: sectors, services, members with
// their password hashes, and the glossary. Thread-safe (all state is in the
// database).
//
// Writes come in two forms: one that runs its own transaction, and one taking
// the Connection of the caller's Database::Write, so the caller can append the
// audit event of the change in the same transaction.
//
// Status codes: validation failures are INVALID_ARGUMENT with a reason code and
// the request field ("member.login", ...) as made by common::InvalidField();
// NOT_FOUND "sector_not_found" / "service_not_found" / "member_not_found";
// ALREADY_EXISTS "sector_exists" / "service_exists" / "login_taken"; database
// errors as mapped by storage::SqliteStatus (UNAVAILABLE when busy).
class DirectoryStore final : public DirectoryApi, public CredentialSource, public MemberRoster {
 public:
  struct Options {
    // Cost of new password hashes. Tests pass auth::FastParamsForTests().
    auth::ScryptParams scrypt;
  };

  // Applies the "directory" migrations to `db`. `db` and `clock` are not owned
  // and must outlive the store. INVALID_ARGUMENT on null arguments or scrypt
  // parameters auth::ValidateScryptParams() refuses; else the migration's status.
  static absl::StatusOr<std::unique_ptr<DirectoryStore>> Create(storage::Database* db,
                                                                const common::Clock* clock,
                                                                Options options = {});

  DirectoryStore(const DirectoryStore&) = delete;
  DirectoryStore& operator=(const DirectoryStore&) = delete;

  // Adds a sector with the caller's id: 2-64 of [a-z0-9_], name 1-200 bytes.
  absl::StatusOr<SectorInfo> CreateSector(const SectorInfo& sector);
  absl::StatusOr<SectorInfo> CreateSector(storage::Connection& txn, const SectorInfo& sector);
  // Every sector, by id.
  absl::StatusOr<std::vector<SectorInfo>> ListSectors() const;

  // Registers a service in an existing sector, with `service.platform` as given. Name 1-200 bytes,
  // kind at most 64 bytes. An empty `service.id` gets a fresh "svc_<20 hex>" id (common::NewId). A
  // non-empty one is kept, so that mutual-TLS certificates (whose Common Name is the service id)
  // can be issued before the service exists: it must be "svc_" then 1-40 of [a-z0-9_]
  // (INVALID_ARGUMENT "malformed_id" on "service.id"), and ALREADY_EXISTS "service_exists" if
  // taken. Only bootstrap code (the demo, deployment set-up) chooses ids: the CreateService RPC
  // always passes an empty one.
  absl::StatusOr<ServiceInfo> CreateService(const ServiceInfo& service);
  absl::StatusOr<ServiceInfo> CreateService(storage::Connection& txn, const ServiceInfo& service);
  // Marks (or unmarks) the platform operator's service, whose auditors are the
  // DPO. Host-side only (the demo seed, relais-admin): no RPC reaches it, and
  // the CreateService RPC always passes platform = false.
  // NOT_FOUND "service_not_found".
  absl::Status SetServicePlatform(absl::string_view service_id, bool platform);
  absl::Status SetServicePlatform(storage::Connection& txn, absl::string_view service_id,
                                  bool platform);
  // Services by id, optionally of one sector (NOT_FOUND "sector_not_found" if it
  // does not exist). `page_token` is a previous next_page_token (the last id
  // returned); at most `page_size` services, at least 1 (the handler applies
  // rpc::PageSize with rpc::kServicePages).
  absl::StatusOr<ServicePage> ListServices(absl::string_view sector_id, size_t page_size,
                                           absl::string_view page_token) const;

  // Validates `member` (service id, display name 1-200 bytes, login 3-64 of
  // [a-z0-9._-], at least one role and none unspecified) and `password` (the
  // policy of PrepareNewPassword, on field "password"), then hashes the
  // password, which the member keeps (host-side set-up only: the demo, tests;
  // every API path gives a one-time password instead). Touches no table, and
  // is slow by design (scrypt): call it outside any transaction.
  absl::StatusOr<NewMember> PrepareMember(const MemberInfo& member,
                                          absl::string_view password) const;
  // Like PrepareMember, with a fresh one-time password valid for `lifetime`
  // from now (returned in `*one_time`), which the member must change at first
  // login. Used by the AddMember RPC and relais-admin.
  absl::StatusOr<NewMember> PrepareMemberWithOneTimePassword(const MemberInfo& member,
                                                             absl::Duration lifetime,
                                                             OneTimePassword* one_time) const;
  // A fresh one-time password (auth::GenerateOneTimePassword), hashed, valid
  // for `lifetime` from now. Slow (scrypt): outside any transaction.
  absl::StatusOr<OneTimePassword> PrepareOneTimePassword(absl::Duration lifetime) const;
  // Inserts a prepared member with a fresh "mbr_<20 hex>" id, active.
  // NOT_FOUND "service_not_found"; ALREADY_EXISTS "login_taken".
  absl::StatusOr<MemberInfo> InsertMember(storage::Connection& txn, const NewMember& member);
  // PrepareMember() then InsertMember() in a transaction of its own.
  absl::StatusOr<MemberInfo> AddMember(const MemberInfo& member, absl::string_view password);

  // Deactivates (or reactivates) a member: an inactive member can neither log
  // in nor refresh a token. NOT_FOUND "member_not_found".
  absl::Status SetMemberActive(absl::string_view member_id, bool active);
  absl::Status SetMemberActive(storage::Connection& txn, absl::string_view member_id, bool active);
  // Replaces a member's roles (validated like AddMember's); the new roles reach
  // tokens at the next Login or Refresh. Returns them without duplicates.
  absl::StatusOr<std::vector<v1::Role>> SetMemberRoles(storage::Connection& txn,
                                                       absl::string_view member_id,
                                                       const std::vector<v1::Role>& roles);

  // The one place a member's password is replaced (ChangePassword through
  // ReplacePassword, ResetPassword directly): NOT_FOUND "member_not_found";
  // with a non-empty `expected_hash`, ABORTED "password_changed" unless the
  // stored hash is still that one.
  // Callers revoke the member's tokens in the same transaction
  // (auth_store::MemberSessions::RevokeAllOf).
  absl::Status SetPassword(storage::Connection& txn, absl::string_view member_id,
                           const PasswordUpdate& update, absl::string_view expected_hash = "");

  // CredentialSource.
  absl::StatusOr<Credentials> FindCredentials(absl::string_view login) const override;
  absl::StatusOr<PasswordUpdate> PrepareNewPassword(absl::string_view password,
                                                    absl::string_view field) const override;
  absl::Status ReplacePassword(absl::string_view member_id, absl::string_view expected_hash,
                               const PasswordUpdate& update,
                               absl::FunctionRef<absl::Status(storage::Connection&)> also) override;

  // DirectoryApi (GetMember also serves CredentialSource).
  absl::StatusOr<ServiceInfo> GetService(absl::string_view service_id) const override;
  absl::StatusOr<MemberInfo> GetMember(absl::string_view member_id) const override;

  // Glossary terms by acronym; with a sector id, only that sector's terms
  // (NOT_FOUND "sector_not_found" if it does not exist).
  absl::StatusOr<std::vector<GlossaryEntry>> Glossary(absl::string_view sector_id) const;

  // MemberRoster (rows whose MAC fails are refused, as in GetMember).
  absl::StatusOr<std::vector<MemberInfo>> ActiveMembers(
      absl::string_view service_id) const override;

 private:
  DirectoryStore(storage::Database* db, const common::Clock* clock, Options options)
      : db_(db), clock_(clock), options_(options) {}

  storage::Database* const db_;
  const common::Clock* const clock_;
  const Options options_;
};

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_DIRECTORY_STORE_H_
