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
// Exit status: 0 done; 1 the operation failed (nothing changed); 2 usage error.
// Key material is never printed; ids are.

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "auth/key_ring.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "storage/crypto/field_crypto.h"
#include "storage/crypto/master_key.h"
#include "storage/database.h"

ABSL_FLAG(std::string, db, "", "The relaisd SQLite database file");
ABSL_FLAG(std::string, old_key_file, "", "rotate-master-key: the current (old) master key file");
ABSL_FLAG(std::string, new_key_file, "", "rotate-master-key: the new master key file");
ABSL_FLAG(std::string, keys_dir, "", "rotate-token-key: relaisd's --keys_dir");
ABSL_FLAG(std::string, out, "", "new-master-key: the file to create (mode 0600)");
ABSL_FLAG(std::vector<std::string>, key_file, {},
          "master-key-status: key files whose ids to print (comma-separated)");

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
    "--new_key_file=<file>";

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
  if (!std::filesystem::is_regular_file(path)) {
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
  return Usage(absl::StrCat("unknown command '", command, "'"));
}
