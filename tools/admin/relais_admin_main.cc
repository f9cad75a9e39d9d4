// relais-admin: operator commands that work on the database and key files
// directly, beside a running relaisd (SQLite WAL: relaisd keeps serving).
//
//   relais-admin new-master-key --out=<file>
//       Writes a fresh master key (32 random bytes, mode 0600, never overwrites)
//       and prints its id.
//   relais-admin master-key-status --db=<relais.db> [--key_file=<file>]...
//       Prints how many live data keys each master key id wraps, and the id of
//       each --key_file given (comma-separated).
//   relais-admin rotate-master-key --db=<relais.db> --old_key_file=<file>
//                                  --new_key_file=<file>
//       Re-wraps every data key still wrapped under the old master key with the
//       new one, in one transaction (all or nothing; safe to run again). Field
//       ciphertexts are untouched. Before running it, restart relaisd with
//       --master_key_file=<new> --previous_master_key_file=<old> so that it
//       unwraps under both ids; afterwards restart it with the new key alone.
//
// Separated duties (DESIGN.md): the admin role, and the platform service's
// members (admins, the DPO), change only here, on the host, never through the
// gRPC API; so does the platform flag of a service (its auditors are the DPO).
// An online admin therefore never learns the secret of anyone who approves
// what an admin asks (a full export). Each change is appended to the audit
// chain in the same transaction, as actor "relais-admin".
//
// The member and service rows carry a MAC (README "Authenticated access
// facts") under a key derived from the master key, so these commands load it
// exactly as relaisd does: --master_key_file, else $RELAIS_MASTER_KEY, else
// <--keys_dir>/master.key, and --previous_master_key_file during a rotation.
// Rows written under another key would be refused by relaisd.
//
//   relais-admin create-admin --db=<relais.db> <keys> --service=<svc_id> --login=<login>
//                             --display_name=<name>
//                             [--service_name=<name> --sector=<sector id>]
//   relais-admin create-auditor (same flags)
//       Creates a member holding the admin (or auditor) role in the service,
//       e.g. the first admin of a new, empty deployment (the file is created
//       and migrated if needed), or the DPO. A service that does not exist is
//       created, marked platform (--service_name and --sector then required).
//       Prints a one-time password, once: the member chooses their own at
//       first login (relaisctl passwd) within --one_time_password_hours
//       (default 72).
//   relais-admin reset-password --db=<relais.db> <keys> --login=<login>
//       Replaces any member's password (an admin's or the DPO's too, which the
//       API never does) with a one-time password, printed once, as above.
//   relais-admin grant-admin|grant-auditor --db=<relais.db> <keys> --login=<login>
//   relais-admin revoke-admin|revoke-auditor --db=<relais.db> <keys> --login=<login>
//       Adds the role to an existing member, or takes it away (a member left
//       without any role is deactivated).
//   relais-admin set-platform-service --db=<relais.db> <keys> --service=<svc_id>
//                                     [--platform=false]
//       Marks the service as the platform operator's (its auditors are the
//       DPO, platform-wide), or unmarks it with --platform=false.
//
//   <keys>: --master_key_file=<file> [--previous_master_key_file=<file>], or
//   $RELAIS_MASTER_KEY, or --keys_dir=<dir>: what relaisd is given.
//
// Exit status: 0 done; 1 the operation failed (nothing changed); 2 usage error.
// Key material and passwords are never printed (but the one-time passwords
// this tool makes, once); ids are.

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "services/audit/audit_log.h"
#include "services/auth_store/revocation_store.h"
#include "services/common/rpc.h"
#include "services/directory/directory_store.h"
#include "storage/crypto/field_crypto.h"
#include "storage/crypto/master_key.h"
#include "storage/database.h"
#include "storage/row_mac.h"

ABSL_FLAG(std::string, db, "", "The relaisd SQLite database file");
ABSL_FLAG(std::string, old_key_file, "", "rotate-master-key: the current (old) master key file");
ABSL_FLAG(std::string, new_key_file, "", "rotate-master-key: the new master key file");
ABSL_FLAG(std::string, keys_dir, "",
          "rotate-token-key: relaisd's --keys_dir; directory commands: the master key "
          "fallback <keys_dir>/master.key, as relaisd");
ABSL_FLAG(std::string, master_key_file, "",
          "Directory commands: relaisd's --master_key_file (else $RELAIS_MASTER_KEY, else "
          "<keys_dir>/master.key), whose row MAC key the rows written must carry");
