// relaisctl (issue #5 part 1) end to end: the real binary against a real
// relaisd served in plaintext on loopback (--insecure), one token file per
// member; and relaisctl's formatting and error mapping as functions.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "services/audit/export_verifier.h"
#include "services/directory/service_profiles.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"
#include "tools/relaisctl/client.h"
#include "tools/relaisctl/format.h"

namespace relais::testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using Result = CommandResult;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The relaisctl binary with exactly `env` as its environment, `input` on stdin.
Result RunRelaisctl(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, const std::string& input) {
  return RunCommand(RELAISCTL_PATH, args, env, input);
}

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// Every line at most 80 code points wide.
void ExpectFits80(const std::string& text) {
  for (const std::string& line : Lines(text)) {
    EXPECT_LE(ctl::DisplayWidth(line), 80) << line;
  }
}

class RelaisctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    ASSERT_NE(env_, nullptr);
    home_ = FreshPath("home");
    ASSERT_EQ(::mkdir(home_.c_str(), 0700), 0);
    server_ = absl::StrCat("127.0.0.1:", env_->host().port());
  }

  std::string TokenFile(absl::string_view login) const {
    return absl::StrCat(home_, "/tokens/", login, ".token");
  }

  // The environment relaisctl runs in: its own HOME, UTC, and the token file
  // of `login` ("" = the default ~/.config/relais/token).
  std::map<std::string, std::string> Env(absl::string_view login) const {
    std::map<std::string, std::string> env = {
        {"HOME", home_}, {"TZ", "UTC"}, {"PATH", "/usr/bin:/bin"}};
    if (!login.empty()) env["RELAIS_TOKEN_FILE"] = TokenFile(login);
    return env;
  }

  // A command that talks to the test server, as `login`. The server's fake
  // clock is moved to the wall clock first: relaisctl takes "now" from it.
  Result Ctl(absl::string_view login, std::vector<std::string> args,
             const std::string& input = "") {
    env_->clock().Set(absl::Now());
    args.insert(args.end(), {"--insecure", "--server", server_});
    return RunRelaisctl(args, Env(login), input);
  }

  // A command that does not connect (help, usage errors, audit verify).
  Result Offline(std::vector<std::string> args) { return RunRelaisctl(args, Env(""), ""); }

  void Login(absl::string_view login) {
    Result r = Ctl(login, {"login", "--user", std::string(login), "--password_stdin"},
                   absl::StrCat(kPassword, "\n"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(env_->member_id(login)));
  }

  // Runs a command expected to succeed with --quiet; returns the printed id.
  std::string Id(absl::string_view login, std::vector<std::string> args) {
    args.push_back("--quiet");
    Result r = Ctl(login, std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trim(r.out);
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string home_;
  std::string server_;
};

std::string DateOfBirth(int age) {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  return absl::FormatCivilTime(absl::CivilDay(today.year() - age, today.month(), today.day()));
}

TEST_F(RelaisctlTest, TellsTheHandoverStoryFromTheCommandLine) {
  for (const char* login :
       {kAmoCaseworker, kAmoCoordinator, kSajCaseworker, kSajCoordinator, kAuditor}) {
    Login(login);
  }
  const std::string saj = env_->service_id("saj");

  // The AMO registers a 15-year-old, accompanies her and writes three entries.
  const std::string youth = Id(kAmoCaseworker, {"youth", "create", "--name", "Lina", "--dob",
                                                DateOfBirth(15), "--guardian", "Marie/mother"});
  ASSERT_THAT(youth, StartsWith("y_"));
  const std::string accompaniment =
      Id(kAmoCoordinator,
         {"accompaniment", "open", youth, "--referent", env_->member_id(kAmoCaseworker)});
  EXPECT_FALSE(accompaniment.empty());
  const std::string general =
      Id(kAmoCaseworker, {"entry", "add", youth, "--category", "general", "--visibility", "shared",
                          "--body", "Suivi scolaire"});
  Id(kAmoCaseworker, {"entry", "add", youth, "--category", "health", "--visibility", "shared",
                      "--body", "Suivi psychologique"});
  Id(kAmoCaseworker, {"entry", "add", youth, "--category", "general", "--visibility",
                      "service_private", "--body", "Note interne"});
  ASSERT_THAT(general, StartsWith("e"));

  // The youth consents to share general and family information with the SAJ.
  const std::string consent =
      Id(kAmoCaseworker, {"consent", "grant", youth, "--to_service", saj, "--categories",
                          "general,family", "--valid_for", "182d"});
  EXPECT_FALSE(consent.empty());
  Result consents = Ctl(kAmoCaseworker, {"consent", "list", youth});
  ASSERT_EQ(consents.exit_code, 0) << consents.err;
  EXPECT_THAT(consents.out, ContainsRegex("active +[^ ]+ +general,family"));
  ExpectFits80(consents.out);

  // The AMO proposes a 30-day handover; the SAJ sees nothing before accepting.
  const std::string handover = Id(
      kAmoCaseworker,
      {"handover", "propose", youth, "--to", saj, "--reason", "Mandat du SAJ", "--overlap", "30d"});
  ASSERT_FALSE(handover.empty());
  Result early = Ctl(kSajCaseworker, {"entry", "list", youth});
  EXPECT_EQ(early.exit_code, 4);
  EXPECT_THAT(early.err, StartsWith("error: PERMISSION_DENIED no_active_accompaniment: "));

  Result accepted = Ctl(kSajCoordinator, {"handover", "accept", handover, "--referent",
                                          env_->member_id(kSajCaseworker)});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_THAT(accepted.out, ContainsRegex("state: +accepted"));

  // The SAJ caseworker sees the general entry and is told one was withheld.
  Result listed = Ctl(kSajCaseworker, {"entry", "list", youth});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, AllOf(HasSubstr("Suivi scolaire"), Not(HasSubstr("psychologique")),
                                Not(HasSubstr("Note interne")),
                                HasSubstr("withheld: 1 (consent_category_not_covered)")));
  ExpectFits80(listed.out);
  Result csv = Ctl(kSajCaseworker, {"entry", "list", youth, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, HasSubstr(absl::StrCat("\n", general, ",")));  // the full id
  EXPECT_THAT(csv.err, HasSubstr("withheld: 1 (consent_category_not_covered)"));
  Result json = Ctl(kSajCaseworker, {"entry", "list", youth, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out,
              HasSubstr("{\"reason_code\":\"consent_category_not_covered\",\"count\":1}"));

  // Reminders: the window ends in 30 days.
  EXPECT_EQ(Ctl(kSajCoordinator, {"handover", "list", "--ending-within", "31d", "-q"}).out,
            handover + "\n");
  EXPECT_EQ(Ctl(kSajCoordinator, {"handover", "list", "--ending-within", "7d", "-q"}).out, "");
  Result handovers = Ctl(kSajCoordinator, {"handover", "list"});
  EXPECT_THAT(handovers.out, ContainsRegex("accepted"));
  ExpectFits80(handovers.out);

  // The auditor's CSV holds every decision with full ids and our request ids.
  Result audit = Ctl(kAuditor, {"audit", "query", "--youth", youth, "--format", "csv"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  const std::vector<std::string> rows = Lines(audit.out);
  ASSERT_GT(rows.size(), 8u);
  EXPECT_EQ(rows[0],
            "sequence,time,request_id,actor_member_id,actor_service_id,actor_roles,"
            "client_identity,action,youth_id,entry_id,object_id,purpose,decision,reason_code,"
            "break_glass,prev_hash,hash");
  bool saw_denial = false, saw_accept = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::vector<std::string> cells = absl::StrSplit(rows[i], ',');
    ASSERT_EQ(cells.size(), 17u) << rows[i];
    EXPECT_EQ(cells[8], youth);
    EXPECT_THAT(cells[2], StartsWith("ctl-"));  // relaisctl's x-request-id
    saw_denial |= cells[4] == saj && cells[7] == "list_entries" && cells[12] == "deny" &&
                  cells[13] == "no_active_accompaniment";
    saw_accept |= cells[4] == saj && cells[7] == "accept_handover" && cells[12] == "allow";
  }
  EXPECT_TRUE(saw_denial);
  EXPECT_TRUE(saw_accept);
  Result denials =
      Ctl(kAuditor, {"audit", "query", "--youth", youth, "--decision", "deny", "--format", "json"});
  ASSERT_EQ(denials.exit_code, 0) << denials.err;
  EXPECT_THAT(denials.out, HasSubstr("\"decision\":\"deny\""));
  EXPECT_THAT(denials.out, Not(HasSubstr("\"decision\":\"allow\"")));
  Result table = Ctl(kAuditor, {"audit", "query"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ExpectFits80(table.out);
  EXPECT_THAT(table.out, HasSubstr("…"));  // ids are cut to fit

  // The access report: who saw Lina's file, by service.
  Result report = Ctl(kAuditor, {"audit", "report", youth, "--format", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("\"service_name\":\"SAJ de Charleroi\""));
  EXPECT_THAT(report.out, HasSubstr("\"reason_code\":\"no_active_accompaniment\""));
  Result report_table = Ctl(kAuditor, {"audit", "report", youth});
  ASSERT_EQ(report_table.exit_code, 0) << report_table.err;
  EXPECT_THAT(report_table.out, HasSubstr("SAJ de Charleroi"));
  ExpectFits80(report_table.out);
}

TEST_F(RelaisctlTest, LoginKeepsTheTokenPrivateAndRefusesAnExposedOne) {
  // A wrong password: status 3, nothing stored.
  Result wrong = RunRelaisctl(
      {"login", "--user", kAmoCaseworker, "--password_stdin", "--insecure", "--server", server_},
      Env(""), "not the password\n");
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_THAT(wrong.err, StartsWith("error: UNAUTHENTICATED invalid_credentials: "));
  const std::string dir = absl::StrCat(home_, "/.config/relais"), token = dir + "/token";
  struct stat st;
  EXPECT_NE(::stat(token.c_str(), &st), 0);

  // Without a token: status 3 before anything is sent.
  Result none = Ctl("", {"youth", "show", "y_00000000000000000000"});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_THAT(none.err, StartsWith("error: UNAUTHENTICATED token_missing: "));

  // The default token file: ~/.config/relais/token, directory 0700, file 0600.
  Result ok = Ctl("", {"login", "--user", kAmoCaseworker, "--password_stdin"},
                  absl::StrCat(kPassword, "\n"));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(token.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(Slurp(token), Not(HasSubstr(kPassword)));

  // The token works: an unknown youth is NOT_FOUND (5), not a login problem.
  Result unknown = Ctl("", {"youth", "show", "y_00000000000000000000"});
  EXPECT_EQ(unknown.exit_code, 5);
  EXPECT_THAT(unknown.err, StartsWith("error: NOT_FOUND youth_not_found: "));

  // Group- or world-readable: refused, status 3.
  ASSERT_EQ(::chmod(token.c_str(), 0644), 0);
  Result exposed = Ctl("", {"youth", "show", "y_00000000000000000000"});
  EXPECT_EQ(exposed.exit_code, 3);
  EXPECT_THAT(exposed.err, StartsWith("error: UNAUTHENTICATED token_file_insecure: "));
  EXPECT_THAT(exposed.err, HasSubstr("0644"));
}

TEST_F(RelaisctlTest, LogoutRevokesTheTokenAndMemberUnlockLiftsALock) {
  Login(kAmoCaseworker);
  const std::string token = Trim(Slurp(TokenFile(kAmoCaseworker)));
  ASSERT_FALSE(token.empty());
  Result out = Ctl(kAmoCaseworker, {"logout"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_THAT(out.out, HasSubstr("token revoked"));
  struct stat st;
  EXPECT_NE(::stat(TokenFile(kAmoCaseworker).c_str(), &st), 0);
  // A copy of the token is dead too.
  v1::ListSectorsResponse sectors;
  grpc::Status s = env_->directory().ListSectors(
      env_->Anonymous(absl::StrCat("Bearer ", token)).get(), v1::ListSectorsRequest(), &sectors);
  EXPECT_EQ(ReasonCode(s), "token_revoked");
  // Logging out without a token file is fine.
  EXPECT_EQ(Ctl(kAmoCaseworker, {"logout"}).exit_code, 0);

  // Five wrong passwords lock amo.camille; her coordinator unlocks her.
  for (int i = 0; i < 5; ++i) {
    Result wrong = Ctl(kAmoCaseworker, {"login", "--user", kAmoCaseworker, "--password_stdin"},
                       "not the password\n");
    EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  }
  Result locked = Ctl(kAmoCaseworker, {"login", "--user", kAmoCaseworker, "--password_stdin"},
                      absl::StrCat(kPassword, "\n"));
  EXPECT_THAT(locked.err, HasSubstr("account_locked"));
  Login(kSajCaseworker);
  Result refused = Ctl(kSajCaseworker, {"member", "unlock", env_->member_id(kAmoCaseworker)});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  Login(kAmoCoordinator);
  Result unlocked = Ctl(kAmoCoordinator, {"member", "unlock", env_->member_id(kAmoCaseworker)});
  ASSERT_EQ(unlocked.exit_code, 0) << unlocked.err;
  EXPECT_THAT(unlocked.out, HasSubstr("true"));
  Login(kAmoCaseworker);
}

// A day `days` from today, YYYY-MM-DD (relaisctl runs in UTC here).
std::string DayIn(int days) {
  return absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) + days);
}

TEST_F(RelaisctlTest, ConventionsAndProtocolsFromTheCommandLine) {
  env_->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
  for (const char* login : {kAmoCaseworker, kAmoCoordinator, "pms.coord", kSajCoordinator}) {
    Login(login);
  }
  const std::string parties = absl::StrCat(env_->service_id("amo"), ",", env_->service_id("pms"));
  const std::string convention =
      Id(kAmoCoordinator, {"convention", "propose", "--title", "AMO – PMS", "--purpose",
                           "Suivi des élèves", "--parties", parties, "--categories",
                           "general,education", "--purposes", "coordination,handover",
                           "--max_overlap", "60d", "--end", DayIn(400), "--review", DayIn(10)});
  ASSERT_FALSE(convention.empty());
  Result denied = Ctl(kSajCoordinator, {"convention", "sign", convention});
  EXPECT_EQ(denied.exit_code, 4);
  EXPECT_THAT(denied.err, StartsWith("error: PERMISSION_DENIED wrong_service: "));
  Result sign = Ctl("pms.coord", {"convention", "sign", convention, "--format", "csv"});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  EXPECT_THAT(sign.out, HasSubstr("in_force"));
  Result due = Ctl(kAmoCoordinator, {"convention", "list", "--due", "30", "--format", "csv"});
  EXPECT_THAT(due.out, AllOf(HasSubstr(convention), HasSubstr("REVIEW DUE")));

  const std::string protocol =
      Id(kAmoCoordinator, {"protocol", "create", "--title", "Passage de relais", "--summary", "V1",
                           "--link", "https://intranet.example.org/p.pdf", "--services", parties,
                           "--review", DayIn(90), "--convention", convention});
  Result to_ack = Ctl(kAmoCaseworker, {"protocol", "list", "--to_ack", "--format", "csv"});
  EXPECT_THAT(to_ack.out, AllOf(HasSubstr(protocol), HasSubstr("TO ACKNOWLEDGE")));
  ExpectFits80(Ctl(kAmoCaseworker, {"protocol", "list"}).out);
  EXPECT_EQ(Ctl(kAmoCaseworker, {"protocol", "ack", protocol, "--version", "1"}).exit_code, 0);
  EXPECT_EQ(Trim(Ctl(kAmoCaseworker, {"protocol", "list", "--to_ack", "-q"}).out), "");
  Result coverage = Ctl(kAmoCoordinator, {"protocol", "coverage", protocol, "--format", "csv"});
  ASSERT_EQ(coverage.exit_code, 0) << coverage.err;
  EXPECT_THAT(coverage.out, HasSubstr(absl::StrCat(env_->service_id("amo"), ",1,1,")));
}

TEST_F(RelaisctlTest, ExitStatusesTellScriptsWhatWentWrong) {
  Login(kAmoCaseworker);
  Login(kAmoCoordinator);

  // A caseworker may not read the audit log: 4, with the reason code.
  Result audit = Ctl(kAmoCaseworker, {"audit", "query"});
  EXPECT_EQ(audit.exit_code, 4);
  EXPECT_THAT(audit.err, StartsWith("error: PERMISSION_DENIED role_not_permitted: "));
  EXPECT_THAT(audit.err, HasSubstr("request id ctl-"));
  EXPECT_EQ(audit.out, "");

  // The server refuses an overlap longer than its maximum: 6 (invalid argument).
  const std::string youth =
      Id(kAmoCaseworker, {"youth", "create", "--name", "Noa", "--dob", DateOfBirth(14)});
  Id(kAmoCoordinator,
     {"accompaniment", "open", youth, "--referent", env_->member_id(kAmoCaseworker)});
  Result too_long =
      Ctl(kAmoCaseworker, {"handover", "propose", youth, "--to", env_->service_id("saj"),
                           "--reason", "r", "--overlap", "200d"});
  EXPECT_EQ(too_long.exit_code, 6);
  EXPECT_THAT(too_long.err, StartsWith("error: INVALID_ARGUMENT overlap_too_long: overlap_end: "));

  // Usage errors: 2, nothing sent.
  EXPECT_EQ(Offline({"nonsense"}).exit_code, 2);
  EXPECT_EQ(Offline({"youth"}).exit_code, 2);
  EXPECT_EQ(Ctl(kAmoCaseworker, {"youth", "show"}).exit_code, 2);
  EXPECT_EQ(
      Ctl(kAmoCaseworker, {"youth", "create", "--name", "X", "--dob", "2012-13-45"}).exit_code, 2);
  EXPECT_EQ(Ctl(kAmoCaseworker, {"entry", "list", youth, "--decision", "deny"}).exit_code, 2);
  EXPECT_EQ(Ctl(kAmoCaseworker, {"audit", "query", "--format", "xml"}).exit_code, 2);
  Result no_tls = RunRelaisctl({"youth", "show", youth}, Env(kAmoCaseworker), "");
  EXPECT_EQ(no_tls.exit_code, 2);
  EXPECT_THAT(no_tls.err, HasSubstr("--ca, --cert and --key"));
  Result remote =
      RunRelaisctl({"youth", "show", youth, "--insecure", "--server", "192.0.2.1:50051"},
                   Env(kAmoCaseworker), "");
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_THAT(remote.err, HasSubstr("loopback"));

  // No server there: 7 (unavailable, may be retried).
  Result down = RunRelaisctl(
      {"youth", "show", youth, "--insecure", "--server", "127.0.0.1:1", "--timeout", "5s"},
      Env(kAmoCaseworker), "");
  EXPECT_EQ(down.exit_code, 7);
  EXPECT_THAT(down.err, StartsWith("error: UNAVAILABLE "));
}

TEST_F(RelaisctlTest, HelpDescribesEveryCommandAndTheExitStatuses) {
  Result top = Offline({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, AllOf(HasSubstr("exit status:"), HasSubstr("3  unauthenticated"),
                             HasSubstr("7  unavailable"), HasSubstr("handover propose")));
  ExpectFits80(top.out);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"login"},
                                       {"youth", "create"},
                                       {"entry", "list"},
                                       {"consent", "grant"},
                                       {"accompaniment", "open"},
                                       {"handover", "list"},
                                       {"audit", "query"},
                                       {"audit", "verify"},
                                       {"service", "profile"},
                                       {"service", "search"},
                                       {"glossary", "define"}}) {
    const std::string name = absl::StrJoin(cmd, " ");
    cmd.push_back("--help");
    Result r = Offline(cmd);
    EXPECT_EQ(r.exit_code, 0) << name;
    EXPECT_THAT(r.out, StartsWith(absl::StrCat("usage: relaisctl ", name))) << name;
    EXPECT_THAT(r.out, HasSubstr("exit status:")) << name;
    ExpectFits80(r.out);
  }
  EXPECT_THAT(Offline({"handover", "list", "--help"}).out, HasSubstr("--ending_within"));
}

TEST_F(RelaisctlTest, ExportsTheAuditLogAndVerifiesItOffline) {
  Login(kAuditor);
  Login(kAmoCaseworker);
  Ctl(kAmoCaseworker, {"audit", "query"});  // a denial to export
  const std::string file = absl::StrCat(home_, "/log.export");
  Result exported = Ctl(kAuditor, {"audit", "export", file});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("saved to"));
  EXPECT_EQ(exported.err, "");  // no progress in a pipe
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string pubkey = absl::StrCat(home_, "/audit.pub");
  auto pem = audit::PublicKeyPem(env_->host().audit_keys().PublicKeys().front().second);
  ASSERT_TRUE(pem.ok()) << pem.status();
  std::ofstream(pubkey) << *pem;
  Result verified = Offline({"audit", "verify", file, "--pubkey", pubkey});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, StartsWith("ok\n"));
  EXPECT_EQ(verified.err, "");
  Result as_json = Offline({"audit", "verify", file, "--pubkey", pubkey, "--format", "json"});
  EXPECT_EQ(as_json.exit_code, 0);
  EXPECT_THAT(as_json.out, StartsWith("{\"ok\":true,"));

  // Change one reason code in the file: the chain no longer verifies (1).
  std::string bytes = Slurp(file);
  const size_t at = bytes.find("role_not_permitted");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'R';
  const std::string altered = absl::StrCat(home_, "/altered.export");
  std::ofstream(altered, std::ios::binary) << bytes;
  Result bad = Offline({"audit", "verify", altered, "--pubkey", pubkey});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, StartsWith("FAILED: hash_mismatch"));
  EXPECT_EQ(Offline({"audit", "verify", file}).exit_code, 2);  // --pubkey missing
  EXPECT_EQ(Offline({"audit", "verify", home_ + "/missing", "--pubkey", pubkey}).exit_code, 2);
}

TEST_F(RelaisctlTest, RequestsApprovesListsAndCancelsAFourEyesErasure) {
  env_->clock().Set(absl::Now());
  const std::string youth = env_->CreateYouth(15);
  env_->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env_->Accompany(youth, kSajCoordinator, kSajCaseworker);
  Login(kAmoCoordinator);
  Login(kSajCoordinator);
  Login(kAmoCaseworker);

  EXPECT_EQ(Ctl(kAmoCoordinator, {"youth", "erase", youth}).exit_code, 2);  // --reason missing
  Result refused = Ctl(kAmoCaseworker, {"youth", "erase", youth, "--reason", "Demande"});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("role_not_permitted"));
  const std::string id =
      Id(kAmoCoordinator, {"youth", "erase", youth, "--reason", "Le jeune demande l'effacement"});
  ASSERT_FALSE(id.empty());

  Result self = Ctl(kAmoCoordinator, {"youth", "erasure", "approve", id});
  EXPECT_EQ(self.exit_code, 4) << self.err;
  EXPECT_THAT(self.err, HasSubstr("separation_of_duties"));
  Result approved = Ctl(kSajCoordinator, {"youth", "erasure", "approve", id});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_THAT(approved.out, HasSubstr("approved"));
  Result listed = Ctl(kAmoCoordinator, {"youth", "erasure", "list", youth, "--format", "csv"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(id));
  EXPECT_THAT(listed.out, Not(HasSubstr("effacement")));  // the reason is never shown
  EXPECT_EQ(Ctl(kAmoCoordinator, {"youth", "erasure", "cancel", id}).exit_code, 2);
  Result cancelled =
      Ctl(kAmoCoordinator, {"youth", "erasure", "cancel", id, "--reason", "Retrait"});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_THAT(cancelled.out, HasSubstr("cancelled"));
  EXPECT_EQ(Ctl(kAmoCoordinator, {"youth", "erasure", "bogus", id}).exit_code, 2);
}

TEST_F(RelaisctlTest, ExportsAYouthAndPrintsTheAccessReportAsText) {
  env_->clock().Set(absl::Now());
  const std::string youth = env_->CreateYouth(15);
  env_->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  Login(kAmoCoordinator);
  Login(kAmoCaseworker);
  Id(kAmoCaseworker, {"entry", "add", youth, "--category", "general", "--visibility", "shared",
                      "--body", "Premier entretien"});

  const std::string file = absl::StrCat(home_, "/youth.export");
  Result refused = Ctl(kAmoCaseworker, {"youth", "export", youth, file});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;  // role_not_permitted
  EXPECT_NE(::access(file.c_str(), F_OK), 0);
  EXPECT_NE(::access((file + ".partial").c_str(), F_OK), 0);

  Result exported = Ctl(kAmoCoordinator, {"youth", "export", youth, file});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("1 entries (0 withheld) saved to"));
  EXPECT_EQ(exported.err, "");  // no progress in a pipe
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(::access((file + ".partial").c_str(), F_OK), 0);
  std::ifstream in(file, std::ios::binary);
  google::protobuf::io::IstreamInputStream stream(&in);
  std::vector<v1::ExportYouthItem> items;
  for (v1::ExportYouthItem item;;) {
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&item, &stream, &clean_eof)) {
      EXPECT_TRUE(clean_eof);
      break;
    }
    items.push_back(item);
  }
  ASSERT_GE(items.size(), 3u);
  EXPECT_TRUE(items.front().has_header());
  ASSERT_TRUE(items.back().has_trailer());
  EXPECT_EQ(items.back().trailer().entries(), 1);

  Result text =
      Ctl(kAmoCoordinator, {"audit", "report", youth, "--format", "text", "--lang", "en"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("Access report"));
  EXPECT_THAT(text.out, HasSubstr("exporting the record (data copy)"));
  EXPECT_THAT(text.out, Not(HasSubstr("amo.coord")));
  Result french = Ctl(kAmoCoordinator, {"audit", "report", youth, "--format", "text"});
  EXPECT_THAT(french.out, StartsWith("Rapport des accès"));
  EXPECT_EQ(Ctl(kAmoCoordinator, {"audit", "report", youth, "--lang", "nl"}).exit_code, 2);
  EXPECT_EQ(Ctl(kAmoCoordinator, {"youth", "show", youth, "--format", "text"}).exit_code, 2);
  Result help = Offline({"youth", "export", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: relaisctl youth export <youth-id> <file>"));
  ExpectFits80(help.out);
}

TEST_F(RelaisctlTest, AnExportNeverReplacesFollowsOrWidensAFile) {
  env_->clock().Set(absl::Now());
  const std::string youth = env_->CreateYouth(15);
  env_->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  Login(kAmoCoordinator);
  const std::string victim = absl::StrCat(home_, "/victim");
  std::ofstream(victim) << "keep me";
  ::chmod(victim.c_str(), 0644);

  // An existing file, a symbolic link at the name, or at the partial name.
  const std::string existing = absl::StrCat(home_, "/existing.export");
  std::ofstream(existing) << "older export";
  const std::string link = absl::StrCat(home_, "/link.export");
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  const std::string partial_link = absl::StrCat(home_, "/planted.export");
  ASSERT_EQ(::symlink(victim.c_str(), (partial_link + ".partial").c_str()), 0);
  for (const std::string& target : {existing, link, partial_link}) {
    SCOPED_TRACE(target);
    Result r = Ctl(kAmoCoordinator, {"youth", "export", youth, target});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, AnyOf(HasSubstr("already exists"), HasSubstr("symbolic link")));
  }
  EXPECT_EQ(Slurp(victim), "keep me");
  EXPECT_EQ(Slurp(existing), "older export");
  struct stat st;
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // A permissive umask does not widen the mode.
  const mode_t old_umask = ::umask(0);
  const std::string file = absl::StrCat(home_, "/umask.export");
  Result ok = Ctl(kAmoCoordinator, {"youth", "export", youth, file});
  ::umask(old_umask);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// relaisd's default transport: relaisctl presents the service's client
// certificate (here from $RELAIS_CA/$RELAIS_CERT/$RELAIS_KEY, as
// deploy/make-dev-certs.sh makes them).
TEST_F(RelaisctlTest, DescribesSearchesAndDefinesFromTheCommandLine) {
  Login(kAmoCoordinator);
  Login(kPmsCaseworker);
  Login(kAdmin);
  const std::string amo = env_->service_id("amo");
  const std::vector<std::string> profile = {"--mission",   "Aider les jeunes, à leur demande.",
                                            "--offer",     "Écoute, soutien scolaire.",
                                            "--ages",      "12-18",
                                            "--needs",     "school_dropout,housing",
                                            "--communes",  "Charleroi,Fleurus",
                                            "--languages", "fr,nl",
                                            "--contact",   "accueil@amo.example",
                                            "--hours",     "lun-ven 9h-17h"};
  std::vector<std::string> set = {"service", "profile", "set", amo};
  set.insert(set.end(), profile.begin(), profile.end());
  Result r = Ctl(kAmoCoordinator, set);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("school_dropout,housing"), HasSubstr("accueil@amo.example"),
                           HasSubstr(env_->member_id(kAmoCoordinator))));
  // A caseworker cannot describe the service, not even their own.
  Result denied = Ctl(kPmsCaseworker, set);
  EXPECT_EQ(denied.exit_code, 4);
  EXPECT_THAT(denied.err, HasSubstr("role_not_permitted"));

  // The PMS, described host-side as reviewed 400 days ago: flagged.
  directory::ServiceProfile pms;
  pms.mission = "Accompagner les élèves.";
  pms.offer = "Entretiens.";
  pms.min_age = 3;
  pms.max_age = 18;
  pms.needs = {"school_dropout"};
  pms.communes = {"Charleroi"};
  pms.contact = "secretariat@pms.example";
  ASSERT_TRUE(directory::ServiceProfiles(&env_->host().db())
                  .Put(env_->service_id("pms"), pms, env_->member_id(kAdmin),
                       absl::Now() - absl::Hours(24 * 400))
                  .ok());

  Result found = Ctl(kPmsCaseworker, {"service", "search", "--need", "school_dropout", "--commune",
                                      "CHARLEROI", "--age", "15"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_THAT(found.out, AllOf(HasSubstr("OVERDUE"), HasSubstr("12-18"), HasSubstr("3-18")));
  ExpectFits80(found.out);
  Result csv = Ctl(kPmsCaseworker, {"service", "search", "--kind", "PMS", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  ASSERT_EQ(Lines(csv.out).size(), 2u) << csv.out;
  EXPECT_THAT(Lines(csv.out)[0], HasSubstr("review_overdue"));
  EXPECT_THAT(Lines(csv.out)[1], AllOf(HasSubstr(env_->service_id("pms")), HasSubstr(",true")));
  Result json = Ctl(kPmsCaseworker, {"service", "search", "--need", "housing", "--format", "json"});
  EXPECT_THAT(json.out, AllOf(HasSubstr(amo), HasSubstr("\"review_overdue\":false")));
  Result none = Ctl(kPmsCaseworker, {"service", "search", "--age", "20", "--quiet"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(Trim(none.out), "");
  Result bad = Ctl(kPmsCaseworker, {"service", "search", "--age", "30"});
  EXPECT_EQ(bad.exit_code, 6);
  EXPECT_THAT(bad.err, HasSubstr("out_of_range"));

  Result show = Ctl(kPmsCaseworker, {"service", "show", amo});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, AllOf(HasSubstr("Charleroi,Fleurus"), HasSubstr("lun-ven 9h-17h")));

  const std::vector<std::string> define = {
      "glossary", "define",       "--term", "décrochage",
      "--sector", "enseignement", "--text", "Quand un élève s'absente jusqu'à quitter l'école."};
  Result refused = Ctl(kAmoCoordinator, define);
  EXPECT_EQ(refused.exit_code, 4);
  Result defined = Ctl(kAdmin, define);
  ASSERT_EQ(defined.exit_code, 0) << defined.err;
  Result glossary =
      Ctl(kPmsCaseworker, {"glossary", "list", "--sector", "enseignement", "--format", "csv"});
  ASSERT_EQ(glossary.exit_code, 0) << glossary.err;
  EXPECT_THAT(glossary.out, AllOf(HasSubstr("PMS,enseignement,acronym"),
                                  HasSubstr("décrochage,enseignement,definition"),
                                  HasSubstr("prévention,enseignement,definition")));
}

TEST(RelaisctlTls, TalksMutualTlsByDefault) {
  const std::string certs = FreshPath("ctl_pki");
  ASSERT_EQ(std::system(absl::StrCat(RELAIS_SOURCE_DIR, "/deploy/make-dev-certs.sh '", certs,
                                     "' >/dev/null 2>&1")
                            .c_str()),
            0);
  grpc::SslCredentialsOptions client;
  client.pem_root_certs = Slurp(certs + "/ca.pem");
  auto env = RelaisEnv::StartTls(
      {{Slurp(certs + "/server.pem"), Slurp(certs + "/server.key"), Slurp(certs + "/ca.pem"), ""},
       client});
  ASSERT_NE(env, nullptr);
  env->clock().Set(absl::Now());
  const std::string home = FreshPath("ctl_tls_home");
  const std::map<std::string, std::string> vars = {
      {"HOME", home},
      {"PATH", "/usr/bin:/bin"},
      {"RELAIS_TOKEN_FILE", home + "/token"},
      {"RELAIS_CA", certs + "/ca.pem"},
      {"RELAIS_CERT", certs + "/clients/svc_amo_charleroi.pem"},
      {"RELAIS_KEY", certs + "/clients/svc_amo_charleroi.key"}};
  const std::string server = absl::StrCat("localhost:", env->host().port());

  Result login =
      RunRelaisctl({"login", "--user", kAmoCaseworker, "--password_stdin", "--server", server},
                   vars, absl::StrCat(kPassword, "\n"));
  ASSERT_EQ(login.exit_code, 0) << login.err;
  Result listed = RunRelaisctl({"handover", "list", "--server", server}, vars, "");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;

  // The token of an AMO member through the SAJ's certificate: refused (4).
  Result other = RunRelaisctl(
      {"handover", "list", "--server", server, "--cert", certs + "/clients/svc_saj_charleroi.pem",
       "--key", certs + "/clients/svc_saj_charleroi.key"},
      vars, "");
  EXPECT_EQ(other.exit_code, 4);
  EXPECT_THAT(other.err, StartsWith("error: PERMISSION_DENIED certificate_service_mismatch: "));

  // Plaintext to a TLS server never gets through (7).
  Result plain = RunRelaisctl(
      {"handover", "list", "--server", server, "--insecure", "--timeout", "5s"}, vars, "");
  EXPECT_EQ(plain.exit_code, 7);
  EXPECT_THAT(plain.err, StartsWith("error: UNAVAILABLE "));
}

}  // namespace
}  // namespace relais::testing
