// Operations (issue #5): health checking, deadlines, graceful shutdown of the
// relaisd binary, request logs, metrics, configuration.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "auth/password.h"
#include "common/log.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/common/rpc.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr int kServing = 1;
constexpr int kNotServing = 2;
const char* const kServices[] = {"",
                                 "relais.v1.DirectoryService",
                                 "relais.v1.AuthService",
                                 "relais.v1.RecordService",
                                 "relais.v1.CareService",
                                 "relais.v1.AuditService",
                                 "relais.v1.AdminService",
                                 "relais.v1.PartnershipService",
                                 "relais.v1.InboxService"};

// Polls until every service reports `want` or `timeout` passes.
bool AllReport(const std::shared_ptr<grpc::Channel>& channel, int want,
               absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool all = true;
    for (const char* s : kServices) all = all && HealthStatus(channel, s) == want;
    if (all) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::unique_ptr<host::Host> StartHost(const std::string& db_path, bool ready_on_start) {
  host::HostOptions options;
  options.db_path = db_path;
  options.scrypt = auth::FastParamsForTests();
  options.sweep_interval = absl::Hours(1);
  options.ready_on_start = ready_on_start;
  options.health_probe_interval = absl::Milliseconds(20);
  auto host = host::Host::Start(options);
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *std::move(host) : nullptr;
}

std::shared_ptr<grpc::Channel> ChannelTo(const host::Host& host) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", host.port()),
                             grpc::InsecureChannelCredentials());
}

TEST(Health, EveryServiceIsNotServingUntilTheHostIsReady) {
  auto host = StartHost(FreshPath("health") + ".sqlite", /*ready_on_start=*/false);
  ASSERT_NE(host, nullptr);
  auto channel = ChannelTo(*host);
  for (const char* s : kServices) EXPECT_EQ(HealthStatus(channel, s), kNotServing) << s;
  EXPECT_FALSE(host->serving());
  host->SetReady(true);
  EXPECT_TRUE(AllReport(channel, kServing));
}

TEST(Health, NotServingWhileTheDatabaseIsUnreachableAndServingOnceItIsBack) {
  const std::string db = FreshPath("health") + ".sqlite";
  auto host = StartHost(db, /*ready_on_start=*/true);
  ASSERT_NE(host, nullptr);
  auto channel = ChannelTo(*host);
  ASSERT_TRUE(AllReport(channel, kServing));
  // The volume goes away: the file is no longer at its path.
  ASSERT_EQ(std::rename(db.c_str(), (db + ".away").c_str()), 0);
  EXPECT_TRUE(AllReport(channel, kNotServing));
  ASSERT_EQ(std::rename((db + ".away").c_str(), db.c_str()), 0);
  EXPECT_TRUE(AllReport(channel, kServing));
}

