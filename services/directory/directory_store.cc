#include "services/directory/directory_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "access/roles.h"
#include "common/ids.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/directory/directory_schema.h"

namespace relais::directory {
namespace {

using storage::Connection;
using storage::Statement;

constexpr size_t kMinSectorIdBytes = 2;
bool HasControlCharacter(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Names shown to people: 1..kMaxNameBytes bytes, not blank, no control characters.
absl::Status CheckName(absl::string_view field, absl::string_view name) {
  RETURN_IF_ERROR(common::CheckText(field, name, kMaxNameBytes));
  if (absl::StripAsciiWhitespace(name).empty()) {
    return common::InvalidField(field, "field_required", "is blank");
  }
  if (HasControlCharacter(name)) {
    return common::InvalidField(field, "invalid_characters", "holds control characters");
  }
  return absl::OkStatus();
}

absl::Status CheckSectorId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return common::InvalidField(field, "field_required", "is required");
  const bool slug = std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
  });
  if (!slug || id.size() < kMinSectorIdBytes || id.size() > common::kMaxIdLength) {
    return common::InvalidField(field, "malformed_id", "must be 2 to 64 of [a-z0-9_]");
  }
  return absl::OkStatus();
}

// A service id chosen by the deployment (so that certificates can name the
// service): "svc_" then 1-40 of [a-z0-9_].
absl::Status CheckChosenServiceId(absl::string_view id) {
  constexpr absl::string_view kPrefix = "svc_";
  constexpr size_t kMaxSuffixBytes = 40;
  const absl::string_view suffix =
      absl::StartsWith(id, kPrefix) ? id.substr(kPrefix.size()) : absl::string_view();
  const bool slug = std::all_of(suffix.begin(), suffix.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
  });
  if (suffix.empty() || suffix.size() > kMaxSuffixBytes || !slug) {
    return common::InvalidField("service.id", "malformed_id",
                                "must be svc_ followed by 1 to 40 of [a-z0-9_]");
  }
  return absl::OkStatus();
}

absl::Status CheckLogin(absl::string_view login) {
  constexpr absl::string_view kField = "member.login";
  if (login.empty()) return common::InvalidField(kField, "field_required", "is required");
  const bool charset = std::all_of(login.begin(), login.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-';
  });
  if (!charset || login.size() < kMinLoginBytes || login.size() > kMaxLoginBytes) {
    return common::InvalidField(kField, "malformed_login", "must be 3 to 64 of [a-z0-9._-]");
  }
  return absl::OkStatus();
}

// Checks roles and returns them without duplicates, in first-seen order.
absl::StatusOr<std::vector<v1::Role>> CheckRoles(const std::vector<v1::Role>& roles) {
  constexpr absl::string_view kField = "member.roles";
  if (roles.empty())
    return common::InvalidField(kField, "field_required", "needs at least one role");
  std::vector<v1::Role> unique;
  for (v1::Role r : roles) {
    if (access::RoleName(r).empty()) {
      return common::InvalidField(kField, "invalid_role", "holds an unspecified or unknown role");
    }
    if (std::find(unique.begin(), unique.end(), r) == unique.end()) unique.push_back(r);
  }
  return unique;
}

// Cheap checks of a member's fields (everything but the password).
absl::StatusOr<MemberInfo> CheckMember(const MemberInfo& member) {
  RETURN_IF_ERROR(common::CheckId("member.service_id", member.service_id));
  RETURN_IF_ERROR(CheckName("member.display_name", member.display_name));
  RETURN_IF_ERROR(CheckLogin(member.login));
  MemberInfo checked = member;
  checked.id.clear();
  checked.active = true;
  ASSIGN_OR_RETURN(checked.roles, CheckRoles(member.roles));
  return checked;
}

std::string RolesToText(const std::vector<v1::Role>& roles) {
  std::vector<std::string> names;
  for (v1::Role r : roles) names.push_back(access::RoleName(r));
  return absl::StrJoin(names, ",");
}

absl::StatusOr<std::vector<v1::Role>> RolesFromText(absl::string_view text) {
  std::vector<v1::Role> roles;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    const v1::Role r = access::RoleFromName(name);
    if (r == v1::ROLE_UNSPECIFIED) return absl::DataLossError("stored member has an unknown role");
    roles.push_back(r);
  }
  return roles;
}

