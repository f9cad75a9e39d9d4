// Failover (issue #15 item 5): two relaisd instances write through a URI that
// names a PostgreSQL primary and its synchronous streaming replica. Under
// load the primary is killed (SIGKILL, as a power cut) and the replica
// promoted, as an operator or a failover manager would. relaisd finds the new
// primary on its own: in between, callers get UNAVAILABLE (retry), never
// INTERNAL; every write acknowledged before or after the switch is there; the
// audit log is one chain that verifies across it. The run prints its figures.
// RELAIS_FAILOVER_LONG=1 runs the long mode (more writers, minutes of load).

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "tests/relaisd_process.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

// cluster.sh with the caller's PATH; fails the test on a non-zero exit.
std::string Cluster(const std::vector<std::string>& args) {
  std::vector<std::string> all = {CLUSTER_SH};
  all.insert(all.end(), args.begin(), args.end());
  const char* path = std::getenv("PATH");
  const CommandResult r =
      RunCommand("/bin/bash", all, {{"PATH", path != nullptr ? path : "/usr/bin:/bin"}}, "");
  EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
  return r.out;
}

std::string EnvValue(const std::string& env, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(env, '\n')) {
    if (absl::ConsumePrefix(&line, absl::StrCat(key, "="))) return std::string(line);
  }
  return "";
}

// What the writers saw, shared between them.
struct Outcomes {
  absl::Mutex mu;
  std::vector<std::string> acknowledged ABSL_GUARDED_BY(mu);
  std::map<std::string, int> refused ABSL_GUARDED_BY(mu);  // "CODE reason" -> count
  int acknowledged_after_crash ABSL_GUARDED_BY(mu) = 0;
  absl::Time first_ack_after_crash ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
};

class Failover : public ::testing::Test {
 protected:
  void SetUp() override {
    long_ = std::getenv("RELAIS_FAILOVER_LONG") != nullptr;
    primary_ = absl::StrCat(FAILOVER_DIR, "/a");
    replica_ = absl::StrCat(FAILOVER_DIR, "/b");
    // Leftovers of an interrupted run.
    Cluster({"stop", replica_, "--wipe"});
    Cluster({"crash", primary_});
    Cluster({"stop", primary_, "--wipe"});
    Cluster({"start", primary_});
    uri_ = EnvValue(Cluster({"replica", replica_, primary_}), "POSTGRES_FAILOVER_URI");
    ASSERT_FALSE(uri_.empty());
  }

  void TearDown() override {
    Cluster({"stop", replica_, "--wipe"});
    Cluster({"crash", primary_});
    Cluster({"stop", primary_, "--wipe"});
  }

  std::vector<std::string> RelaisdArgs(const std::string& keys) const {
    return {"--insecure_dev", "--listen=127.0.0.1:0", "--metrics_listen=", "--db=" + uri_,
            "--keys_dir=" + keys};
  }

  bool long_ = false;
  std::string primary_, replica_, uri_;
};