TEST(Deadlines, ACallWhoseDeadlineHasPassedFailsWithDeadlineExceededQuickly) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  auto ctx = env->As(kAmoCaseworker);
  ctx->set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse resp;
  const absl::Time start = absl::Now();
  grpc::Status status = env->record().ListEntries(ctx.get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// relaisd run as a child process (tests/relaisd_process.h).
class Relaisd : public RelaisdProcess {
 public:
  explicit Relaisd(std::vector<std::string> args) : RelaisdProcess(RELAISD_PATH, std::move(args)) {}
};

TEST(GracefulShutdown, SigtermExitsZeroAndLeavesNoWalContent) {
  const std::string dir = FreshPath("sigterm");
  const std::string db = dir + "/relais.db";
  Relaisd relaisd({"--insecure_dev", "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                   "--demo", "--db=" + db, "--keys_dir=" + dir + "/keys"});
  ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
  struct stat st;
  ASSERT_EQ(::stat((db + "-wal").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0) << "the demo data should sit in the WAL while serving";
  EXPECT_EQ(relaisd.Exit(/*terminate=*/true), 0) << relaisd.output();
  EXPECT_TRUE(absl::StrContains(relaisd.output(), "relaisd stopped"));
  if (::stat((db + "-wal").c_str(), &st) == 0) {
    EXPECT_EQ(st.st_size, 0);
  }
}

}  // namespace
}  // namespace relais::testing

namespace relais::testing {
namespace {

// Captures log lines for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() {
    common::SetLogSink([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { common::SetLogSink(nullptr); }
  std::vector<std::string> Matching(absl::string_view needle) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const std::string& l : lines_) {
      if (absl::StrContains(l, needle)) out.push_back(l);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(RequestLog, EveryRpcLogsOneLineWithIdMethodCodeLatencyAndPeerButNoContent) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  LogCapture capture;
  // Allowed, with the client's request id.
  auto ctx = env->As(kAmoCaseworker);
  ctx->AddMetadata("x-request-id", "ctl-0123456789abcdef");
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Lina-secret-name");
  create.mutable_youth()->set_date_of_birth("2012-03-14");
  create.mutable_youth()->add_guardians()->set_display_name("Marie");
  v1::Youth youth;
  grpc::Status created = env->record().CreateYouth(ctx.get(), create, &youth);
  // Denied, without a request id: the server makes one.
  auto anon = env->Anonymous();
  v1::GetYouthRequest get;
  get.set_youth_id("y_unknown");
  v1::Youth got;
  grpc::Status denied = env->record().GetYouth(anon.get(), get, &got);
  ASSERT_EQ(denied.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  std::vector<std::string> allowed = capture.Matching("ctl-0123456789abcdef");
  ASSERT_EQ(allowed.size(), 1u) << created.error_message();
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"msg\":\"rpc\""));
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"method\":\"/relais.v1.RecordService/CreateYouth\""));
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"code\":\"OK\""));
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"reason\":\"allowed\""));
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"latency_ms\":\""));
  EXPECT_TRUE(absl::StrContains(allowed[0], "\"peer\":\"ipv4\""));
  std::vector<std::string> refused = capture.Matching("/relais.v1.RecordService/GetYouth");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_TRUE(absl::StrContains(refused[0], "\"code\":\"UNAUTHENTICATED\""));
  EXPECT_TRUE(absl::StrContains(refused[0], "\"reason\":\"token_missing\"")) << refused[0];
  EXPECT_TRUE(absl::StrContains(refused[0], "\"request_id\":\"r")) << refused[0];
  // The server-made id is the one the audit event of the refusal carries.
  const size_t at = refused[0].find("\"request_id\":\"") + 14;
  const std::string made = refused[0].substr(at, refused[0].find('"', at) - at);
  auto events = env->host().audit().Query(audit::EventFilter{}, 0, 1000);
  ASSERT_TRUE(events.ok());
  bool found = false;
  for (const v1::AuditEvent& e : *events) found = found || e.request_id() == made;
  EXPECT_TRUE(found) << made;
  // Content never reaches the log.
  EXPECT_TRUE(capture.Matching("Lina-secret-name").empty());
  EXPECT_TRUE(capture.Matching("Bearer").empty());
}

// GET over loopback; the body, or "" on failure.
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  (void)::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// The value of an unlabelled series on a scraped page; -1 if it is not there.
double SeriesValue(const std::string& page, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = page.find(key);
  if (at == std::string::npos) return -1;
  const size_t from = at + key.size();
  double value = -1;
  return absl::SimpleAtod(page.substr(from, page.find('\n', from) - from), &value) ? value : -1;
}