// True if `sql` (one bound text parameter ?1) returns a row.
absl::StatusOr<bool> Exists(Connection& conn, absl::string_view sql, absl::string_view key) {
  ASSIGN_OR_RETURN(Statement q, conn.Prepare(sql));
  q.Bind(1, key);
  return q.Step();
}

absl::Status RequireSector(Connection& conn, absl::string_view sector_id) {
  ASSIGN_OR_RETURN(bool found, Exists(conn, "SELECT 1 FROM dir_sectors WHERE id = ?1", sector_id));
  if (!found) return common::NotFound("sector_not_found", "no sector has this id");
  return absl::OkStatus();
}

// The MAC'd columns come last, followed by `mac` (storage::CheckRow).
std::string ServiceSelect() {
  return absl::StrCat("SELECT name, kind, ", kServiceMacColumns, ", mac FROM dir_services ");
}
constexpr int kServiceMacFirst = 2;

// Reads a row selected with ServiceSelect(), once its MAC verifies.
absl::StatusOr<ServiceInfo> ServiceFromRow(Connection& c, const Statement& row) {
  RETURN_IF_ERROR(storage::CheckRow(c, kServiceMac, row, kServiceMacFirst));
  return ServiceInfo{.id = row.ColumnText(2),
                     .name = row.ColumnText(0),
                     .sector_id = row.ColumnText(3),
                     .kind = row.ColumnText(1),
                     .platform = row.ColumnInt64(4) != 0,
                     .staffed = row.ColumnInt64(5) != 0};
}

// Checks row `id` of `t` if it exists. Before a write changes a MAC'd row it
// must be authentic; an absent row is left to the write, which reports it its
// own way.
absl::Status CheckIfPresent(Connection& c, const storage::MacTable& t, absl::string_view id) {
  absl::Status s = storage::CheckStoredRow(c, t, id);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

bool HasFieldRole(const std::vector<v1::Role>& roles) {
  return std::any_of(roles.begin(), roles.end(), [](v1::Role r) {
    return r == v1::ROLE_CASEWORKER || r == v1::ROLE_COORDINATOR;
  });
}

// Marks `service_id` staffed (never undone) when `roles` hold a field role.
absl::Status MarkStaffedIfField(Connection& txn, absl::string_view service_id,
                                const std::vector<v1::Role>& roles) {
  if (!HasFieldRole(roles)) return absl::OkStatus();
  RETURN_IF_ERROR(CheckIfPresent(txn, kServiceMac, service_id));
  ASSIGN_OR_RETURN(
      Statement upd,
      txn.Prepare("UPDATE dir_services SET staffed = 1 WHERE id = ?1 AND staffed = 0"));
  upd.Bind(1, service_id);
  RETURN_IF_ERROR(upd.Run());
  if (txn.Changes() == 0) return absl::OkStatus();
  return storage::SetRowMac(txn, kServiceMac, service_id);
}

// Binds a password's expiry at `index`: NULL when it never expires.
void BindExpiry(Statement& stmt, int index, const PasswordUpdate& update) {
  if (update.expires_at == absl::InfiniteFuture()) {
    stmt.BindNull(index);
  } else {
    stmt.Bind(index, absl::ToUnixMicros(update.expires_at));
  }
}

std::string MemberSelect() {
  return absl::StrCat(
      "SELECT display_name, password_hash, password_must_change, password_expires_at_us, ",
      kMemberMacColumns, ", mac FROM dir_members ");
}
constexpr int kMemberMacFirst = 4;

// Reads a row selected with MemberSelect(), once its MAC verifies, and that
// of its service (whose sector and platform flag its token will stand for).
absl::StatusOr<Credentials> MemberFromRow(Connection& conn, const Statement& row) {
  RETURN_IF_ERROR(storage::CheckRow(conn, kMemberMac, row, kMemberMacFirst));
  RETURN_IF_ERROR(CheckIfPresent(conn, kServiceMac, row.ColumnText(5)));
  Credentials c;
  MemberInfo& m = c.member;
  m.display_name = row.ColumnText(0);
  c.password_hash = row.ColumnText(1);
  c.must_change = row.ColumnInt64(2) != 0;
  if (!row.ColumnIsNull(3)) c.password_expires_at = absl::FromUnixMicros(row.ColumnInt64(3));
  m.id = row.ColumnText(4);
  m.service_id = row.ColumnText(5);
  m.login = row.ColumnText(6);
  ASSIGN_OR_RETURN(m.roles, RolesFromText(row.ColumnText(7)));
  m.active = row.ColumnInt64(8) != 0;
  return c;
}

}  // namespace

