#include "common/trusted_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace relais::common {
namespace {

class TrustedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trusted_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(absl::StrCat("rm -rf ", dir_).c_str()); }

  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::string dir_;
};

TEST_F(TrustedFileTest, ReadsAnOwnerOnlyRegularFile) {
  const std::string path = Write("key", "secret bytes", 0600);
  absl::StatusOr<std::string> read = ReadTrustedFile(path, 64, /*owner_only=*/true);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "secret bytes");
}

TEST_F(TrustedFileTest, RefusesASymbolicLinkEvenToAGoodFile) {
  const std::string target = Write("key", "secret bytes", 0600);
  const std::string link = absl::StrCat(dir_, "/link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<std::string> read = ReadTrustedFile(link, 64, true);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(read.status().message(), "symbolic link"));
}

TEST_F(TrustedFileTest, RefusesAWiderModeADirectoryAndAnOversizedFile) {
  const std::string wide = Write("wide", "secret bytes", 0640);
  EXPECT_EQ(ReadTrustedFile(wide, 64, true).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ReadTrustedFile(wide, 64, /*owner_only=*/false).ok());  // a certificate
  EXPECT_EQ(ReadTrustedFile(dir_, 64, false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string big = Write("big", std::string(65, 'x'), 0600);
  EXPECT_EQ(ReadTrustedFile(big, 64, true).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadTrustedFile(absl::StrCat(dir_, "/missing"), 64, true).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TrustedFileTest, MessagesNeverHoldTheContent) {
  const std::string path = Write("wide", "do-not-print-me", 0644);
  absl::StatusOr<std::string> read = ReadTrustedFile(path, 4, true);
  ASSERT_FALSE(read.ok());
  EXPECT_FALSE(absl::StrContains(read.status().message(), "do-not-print-me"));
}

}  // namespace
}  // namespace relais::common