TEST(Metrics, ScrapeShowsRequestCountsLatenciesDecisionsChainLengthAndDatabaseSize) {
  host::HostOptions options;
  options.db_path = FreshPath("metrics") + ".sqlite";
  options.scrypt = auth::FastParamsForTests();
  options.sweep_interval = absl::Hours(1);
  options.metrics_listen = "127.0.0.1:0";
  auto host = host::Host::Start(options);
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_GT((*host)->metrics_port(), 0);
  auto channel = ChannelTo(**host);
  auto stub = v1::RecordService::NewStub(channel);
  const std::string before = HttpGet((*host)->metrics_port(), "/metrics");
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    v1::GetYouthRequest req;
    req.set_youth_id("y_unknown");
    v1::Youth youth;
    EXPECT_EQ(stub->GetYouth(&ctx, req, &youth).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::string page = HttpGet((*host)->metrics_port(), "/metrics");
  ASSERT_TRUE(absl::StartsWith(page, "HTTP/1.1 200 OK")) << page;
  EXPECT_TRUE(absl::StrContains(page,
                                "relais_rpc_requests_total{method=\"/relais.v1.RecordService/"
                                "GetYouth\",code=\"UNAUTHENTICATED\"} 3"))
      << page;
  EXPECT_TRUE(
      absl::StrContains(page,
                        "relais_rpc_latency_seconds_bucket{method=\"/relais.v1.RecordService/"
                        "GetYouth\",code=\"UNAUTHENTICATED\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(absl::StrContains(page, "relais_access_decisions_total{reason=\"token_missing\"} 3"));
  // Three denials, each audited.
  EXPECT_TRUE(absl::StrContains(page, "relais_audit_chain_length 3")) << page;
  EXPECT_TRUE(absl::StrContains(page, "\nrelais_database_bytes "));
  // Each denial's audit event is a write; writes / groups is the mean write group.
  const double writes = SeriesValue(page, "relais_database_writes_total") -
                        SeriesValue(before, "relais_database_writes_total");
  const double groups = SeriesValue(page, "relais_database_write_groups_total") -
                        SeriesValue(before, "relais_database_write_groups_total");
  EXPECT_GE(writes, 3) << page;
  EXPECT_GE(groups, 1) << page;
  EXPECT_LE(groups, writes) << page;
  EXPECT_TRUE(absl::StartsWith(HttpGet((*host)->metrics_port(), "/other"), "HTTP/1.1 404"));
  EXPECT_FALSE(observability::MetricsHttpServer::Start("0.0.0.0:0", [] { return ""; }).ok());
}

// The port of relaisd's "metrics serving" log line; 0 before it.
int MetricsPort(const std::string& output) {
  const std::string kKey = "\"metrics_address\":\"127.0.0.1:";
  const size_t at = output.find(kKey);
  if (at == std::string::npos) return 0;
  int port = 0;
  const size_t from = at + kKey.size();
  return absl::SimpleAtoi(output.substr(from, output.find('"', from) - from), &port) ? port : 0;
}

// deploy/prometheus/relais-alerts.yml names only what relaisd exports, so the
// rules cannot silently stop firing when a series is renamed (ASVS 8.1.4).
TEST(Metrics, EveryMetricTheAlertRulesNameIsExportedByRelaisd) {
  std::ifstream in(std::string(RELAIS_SOURCE_DIR) + "/deploy/prometheus/relais-alerts.yml");
  ASSERT_TRUE(in.good());
  std::stringstream rules_text;
  rules_text << in.rdbuf();
  const std::string rules = rules_text.str();

  const std::string dir = FreshPath("alert_rules");
  Relaisd relaisd({"--insecure_dev", "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                   "--demo", "--db=" + dir + "/relais.db", "--keys_dir=" + dir + "/keys"});
  ASSERT_TRUE(relaisd.WaitFor("Relais demo is serving")) << relaisd.output();
  const int metrics_port = MetricsPort(relaisd.output());
  ASSERT_GT(metrics_port, 0) << relaisd.output();
  // Two refusals, so that reason labels show in the scrape as the rules expect them.
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", relaisd.ServingPort()),
                                     grpc::InsecureChannelCredentials());
  {
    grpc::ClientContext ctx;
    v1::LoginRequest req;
    req.set_login("personne.inconnue");
    req.set_password("not the password at all");
    v1::LoginResponse resp;
    EXPECT_EQ(v1::AuthService::NewStub(channel)->Login(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer garbage");
    v1::GetYouthRequest req;
    req.set_youth_id("y_unknown");
    v1::Youth youth;
    EXPECT_EQ(v1::RecordService::NewStub(channel)->GetYouth(&ctx, req, &youth).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::string page = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(absl::StartsWith(page, "HTTP/1.1 200 OK")) << page;
  EXPECT_TRUE(
      absl::StrContains(page, "relais_access_decisions_total{reason=\"invalid_credentials\"} 1"))
      << page;
  EXPECT_TRUE(
      absl::StrContains(page, "relais_access_decisions_total{reason=\"token_malformed\"} 1"));
  EXPECT_TRUE(std::regex_search(page, std::regex("\nrelais_clock_synchronized [01]\n"))) << page;

  // Every series name in the rules (comments included) has a TYPE line.
  std::set<std::string> names;
  const std::regex name_re("relais_[a-z0-9_]+");
  for (std::sregex_iterator it(rules.begin(), rules.end(), name_re), end; it != end; ++it) {
    names.insert(it->str());
  }
  EXPECT_GE(names.size(), 9u) << "the rules lost most of their series";
  for (const std::string& name : names) {
    bool exported = absl::StrContains(page, absl::StrCat("# TYPE ", name, " "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (absl::EndsWith(name, suffix)) {
        const std::string base = name.substr(0, name.size() - std::strlen(suffix));
        exported = exported || absl::StrContains(page, absl::StrCat("# TYPE ", base, " histogram"));
      }
    }
    EXPECT_TRUE(exported) << name << " is in the alert rules but relaisd does not export it";
  }

  // Every label value the rules match on is one relaisd can put there.
  std::set<std::string> reasons = {"invalid_credentials",     "audit_unavailable",
                                   "token_malformed",         "token_unknown_key",
                                   "token_signature_invalid", "token_wrong_audience"};
  const auto* access_reasons = v1::AccessReason_descriptor();
  for (int i = 0; i < access_reasons->value_count(); ++i) {
    const auto r = static_cast<v1::AccessReason>(access_reasons->value(i)->number());
    // token_invalid is the audit's summary of the token_* codes above, never a reply's.
    if (r != v1::ACCESS_REASON_UNSPECIFIED && r != v1::ACCESS_REASON_TOKEN_INVALID) {
      reasons.insert(rpc::ReasonCode(r));
    }
  }
  const std::map<std::string, std::set<std::string>> allowed = {
      {"reason", reasons},
      {"outcome", {"found", "not_found", "rate_limited"}},
      {"code",
       {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"}},
  };
  const std::regex label_re("([a-z_]+)(=~|!=|=)\"([^\"]*)\"");
  int matchers = 0;
  for (std::sregex_iterator it(rules.begin(), rules.end(), label_re), end; it != end; ++it) {
    const std::string label = (*it)[1];
    auto known = allowed.find(label);
    ASSERT_NE(known, allowed.end()) << "the rules match on a label relaisd has not: " << label;
    for (absl::string_view value : absl::StrSplit((*it)[3].str(), '|')) {
      ++matchers;
      EXPECT_TRUE(known->second.count(std::string(value)))
          << label << "=\"" << value << "\" never appears in relaisd's metrics";
    }
  }
  EXPECT_GE(matchers, 10);
}

TEST(Relaisd, RefusesToStartWithGrpcTracingUnlessAllowed) {
  // gRPC tracing prints bearer tokens; the child inherits this process's environment.
  ::setenv("GRPC_TRACE", "http", 1);
  Relaisd traced({"--insecure_dev", "--listen=127.0.0.1:0", "--db=" + FreshPath("trace") + ".db",
                  "--keys_dir=" + FreshPath("trace_keys")});
  const int code = traced.Exit();
  ::unsetenv("GRPC_TRACE");
  EXPECT_EQ(code, 2);
  EXPECT_TRUE(traced.WaitFor("GRPC_TRACE is set", absl::Seconds(1)));
}

}  // namespace
}  // namespace relais::testing
