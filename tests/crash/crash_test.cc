// Crash test (issue #6): the real relaisd binary, under a mixed write load
// (youths, accompaniments, entries, consents and their withdrawals, handover
// proposals and acceptances, audited reads), is killed with SIGKILL at random
// moments and restarted on the same database and key files. Afterwards:
//   - every acknowledged write is there (GetEntry, ListConsents, GetHandover);
//   - nothing unacknowledged is half there (every entry row lists and opens,
//     every consent row is complete, every accepted handover has its
//     incoming accompaniment);
//   - PRAGMA integrity_check is ok after every kill and at the end;
//   - VerifyLog is ok, and every acknowledged call has its ALLOW audit event
//     (matched by the x-request-id the client sent).
//
// Default: 12 kills under load plus 3 during start-up, well under a minute.
// RELAIS_LONG_TESTS=1: 200 kills under load plus 40 during start-up.
// RELAIS_CRASH_SEED picks another seed (the default is fixed).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "tests/long_tests.h"

extern char** environ;

namespace relais::crash {
namespace {

using ::relais::testing::LongTests;

constexpr char kDemoPassword[] = "demo-relais-2026";

uint64_t Seed() {
  uint64_t seed = 6061;
  const char* v = std::getenv("RELAIS_CRASH_SEED");
  if (v != nullptr && !absl::SimpleAtoi(v, &seed)) ADD_FAILURE() << "bad RELAIS_CRASH_SEED " << v;
  return seed;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

// relaisd as a child process on fixed files, plaintext on a loopback port the
// kernel picks (read back from its banner).
class Relaisd {
 public:
  explicit Relaisd(std::string dir) : dir_(std::move(dir)) {}
  ~Relaisd() {
    if (pid_ > 0) Kill();
  }

  // Spawns relaisd. With `wait_ready`, returns once it serves with the demo
  // data loaded (its banner printed); false and `error` if it did not.
  bool Start(bool wait_ready, std::string* error) {
    ++starts_;
    out_path_ = absl::StrCat(dir_, "/relaisd.", starts_, ".out");
    err_path_ = absl::StrCat(dir_, "/relaisd.", starts_, ".err");
    std::vector<std::string> args = {
        RELAISD_PATH,
        absl::StrCat("--db=", dir_, "/relais.db"),
        absl::StrCat("--keys_dir=", dir_, "/keys"),
        "--listen=127.0.0.1:0",
        "--insecure_dev",
        "--demo",
        "--token_lifetime_minutes=600",
        "--log_level=warning",
    };
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int rc = posix_spawn(&pid_, RELAISD_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      *error = absl::StrCat("posix_spawn: ", std::strerror(rc));
      return false;
    }
    if (!wait_ready) return true;
    const std::string kBanner = "Relais demo is serving on ";
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      const std::string out = ReadFile(out_path_);
      const size_t at = out.find(kBanner);
      const size_t end = at == std::string::npos ? at : out.find(' ', at + kBanner.size());
      if (end != std::string::npos) {
        address_ = out.substr(at + kBanner.size(), end - at - kBanner.size());
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *error = absl::StrCat("relaisd exited (status ", status, "): ", ReadFile(err_path_));
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    *error = "relaisd did not serve within 60 s: " + ReadFile(err_path_);
    return false;
  }

  // SIGKILL: no shutdown, no final checkpoint; the files stay as the kernel
  // has them.
  void Kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // SIGTERM: graceful stop. Returns the exit status (-1 if not a normal exit).
  int Terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& address() const { return address_; }
  int starts() const { return starts_; }
  std::string db_path() const { return dir_ + "/relais.db"; }
  std::string last_stderr() const { return ReadFile(err_path_); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::string address_;
  std::string out_path_, err_path_;
};

// Runs the integrity checks on a database no process has open, read-only.
// Returns the problems found (none: empty).
std::vector<std::string> CheckFile(const std::string& path) {
  std::vector<std::string> problems;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    problems.push_back(absl::StrCat("open: ", sqlite3_errmsg(db)));
    sqlite3_close(db);
    return problems;
  }
  auto rows = [&](const char* sql, const char* what, bool ok_expected) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      problems.push_back(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
      return;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      const std::string value = text == nullptr ? "" : reinterpret_cast<const char*>(text);
      if (ok_expected && value == "ok") continue;
      if (!ok_expected && value == "0") continue;
      problems.push_back(absl::StrCat(what, ": ", value));
    }
    if (rc != SQLITE_DONE) problems.push_back(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
    sqlite3_finalize(stmt);
  };
  rows("PRAGMA integrity_check", "integrity_check", true);
  rows("SELECT COUNT(*) FROM pragma_foreign_key_check", "foreign_key_check", false);
  // A table may not exist yet if the very first start was killed early; the
  // first start here always completes, so they do.
  rows("SELECT COUNT(*) FROM rec_entries WHERE length(body) = 0", "entry without body", false);
  rows(
      "SELECT COUNT(*) FROM care_consents c WHERE NOT EXISTS (SELECT 1 FROM "
      "care_consent_recipients r WHERE r.consent_id = c.id)",
      "consent without recipient", false);
  rows(
      "SELECT COUNT(*) FROM care_handovers h WHERE h.state = 2 AND NOT EXISTS (SELECT 1 FROM "
      "care_accompaniments a WHERE a.id = h.to_accompaniment_id AND a.service_id = "
      "h.to_service_id)",
      "accepted handover without its accompaniment", false);
  sqlite3_close(db);
  return problems;
}

std::map<std::string, int64_t> EntryRowsByYouth(const std::string& path) {
  std::map<std::string, int64_t> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT youth_id, COUNT(*) FROM rec_entries GROUP BY youth_id", -1,
                           &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] =
            sqlite3_column_int64(stmt, 1);
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

struct Member {
  std::string token, member_id, service_id;
};

struct Stubs {
  explicit Stubs(const std::string& address) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auth = v1::AuthService::NewStub(channel);
    record = v1::RecordService::NewStub(channel);
    care = v1::CareService::NewStub(channel);
    audit = v1::AuditService::NewStub(channel);
  }
  std::unique_ptr<v1::AuthService::Stub> auth;
  std::unique_ptr<v1::RecordService::Stub> record;
  std::unique_ptr<v1::CareService::Stub> care;
  std::unique_ptr<v1::AuditService::Stub> audit;
};

// What the client knows to be durable: only what the server acknowledged (or
// showed in a read, which sees committed data only).
struct Youth {
  std::string id;
  bool accompanied = false;
  std::string handover;  // empty: none proposed yet
  v1::HandoverState handover_state = v1::HANDOVER_STATE_UNSPECIFIED;
  std::vector<std::string> live_consents;  // granted, withdrawal not acknowledged
  std::vector<std::string> entries;        // acknowledged entry ids
};

struct AckedEntry {
  std::string youth, body;
  bool by_saj = false;
};

// One acknowledged call, for the audit check.
struct AckedCall {
  std::string request_id;
  v1::Action action;
  std::string youth, entry, object;
};

struct Ledger {
  std::vector<Youth> youths;
  std::map<std::string, AckedEntry> entries;
  std::map<std::string, std::string> granted;  // consent id -> youth id
  std::set<std::string> withdrawn;
  std::vector<AckedCall> calls;
  std::map<std::string, int64_t> acked_by_kind;
  int64_t attempted = 0;
  int64_t transport_failures = 0;  // no answer: the server was dead or died
  int64_t adopted_proposals = 0;   // committed, answer lost, then found by a read
  std::vector<std::string> unexpected;
};

// The load: one thread, calls one after another, each with a fresh
// x-request-id, recording what is acknowledged.
class Driver {
 public:
  Driver(Ledger* ledger, std::map<std::string, Member>* members, uint64_t seed)
      : ledger_(ledger), members_(members), rng_(seed) {}

  void Run(const std::string& address, const std::atomic<bool>* stop) {
    Stubs stubs(address);
    while (!stop->load()) Step(stubs);
  }

 private:
  std::unique_ptr<grpc::ClientContext> Context(const std::string& login, std::string* rid) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + (*members_)[login].token);
    *rid = absl::StrCat("crash-", seed_tag_, "-", ++calls_);
    ctx->AddMetadata("x-request-id", *rid);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return ctx;
  }