ABSL_FLAG(std::string, previous_master_key_file, "",
          "Directory commands, during a master key rotation: relaisd's "
          "--previous_master_key_file");
ABSL_FLAG(std::string, out, "", "new-master-key: the file to create (mode 0600)");
ABSL_FLAG(std::vector<std::string>, key_file, {},
          "master-key-status: key files whose ids to print (comma-separated)");
ABSL_FLAG(std::string, service, "",
          "create-admin, create-auditor, set-platform-service: the service id");
ABSL_FLAG(std::string, service_name, "",
          "create-admin: the name of the platform service, if it must be created");
ABSL_FLAG(std::string, sector, "",
          "create-admin: the sector id of the platform service, if it must be created");
ABSL_FLAG(std::string, login, "",
          "create-*, reset-password, grant-*, revoke-*: the member's login");
ABSL_FLAG(std::string, display_name, "", "create-admin: the member's display name");
ABSL_FLAG(int, one_time_password_hours, 72,
          "create-admin, create-auditor, reset-password: how long the one-time password printed "
          "stays valid");
ABSL_FLAG(bool, platform, true, "set-platform-service: mark (true) or unmark (false)");

namespace {

namespace crypto = relais::storage::crypto;
using relais::storage::Connection;
using relais::storage::Database;

// The record service's schema version that created rec_data_keys.
constexpr int kDataKeysSchemaVersion = 2;

constexpr char kUsage[] =
    "relais-admin new-master-key --out=<file>\n"
    "       relais-admin rotate-token-key --keys_dir=<dir>\n"
    "       relais-admin master-key-status --db=<relais.db> [--key_file=<file>[,...]]\n"
    "       relais-admin rotate-master-key --db=<relais.db> --old_key_file=<file> "
    "--new_key_file=<file>\n"
    "       relais-admin create-admin|create-auditor --db=<relais.db> <keys> "
    "--service=<svc_id> --login=<login> --display_name=<name> "
    "[--service_name=<name> --sector=<id>]\n"
    "       relais-admin reset-password --db=<relais.db> <keys> --login=<login>\n"
    "       relais-admin grant-admin|grant-auditor --db=<relais.db> <keys> --login=<login>\n"
    "       relais-admin revoke-admin|revoke-auditor --db=<relais.db> <keys> --login=<login>\n"
    "       relais-admin set-platform-service --db=<relais.db> <keys> --service=<svc_id> "
    "[--platform=false]\n"
    "<keys>: the master key relaisd is given: --master_key_file=<file> "
    "[--previous_master_key_file=<file>], or $RELAIS_MASTER_KEY, or --keys_dir=<dir>";

int Usage(const std::string& why) {
  std::fprintf(stderr, "relais-admin: %s\nusage: %s\n", why.c_str(), kUsage);
  return 2;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "relais-admin: %s\n", status.ToString().c_str());
  return 1;
}

// Opens an existing relaisd database whose record tables have data keys.
absl::StatusOr<std::unique_ptr<Database>> OpenExisting(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("--db is required");
  if (!relais::storage::IsPostgresUri(path) && !std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat(path, " is not a database file"));
  }
  // Waits behind relaisd's short write transactions rather than failing.
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                   Database::Open({.path = path, .readers = 1, .busy_timeout = absl::Seconds(30)}));
  ASSIGN_OR_RETURN(int version, db->SchemaVersion("record"));
  if (version < kDataKeysSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has no data keys table (record schema version ", version,
                     "); start relaisd on it once first"));
  }
  return db;
}

int NewMasterKey() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Usage("new-master-key needs --out");
  absl::StatusOr<crypto::MasterKey> key = crypto::MasterKey::Generate();
  if (!key.ok()) return Fail(key.status());
  if (absl::Status s = key->WriteNewFile(out); !s.ok()) return Fail(s);
  std::printf("created %s: master key id %s\n", out.c_str(), key->id().c_str());
  return 0;
}

