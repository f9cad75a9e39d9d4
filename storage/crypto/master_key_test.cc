#include "storage/crypto/master_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace relais::storage::crypto {
namespace {

std::string FreshDir(absl::string_view name) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/master_key_" + std::string(name) + "_" +
                     std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  ::chmod(path.c_str(), 0700);
  return path;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

const std::string kRaw(32, '\x5a');

// Unsets RELAIS_MASTER_KEY around each test so the developer's shell cannot
// change the outcome.
class MasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(kMasterKeyEnv); }
  void TearDown() override { ::unsetenv(kMasterKeyEnv); }
};

TEST_F(MasterKeyTest, IdIsStablePerKeyDistinctAcrossKeysAndRevealsNoKeyBytes) {
  auto a = MasterKey::FromBytes(kRaw);
  auto b = MasterKey::FromBase64(absl::Base64Escape(kRaw));
  auto c = MasterKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->id(), b->id());
  EXPECT_NE(a->id(), c->id());
  EXPECT_TRUE(absl::StartsWith(a->id(), "mk_"));
  EXPECT_EQ(a->id().size(), 19u);
  EXPECT_FALSE(absl::StrContains(a->id(), "5a5a"));
}

TEST_F(MasterKeyTest, FileReadableByGroupOrOthersIsRefusedNamingTheFile) {
  const std::string dir = FreshDir("perm");
  const std::string path = dir + "/master.key";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    WriteFile(path, kRaw, mode);
    absl::StatusOr<MasterKey> key = MasterKey::ReadFile(path);
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_TRUE(absl::StrContains(key.status().message(), path)) << key.status();
    MasterKeySources sources{.file = path};
    EXPECT_EQ(MasterKeyRing::Load(sources).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  WriteFile(path, kRaw, 0600);
  EXPECT_TRUE(MasterKey::ReadFile(path).ok());
  WriteFile(path, kRaw, 0400);
  EXPECT_TRUE(MasterKey::ReadFile(path).ok());
}

TEST_F(MasterKeyTest, FileMayHoldRawBytesOrBase64ButNothingElse) {
  const std::string dir = FreshDir("content");
  const std::string raw_path = dir + "/raw.key";
  const std::string b64_path = dir + "/b64.key";
  WriteFile(raw_path, kRaw, 0600);
  WriteFile(b64_path, absl::Base64Escape(kRaw) + "\n", 0600);
  auto raw = MasterKey::ReadFile(raw_path);
  auto b64 = MasterKey::ReadFile(b64_path);
  ASSERT_TRUE(raw.ok() && b64.ok()) << raw.status() << b64.status();
  EXPECT_EQ(raw->id(), b64->id());
  EXPECT_TRUE(raw->key().Equals(b64->key()));

  const std::string bad = dir + "/bad.key";
  for (const std::string& content : {std::string(31, 'a'), std::string("not base64 at all!"),
                                     absl::Base64Escape(std::string(16, 'k'))}) {
    WriteFile(bad, content, 0600);
    EXPECT_EQ(MasterKey::ReadFile(bad).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(MasterKey::ReadFile(dir + "/missing.key").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MasterKey::ReadFile(dir).status().code(), absl::StatusCode::kFailedPrecondition);
  // A link planted at the key's path is refused, not followed.
  const std::string good = dir + "/good.key";
  ASSERT_TRUE(MasterKey::Generate()->WriteNewFile(good).ok());
  ASSERT_EQ(::symlink(good.c_str(), (dir + "/link.key").c_str()), 0);
  EXPECT_EQ(MasterKey::ReadFile(dir + "/link.key").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MasterKeyTest, EnvironmentVariableIsAcceptedAsBase64) {
  ASSERT_EQ(::setenv(kMasterKeyEnv, absl::Base64Escape(kRaw).c_str(), 1), 0);
  absl::StatusOr<MasterKeyRing> ring = MasterKeyRing::Load({.keys_dir = FreshDir("env")});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->origin(), "env");
  EXPECT_EQ(ring->current().id(), MasterKey::FromBytes(kRaw)->id());
  // Read once, then gone: no child process or later reader sees it.
  EXPECT_EQ(std::getenv(kMasterKeyEnv), nullptr);
}

TEST_F(MasterKeyTest, MalformedEnvironmentVariableIsRefusedWithoutEchoingIt) {
  ASSERT_EQ(::setenv(kMasterKeyEnv, "c2VjcmV0LWJ1dC1zaG9ydA==", 1), 0);
  absl::StatusOr<MasterKeyRing> ring = MasterKeyRing::Load({});
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(ring.status().message(), "c2VjcmV0"));
}

TEST_F(MasterKeyTest, FileWinsOverEnvironmentVariable) {
  const std::string path = FreshDir("both") + "/master.key";
  auto file_key = MasterKey::Generate();
  ASSERT_TRUE(file_key.ok());
  ASSERT_TRUE(file_key->WriteNewFile(path).ok());
  ASSERT_EQ(::setenv(kMasterKeyEnv, absl::Base64Escape(kRaw).c_str(), 1), 0);
  absl::StatusOr<MasterKeyRing> ring = MasterKeyRing::Load({.file = path});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->origin(), "file");
  EXPECT_EQ(ring->current().id(), file_key->id());
  EXPECT_EQ(std::getenv(kMasterKeyEnv), nullptr);  // removed even when unused
}

TEST_F(MasterKeyTest, DevelopmentKeyIsCreatedOnceUnderKeysDirWithMode0600) {
  const std::string dir = FreshDir("dev");
  absl::StatusOr<MasterKeyRing> first = MasterKeyRing::Load({.keys_dir = dir});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->origin(), "generated");
  struct stat st;
  ASSERT_EQ(::stat((dir + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  absl::StatusOr<MasterKeyRing> second = MasterKeyRing::Load({.keys_dir = dir});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->origin(), "keys_dir");
  EXPECT_EQ(second->current().id(), first->current().id());
}

TEST_F(MasterKeyTest, MissingKeyIsNotReplacedWhenGenerationIsForbidden) {
  const std::string dir = FreshDir("lost");
  absl::StatusOr<MasterKeyRing> ring =
      MasterKeyRing::Load({.keys_dir = dir, .allow_generate = false});
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(std::filesystem::exists(dir + "/master.key"));
  EXPECT_EQ(MasterKeyRing::Load({.allow_generate = false}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A named file that is missing is an error, never a reason to generate one.
  EXPECT_EQ(MasterKeyRing::Load({.file = dir + "/nope.key"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(MasterKeyTest, NoSourceGivesAnInMemoryKeyForTests) {
  absl::StatusOr<MasterKeyRing> a = MasterKeyRing::Load({});
  absl::StatusOr<MasterKeyRing> b = MasterKeyRing::Load({});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->origin(), "memory");
  EXPECT_NE(a->current().id(), b->current().id());
}

TEST_F(MasterKeyTest, PreviousKeyUnwrapsOnlyAndMustDifferFromCurrent) {
  const std::string dir = FreshDir("prev");
  auto old_key = MasterKey::Generate();
  auto new_key = MasterKey::Generate();
  ASSERT_TRUE(old_key.ok() && new_key.ok());
  ASSERT_TRUE(old_key->WriteNewFile(dir + "/old.key").ok());
  ASSERT_TRUE(new_key->WriteNewFile(dir + "/new.key").ok());
  EXPECT_EQ(new_key->WriteNewFile(dir + "/new.key").code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<MasterKeyRing> ring =
      MasterKeyRing::Load({.file = dir + "/new.key", .previous_file = dir + "/old.key"});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->current().id(), new_key->id());
  ASSERT_NE(ring->Find(old_key->id()), nullptr);
  EXPECT_EQ(ring->previous_ids(), std::vector<std::string>{old_key->id()});
  EXPECT_EQ(ring->Find("mk_0000000000000000"), nullptr);
  EXPECT_EQ(MasterKeyRing::Load({.file = dir + "/new.key", .previous_file = dir + "/new.key"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace relais::storage::crypto