  // True if acknowledged. A call that got no answer is what the kill causes;
  // any other failure is unexpected here and reported.
  bool Outcome(const grpc::Status& s, const char* what, bool already_exists_ok = false) {
    ++ledger_->attempted;
    if (s.ok()) {
      ++ledger_->acked_by_kind[what];
      return true;
    }
    const bool no_answer =
        s.error_details().empty() && (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                                      s.error_code() == grpc::StatusCode::CANCELLED);
    if (no_answer) {
      ++ledger_->transport_failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    } else if (!(already_exists_ok && s.error_code() == grpc::StatusCode::ALREADY_EXISTS)) {
      ledger_->unexpected.push_back(
          absl::StrCat(what, ": ", s.error_code(), " ", s.error_message()));
    }
    return false;
  }

  void Step(Stubs& stubs) {
    std::uniform_real_distribution<double> u(0, 1);
    if (ledger_->youths.empty() || u(rng_) < 0.06) return CreateYouth(stubs);
    Youth& y =
        ledger_->youths[std::uniform_int_distribution<size_t>(0, ledger_->youths.size() - 1)(rng_)];
    if (!y.accompanied) return Accompany(stubs, y);
    const bool accepted = y.handover_state == v1::HANDOVER_STATE_ACCEPTED;
    const double r = u(rng_);
    if (r < 0.30) return AddEntry(stubs, y, /*by_saj=*/false);
    if (r < 0.42 && !y.entries.empty()) return GetEntry(stubs, y);
    if (r < 0.54) return Grant(stubs, y);
    if (r < 0.64 && !y.live_consents.empty()) return Withdraw(stubs, y);
    if (r < 0.74 && y.handover.empty()) return Propose(stubs, y);
    if (r < 0.84 && y.handover_state == v1::HANDOVER_STATE_PROPOSED) return Accept(stubs, y);
    if (accepted) return AddEntry(stubs, y, /*by_saj=*/true);
    return AddEntry(stubs, y, /*by_saj=*/false);
  }

