// Online backup and restore (issue #5 item 5): AdminService.BackupDatabase
// while two clients write, then a second server on the restored file with the
// same keys; the admin-only rule and its audit; `relaisctl admin backup`.

#include <fcntl.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/common/rpc.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;

// ---- Helpers -----------------------------------------------------------------

// One value of a query on the file `path` (opened read-only, no server).
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db) << ": " << sql;
  std::string value = "<no row>";
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(stmt, 0);
    value = t == nullptr ? "" : reinterpret_cast<const char*>(t);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}
int64_t QueryInt(const std::string& path, const std::string& sql) {
  return std::stoll(QueryText(path, sql));
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::unique_ptr<v1::AdminService::Stub> AdminStub(RelaisEnv& env) {
  return v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env.host().port()), grpc::InsecureChannelCredentials()));
}

struct Backup {
  grpc::Status status;
  v1::BackupHeader header;
  v1::BackupTrailer trailer;
  std::string data;
  int chunks = 0;
};

Backup TakeBackup(RelaisEnv& env, absl::string_view login) {
  Backup b;
  auto stub = AdminStub(env);
  auto ctx = env.As(login);
  auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupDatabaseChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunk.has_header()) b.header = chunk.header();
    if (chunk.has_trailer()) b.trailer = chunk.trailer();
    if (chunk.has_data()) {
      EXPECT_LE(chunk.data().size(), 256u * 1024);
      b.data += chunk.data();
      ++b.chunks;
    }
  }
  b.status = reader->Finish();
  return b;
}

// The audit events of one action in `path`'s log, by decision.
int64_t CountEvents(const std::string& path, v1::Action action, v1::Decision decision) {
  return QueryInt(
      path, absl::StrCat("SELECT COUNT(*) FROM audit_events WHERE action = ",
                         static_cast<int>(action), " AND decision = ", static_cast<int>(decision)));
}

std::string BackupDir(RelaisEnv& env) { return env.db_path() + ".backup.d"; }

bool DirEmpty(const std::string& dir) {
  return std::filesystem::is_empty(std::filesystem::path(dir));
}

// ---- Backup under write load, then restore --------------------------------------

// What the writers had acknowledged, guarded by a mutex.
struct Acks {
  absl::Mutex mu;
  std::vector<std::string> entries ABSL_GUARDED_BY(mu);
  std::vector<std::string> consents ABSL_GUARDED_BY(mu);
  int failures ABSL_GUARDED_BY(mu) = 0;
};