absl::Status SealExistingRows(storage::Database& db) {
  return storage::SealExistingRows(db, {kServiceMac, kMemberMac});
}

absl::StatusOr<std::unique_ptr<DirectoryStore>> DirectoryStore::Create(storage::Database* db,
                                                                       const common::Clock* clock,
                                                                       Options options) {
  if (db == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("DirectoryStore needs a database and a clock");
  }
  RETURN_IF_ERROR(auth::ValidateScryptParams(options.scrypt));
  RETURN_IF_ERROR(
      db->Migrate(kDirectoryComponent, DirectoryMigrations(), DirectoryPostgresMigrations()));
  return std::unique_ptr<DirectoryStore>(new DirectoryStore(db, clock, options));
}

absl::StatusOr<SectorInfo> DirectoryStore::CreateSector(const SectorInfo& sector) {
  absl::StatusOr<SectorInfo> created;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) {
    created = CreateSector(txn, sector);
    return created.status();
  }));
  return created;
}

absl::StatusOr<SectorInfo> DirectoryStore::CreateSector(Connection& txn, const SectorInfo& sector) {
  RETURN_IF_ERROR(CheckSectorId("sector.id", sector.id));
  RETURN_IF_ERROR(CheckName("sector.name", sector.name));
  ASSIGN_OR_RETURN(Statement ins, txn.Prepare("INSERT INTO dir_sectors(id, name) VALUES (?1, ?2)"));
  ins.Bind(1, sector.id).Bind(2, sector.name);
  if (absl::Status s = ins.Run(); !s.ok()) {
    if (absl::IsAlreadyExists(s)) {
      return common::AlreadyExists("sector_exists", "a sector already has this id");
    }
    return s;
  }
  return sector;
}

absl::StatusOr<std::vector<SectorInfo>> DirectoryStore::ListSectors() const {
  std::vector<SectorInfo> sectors;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare("SELECT id, name FROM dir_sectors ORDER BY id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::OkStatus();
      sectors.push_back({q.ColumnText(0), q.ColumnText(1)});
    }
  }));
  return sectors;
}

absl::StatusOr<ServiceInfo> DirectoryStore::CreateService(const ServiceInfo& service) {
  absl::StatusOr<ServiceInfo> created;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) {
    created = CreateService(txn, service);
    return created.status();
  }));
  return created;
}