  void CreateYouth(Stubs& stubs) {
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    v1::CreateYouthRequest req;
    req.mutable_youth()->set_display_name(absl::StrCat("Jeune ", ledger_->youths.size() + 1));
    req.mutable_youth()->set_date_of_birth(
        absl::FormatCivilTime(absl::CivilDay(today.year() - 15, today.month(), 1)));
    req.mutable_youth()->add_guardians()->set_display_name("Parent");
    std::string rid;
    v1::Youth out;
    if (!Outcome(stubs.record->CreateYouth(Context("amo.camille", &rid).get(), req, &out),
                 "CreateYouth")) {
      return;
    }
    Youth y;
    y.id = out.id();
    ledger_->youths.push_back(std::move(y));
    ledger_->calls.push_back({rid, v1::ACTION_CREATE_YOUTH, out.id(), "", ""});
  }

  void Accompany(Stubs& stubs, Youth& y) {
    v1::OpenAccompanimentRequest req;
    req.set_youth_id(y.id);
    req.set_referent_member_id((*members_)["amo.camille"].member_id);
    req.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
    std::string rid;
    v1::Accompaniment out;
    if (!Outcome(stubs.care->OpenAccompaniment(Context("amo.coord", &rid).get(), req, &out),
                 "OpenAccompaniment")) {
      return;
    }
    y.accompanied = true;
    ledger_->calls.push_back({rid, v1::ACTION_OPEN_ACCOMPANIMENT, y.id, "", out.id()});
  }

  void AddEntry(Stubs& stubs, Youth& y, bool by_saj) {
    v1::AddEntryRequest req;
    const std::string body = absl::StrCat("Note de suivi ", seed_tag_, "-", ++bodies_);
    req.mutable_entry()->set_youth_id(y.id);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    const bool family = bodies_ % 3 == 0;
    req.mutable_entry()->set_category(family ? v1::DATA_CATEGORY_FAMILY
                                             : v1::DATA_CATEGORY_GENERAL);
    req.mutable_entry()->set_visibility(bodies_ % 4 == 0 ? v1::VISIBILITY_SERVICE_PRIVATE
                                                         : v1::VISIBILITY_SHARED);
    req.mutable_entry()->set_body(body);
    if (by_saj) req.mutable_entry()->set_handover_id(y.handover);
    std::string rid;
    v1::Entry out;
    if (!Outcome(stubs.record->AddEntry(Context(by_saj ? "saj.sam" : "amo.camille", &rid).get(),
                                        req, &out),
                 by_saj ? "AddEntry(SAJ)" : "AddEntry(AMO)")) {
      return;
    }
    ledger_->entries[out.id()] = AckedEntry{y.id, body, by_saj};
    y.entries.push_back(out.id());
    ledger_->calls.push_back({rid, v1::ACTION_ADD_ENTRY, y.id, out.id(), ""});
  }