int MasterKeyStatus() {
  for (const std::string& file : absl::GetFlag(FLAGS_key_file)) {
    absl::StatusOr<crypto::MasterKey> key = crypto::MasterKey::ReadFile(file);
    if (!key.ok()) return Fail(key.status());
    std::printf("%s: master key id %s\n", file.c_str(), key->id().c_str());
  }
  absl::StatusOr<std::unique_ptr<Database>> db = OpenExisting(absl::GetFlag(FLAGS_db));
  if (!db.ok()) return Fail(db.status());
  std::map<std::string, int64_t> counts;
  absl::Status s = (*db)->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(counts, crypto::CountDataKeysByMasterKey(c));
    return absl::OkStatus();
  });
  if (!s.ok()) return Fail(s);
  if (counts.empty()) std::printf("no live data keys\n");
  for (const auto& [id, count] : counts) {
    std::printf("%s wraps %lld data keys\n", id.c_str(), static_cast<long long>(count));
  }
  return 0;
}

int RotateMasterKey() {
  const std::string old_file = absl::GetFlag(FLAGS_old_key_file);
  const std::string new_file = absl::GetFlag(FLAGS_new_key_file);
  if (old_file.empty() || new_file.empty()) {
    return Usage("rotate-master-key needs --old_key_file and --new_key_file");
  }
  absl::StatusOr<crypto::MasterKeyRing> ring =
      crypto::MasterKeyRing::Load({.file = new_file, .previous_file = old_file});
  if (!ring.ok()) return Fail(ring.status());
  absl::StatusOr<std::unique_ptr<Database>> db = OpenExisting(absl::GetFlag(FLAGS_db));
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<crypto::RewrapStats> stats;
  absl::Status s = (*db)->Write([&](Connection& c) -> absl::Status {
    stats = crypto::RewrapDataKeys(c, *ring);
    return stats.status();
  });
  if (!s.ok()) return Fail(s);
  std::printf(
      "re-wrapped %lld data keys under master key %s (%lld were already under it, "
      "%lld destroyed keys left alone).\n"
      "Next: restart relaisd with --master_key_file=%s alone, then retire the old key "
      "(%s) once no backup you keep still needs it.\n",
      static_cast<long long>(stats->rewrapped), ring->current().id().c_str(),
      static_cast<long long>(stats->already_current), static_cast<long long>(stats->destroyed),
      new_file.c_str(), ring->previous_ids().front().c_str());
  return 0;
}

// ---- The directory's separated duties: admin role and platform flag --------

namespace directory = relais::directory;
namespace v1 = relais::v1;

// Who the audit events of this tool name.
constexpr char kToolActor[] = "relais-admin";

// The directory and the audit log of a relaisd database, both migrated, with
// relaisd's row MAC key bound.
struct Directory {
  std::unique_ptr<Database> db;
  std::unique_ptr<relais::storage::RowMacBinding> row_mac;
  std::unique_ptr<relais::audit::AuditLog> audit;
  std::unique_ptr<directory::DirectoryStore> store;
  std::unique_ptr<relais::auth_store::RevocationStore> revocations;
};

// Loads the master keys as relaisd does (record::RecordServiceImpl::LoadMasterKeys)
// and binds the row MAC key derived from them to `db`. Never an in-memory key:
// rows MACed under it would verify nowhere else.
absl::StatusOr<std::unique_ptr<relais::storage::RowMacBinding>> BindRelaisdRowMac(Database& db) {
  const crypto::MasterKeySources sources{
      .file = absl::GetFlag(FLAGS_master_key_file),
      .previous_file = absl::GetFlag(FLAGS_previous_master_key_file),
      .keys_dir = absl::GetFlag(FLAGS_keys_dir)};
  const char* env = std::getenv("RELAIS_MASTER_KEY");
  if (sources.file.empty() && (env == nullptr || *env == '\0') && sources.keys_dir.empty()) {
    return absl::InvalidArgumentError(
        "the master key relaisd uses is required: --master_key_file, $RELAIS_MASTER_KEY or "
        "--keys_dir");
  }
  std::map<std::string, int64_t> in_use;
  ASSIGN_OR_RETURN(int version, db.SchemaVersion("record"));
  if (version >= kDataKeysSchemaVersion) {
    RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(in_use, crypto::CountDataKeysByMasterKey(c));
      return absl::OkStatus();
    }));
  }
  crypto::MasterKeySources load = sources;
  // As relaisd: a missing key file is created only while no data key needs one.
  load.allow_generate = in_use.empty();
  ASSIGN_OR_RETURN(crypto::MasterKeyRing ring, crypto::MasterKeyRing::Load(load));
  for (const auto& [id, count] : in_use) {
    if (ring.Find(id) == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database holds data keys wrapped under master key ", id, " but the key given (",
          ring.current().id(), ") is not it: pass relaisd's --master_key_file"));
    }
  }
  std::vector<absl::string_view> keys{ring.current().key().bytes()};
  for (const std::string& id : ring.previous_ids()) keys.push_back(ring.Find(id)->key().bytes());
  ASSIGN_OR_RETURN(std::shared_ptr<const relais::storage::RowMac> mac,
                   relais::storage::RowMac::Derive(keys));
  return relais::storage::BindRowMac(db, std::move(mac));
}

