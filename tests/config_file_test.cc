// relaisd --config=<file> (issue #5 item 4), run as the real binary: a bad file
// stops it at start naming the field; a good one is applied, and flags given on
// the command line override it.

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

// relaisd run as a child process (tests/relaisd_process.h).
class Relaisd : public RelaisdProcess {
 public:
  explicit Relaisd(std::vector<std::string> args) : RelaisdProcess(RELAISD_PATH, std::move(args)) {}
};

std::string WriteConfig(const std::string& dir, const std::string& text) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/relaisd.textproto";
  std::ofstream(path) << text;
  return path;
}

TEST(RelaisdConfig, AnInvalidValueStopsItAtStartNamingTheField) {
  const std::string dir = FreshPath("config_bad");
  const std::string config = WriteConfig(dir, absl::StrCat("database { path: \"", dir,
                                                           "/relais.db\" }\n"
                                                           "care { self_consent_age: 40 }\n"));
  Relaisd relaisd({"--config=" + config, "--insecure_dev", "--listen=127.0.0.1:0",
                   "--metrics_listen=", "--keys_dir=" + dir + "/keys"});
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_TRUE(absl::StrContains(relaisd.output(),
                                "config: care.self_consent_age: must be between 10 and 18, got 40"))
      << relaisd.output();
  EXPECT_TRUE(absl::StrContains(relaisd.output(), config)) << "names the file";
  EXPECT_FALSE(std::filesystem::exists(dir + "/relais.db")) << "refused before opening anything";
}

// A flag is held to the same range as the file's field: no config file here.
TEST(RelaisdConfig, AnOutOfRangeFlagIsRefusedLikeTheSameFieldInTheFile) {
  const std::string dir = FreshPath("config_bad_flag");
  Relaisd relaisd({"--self_consent_age=40", "--insecure_dev", "--listen=127.0.0.1:0",
                   "--metrics_listen=", "--db=" + dir + "/relais.db",
                   "--keys_dir=" + dir + "/keys"});
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_TRUE(absl::StrContains(relaisd.output(),
                                "care.self_consent_age: must be between 10 and 18, got 40"))
      << relaisd.output();
  EXPECT_FALSE(std::filesystem::exists(dir + "/relais.db")) << "refused before opening anything";

  Relaisd overlap({"--max_overlap_days=0", "--insecure_dev", "--listen=127.0.0.1:0",
                   "--metrics_listen=", "--db=" + dir + "/relais.db",
                   "--keys_dir=" + dir + "/keys"});
  EXPECT_EQ(overlap.Exit(), 2) << overlap.output();
  EXPECT_TRUE(absl::StrContains(overlap.output(), "care.max_overlap")) << overlap.output();
}

TEST(RelaisdConfig, AnUnknownFieldOrSyntaxErrorStopsItWithItsPosition) {
  const std::string dir = FreshPath("config_unknown");
  Relaisd unknown({"--config=" + WriteConfig(dir, "listen: \"127.0.0.1:0\"\ncolour: \"blue\"\n"),
                   "--insecure_dev"});
  EXPECT_EQ(unknown.Exit(), 2) << unknown.output();
  EXPECT_TRUE(absl::StrContains(unknown.output(), "config: line 2 column ")) << unknown.output();
  EXPECT_TRUE(absl::StrContains(unknown.output(), "no field named \\\"colour\\\""))
      << unknown.output();

  Relaisd syntax(
      {"--config=" + WriteConfig(dir, "care {\n  max_overlap \"30d\"\n}\n"), "--insecure_dev"});
  EXPECT_EQ(syntax.Exit(), 2) << syntax.output();
  EXPECT_TRUE(absl::StrContains(syntax.output(), "config: line 2 column 15: care.max_overlap: "))
      << syntax.output();

  Relaisd missing({"--config=" + dir + "/nowhere.textproto", "--insecure_dev"});
  EXPECT_EQ(missing.Exit(), 2) << missing.output();
  EXPECT_TRUE(absl::StrContains(missing.output(), "cannot open")) << missing.output();
}

TEST(RelaisdConfig, TheFileIsAppliedAndFlagsGivenOnTheCommandLineOverrideIt) {
  const std::string dir = FreshPath("config_override");
  const std::string config = WriteConfig(dir, absl::StrCat(R"(
    listen: "127.0.0.1:0"
    database { path: ")",
                                                           dir, R"(/from_file.db" }
    keys { dir: ")",
                                                           dir, R"(/keys" }
    metrics_listen: ""
    care { self_consent_age: 14 }
  )"));
  {
    // The file alone: its database path, and no metrics endpoint.
    Relaisd relaisd({"--config=" + config, "--insecure_dev"});
    ASSERT_TRUE(relaisd.WaitFor("relaisd serving")) << relaisd.output();
    EXPECT_TRUE(std::filesystem::exists(dir + "/from_file.db"));
    EXPECT_TRUE(absl::StrContains(relaisd.output(), "\"overridden_by_flags\":\"\""))
        << relaisd.output();
    EXPECT_FALSE(absl::StrContains(relaisd.output(), "metrics serving")) << relaisd.output();
    EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
  }
  {
    // The same file with two flags: the flags win, the rest of the file holds.
    Relaisd relaisd({"--config=" + config, "--insecure_dev", "--db=" + dir + "/from_flag.db",
                     "--metrics_listen=127.0.0.1:0"});
    ASSERT_TRUE(relaisd.WaitFor("relaisd serving")) << relaisd.output();
    EXPECT_TRUE(std::filesystem::exists(dir + "/from_flag.db"));
    EXPECT_TRUE(
        absl::StrContains(relaisd.output(), "\"overridden_by_flags\":\"db,metrics_listen\""))
        << relaisd.output();
    EXPECT_TRUE(absl::StrContains(relaisd.output(), "metrics serving")) << relaisd.output();
    EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
  }
}

TEST(RelaisdConfig, InsecureDevWithTlsFilesInTheFileIsRefused) {
  // A file can name TLS files but never turn TLS off; --insecure_dev with them
  // is ambiguous and refused, as with the --tls_* flags.
  const std::string dir = FreshPath("config_tls");
  const std::string config = WriteConfig(dir, R"(
    tls { cert_file: "/etc/relais/server.pem" key_file: "/etc/relais/server.key"
          client_ca_file: "/etc/relais/client-ca.pem" }
  )");
  Relaisd relaisd({"--config=" + config, "--insecure_dev", "--listen=127.0.0.1:0",
                   "--db=" + dir + "/relais.db", "--keys_dir=" + dir + "/keys"});
  EXPECT_EQ(relaisd.Exit(), 2) << relaisd.output();
  EXPECT_TRUE(absl::StrContains(relaisd.output(), "configuration file's tls section"))
      << relaisd.output();
}

}  // namespace
}  // namespace relais::testing