  void GetEntry(Stubs& stubs, Youth& y) {
    const std::string& id =
        y.entries[std::uniform_int_distribution<size_t>(0, y.entries.size() - 1)(rng_)];
    const AckedEntry& known = ledger_->entries[id];
    v1::GetEntryRequest req;
    req.set_entry_id(id);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    std::string rid;
    v1::Entry out;
    if (!Outcome(stubs.record->GetEntry(
                     Context(known.by_saj ? "saj.sam" : "amo.camille", &rid).get(), req, &out),
                 "GetEntry")) {
      return;
    }
    if (out.body() != known.body) ledger_->unexpected.push_back("GetEntry: body differs " + id);
    ledger_->calls.push_back({rid, v1::ACTION_READ_ENTRY, y.id, id, ""});
  }

  void Grant(Stubs& stubs, Youth& y) {
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(y.id);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id((*members_)["saj.sam"].service_id);
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    if (ledger_->granted.size() % 2 == 0) k->add_categories(v1::DATA_CATEGORY_FAMILY);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = ToProto(absl::Now() + absl::Hours(24 * 180));
    std::string rid;
    v1::Consent out;
    if (!Outcome(stubs.care->GrantConsent(Context("amo.camille", &rid).get(), req, &out),
                 "GrantConsent")) {
      return;
    }
    ledger_->granted[out.id()] = y.id;
    y.live_consents.push_back(out.id());
    ledger_->calls.push_back({rid, v1::ACTION_GRANT_CONSENT, y.id, "", out.id()});
  }

  void Withdraw(Stubs& stubs, Youth& y) {
    const size_t i = std::uniform_int_distribution<size_t>(0, y.live_consents.size() - 1)(rng_);
    v1::WithdrawConsentRequest req;
    req.set_consent_id(y.live_consents[i]);
    std::string rid;
    v1::Consent out;
    if (!Outcome(stubs.care->WithdrawConsent(Context("amo.camille", &rid).get(), req, &out),
                 "WithdrawConsent")) {
      return;
    }
    if (out.state() != v1::CONSENT_STATE_WITHDRAWN) {
      ledger_->unexpected.push_back("WithdrawConsent: not withdrawn " + out.id());
    }
    ledger_->withdrawn.insert(req.consent_id());
    ledger_->calls.push_back({rid, v1::ACTION_WITHDRAW_CONSENT, y.id, "", req.consent_id()});
    y.live_consents.erase(y.live_consents.begin() + static_cast<ptrdiff_t>(i));
  }

  void Propose(Stubs& stubs, Youth& y) {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(y.id);
    req.set_to_service_id((*members_)["saj.sam"].service_id);
    req.set_reason("Passage de relais vers le SAJ");
    const absl::Time now = absl::Now();
    *req.mutable_overlap_start() = ToProto(now);
    *req.mutable_overlap_end() = ToProto(now + absl::Hours(24 * 30));
    std::string rid;
    v1::Handover out;
    grpc::Status s = stubs.care->ProposeHandover(Context("amo.camille", &rid).get(), req, &out);
    if (Outcome(s, "ProposeHandover", /*already_exists_ok=*/true)) {
      y.handover = out.id();
      y.handover_state = out.state();
      ledger_->calls.push_back({rid, v1::ACTION_PROPOSE_HANDOVER, y.id, "", out.id()});
      return;
    }
    if (s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return;
    // An earlier proposal committed but its answer was lost in a kill: the
    // server shows it (a read sees committed data only), so adopt it.
    v1::ListHandoversRequest list;
    list.set_youth_id(y.id);
    v1::ListHandoversResponse listed;
    if (!Outcome(stubs.care->ListHandovers(Context("amo.camille", &rid).get(), list, &listed),
                 "ListHandovers")) {
      return;
    }
    ledger_->calls.push_back({rid, v1::ACTION_READ_CARE, y.id, "", ""});
    for (const v1::Handover& h : listed.handovers()) {
      if (h.state() == v1::HANDOVER_STATE_PROPOSED || h.state() == v1::HANDOVER_STATE_ACCEPTED) {
        y.handover = h.id();
        y.handover_state = h.state();
        ++ledger_->adopted_proposals;
      }
    }
  }

  void Accept(Stubs& stubs, Youth& y) {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(y.handover);
    req.set_referent_member_id((*members_)["saj.sam"].member_id);
    std::string rid;
    v1::Handover out;
    if (!Outcome(stubs.care->AcceptHandover(Context("saj.coord", &rid).get(), req, &out),
                 "AcceptHandover")) {
      return;
    }
    y.handover_state = out.state();
    ledger_->calls.push_back({rid, v1::ACTION_ACCEPT_HANDOVER, y.id, "", y.handover});
  }

  Ledger* ledger_;
  std::map<std::string, Member>* members_;
  std::mt19937_64 rng_;
  int64_t calls_ = 0;
  int64_t bodies_ = 0;
  const std::string seed_tag_ = absl::StrCat(Seed());
};

std::unique_ptr<grpc::ClientContext> As(const Member& m) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + m.token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

TEST(Crash, KilledRelaisdLosesNoAcknowledgedWriteAndLeavesNothingHalfWritten) {
  const absl::Time started = absl::Now();
  const bool long_mode = LongTests();
  const int load_kills = long_mode ? 200 : 12;
  const int early_kills = long_mode ? 40 : 3;
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);