// Opens the database (creating the file only if `may_create`) with the
// directory's and the audit log's tables.
absl::StatusOr<Directory> OpenDirectory(bool may_create) {
  const std::string path = absl::GetFlag(FLAGS_db);
  if (path.empty()) return absl::InvalidArgumentError("--db is required");
  if (!may_create && !relais::storage::IsPostgresUri(path) &&
      !std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat(path, " is not a database file"));
  }
  Directory d;
  ASSIGN_OR_RETURN(d.db,
                   Database::Open({.path = path, .readers = 1, .busy_timeout = absl::Seconds(30)}));
  ASSIGN_OR_RETURN(d.audit,
                   relais::audit::AuditLog::Create(d.db.get(), &relais::common::RealClock()));
  // Default scrypt parameters: what relaisd hashes with.
  ASSIGN_OR_RETURN(d.store,
                   directory::DirectoryStore::Create(d.db.get(), &relais::common::RealClock(),
                                                     {.scrypt = relais::auth::ScryptParams{}}));
  ASSIGN_OR_RETURN(d.revocations, relais::auth_store::RevocationStore::Create(
                                      d.db.get(), &relais::common::RealClock()));
  ASSIGN_OR_RETURN(d.row_mac, BindRelaisdRowMac(*d.db));
  // Rows written before the MACs are sealed as relaisd's start-up does (once).
  RETURN_IF_ERROR(directory::SealExistingRows(*d.db));
  return d;
}

// The ALLOW event of one change made by this tool, appended in its transaction.
absl::Status AuditChange(Directory& d, Connection& txn, const std::string& object_id,
                         const std::string& service_id,
                         v1::Action action = v1::ACTION_MANAGE_DIRECTORY) {
  relais::audit::EventInput event;
  event.request_id = relais::common::NewId("req");
  event.actor_member_id = kToolActor;
  event.actor_service_id = service_id;
  event.actor_roles = "admin";
  event.client_identity = kToolActor;
  event.action = action;
  event.object_id = object_id;
  event.decision = v1::DECISION_ALLOW;
  event.reason = v1::ACCESS_REASON_ALLOWED;
  event.reason_code = "allowed";
  return d.audit->Append(txn, event).status();
}

// How long printed one-time passwords stay valid; 0 if the flag is out of range.
absl::Duration OneTimePasswordLifetime() {
  const int hours = absl::GetFlag(FLAGS_one_time_password_hours);
  return hours >= 1 && hours <= 24 * 30 ? absl::Hours(hours) : absl::ZeroDuration();
}

// Prints a one-time password, the only time it is ever shown.
void PrintOneTimePassword(const std::string& login, const directory::OneTimePassword& otp) {
  std::printf(
      "one-time password for %s: %s\n"
      "valid until %s; it only serves to choose a password: relaisctl passwd\n",
      login.c_str(), otp.secret.c_str(),
      absl::FormatTime(absl::RFC3339_sec, otp.expires_at, absl::UTCTimeZone()).c_str());
}