TEST(BackupRestore, BackupUnderWriteLoadRestoresEverythingAcknowledgedAndNothingHalfThere) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  Acks acks;
  std::atomic<bool> stop{false};
  std::thread entry_writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      v1::AddEntryRequest req;
      req.mutable_entry()->set_youth_id(youth);
      req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
      req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
      req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
      req.mutable_entry()->set_body(absl::StrCat("Note de suivi ", i));
      v1::Entry out;
      const grpc::Status s = env->record().AddEntry(env->As(kAmoCaseworker).get(), req, &out);
      absl::MutexLock lock(&acks.mu);
      if (s.ok())
        acks.entries.push_back(out.id());
      else
        ++acks.failures;
    }
  });
  std::thread consent_writer([&] {
    while (!stop.load()) {
      v1::GrantConsentRequest req;
      v1::Consent* k = req.mutable_consent();
      k->set_youth_id(youth);
      k->set_giver(v1::CONSENT_GIVER_YOUTH);
      k->add_recipients()->set_service_id(env->service_id("saj"));
      k->add_categories(v1::DATA_CATEGORY_GENERAL);
      k->add_purposes(v1::PURPOSE_COORDINATION);
      *k->mutable_valid_until() = common::ToProto(TestEpoch() + absl::Hours(24 * 180));
      v1::Consent out;
      const grpc::Status s = env->care().GrantConsent(env->As(kAmoCaseworker).get(), req, &out);
      absl::MutexLock lock(&acks.mu);
      if (s.ok())
        acks.consents.push_back(out.id());
      else
        ++acks.failures;
    }
  });
  auto acked = [&acks] {
    absl::MutexLock lock(&acks.mu);
    return std::min(acks.entries.size(), acks.consents.size());
  };
  while (acked() < 20) absl::SleepFor(absl::Milliseconds(5));
  std::vector<std::string> entries_before, consents_before;
  {
    absl::MutexLock lock(&acks.mu);
    entries_before = acks.entries;
    consents_before = acks.consents;
  }
  const Backup backup = TakeBackup(*env, kAdmin);
  size_t entries_after = 0;
  {
    absl::MutexLock lock(&acks.mu);
    entries_after = acks.entries.size();
  }
  stop = true;
  entry_writer.join();
  consent_writer.join();
  {
    absl::MutexLock lock(&acks.mu);
    EXPECT_EQ(acks.failures, 0);
  }
  ASSERT_TRUE(backup.status.ok()) << backup.status.error_message();

  // The stream is whole: sizes and SHA-256 agree, pages fill the file.
  EXPECT_EQ(static_cast<int64_t>(backup.data.size()), backup.header.size_bytes());
  EXPECT_EQ(backup.trailer.size_bytes(), backup.header.size_bytes());
  EXPECT_EQ(backup.trailer.sha256(), Sha256Hex(backup.data));
  EXPECT_GT(backup.header.page_count(), 0);
  EXPECT_EQ(backup.header.size_bytes() % backup.header.page_count(), 0);
  EXPECT_TRUE(backup.header.has_created_time());
  // The server's copy is gone.
  EXPECT_TRUE(DirEmpty(BackupDir(*env)));

  // Restore: stop the server, put the file where a database goes, same keys.
  const std::string keys = env->keys_dir();
  env->Stop();
  const std::string restored = FreshPath("restored") + ".sqlite";
  {
    std::ofstream out(restored, std::ios::binary);
    out << backup.data;
  }
  EXPECT_EQ(QueryText(restored, "PRAGMA integrity_check"), "ok");
  // The audit head inside the file is the one the header announced.
  EXPECT_EQ(QueryInt(restored, "SELECT MAX(sequence) FROM audit_events"),
            backup.header.audit_head_sequence());
  EXPECT_EQ(QueryText(restored, "SELECT hash FROM audit_events ORDER BY sequence DESC LIMIT 1"),
            backup.header.audit_head_hash());
  // Nothing half-there: each entry in the copy has its ALLOW event, and no
  // ALLOW event lacks its entry (the two commit in one transaction).
  const int64_t entries_in_copy = QueryInt(restored, "SELECT COUNT(*) FROM rec_entries");
  EXPECT_EQ(entries_in_copy, CountEvents(restored, v1::ACTION_ADD_ENTRY, v1::DECISION_ALLOW));
  EXPECT_EQ(QueryInt(restored, "SELECT COUNT(*) FROM care_consents"),
            CountEvents(restored, v1::ACTION_GRANT_CONSENT, v1::DECISION_ALLOW));
  // Every write acknowledged before the backup began is there.
  EXPECT_GE(entries_in_copy, static_cast<int64_t>(entries_before.size()));
  EXPECT_LE(entries_in_copy, static_cast<int64_t>(entries_after));
  for (const std::string& id : consents_before) {
    EXPECT_EQ(QueryInt(restored,
                       absl::StrCat("SELECT COUNT(*) FROM care_consents WHERE id = '", id, "'")),
              1)
        << id;
  }
  // The copy holds its own backup event (audited before the copy was made).
  EXPECT_EQ(CountEvents(restored, v1::ACTION_BACKUP, v1::DECISION_ALLOW), 1);

  // The restored log ends before what the server last signed: as docs/operations.md
  // "Backup and restore" tells the operator, the checkpoint state and the
  // witness of the lost history are moved aside (kept: they prove where the
  // log stood), so the server re-anchors on the newest checkpoint in the copy.
  for (const char* name : {"/audit-checkpoint.state", "/audit-witness.jsonl"}) {
    std::filesystem::rename(keys + name, keys + name + ".before-restore");
  }
  auto again = RelaisEnv::Start(restored, /*seed=*/false, keys);
  ASSERT_NE(again, nullptr);
  // The chain verifies, through the API as an auditor would check it.
  v1::VerifyLogResponse verified;
  grpc::Status s =
      again->audit().VerifyLog(again->As(kAuditor).get(), v1::VerifyLogRequest(), &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
  EXPECT_GE(verified.events_checked(), backup.header.audit_head_sequence());
  // The same master key opens the entries: each acknowledged one reads back.
  for (const std::string& id : entries_before) {
    v1::GetEntryRequest req;
    req.set_entry_id(id);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry entry;
    s = again->record().GetEntry(again->As(kAmoCaseworker).get(), req, &entry);
    ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
    EXPECT_THAT(entry.body(), HasSubstr("Note de suivi"));
  }
  // And the restored server takes writes again.
  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(youth);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  add.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  add.mutable_entry()->set_body("Après restauration");
  v1::Entry out;
  s = again->record().AddEntry(again->As(kAmoCaseworker).get(), add, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST(BackupRestore, RestoredDatabaseWithAnotherMasterKeyIsRefused) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->CreateYouth(15);  // a data key, wrapped by this server's master key
  const Backup backup = TakeBackup(*env, kAdmin);
  ASSERT_TRUE(backup.status.ok()) << backup.status.error_message();
  env->Stop();
  const std::string restored = FreshPath("restored_other_keys") + ".sqlite";
  std::ofstream(restored, std::ios::binary) << backup.data;
  // A fresh keys dir: a new master key that wraps none of the youth keys.
  host::HostOptions options;
  options.db_path = restored;
  options.keys_dir = FreshPath("other_keys");
  absl::StatusOr<std::unique_ptr<host::Host>> host = host::Host::Start(options);
  EXPECT_FALSE(host.ok());
}

// ---- Who may take a backup --------------------------------------------------------

TEST(BackupRestore, OnlyAnAdminMayTakeABackupAndEveryAttemptIsAudited) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  struct stat st;
  ASSERT_EQ(::stat(BackupDir(*env).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  for (const char* login : {kAuditor, kAmoCoordinator, kAmoCaseworker}) {
    const Backup refused = TakeBackup(*env, login);
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << login;
    EXPECT_EQ(ReasonCode(refused.status), "role_not_permitted") << login;
    EXPECT_TRUE(refused.data.empty());
    EXPECT_FALSE(refused.header.has_created_time());
  }
  {
    auto stub = AdminStub(*env);
    auto ctx = env->Anonymous();
    auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
    v1::BackupDatabaseChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  const Backup ok = TakeBackup(*env, kAdmin);
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();

  v1::QueryEventsRequest query;
  query.set_page_size(1000);
  v1::QueryEventsResponse events;
  grpc::Status s = env->audit().QueryEvents(env->As(kAuditor).get(), query, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int denied = 0, allowed = 0;
  for (const v1::AuditEvent& e : events.events()) {
    if (e.action() != v1::ACTION_BACKUP) continue;
    EXPECT_TRUE(e.youth_id().empty());
    EXPECT_TRUE(e.entry_id().empty());
    if (e.decision() == v1::DECISION_DENY) {
      ++denied;
      EXPECT_THAT(e.reason_code(), ::testing::AnyOf("role_not_permitted", "token_missing"));
    } else {
      ++allowed;
      EXPECT_EQ(e.actor_member_id(), env->member_id(kAdmin));
    }
  }
  EXPECT_EQ(denied, 4);
  EXPECT_EQ(allowed, 1);
  EXPECT_TRUE(DirEmpty(BackupDir(*env)));
}

TEST(BackupRestore, AbandonedOrExpiredBackupLeavesNoCopyOnTheServer) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  // Enough data for several chunks.
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  for (int i = 0; i < 40; ++i) {
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
    req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
    req.mutable_entry()->set_body(std::string(20000, 'n'));
    v1::Entry out;
    ASSERT_TRUE(env->record().AddEntry(env->As(kAmoCaseworker).get(), req, &out).ok());
  }
  {
    // The client reads the header and one chunk, then goes away.
    auto stub = AdminStub(*env);
    auto ctx = env->As(kAdmin);
    auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
    v1::BackupDatabaseChunk chunk;
    ASSERT_TRUE(reader->Read(&chunk));
    EXPECT_TRUE(chunk.has_header());
    ASSERT_TRUE(reader->Read(&chunk));
    ctx->TryCancel();
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    // A deadline already past: refused before any copy is made.
    auto stub = AdminStub(*env);
    auto ctx = env->As(kAdmin);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1));
    absl::SleepFor(absl::Milliseconds(20));
    auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
    v1::BackupDatabaseChunk chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // OnDone() runs shortly after the client sees the end.
  for (int i = 0; i < 200 && !DirEmpty(BackupDir(*env)); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(DirEmpty(BackupDir(*env)));
}

// ---- relaisctl admin backup -------------------------------------------------------

using Result = CommandResult;

// Runs relaisctl with `env` as its whole environment (as relaisctl_test does).
Result RunRelaisctl(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, const std::string& input) {
  return RunCommand(RELAISCTL_PATH, args, env, input);
}

TEST(BackupRestore, RelaisctlAdminBackupWritesAFileSqliteOpensAndRefusesNonAdmins) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->CreateYouth(15);
  const std::string home = FreshPath("bk_home");
  ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
  const std::string server = absl::StrCat("127.0.0.1:", env->host().port());
  auto ctl = [&](absl::string_view login, std::vector<std::string> args,
                 const std::string& input = "") {
    // relaisctl checks token times against the wall clock.
    env->clock().Set(absl::Now());
    args.insert(args.end(), {"--insecure", "--server", server});
    return RunRelaisctl(args,
                        {{"HOME", home},
                         {"TZ", "UTC"},
                         {"PATH", "/usr/bin:/bin"},
                         {"RELAIS_TOKEN_FILE", absl::StrCat(home, "/", login, ".token")}},
                        input);
  };
  for (const char* login : {kAdmin, kAuditor}) {
    Result r =
        ctl(login, {"login", "--user", login, "--password_stdin"}, absl::StrCat(kPassword, "\n"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  const std::string file = FreshPath("ctl_backup") + ".sqlite";
  Result r = ctl(kAdmin, {"admin", "backup", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("backup saved to ", file)));
  EXPECT_EQ(r.err, "") << "no progress when stderr is not a terminal";
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  EXPECT_EQ(QueryText(file, "PRAGMA integrity_check"), "ok");
  EXPECT_GT(QueryInt(file, "SELECT COUNT(*) FROM rec_youth"), 0);
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat(
                  "audit head ", QueryInt(file, "SELECT MAX(sequence) FROM audit_events"), " ")));

  const std::string refused = FreshPath("ctl_refused") + ".sqlite";
  r = ctl(kAuditor, {"admin", "backup", refused});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED role_not_permitted"));
  EXPECT_FALSE(std::filesystem::exists(refused));
  EXPECT_FALSE(std::filesystem::exists(refused + ".tmp"));

  r = ctl(kAdmin, {"admin", "backup"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunRelaisctl({"admin", "backup", "--help"}, {{"HOME", home}}, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: relaisctl admin backup <file>"));
  EXPECT_THAT(r.out, HasSubstr("master key"));
}

}  // namespace
}  // namespace relais::testing