absl::StatusOr<ServiceInfo> DirectoryStore::CreateService(Connection& txn,
                                                          const ServiceInfo& service) {
  RETURN_IF_ERROR(CheckName("service.name", service.name));
  RETURN_IF_ERROR(CheckSectorId("service.sector_id", service.sector_id));
  if (service.kind.size() > kMaxKindBytes || HasControlCharacter(service.kind)) {
    return common::InvalidField("service.kind", "malformed_kind",
                                "must be at most 64 bytes without control characters");
  }
  if (!service.id.empty()) RETURN_IF_ERROR(CheckChosenServiceId(service.id));
  RETURN_IF_ERROR(RequireSector(txn, service.sector_id));
  ServiceInfo created = service;
  if (created.id.empty()) {
    created.id = common::NewId("svc");
  } else {
    // Checked inside the write transaction, like logins; the primary key stays
    // as the last line of defence.
    ASSIGN_OR_RETURN(bool taken,
                     Exists(txn, "SELECT 1 FROM dir_services WHERE id = ?1", created.id));
    if (taken) return common::AlreadyExists("service_exists", "another service has this id");
  }
  ASSIGN_OR_RETURN(Statement ins,
                   txn.Prepare("INSERT INTO dir_services(id, name, sector_id, kind, "
                               "created_at_us, platform) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  ins.Bind(1, created.id)
      .Bind(2, created.name)
      .Bind(3, created.sector_id)
      .Bind(4, created.kind)
      .Bind(5, absl::ToUnixMicros(clock_->Now()))
      .Bind(6, int64_t{created.platform ? 1 : 0});
  RETURN_IF_ERROR(ins.Run());
  RETURN_IF_ERROR(storage::SetRowMac(txn, kServiceMac, created.id));
  return created;
}

absl::Status DirectoryStore::SetServicePlatform(absl::string_view service_id, bool platform) {
  return db_->Write([&](Connection& txn) -> absl::Status {
    return SetServicePlatform(txn, service_id, platform);
  });
}

absl::Status DirectoryStore::SetServicePlatform(Connection& txn, absl::string_view service_id,
                                                bool platform) {
  RETURN_IF_ERROR(CheckIfPresent(txn, kServiceMac, service_id));
  ASSIGN_OR_RETURN(Statement upd,
                   txn.Prepare("UPDATE dir_services SET platform = ?1 WHERE id = ?2"));
  upd.Bind(1, int64_t{platform ? 1 : 0}).Bind(2, service_id);
  RETURN_IF_ERROR(upd.Run());
  if (txn.Changes() == 0) return common::NotFound("service_not_found", "no service has this id");
  return storage::SetRowMac(txn, kServiceMac, service_id);
}

absl::StatusOr<ServicePage> DirectoryStore::ListServices(absl::string_view sector_id,
                                                         size_t page_size,
                                                         absl::string_view page_token) const {
  if (!sector_id.empty()) RETURN_IF_ERROR(CheckSectorId("sector_id", sector_id));
  // Tokens are service ids this server handed out.
  if (!page_token.empty() &&
      (!absl::StartsWith(page_token, "svc_") || !common::CheckId("page_token", page_token).ok())) {
    return common::InvalidField("page_token", "bad_page_token", "is not a token this server gave");
  }
  if (page_size == 0) return absl::InvalidArgumentError("page_size must be at least 1");
  ServicePage page;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    if (!sector_id.empty()) RETURN_IF_ERROR(RequireSector(conn, sector_id));
    // One row more than asked tells whether another page follows.
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat(ServiceSelect(),
                                                            "WHERE (?1 = '' OR sector_id = ?1) "
                                                            "AND id > ?2 ORDER BY id LIMIT ?3")));
    q.Bind(1, sector_id).Bind(2, page_token).Bind(3, static_cast<int64_t>(page_size) + 1);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::OkStatus();
      if (page.services.size() == page_size) {
        page.next_page_token = page.services.back().id;
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(ServiceInfo service, ServiceFromRow(conn, q));
      page.services.push_back(std::move(service));
    }
  }));
  return page;
}

absl::StatusOr<NewMember> DirectoryStore::PrepareMember(const MemberInfo& member,
                                                        absl::string_view password) const {
  NewMember prepared;
  ASSIGN_OR_RETURN(prepared.info, CheckMember(member));
  if (password.empty()) return common::InvalidField("password", "field_required", "is required");
  ASSIGN_OR_RETURN(prepared.password, PrepareNewPassword(password, "password"));
  return prepared;
}

absl::StatusOr<NewMember> DirectoryStore::PrepareMemberWithOneTimePassword(
    const MemberInfo& member, absl::Duration lifetime, OneTimePassword* one_time) const {
  NewMember prepared;
  ASSIGN_OR_RETURN(prepared.info, CheckMember(member));
  ASSIGN_OR_RETURN(*one_time, PrepareOneTimePassword(lifetime));
  prepared.password = one_time->update;
  return prepared;
}

absl::StatusOr<PasswordUpdate> DirectoryStore::PrepareNewPassword(absl::string_view password,
                                                                  absl::string_view field) const {
  if (const auth::PasswordVerdict verdict = auth::CheckNewPassword(password); !verdict.ok()) {
    return common::InvalidField(field, verdict.reason, verdict.explanation);
  }
  PasswordUpdate update;
  ASSIGN_OR_RETURN(update.password_hash, auth::HashPassword(password, options_.scrypt));
  return update;
}

absl::StatusOr<OneTimePassword> DirectoryStore::PrepareOneTimePassword(
    absl::Duration lifetime) const {
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("one-time password lifetime must be positive");
  }
  OneTimePassword out;
  ASSIGN_OR_RETURN(out.secret, auth::GenerateOneTimePassword());
  // Whole seconds, so what the reply says is exactly what is stored.
  out.expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_->Now() + lifetime));
  ASSIGN_OR_RETURN(out.update.password_hash, auth::HashPassword(out.secret, options_.scrypt));
  out.update.must_change = true;
  out.update.expires_at = out.expires_at;
  return out;
}