// create-admin (ROLE_ADMIN) and create-auditor (ROLE_AUDITOR).
int CreateMember(v1::Role role) {
  const std::string role_name = relais::access::RoleName(role);
  const std::string service_id = absl::GetFlag(FLAGS_service);
  const std::string login = absl::GetFlag(FLAGS_login);
  const std::string name = absl::GetFlag(FLAGS_display_name);
  if (service_id.empty() || login.empty() || name.empty()) {
    return Usage(
        absl::StrCat("create-", role_name, " needs --service, --login and --display_name"));
  }
  const absl::Duration lifetime = OneTimePasswordLifetime();
  if (lifetime == absl::ZeroDuration()) return Usage("--one_time_password_hours: 1 to 720");
  absl::StatusOr<Directory> d = OpenDirectory(/*may_create=*/true);
  if (!d.ok()) return Fail(d.status());
  // Slow (scrypt): outside the write transaction. Nobody chooses the member's
  // lasting password but the member.
  directory::OneTimePassword one_time;
  absl::StatusOr<directory::NewMember> member =
      d->store->PrepareMemberWithOneTimePassword({.id = "",
                                                  .service_id = service_id,
                                                  .display_name = name,
                                                  .login = login,
                                                  .roles = {role},
                                                  .active = true},
                                                 lifetime, &one_time);
  if (!member.ok()) return Fail(member.status());
  absl::StatusOr<directory::ServiceInfo> existing = d->store->GetService(service_id);
  const bool create_service = absl::IsNotFound(existing.status());
  if (!existing.ok() && !create_service) return Fail(existing.status());
  const std::string service_name = absl::GetFlag(FLAGS_service_name);
  const std::string sector = absl::GetFlag(FLAGS_sector);
  if (create_service && (service_name.empty() || sector.empty())) {
    return Usage(absl::StrCat("service ", service_id,
                              " does not exist: give --service_name and --sector to create it"));
  }
  absl::StatusOr<directory::MemberInfo> added;
  absl::Status s = d->db->Write([&](Connection& txn) -> absl::Status {
    if (create_service) {
      // ALREADY_EXISTS "service_exists" if it appeared meanwhile: run it again.
      RETURN_IF_ERROR(d->store
                          ->CreateService(txn, {.id = service_id,
                                                .name = service_name,
                                                .sector_id = sector,
                                                .kind = "",
                                                .platform = true})
                          .status());
      RETURN_IF_ERROR(AuditChange(*d, txn, service_id, service_id));
    }
    added = d->store->InsertMember(txn, *member);
    RETURN_IF_ERROR(added.status());
    return AuditChange(*d, txn, added->id, service_id);
  });
  if (!s.ok()) return Fail(s);
  if (create_service) std::printf("created platform service %s\n", service_id.c_str());
  std::printf("created %s %s (member %s) in %s\n", role_name.c_str(), login.c_str(),
              added->id.c_str(), service_id.c_str());
  PrintOneTimePassword(login, one_time);
  return 0;
}

int ResetPassword() {
  const std::string login = absl::GetFlag(FLAGS_login);
  if (login.empty()) return Usage("reset-password needs --login");
  const absl::Duration lifetime = OneTimePasswordLifetime();
  if (lifetime == absl::ZeroDuration()) return Usage("--one_time_password_hours: 1 to 720");
  absl::StatusOr<Directory> d = OpenDirectory(/*may_create=*/false);
  if (!d.ok()) return Fail(d.status());
  absl::StatusOr<directory::Credentials> found = d->store->FindCredentials(login);
  if (!found.ok()) return Fail(found.status());
  absl::StatusOr<directory::OneTimePassword> one_time = d->store->PrepareOneTimePassword(lifetime);
  if (!one_time.ok()) return Fail(one_time.status());
  const directory::MemberInfo& m = found->member;
  absl::Status s = d->db->Write([&](Connection& txn) -> absl::Status {
    RETURN_IF_ERROR(d->store->SetPassword(txn, m.id, one_time->update));
    RETURN_IF_ERROR(d->revocations->RevokeAllOf(txn, m.id));
    return AuditChange(*d, txn, m.id, m.service_id, v1::ACTION_RESET_PASSWORD);
  });
  if (!s.ok()) return Fail(s);
  PrintOneTimePassword(login, *one_time);
  return 0;
}