  const std::string dir = absl::StrCat(::testing::TempDir(), "/relais_crash_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  Relaisd relaisd(dir);
  std::string error;

  // The first start loads the demo data; it must complete (a demo cut short
  // is not re-seeded), so no kill before it is served.
  ASSERT_TRUE(relaisd.Start(/*wait_ready=*/true, &error)) << error;
  std::map<std::string, Member> members;
  {
    Stubs stubs(relaisd.address());
    for (const char* login : {"amo.camille", "amo.coord", "saj.sam", "saj.coord", "dpo"}) {
      v1::LoginRequest req;
      req.set_login(login);
      req.set_password(kDemoPassword);
      v1::LoginResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      grpc::Status s = stubs.auth->Login(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << login << ": " << s.error_message();
      members[login] = {resp.token(), resp.member_id(), resp.service_id()};
    }
  }

  Ledger ledger;
  Driver driver(&ledger, &members, seed);
  int kills_under_load = 0, kills_at_start = 0, integrity_checks = 0, integrity_ok = 0;
  int64_t load_total_ms = 0;
  // Load for a random while, then SIGKILL in the middle of it.
  auto load_then_kill = [&] {
    std::atomic<bool> stop{false};
    std::thread client([&] { driver.Run(relaisd.address(), &stop); });
    const int ms = std::uniform_int_distribution<int>(100, 700)(rng);
    load_total_ms += ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    relaisd.Kill();
    stop = true;
    client.join();
    ++kills_under_load;
  };
  // The files as a kill left them, before any recovery by relaisd.
  auto check_files = [&] {
    std::vector<std::string> problems = CheckFile(relaisd.db_path());
    ++integrity_checks;
    integrity_ok += problems.empty();
    for (const std::string& p : problems) ADD_FAILURE() << "after kill: " << p;
    return problems.empty();
  };
  load_then_kill();
  ASSERT_TRUE(check_files());
  // The other load kills, with the start-up kills spread among them.
  std::vector<bool> plan(load_kills - 1, false);
  plan.insert(plan.end(), early_kills, true);
  std::shuffle(plan.begin(), plan.end(), rng);
  for (bool early : plan) {
    if (early) {
      ASSERT_TRUE(relaisd.Start(/*wait_ready=*/false, &error)) << error;
      // Somewhere in start-up: opening, WAL recovery, migrations, keys.
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 120)(rng)));
      relaisd.Kill();
      ++kills_at_start;
    } else {
      ASSERT_TRUE(relaisd.Start(/*wait_ready=*/true, &error)) << error;
      load_then_kill();
    }
    ASSERT_TRUE(check_files());
  }

  // Restart for good and check everything through the API.
  ASSERT_TRUE(relaisd.Start(/*wait_ready=*/true, &error)) << error;
  Stubs stubs(relaisd.address());
  const Member& amo = members["amo.camille"];
  const Member& saj = members["saj.sam"];
  const Member& dpo = members["dpo"];
  int64_t entries_checked = 0, consents_checked = 0, handovers_checked = 0, audit_matched = 0,
          unacked_entries_found = 0;