absl::StatusOr<MemberInfo> DirectoryStore::InsertMember(Connection& txn, const NewMember& member) {
  ASSIGN_OR_RETURN(MemberInfo created, CheckMember(member.info));
  if (member.password.password_hash.empty()) {
    return absl::InternalError("member without password hash");
  }
  // The service must be authentic too: a member joins no forged service.
  if (absl::Status service = storage::CheckStoredRow(txn, kServiceMac, created.service_id);
      !service.ok()) {
    if (absl::IsNotFound(service)) {
      return common::NotFound("service_not_found", "no service has this id");
    }
    return service;
  }
  // Checked inside the write transaction, so no other writer can take the login
  // before the insert; the UNIQUE constraint stays as the last line of defence.
  ASSIGN_OR_RETURN(bool login_used,
                   Exists(txn, "SELECT 1 FROM dir_members WHERE login = ?1", created.login));
  if (login_used) return common::AlreadyExists("login_taken", "another member has this login");
  ASSIGN_OR_RETURN(
      Statement ins,
      txn.Prepare("INSERT INTO dir_members(id, service_id, display_name, login, roles, "
                  "password_hash, active, created_at_us, password_must_change, "
                  "password_expires_at_us) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9)"));
  created.id = common::NewId("mbr");
  ins.Bind(1, created.id)
      .Bind(2, created.service_id)
      .Bind(3, created.display_name)
      .Bind(4, created.login)
      .Bind(5, RolesToText(created.roles))
      .Bind(6, member.password.password_hash)
      .Bind(7, absl::ToUnixMicros(clock_->Now()))
      .Bind(8, int64_t{member.password.must_change ? 1 : 0});
  BindExpiry(ins, 9, member.password);
  RETURN_IF_ERROR(ins.Run());
  RETURN_IF_ERROR(storage::SetRowMac(txn, kMemberMac, created.id));
  RETURN_IF_ERROR(MarkStaffedIfField(txn, created.service_id, created.roles));
  return created;
}

absl::StatusOr<MemberInfo> DirectoryStore::AddMember(const MemberInfo& member,
                                                     absl::string_view password) {
  ASSIGN_OR_RETURN(NewMember prepared, PrepareMember(member, password));
  absl::StatusOr<MemberInfo> created;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) {
    created = InsertMember(txn, prepared);
    return created.status();
  }));
  return created;
}

absl::Status DirectoryStore::SetMemberActive(absl::string_view member_id, bool active) {
  return db_->Write(
      [&](Connection& txn) -> absl::Status { return SetMemberActive(txn, member_id, active); });
}

absl::StatusOr<std::vector<v1::Role>> DirectoryStore::SetMemberRoles(
    Connection& txn, absl::string_view member_id, const std::vector<v1::Role>& roles) {
  ASSIGN_OR_RETURN(std::vector<v1::Role> checked, CheckRoles(roles));
  RETURN_IF_ERROR(CheckIfPresent(txn, kMemberMac, member_id));
  ASSIGN_OR_RETURN(Statement upd, txn.Prepare("UPDATE dir_members SET roles = ?1 WHERE id = ?2"));
  upd.Bind(1, RolesToText(checked)).Bind(2, member_id);
  RETURN_IF_ERROR(upd.Run());
  if (txn.Changes() == 0) return common::NotFound("member_not_found", "no member has this id");
  RETURN_IF_ERROR(storage::SetRowMac(txn, kMemberMac, member_id));
  if (HasFieldRole(checked)) {
    ASSIGN_OR_RETURN(Statement svc,
                     txn.Prepare("SELECT service_id FROM dir_members WHERE id = ?1"));
    svc.Bind(1, member_id);
    ASSIGN_OR_RETURN(bool row, svc.Step());
    if (row) RETURN_IF_ERROR(MarkStaffedIfField(txn, svc.ColumnText(0), checked));
  }
  return checked;
}

absl::Status DirectoryStore::SetMemberActive(Connection& txn, absl::string_view member_id,
                                             bool active) {
  RETURN_IF_ERROR(CheckIfPresent(txn, kMemberMac, member_id));
  ASSIGN_OR_RETURN(Statement upd, txn.Prepare("UPDATE dir_members SET active = ?1 WHERE id = ?2"));
  upd.Bind(1, int64_t{active ? 1 : 0}).Bind(2, member_id);
  RETURN_IF_ERROR(upd.Run());
  if (txn.Changes() == 0) return common::NotFound("member_not_found", "no member has this id");
  return storage::SetRowMac(txn, kMemberMac, member_id);
}

