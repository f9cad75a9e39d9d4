#include "auth/key_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace relais::auth {
namespace {

// A fresh directory under the test's temp dir, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "/key_ring_test.XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> KeyFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::unique_ptr<KeyRing> Load(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::LoadOrCreate(dir);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? *std::move(ring) : nullptr;
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

TEST(KeyRing, InMemorySignsAndVerifies) {
  const std::unique_ptr<KeyRing> ring = KeyRing::InMemory();
  auto [key_id, signature] = ring->SignWithCurrent("data").value();
  EXPECT_EQ(key_id, ring->CurrentKeyId());
  EXPECT_TRUE(ring->HasKey(key_id));
  EXPECT_TRUE(ring->Verify(key_id, "data", signature));
  EXPECT_FALSE(ring->Verify(key_id, "other", signature));
  EXPECT_FALSE(ring->HasKey("k-unknown"));
  EXPECT_FALSE(ring->Verify("k-unknown", "data", signature));
  ASSERT_EQ(ring->PublicKeys().size(), 1u);
  EXPECT_EQ(ring->PublicKeys()[0].first, key_id);
  EXPECT_EQ(ring->PublicKeys()[0].second.size(), kEd25519PublicKeyBytes);
}

TEST(KeyRing, KeyIdsEmbedUtcCreationTime) {
  const std::string id = KeyRing::InMemory()->CurrentKeyId();
  // k20261125T005300.123456Z-1a2b3c4d
  ASSERT_EQ(id.size(), 33u) << id;
  EXPECT_EQ(id[0], 'k');
  EXPECT_EQ(id[9], 'T');
  EXPECT_TRUE(absl::StrContains(id, "Z-")) << id;
}

TEST(KeyRing, RotationSwitchesSigningAndKeepsOldKeysVerifying) {
  const std::unique_ptr<KeyRing> ring = KeyRing::InMemory();
  const auto [old_id, old_signature] = ring->SignWithCurrent("data").value();
  ASSERT_TRUE(ring->Rotate().ok());
  ASSERT_TRUE(ring->Rotate().ok());
  const auto [new_id, new_signature] = ring->SignWithCurrent("data").value();
  EXPECT_NE(new_id, old_id);
  EXPECT_GT(new_id, old_id);  // ids sort in creation order
  EXPECT_TRUE(ring->Verify(old_id, "data", old_signature));
  EXPECT_TRUE(ring->Verify(new_id, "data", new_signature));
  EXPECT_FALSE(ring->Verify(new_id, "data", old_signature));
  const auto keys = ring->PublicKeys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.front().first, old_id);
  EXPECT_EQ(keys.back().first, new_id);
}

TEST(KeyRing, LoadOrCreateMakesPrivateDirectoryAndKeyFile) {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/keys";
  const std::unique_ptr<KeyRing> ring = Load(dir);
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ModeOf(dir), 0700u);
  const std::vector<std::string> files = KeyFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], absl::StrCat(dir, "/signing-", ring->CurrentKeyId(), ".pem"));
  EXPECT_EQ(ModeOf(files[0]), 0600u);
}

TEST(KeyRing, LoadOrCreateTwiceLoadsTheSameKeys) {
  ScratchDir scratch;
  const std::unique_ptr<KeyRing> first = Load(scratch.path());
  const std::unique_ptr<KeyRing> second = Load(scratch.path());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->PublicKeys(), second->PublicKeys());
  EXPECT_EQ(first->CurrentKeyId(), second->CurrentKeyId());
  const auto [id, signature] = first->SignWithCurrent("data").value();
  EXPECT_TRUE(second->Verify(id, "data", signature));
}

TEST(KeyRing, RotationIsPersistedAndReloadedInOrder) {
  ScratchDir scratch;
  const std::unique_ptr<KeyRing> ring = Load(scratch.path());
  ASSERT_NE(ring, nullptr);
  // Several rotations within the same second must still order correctly.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring->Rotate().ok());
  const std::vector<std::string> files = KeyFiles(scratch.path());
  ASSERT_EQ(files.size(), 6u);
  for (const std::string& file : files) EXPECT_EQ(ModeOf(file), 0600u) << file;

  const std::unique_ptr<KeyRing> reloaded = Load(scratch.path());
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->CurrentKeyId(), ring->CurrentKeyId());
  EXPECT_EQ(reloaded->PublicKeys(), ring->PublicKeys());
}

TEST(KeyRing, NewKeysSortAfterExistingOnesEvenIfTheClockIsBehind) {
  ScratchDir scratch;
  const std::string future_id = "k20990101T000000.000000Z-0000000a";
  const std::string pem = SigningKey::Generate(future_id)->PrivatePem().value();
  WriteFile(absl::StrCat(scratch.path(), "/signing-", future_id, ".pem"), pem, 0600);
  const std::unique_ptr<KeyRing> ring = Load(scratch.path());
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->CurrentKeyId(), future_id);
  ASSERT_TRUE(ring->Rotate().ok());
  EXPECT_EQ(ring->CurrentKeyId().substr(0, 25), "k20990101T000000.000001Z-");
  EXPECT_EQ(Load(scratch.path())->CurrentKeyId(), ring->CurrentKeyId());
}