  for (const auto& [id, known] : ledger.entries) {
    v1::GetEntryRequest req;
    req.set_entry_id(id);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry out;
    grpc::Status s = stubs.record->GetEntry(As(known.by_saj ? saj : amo).get(), req, &out);
    EXPECT_TRUE(s.ok()) << "acknowledged entry " << id << " lost: " << s.error_message();
    EXPECT_EQ(out.body(), known.body) << id;
    EXPECT_EQ(out.youth_id(), known.youth) << id;
    ++entries_checked;
  }

  const std::map<std::string, int64_t> rows_by_youth = EntryRowsByYouth(relaisd.db_path());
  for (const Youth& y : ledger.youths) {
    if (!y.accompanied) {
      // Created, but the load never got an accompaniment acknowledged: open
      // it now (idempotent) so the AMO may look.
      v1::OpenAccompanimentRequest req;
      req.set_youth_id(y.id);
      req.set_referent_member_id(amo.member_id);
      req.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
      v1::Accompaniment acc;
      grpc::Status s = stubs.care->OpenAccompaniment(As(members["amo.coord"]).get(), req, &acc);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    // Every entry row of the youth lists and opens, for its author's service.
    std::set<std::string> listed;
    for (const Member* reader : {&amo, &saj}) {
      std::string token;
      do {
        v1::ListEntriesRequest req;
        req.set_youth_id(y.id);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        req.set_page_size(200);
        req.set_page_token(token);
        v1::ListEntriesResponse resp;
        grpc::Status s = stubs.record->ListEntries(As(*reader).get(), req, &resp);
        if (!s.ok()) {
          // The SAJ sees nothing of a youth it was never handed.
          EXPECT_TRUE(reader == &saj && s.error_code() == grpc::StatusCode::PERMISSION_DENIED)
              << y.id << ": " << s.error_message();
          break;
        }
        for (const v1::Entry& e : resp.entries()) {
          EXPECT_FALSE(e.body().empty()) << e.id();
          listed.insert(e.id());
        }
        token = resp.next_page_token();
      } while (!token.empty());
    }
    const auto rows = rows_by_youth.find(y.id);
    EXPECT_EQ(static_cast<int64_t>(listed.size()), rows == rows_by_youth.end() ? 0 : rows->second)
        << "entry rows of " << y.id << " that do not list";
    for (const std::string& id : listed) unacked_entries_found += ledger.entries.count(id) == 0;

    v1::ListConsentsRequest lc;
    lc.set_youth_id(y.id);
    v1::ListConsentsResponse consents;
    grpc::Status s = stubs.care->ListConsents(As(amo).get(), lc, &consents);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, v1::Consent> by_id;
    for (const v1::Consent& k : consents.consents()) {
      EXPECT_GT(k.recipients_size(), 0) << k.id();
      EXPECT_TRUE(k.categories_size() > 0 || k.all_non_special_categories()) << k.id();
      EXPECT_GT(k.purposes_size(), 0) << k.id();
      EXPECT_TRUE(k.has_valid_until() && k.has_recorded_at()) << k.id();
      EXPECT_FALSE(k.recorded_by_member_id().empty()) << k.id();
      EXPECT_EQ(k.has_withdrawn_at(), !k.withdrawn_by_member_id().empty()) << k.id();
      by_id[k.id()] = k;
    }
    for (const auto& [id, youth] : ledger.granted) {
      if (youth != y.id) continue;
      auto it = by_id.find(id);
      EXPECT_NE(it, by_id.end()) << "acknowledged consent " << id << " lost";
      if (it != by_id.end() && ledger.withdrawn.count(id) > 0) {
        EXPECT_EQ(it->second.state(), v1::CONSENT_STATE_WITHDRAWN)
            << "acknowledged withdrawal of " << id << " lost";
      }
      ++consents_checked;
    }

    if (!y.handover.empty()) {
      v1::GetHandoverRequest gh;
      gh.set_handover_id(y.handover);
      v1::Handover h;
      s = stubs.care->GetHandover(As(amo).get(), gh, &h);
      EXPECT_TRUE(s.ok()) << "known handover " << y.handover << " lost: " << s.error_message();
      if (y.handover_state == v1::HANDOVER_STATE_ACCEPTED) {
        EXPECT_EQ(h.state(), v1::HANDOVER_STATE_ACCEPTED) << "acknowledged acceptance lost";
      } else {
        EXPECT_TRUE(h.state() == v1::HANDOVER_STATE_PROPOSED ||
                    h.state() == v1::HANDOVER_STATE_ACCEPTED)
            << v1::HandoverState_Name(h.state());
      }
      if (h.state() == v1::HANDOVER_STATE_ACCEPTED) {
        EXPECT_FALSE(h.to_accompaniment_id().empty());
      }
      ++handovers_checked;
    }
  }

  v1::VerifyLogResponse verified;
  {
    grpc::Status s = stubs.audit->VerifyLog(As(dpo).get(), v1::VerifyLogRequest(), &verified);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
  }

  // Every acknowledged call left its ALLOW event, found by its request id.
  std::map<std::string, std::vector<v1::AuditEvent>> by_request;
  for (const Youth& y : ledger.youths) {
    std::string token;
    do {
      v1::QueryEventsRequest req;
      req.set_youth_id(y.id);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::QueryEventsResponse resp;
      grpc::Status s = stubs.audit->QueryEvents(As(dpo).get(), req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const v1::AuditEvent& e : resp.events()) by_request[e.request_id()].push_back(e);
      token = resp.next_page_token();
    } while (!token.empty());
  }
  for (const AckedCall& c : ledger.calls) {
    bool found = false;
    for (const v1::AuditEvent& e : by_request[c.request_id]) {
      found = found || (e.decision() == v1::DECISION_ALLOW && e.action() == c.action &&
                        e.youth_id() == c.youth && (c.entry.empty() || e.entry_id() == c.entry) &&
                        (c.object.empty() || e.object_id() == c.object));
    }
    EXPECT_TRUE(found) << "no ALLOW audit event for acknowledged " << v1::Action_Name(c.action)
                       << " " << c.request_id;
    audit_matched += found;
  }

  EXPECT_EQ(relaisd.Terminate(), 0) << relaisd.last_stderr();
  std::vector<std::string> problems = CheckFile(relaisd.db_path());
  ++integrity_checks;
  integrity_ok += problems.empty();
  for (const std::string& p : problems) ADD_FAILURE() << "after stop: " << p;
  for (const std::string& u : ledger.unexpected) ADD_FAILURE() << "unexpected answer: " << u;

  std::vector<std::string> kinds;
  int64_t acknowledged = 0;
  for (const auto& [kind, n] : ledger.acked_by_kind) {
    kinds.push_back(absl::StrCat(kind, " ", n));
    acknowledged += n;
  }
  std::printf(
      "[crash] seed %llu: %d SIGKILLs under load (%lld ms of load in all) + %d during "
      "start-up, %d starts; %lld calls, %lld acknowledged (%s), %lld unanswered; "
      "%zu youths; checked after restart: %lld acknowledged entries by GetEntry, %lld "
      "acknowledged consents, %lld handovers, %lld committed-but-unacknowledged entries "
      "found complete, %lld proposals whose answer was lost found by a read, %lld/%zu "
      "acknowledged calls matched to their ALLOW audit event, "
      "VerifyLog %s over %lld events, integrity_check ok %d/%d; %.1f s\n",
      static_cast<unsigned long long>(seed), kills_under_load,
      static_cast<long long>(load_total_ms), kills_at_start, relaisd.starts(),
      static_cast<long long>(ledger.attempted), static_cast<long long>(acknowledged),
      absl::StrJoin(kinds, ", ").c_str(), static_cast<long long>(ledger.transport_failures),
      ledger.youths.size(), static_cast<long long>(entries_checked),
      static_cast<long long>(consents_checked), static_cast<long long>(handovers_checked),
      static_cast<long long>(unacked_entries_found),
      static_cast<long long>(ledger.adopted_proposals), static_cast<long long>(audit_matched),
      ledger.calls.size(), verified.ok() ? "ok" : "FAILED",
      static_cast<long long>(verified.events_checked()), integrity_ok, integrity_checks,
      absl::ToDoubleSeconds(absl::Now() - started));
  std::fflush(stdout);
  EXPECT_GE(kills_under_load, long_mode ? 200 : 10);
  EXPECT_EQ(acknowledged, static_cast<int64_t>(ledger.calls.size()));
  EXPECT_GT(acknowledged, kills_under_load) << "the load hardly ran";
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace relais::crash
