// Database::Backup under concurrent writes: the copy is one committed
// snapshot, opens, passes integrity_check, and holds every row committed
// before the backup began.

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/database.h"

namespace relais::storage {
namespace {

std::string FreshPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  std::string path =
      absl::StrCat(::testing::TempDir(), "/backup_", name, "_", ::getpid(), "_", counter++, ".db");
  std::filesystem::remove(path);
  return path;
}

const std::vector<Migration> kSchema = {
    {1,
     "CREATE TABLE items(id INTEGER PRIMARY KEY, payload BLOB NOT NULL);"
     "CREATE TABLE receipts(item_id INTEGER PRIMARY KEY)"},
};

// One transaction: `n` items with `bytes` of payload each and their
// receipts, so a consistent copy always holds as many receipts as items.
absl::Status AddItem(Database& db, int bytes, int n = 1) {
  return db.Write([&](Connection& c) -> absl::Status {
    for (int i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(Statement s, c.Prepare("INSERT INTO items(payload) VALUES (?1)"));
      s.BindBlob(1, std::string(bytes, 'x'));
      RETURN_IF_ERROR(s.Run());
      ASSIGN_OR_RETURN(Statement r,
                       c.Prepare("INSERT INTO receipts(item_id) VALUES (last_insert_rowid())"));
      RETURN_IF_ERROR(r.Run());
    }
    return absl::OkStatus();
  });
}

// Runs a one-value query on a plain connection to `path`.
int64_t QueryFile(const std::string& path, const char* sql, std::string* text = nullptr) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
    if (text != nullptr) {
      const unsigned char* t = sqlite3_column_text(stmt, 0);
      *text = t == nullptr ? "" : reinterpret_cast<const char*>(t);
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST(DatabaseBackup, CopyUnderConcurrentWritesIsOneConsistentSnapshot) {
  const std::string path = FreshPath("src");
  auto db = Database::Open({.path = path});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Migrate("test", kSchema).ok());
  // ~12 MiB: several backup steps, so writes land between them.
  ASSERT_TRUE(AddItem(**db, 4000, 3000).ok());

  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{3000};
  std::thread writer([&] {
    while (!stop.load()) {
      if (AddItem(**db, 4000).ok()) committed.fetch_add(1);
    }
  });
  // Let the writer get going, then note what is committed before we start.
  while (committed.load() < 3050) std::this_thread::yield();
  const int64_t before = committed.load();
  const std::string dest = FreshPath("copy");
  int steps = 0;
  int64_t in_snapshot = -1;
  absl::StatusOr<Database::BackupInfo> info =
      (*db)->Backup(dest, {.progress =
                               [&](int64_t done, int64_t total) {
                                 EXPECT_LE(done, total);
                                 ++steps;
                                 return true;
                               },
                           .on_snapshot = [&](Connection& c) -> absl::Status {
                             ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM items"));
                             ASSIGN_OR_RETURN(bool row, s.Step());
                             if (row) in_snapshot = s.ColumnInt64(0);
                             return absl::OkStatus();
                           }});
  const int64_t after = committed.load();
  stop = true;
  writer.join();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_GT(steps, 2);
  EXPECT_GT(after, before) << "the writer made no progress during the backup";

  struct stat st;
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(info->bytes, st.st_size);
  EXPECT_EQ(info->pages * 4096, st.st_size);
  EXPECT_FALSE(std::filesystem::exists(dest + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(dest + "-wal"));

  std::string check;
  QueryFile(dest, "PRAGMA integrity_check", &check);
  EXPECT_EQ(check, "ok");
  std::string mode;
  QueryFile(dest, "PRAGMA journal_mode", &mode);
  EXPECT_EQ(mode, "delete");
  const int64_t items = QueryFile(dest, "SELECT COUNT(*) FROM items");
  EXPECT_GE(items, before);
  EXPECT_LE(items, after);
  EXPECT_EQ(QueryFile(dest, "SELECT COUNT(*) FROM receipts"), items);
  EXPECT_EQ(QueryFile(dest, "SELECT MAX(id) FROM items"), items);  // no gap, no torn tail
  EXPECT_EQ(items, in_snapshot);  // on_snapshot saw exactly what was copied

  // The copy opens as a Database again (what a restore does).
  auto reopened = Database::Open({.path = dest});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE((*reopened)->Migrate("test", kSchema).ok());
  EXPECT_TRUE(AddItem(**reopened, 10).ok());
}

TEST(DatabaseBackup, CancelledOrFailedBackupLeavesNothing) {
  const std::string path = FreshPath("cancel_src");
  auto db = Database::Open({.path = path});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("test", kSchema).ok());
  ASSERT_TRUE(AddItem(**db, 4000, 1500).ok());
  const std::string dest = FreshPath("cancel_copy");
  absl::StatusOr<Database::BackupInfo> info =
      (*db)->Backup(dest, {.progress = [](int64_t, int64_t) { return false; }});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(std::filesystem::exists(dest));
  EXPECT_FALSE(std::filesystem::exists(dest + ".tmp"));

  const std::string nowhere = "/nonexistent-dir-for-relais-backup/copy.db";
  EXPECT_EQ((*db)->Backup(nowhere).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*db)->Backup("").status().code(), absl::StatusCode::kInvalidArgument);
}

// Not an assertion of speed: prints the figure (ctest -V) for docs/operations.md.
TEST(DatabaseBackup, Throughput) {
  const std::string path = FreshPath("speed_src");
  auto db = Database::Open({.path = path});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("test", kSchema).ok());
  ASSERT_TRUE((*db)
                  ->Write([](Connection& c) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement s,
                                     c.Prepare("INSERT INTO items(payload) VALUES (?1)"));
                    for (int i = 0; i < 8000; ++i) {
                      s.Reset();
                      s.BindBlob(1, std::string(4000, static_cast<char>('a' + i % 26)));
                      RETURN_IF_ERROR(s.Run());
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  const std::string dest = FreshPath("speed_copy");
  absl::StatusOr<Database::BackupInfo> info = (*db)->Backup(dest);
  ASSERT_TRUE(info.ok()) << info.status();
  const double mb = static_cast<double>(info->bytes) / (1 << 20);
  std::printf("backup: %.1f MiB in %.3f s = %.0f MiB/s (copy, integrity_check, fsync)\n", mb,
              absl::ToDoubleSeconds(info->elapsed), mb / absl::ToDoubleSeconds(info->elapsed));
}

}  // namespace
}  // namespace relais::storage