TEST(KeyRing, RefusesKeyFilesWithNonCanonicalIds) {
  for (const char* id : {"k20261301T000000.000000Z-00000000",      // month 13
                         "k20260230T000000.000000Z-00000000",      // Feb 30
                         "k20260101T000000.000000Z-0000000A",      // upper hex
                         "k20260101T000000.000000Z-000000000"}) {  // long
    ScratchDir scratch;
    WriteFile(absl::StrCat(scratch.path(), "/signing-", id, ".pem"), "x", 0600);
    EXPECT_EQ(KeyRing::LoadOrCreate(scratch.path()).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << id;
  }
}

TEST(KeyRing, RefusesGroupOrWorldReadableKeyFile) {
  ScratchDir scratch;
  const std::unique_ptr<KeyRing> ring = Load(scratch.path());
  ASSERT_NE(ring, nullptr);
  const std::string file = absl::StrCat(scratch.path(), "/signing-", ring->CurrentKeyId(), ".pem");
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  const absl::StatusOr<std::unique_ptr<KeyRing>> refused = KeyRing::LoadOrCreate(scratch.path());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), file)) << refused.status();
  ASSERT_EQ(chmod(file.c_str(), 0640), 0);
  EXPECT_EQ(KeyRing::LoadOrCreate(scratch.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  EXPECT_TRUE(KeyRing::LoadOrCreate(scratch.path()).ok());
}

TEST(KeyRing, RefusesWritableDirectory) {
  ScratchDir scratch;
  ASSERT_EQ(chmod(scratch.path().c_str(), 0777), 0);
  EXPECT_EQ(KeyRing::LoadOrCreate(scratch.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(KeyFiles(scratch.path()).empty());
}

TEST(KeyRing, CorruptKeyFileIsDataLoss) {
  ScratchDir scratch;
  WriteFile(scratch.path() + "/signing-k20260101T000000.000000Z-00000000.pem", "not a key", 0600);
  EXPECT_EQ(KeyRing::LoadOrCreate(scratch.path()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyRing, RefusesKeyFileWithInvalidId) {
  ScratchDir scratch;
  WriteFile(scratch.path() + "/signing-mykey.pem", "x", 0600);
  const absl::Status status = KeyRing::LoadOrCreate(scratch.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "signing-mykey.pem"));
}

TEST(KeyRing, IgnoresUnrelatedFiles) {
  ScratchDir scratch;
  WriteFile(scratch.path() + "/README", "keys live here", 0644);
  const std::unique_ptr<KeyRing> ring = Load(scratch.path());
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->PublicKeys().size(), 1u);
}

TEST(KeyRing, SigningAndVerifyingRaceSafelyWithRotation) {
  const std::unique_ptr<KeyRing> ring = KeyRing::InMemory();
  std::atomic<bool> ok{true};
  std::vector<std::thread> signers;
  for (int t = 0; t < 4; ++t) {
    signers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto signed_by = ring->SignWithCurrent("data");
        if (!signed_by.ok() || !ring->Verify(signed_by->first, "data", signed_by->second)) {
          ok = false;
        }
      }
    });
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ring->Rotate().ok());
  for (std::thread& t : signers) t.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(ring->PublicKeys().size(), 21u);
}

// A rotated-out key verifies until the last token it could have signed has
// expired (its successor's creation plus one token lifetime), then leaves the
// ring, the published keys and the key directory, also after a restart.
TEST(KeyRing, RetiresARotatedOutKeyOnceItsLastTokenHasExpired) {
  ScratchDir dir;
  std::unique_ptr<KeyRing> ring = Load(dir.path());
  ASSERT_NE(ring, nullptr);
  const std::string old_id = ring->CurrentKeyId();
  auto [signed_by, signature] = ring->SignWithCurrent("token").value();
  ASSERT_TRUE(ring->Rotate().ok());
  const std::string new_id = ring->CurrentKeyId();
  // Rotation time is the wall clock (key ids record it); the fake clock
  // starts there and is moved past one lifetime.
  common::FakeClock clock(absl::Now());
  const absl::Duration lifetime = absl::Minutes(15);

  clock.Advance(lifetime - absl::Minutes(1));
  EXPECT_EQ(ring->RetireExpired(clock.Now(), lifetime).value(), 0);
  EXPECT_TRUE(ring->Verify(old_id, "token", signature));
  EXPECT_EQ(ring->PublicKeys().size(), 2u);

  clock.Advance(absl::Minutes(2));
  EXPECT_EQ(ring->RetireExpired(clock.Now(), lifetime).value(), 1);
  EXPECT_FALSE(ring->HasKey(old_id));
  EXPECT_FALSE(ring->Verify(old_id, "token", signature));
  ASSERT_EQ(ring->PublicKeys().size(), 1u);
  EXPECT_EQ(ring->PublicKeys()[0].first, new_id);
  EXPECT_EQ(ring->CurrentKeyId(), new_id);
  // The current key is never retired, however old.
  clock.Advance(absl::Hours(24 * 365));
  EXPECT_EQ(ring->RetireExpired(clock.Now(), lifetime).value(), 0);
  EXPECT_TRUE(ring->SignWithCurrent("more").ok());

  ring.reset();
  std::unique_ptr<KeyRing> reloaded = Load(dir.path());
  ASSERT_NE(reloaded, nullptr);
  EXPECT_FALSE(reloaded->HasKey(old_id));
  EXPECT_EQ(reloaded->CurrentKeyId(), new_id);
  EXPECT_EQ(KeyFiles(dir.path()).size(), 1u);
}

}  // namespace
}  // namespace relais::auth
