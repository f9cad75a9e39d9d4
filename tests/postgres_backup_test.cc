// AdminService.BackupDatabase on PostgreSQL (issue #15 item 6): the stream is
// a pg_dump archive of Relais's schema, made in one snapshot while writes go
// on; pg_restore puts it into a fresh database, where relaisd opens it with
// the same keys, the audit chain verifies, and every entry acknowledged
// before the backup reads back. The SQLite backup has its own tests
// (backup_restore_test.cc); this file runs in the @pg pass only.

#include "storage/postgres_backup.h"

#include <openssl/sha.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "storage/testing/fresh_database.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string AddEntry(RelaisEnv& env, const std::string& youth, const std::string& body) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  req.mutable_entry()->set_body(body);
  v1::Entry out;
  const grpc::Status s = env.record().AddEntry(env.As(kAmoCaseworker).get(), req, &out);
  return s.ok() ? out.id() : "";
}

TEST(PostgresBackup, TheArchiveRestoresIntoAFreshDatabaseWithEveryAcknowledgedWrite) {
  if (!storage::testing::OnPostgres()) GTEST_SKIP() << "PostgreSQL only";
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  // Writes go on while the backup is made.
  absl::Mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::string id = AddEntry(*env, youth, absl::StrCat("Note de suivi ", i));
      absl::MutexLock lock(&mu);
      if (!id.empty()) acknowledged.push_back(std::move(id));
    }
  });
  while (true) {
    absl::SleepFor(absl::Milliseconds(10));
    absl::MutexLock lock(&mu);
    if (acknowledged.size() >= 10) break;
  }
  std::vector<std::string> before;
  {
    absl::MutexLock lock(&mu);
    before = acknowledged;
  }
  auto admin = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env->host().port()), grpc::InsecureChannelCredentials()));
  auto ctx = env->As(kAdmin);
  auto reader = admin->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupDatabaseChunk chunk;
  v1::BackupHeader header;
  v1::BackupTrailer trailer;
  std::string data;
  while (reader->Read(&chunk)) {
    if (chunk.has_header()) header = chunk.header();
    if (chunk.has_trailer()) trailer = chunk.trailer();
    data += chunk.data();
  }
  const grpc::Status s = reader->Finish();
  stop = true;
  writer.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(static_cast<int64_t>(data.size()), header.size_bytes());
  EXPECT_EQ(trailer.sha256(), Sha256Hex(data));
  EXPECT_EQ(data.substr(0, 5), "PGDMP");  // pg_dump's custom format
  EXPECT_GT(header.audit_head_sequence(), 0);
  // The server's copy is gone.
  const std::string backup_dir = env->keys_dir() + "/backup.d";
  if (std::filesystem::exists(backup_dir)) {
    EXPECT_TRUE(std::filesystem::is_empty(backup_dir));
  }

  // Restore into a database of its own, as docs/postgresql.md says.
  const std::string keys = env->keys_dir();
  const std::string source = env->db_path();
  env->Stop();
  const std::string archive = FreshPath("relais") + ".pgdump";
  std::ofstream(archive, std::ios::binary) << data;
  const std::string restored_db = absl::StrCat("relais_restore_", ::getpid());
  const std::string server = storage::testing::PostgresServerUri();
  ASSERT_TRUE(storage::testing::RawSql(server, "DROP DATABASE IF EXISTS " + restored_db).ok());
  ASSERT_TRUE(storage::testing::RawSql(server, "CREATE DATABASE " + restored_db).ok());
  // The test's URIs name the database "relais" in their path.
  const std::string restored = absl::StrReplaceAll(source, {{"/relais?", "/" + restored_db + "?"}});
  ASSERT_NE(restored, source);
  const std::string to = absl::StrReplaceAll(server, {{"/relais?", "/" + restored_db + "?"}});
  const CommandResult r =
      RunCommand(storage::PostgresToolPath("pg_restore"),
                 {"--no-owner", "--exit-on-error", "--dbname=" + to, archive}, {}, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The restored log ends before the server's last checkpoint: its state and
  // witness are moved aside as for an SQLite restore (docs/operations.md).
  for (const char* name : {"/audit-checkpoint.state", "/audit-witness.jsonl"}) {
    if (std::filesystem::exists(keys + name)) {
      std::filesystem::rename(keys + name, keys + name + ".before-restore");
    }
  }
  {
    auto again = RelaisEnv::Start(restored, /*seed=*/false, keys);
    ASSERT_NE(again, nullptr);
    v1::VerifyLogResponse verified;
    grpc::Status v =
        again->audit().VerifyLog(again->As(kAuditor).get(), v1::VerifyLogRequest(), &verified);
    ASSERT_TRUE(v.ok()) << v.error_message();
    EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
    EXPECT_GE(verified.events_checked(), header.audit_head_sequence());
    for (const std::string& id : before) {
      v1::GetEntryRequest get;
      get.set_entry_id(id);
      get.set_purpose(v1::PURPOSE_COORDINATION);
      v1::Entry entry;
      v = again->record().GetEntry(again->As(kAmoCaseworker).get(), get, &entry);
      EXPECT_TRUE(v.ok()) << id << ": " << v.error_message();
    }
    EXPECT_FALSE(AddEntry(*again, youth, "Après restauration").empty());
  }
  (void)storage::testing::RawSql(server,
                                 "DROP DATABASE IF EXISTS " + restored_db + " WITH (FORCE)");
}

// A backup that is cancelled, whose pg_dump fails, or whose file cannot be
// made leaves nothing behind: no archive, no temporary file, no pg_dump log.
TEST(PostgresBackup, ACancelledOrFailedDumpLeavesNothingBehind) {
  if (!storage::testing::OnPostgres()) GTEST_SKIP() << "PostgreSQL only";
  auto db = storage::Database::Open(
      {.path = storage::testing::FreshDatabase(::testing::TempDir() + "/pg_backup_deny.db")});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Migrate("t", {{1, "CREATE TABLE t (v TEXT)"}}).ok());
  const std::string dir = ::testing::TempDir() + "/pg_backup_deny_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string dest = dir + "/relais.dump";
  auto nothing_left = [&] {
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dir)) left.push_back(e.path());
    return left;
  };

  storage::Database::BackupOptions cancel;
  cancel.progress = [](int64_t, int64_t) { return false; };
  auto cancelled = (*db)->Backup(dest, cancel);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_TRUE(nothing_left().empty());

  // The exported snapshot ends before pg_dump can import it: pg_dump fails.
  storage::Database::BackupOptions lost;
  lost.on_snapshot = [](storage::Connection& c) { return c.Exec("COMMIT"); };
  auto failed = (*db)->Backup(dest, lost);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  EXPECT_TRUE(nothing_left().empty());

  auto refused = (*db)->Backup(dir + "/missing/relais.dump");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_TRUE(nothing_left().empty());

  EXPECT_TRUE((*db)->Backup(dest).ok());
  EXPECT_EQ(nothing_left(), std::vector<std::string>{dest});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace relais::testing
