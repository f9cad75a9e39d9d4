#include "storage/wal_checkpoint.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace relais::storage {
namespace {

int64_t WalBytes(const std::string& path) {
  struct stat st;
  return ::stat((path + "-wal").c_str(), &st) == 0 ? st.st_size : 0;
}

TEST(CheckpointAfterErasure, WaitsForAReaderThenLeavesAnEmptyWal) {
  const std::string path =
      ::testing::TempDir() + "/wal_checkpoint_" + std::to_string(::getpid()) + ".sqlite";
  std::filesystem::remove(path);
  // A short busy timeout: each attempt gives up on the reader quickly.
  auto db = Database::Open({.path = path, .busy_timeout = absl::Milliseconds(10)});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Migrate("t", {{1, "CREATE TABLE t (v BLOB)"}}).ok());
  ASSERT_TRUE(
      (*db)->Write([](Connection& c) { return c.Exec("INSERT INTO t VALUES (x'0102')"); }).ok());
  // A reader holds a snapshot older than the next write, which keeps the WAL.
  absl::Notification reading;
  std::thread reader([&] {
    (void)(*db)->Read([&](Connection& c) -> absl::Status {
      absl::StatusOr<Statement> s = c.Prepare("SELECT COUNT(*) FROM t");
      if (s.ok()) (void)s->Step();
      reading.Notify();
      absl::SleepFor(absl::Milliseconds(150));
      return absl::OkStatus();
    });
  });
  reading.WaitForNotification();
  ASSERT_TRUE((*db)->Write([](Connection& c) { return c.Exec("UPDATE t SET v = x'0304'"); }).ok());
  EXPECT_GT(WalBytes(path), 0);
  // One attempt while the reader holds its snapshot: refused, nothing waited.
  EXPECT_TRUE(absl::IsUnavailable(CheckpointAfterErasure(
      **db, "test", {}, {.attempts = 1, .first_backoff = absl::Milliseconds(1)})));
  // With retries it outlasts the reader.
  EXPECT_TRUE(CheckpointAfterErasure(**db, "test").ok());
  EXPECT_EQ(WalBytes(path), 0);
  reader.join();
  db->reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace relais::storage