absl::Status DirectoryStore::SetPassword(Connection& txn, absl::string_view member_id,
                                         const PasswordUpdate& update,
                                         absl::string_view expected_hash) {
  if (update.password_hash.empty()) return absl::InternalError("password update without a hash");
  ASSIGN_OR_RETURN(Statement upd,
                   txn.Prepare("UPDATE dir_members SET password_hash = ?1, "
                               "password_must_change = ?2, password_expires_at_us = ?3 "
                               "WHERE id = ?4 AND (?5 = '' OR password_hash = ?5)"));
  upd.Bind(1, update.password_hash)
      .Bind(2, int64_t{update.must_change ? 1 : 0})
      .Bind(4, member_id)
      .Bind(5, expected_hash);
  BindExpiry(upd, 3, update);
  RETURN_IF_ERROR(upd.Run());
  if (txn.Changes() == 0) {
    ASSIGN_OR_RETURN(bool found, Exists(txn, "SELECT 1 FROM dir_members WHERE id = ?1", member_id));
    if (!found) return common::NotFound("member_not_found", "no member has this id");
    return common::WithReason(absl::StatusCode::kAborted, "password_changed",
                              "the password changed meanwhile");
  }
  return absl::OkStatus();
}

absl::Status DirectoryStore::ReplacePassword(absl::string_view member_id,
                                             absl::string_view expected_hash,
                                             const PasswordUpdate& update,
                                             absl::FunctionRef<absl::Status(Connection&)> also) {
  return db_->Write([&](Connection& txn) -> absl::Status {
    RETURN_IF_ERROR(SetPassword(txn, member_id, update, expected_hash));
    return also(txn);
  });
}

absl::StatusOr<Credentials> DirectoryStore::FindCredentials(absl::string_view login) const {
  absl::StatusOr<Credentials> found =
      common::NotFound("member_not_found", "no member has this login");
  if (login.empty() || login.size() > kMaxLoginBytes) return found;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat(MemberSelect(), "WHERE login = ?1")));
    q.Bind(1, login);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) found = MemberFromRow(conn, q);
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<ServiceInfo> DirectoryStore::GetService(absl::string_view service_id) const {
  absl::StatusOr<ServiceInfo> found =
      common::NotFound("service_not_found", "no service has this id");
  if (service_id.empty() || service_id.size() > common::kMaxIdLength) return found;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat(ServiceSelect(), "WHERE id = ?1")));
    q.Bind(1, service_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) found = ServiceFromRow(conn, q);
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<MemberInfo> DirectoryStore::GetMember(absl::string_view member_id) const {
  absl::StatusOr<MemberInfo> found = common::NotFound("member_not_found", "no member has this id");
  if (member_id.empty() || member_id.size() > common::kMaxIdLength) return found;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat(MemberSelect(), "WHERE id = ?1")));
    q.Bind(1, member_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::OkStatus();
    ASSIGN_OR_RETURN(Credentials credentials, MemberFromRow(conn, q));
    found = std::move(credentials.member);  // the hash stays here
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<GlossaryEntry>> DirectoryStore::Glossary(
    absl::string_view sector_id) const {
  if (!sector_id.empty()) RETURN_IF_ERROR(CheckSectorId("sector_id", sector_id));
  std::vector<GlossaryEntry> terms;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    if (!sector_id.empty()) RETURN_IF_ERROR(RequireSector(conn, sector_id));
    ASSIGN_OR_RETURN(Statement q,
                     conn.Prepare("SELECT acronym, expansion, COALESCE(sector_id, ''), description "
                                  "FROM dir_glossary WHERE (?1 = '' OR sector_id = ?1) "
                                  "ORDER BY acronym"));
    q.Bind(1, sector_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::OkStatus();
      terms.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnText(2), q.ColumnText(3)});
    }
  }));
  return terms;
}

absl::StatusOr<std::vector<MemberInfo>> DirectoryStore::ActiveMembers(
    absl::string_view service_id) const {
  std::vector<MemberInfo> members;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat(MemberSelect(),
                                                            "WHERE service_id = ?1 AND active = 1 "
                                                            "ORDER BY id")));
    q.Bind(1, service_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return absl::OkStatus();
      ASSIGN_OR_RETURN(Credentials credentials, MemberFromRow(conn, q));
      members.push_back(std::move(credentials.member));  // the hash stays here
    }
  }));
  return members;
}

}  // namespace relais::directory