TEST_F(Failover, ThePrimaryDiesUnderLoadAndNoAcknowledgedWriteIsLost) {
  const std::string keys = FreshPath("failover_keys");
  {
    RelaisdProcess demo(RELAISD_PATH, [&] {
      std::vector<std::string> args = RelaisdArgs(keys);
      args.push_back("--demo");
      return args;
    }());
    ASSERT_TRUE(demo.WaitFor("Relais demo is serving")) << demo.output();
    ASSERT_EQ(demo.Exit(/*terminate=*/true), 0) << demo.output();
  }
  RelaisdProcess one(RELAISD_PATH, RelaisdArgs(keys)), two(RELAISD_PATH, RelaisdArgs(keys));
  ASSERT_TRUE(one.WaitFor("relaisd serving")) << one.output();
  ASSERT_TRUE(two.WaitFor("relaisd serving")) << two.output();
  std::shared_ptr<grpc::Channel> channels[] = {
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", one.ServingPort()),
                          grpc::InsecureChannelCredentials()),
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", two.ServingPort()),
                          grpc::InsecureChannelCredentials())};
  // Keep reading what both instances log: a full pipe would stall them.
  std::atomic<bool> drained{false};
  std::vector<std::thread> drains;
  for (RelaisdProcess* p : {&one, &two}) {
    drains.emplace_back([p, &drained] {
      while (!drained.load()) p->WaitFor("\x01never\x01", absl::Milliseconds(100));
    });
  }
  auto auth = v1::AuthService::NewStub(channels[0]);
  const DemoMember camille = DemoLogin(*auth, "amo.camille");
  const DemoMember amo = DemoLogin(*auth, "amo.coord");
  const DemoMember dpo = DemoLogin(*auth, "dpo");
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Jeune (bascule)");
  create.mutable_youth()->set_date_of_birth("2010-03-21");
  v1::Youth youth;
  grpc::Status s =
      v1::RecordService::NewStub(channels[1])
          ->CreateYouth(CallContext(camille.token, absl::Seconds(60)).get(), create, &youth);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(camille.member_id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment accompaniment;
  s = v1::CareService::NewStub(channels[0])
          ->OpenAccompaniment(CallContext(amo.token, absl::Seconds(60)).get(), open,
                              &accompaniment);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Writers through both instances until told to stop.
  const int writers = long_ ? 8 : 4;
  const absl::Duration before = long_ ? absl::Seconds(30) : absl::Seconds(3);
  const absl::Duration after = long_ ? absl::Seconds(120) : absl::Seconds(3);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> crashed_at_us{0};
  Outcomes outcomes;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::RecordService::NewStub(channels[w % 2]);
      for (int i = 0; !stop.load(); ++i) {
        v1::AddEntryRequest add;
        v1::Entry* entry = add.mutable_entry();
        entry->set_youth_id(youth.id());
        entry->set_kind(v1::ENTRY_KIND_NOTE);
        entry->set_category(v1::DATA_CATEGORY_GENERAL);
        entry->set_visibility(v1::VISIBILITY_SHARED);
        entry->set_body(absl::StrCat("Note ", w, ".", i));
        v1::Entry added;
        const absl::Time started = absl::Now();
        const grpc::Status st =
            stub->AddEntry(CallContext(camille.token, absl::Seconds(30)).get(), add, &added);
        const absl::Time now = absl::Now();
        const int64_t crashed = crashed_at_us.load();  // 0 until the primary is dead
        {
          absl::MutexLock lock(&outcomes.mu);
          if (st.ok()) {
            outcomes.acknowledged.push_back(added.id());
            if (crashed != 0 && started > absl::FromUnixMicros(crashed)) {
              ++outcomes.acknowledged_after_crash;
              outcomes.first_ack_after_crash = std::min(outcomes.first_ack_after_crash, now);
            }
            continue;
          }
          ++outcomes.refused[absl::StrCat(grpc::StatusCode(st.error_code()), " ", ReasonCode(st))];
        }
        absl::SleepFor(absl::Milliseconds(100));  // a client's back-off
      }
    });
  }
  absl::SleepFor(before);
  Cluster({"crash", primary_});
  const absl::Time crashed = absl::Now();
  crashed_at_us.store(absl::ToUnixMicros(crashed));
  // A failover manager notices in a second or so, then promotes.
  absl::SleepFor(absl::Seconds(1));
  Cluster({"promote", replica_});
  const absl::Time promoted = absl::Now();
  const absl::Time give_up = promoted + absl::Seconds(60);
  for (;;) {
    absl::SleepFor(absl::Milliseconds(100));
    absl::MutexLock lock(&outcomes.mu);
    if (outcomes.first_ack_after_crash != absl::InfiniteFuture() || absl::Now() > give_up) break;
  }
  absl::SleepFor(after);
  stop.store(true);
  for (std::thread& t : threads) t.join();

  absl::MutexLock lock(&outcomes.mu);
  const absl::Duration back = outcomes.first_ack_after_crash - crashed;
  std::string refused;
  for (const auto& [what, count] : outcomes.refused) {
    absl::StrAppend(&refused, refused.empty() ? "" : ", ", count, " x ", what);
  }
  std::cout << "failover: " << writers << " writers, " << outcomes.acknowledged.size()
            << " writes acknowledged (" << outcomes.acknowledged_after_crash
            << " after the crash); service back " << absl::FormatDuration(back)
            << " after the primary died (promoted after "
            << absl::FormatDuration(promoted - crashed)
            << "); refused: " << (refused.empty() ? "none" : refused) << "\n";
  EXPECT_LE(back, absl::Seconds(30));
  EXPECT_GT(outcomes.acknowledged_after_crash, 0);
  for (const auto& [what, count] : outcomes.refused) {
    // UNAVAILABLE (14) is the only answer a client should see in between.
    EXPECT_TRUE(absl::StartsWith(what, "14 ")) << count << " x " << what;
  }

  // Every acknowledged write is on the promoted server, read through one
  // instance or the other; the audit chain verifies and holds each of them.
  int missing = 0;
  for (size_t i = 0; i < outcomes.acknowledged.size(); ++i) {
    v1::GetEntryRequest get;
    get.set_entry_id(outcomes.acknowledged[i]);
    get.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry read;
    s = v1::RecordService::NewStub(channels[i % 2])
            ->GetEntry(CallContext(camille.token, absl::Seconds(30)).get(), get, &read);
    if (!s.ok()) ++missing;
  }
  EXPECT_EQ(missing, 0) << "acknowledged writes lost";
  for (const std::shared_ptr<grpc::Channel>& channel : channels) {
    auto audit = v1::AuditService::NewStub(channel);
    v1::VerifyLogResponse verified;
    s = audit->VerifyLog(CallContext(dpo.token, absl::Seconds(60)).get(), v1::VerifyLogRequest(),
                         &verified);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
  }
  v1::QueryEventsRequest query;
  query.set_youth_id(youth.id());
  query.set_decision(v1::DECISION_ALLOW);
  query.set_page_size(1000);
  int adds = 0;
  auto audit = v1::AuditService::NewStub(channels[1]);
  for (;;) {
    v1::QueryEventsResponse events;
    s = audit->QueryEvents(CallContext(dpo.token, absl::Seconds(60)).get(), query, &events);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const v1::AuditEvent& e : events.events()) adds += e.action() == v1::ACTION_ADD_ENTRY;
    if (events.next_page_token().empty()) break;
    query.set_page_token(events.next_page_token());
  }
  // A write whose answer was lost with the primary may be there too.
  EXPECT_GE(adds, static_cast<int>(outcomes.acknowledged.size()));
  drained.store(true);
  for (std::thread& t : drains) t.join();
  EXPECT_EQ(one.Exit(/*terminate=*/true), 0) << one.output();
  EXPECT_EQ(two.Exit(/*terminate=*/true), 0) << two.output();
}

}  // namespace
}  // namespace relais::testing