// grant-<role> (grant) and revoke-<role> (!grant), for ROLE_ADMIN and ROLE_AUDITOR.
int ChangeRole(v1::Role role, bool grant) {
  const std::string role_name = relais::access::RoleName(role);
  const std::string login = absl::GetFlag(FLAGS_login);
  if (login.empty()) {
    return Usage(absl::StrCat(grant ? "grant-" : "revoke-", role_name, " needs --login"));
  }
  absl::StatusOr<Directory> d = OpenDirectory(/*may_create=*/false);
  if (!d.ok()) return Fail(d.status());
  absl::StatusOr<directory::Credentials> found = d->store->FindCredentials(login);
  if (!found.ok()) return Fail(found.status());
  const directory::MemberInfo& m = found->member;
  std::vector<v1::Role> roles;
  for (v1::Role r : m.roles) {
    if (r != role) roles.push_back(r);
  }
  if (grant) roles.push_back(role);
  const bool unchanged = roles.size() == m.roles.size();
  // No role left: the member can no longer act at all.
  const bool deactivated = roles.empty();
  absl::Status s =
      unchanged ? absl::OkStatus() : d->db->Write([&](Connection& txn) -> absl::Status {
        if (deactivated) {
          RETURN_IF_ERROR(d->store->SetMemberActive(txn, m.id, false));
        } else {
          RETURN_IF_ERROR(d->store->SetMemberRoles(txn, m.id, roles).status());
        }
        // Tokens carry roles: the member's tokens end with the change.
        RETURN_IF_ERROR(d->revocations->RevokeAllOf(txn, m.id));
        return AuditChange(*d, txn, m.id, m.service_id);
      });
  if (!s.ok()) return Fail(s);
  if (unchanged) {
    std::printf("%s %s the %s role already; nothing changed\n", login.c_str(),
                grant ? "holds" : "does not hold", role_name.c_str());
  } else if (deactivated) {
    std::printf("%s held only the %s role: deactivated\n", login.c_str(), role_name.c_str());
  } else {
    std::printf("%s the %s role %s %s; their tokens are revoked, the next login has it\n",
                grant ? "granted" : "took away", role_name.c_str(), grant ? "to" : "from",
                login.c_str());
  }
  return 0;
}

int SetPlatformService() {
  const std::string service_id = absl::GetFlag(FLAGS_service);
  if (service_id.empty()) return Usage("set-platform-service needs --service");
  const bool platform = absl::GetFlag(FLAGS_platform);
  absl::StatusOr<Directory> d = OpenDirectory(/*may_create=*/false);
  if (!d.ok()) return Fail(d.status());
  absl::Status s = d->db->Write([&](Connection& txn) -> absl::Status {
    RETURN_IF_ERROR(d->store->SetServicePlatform(txn, service_id, platform));
    return AuditChange(*d, txn, service_id, service_id);
  });
  if (!s.ok()) return Fail(s);
  std::printf(
      "%s is %s\n", service_id.c_str(),
      platform ? "the platform service: its auditors are the DPO" : "no longer a platform service");
  return 0;
}

}  // namespace

// Adds a new token signing key to relaisd's keys directory. The previous keys
// stay, so tokens signed with them keep verifying until they expire; relaisd
// signs with the newest key after its next start (every key is listed by
// AuthService.PublicKeys).
int RotateTokenKey() {
  const std::string dir = absl::GetFlag(FLAGS_keys_dir);
  if (dir.empty()) return Usage("rotate-token-key needs --keys_dir");
  auto ring = relais::auth::KeyRing::LoadOrCreate(dir);
  if (!ring.ok()) {
    std::fprintf(stderr, "relais-admin: %s\n", ring.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = (*ring)->Rotate(); !s.ok()) {
    std::fprintf(stderr, "relais-admin: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("new token signing key %s; %zu keys in %s; restart relaisd to sign with it\n",
              (*ring)->CurrentKeyId().c_str(), (*ring)->PublicKeys().size(), dir.c_str());
  return 0;
}

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // Key files this tool creates are the owner's only.
  ::umask(077);
  if (args.size() != 2) return Usage("expected exactly one command");
  const std::string command = args[1];
  if (command == "new-master-key") return NewMasterKey();
  if (command == "master-key-status") return MasterKeyStatus();
  if (command == "rotate-master-key") return RotateMasterKey();
  if (command == "rotate-token-key") return RotateTokenKey();
  if (command == "create-admin") return CreateMember(v1::ROLE_ADMIN);
  if (command == "create-auditor") return CreateMember(v1::ROLE_AUDITOR);
  if (command == "reset-password") return ResetPassword();
  if (command == "grant-admin") return ChangeRole(v1::ROLE_ADMIN, /*grant=*/true);
  if (command == "revoke-admin") return ChangeRole(v1::ROLE_ADMIN, /*grant=*/false);
  if (command == "grant-auditor") return ChangeRole(v1::ROLE_AUDITOR, /*grant=*/true);
  if (command == "revoke-auditor") return ChangeRole(v1::ROLE_AUDITOR, /*grant=*/false);
  if (command == "set-platform-service") return SetPlatformService();
  return Usage(absl::StrCat("unknown command '", command, "'"));
}
