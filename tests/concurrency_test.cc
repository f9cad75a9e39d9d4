// Several clients at once through one real server: writes, reads, denials and
// audit queries interleave on separate connections. Afterwards every call is
// in the audit log exactly as counted, the chain verifies, and nothing written
// was lost. Run under ThreadSanitizer by deploy/tsan.sh; in the ASan tree it
// checks the same counts.

#include <functional>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr int kIterations = 20;

// What the clients did, by (action, decision): what the audit log must hold.
struct Tally {
  std::map<std::pair<v1::Action, v1::Decision>, int> calls;
};

std::shared_ptr<grpc::Channel> OwnConnection(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

v1::AddEntryRequest Entry(const std::string& youth, int n) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  req.mutable_entry()->set_body(absl::StrCat("note ", n));
  return req;
}

TEST(Concurrency, MixedClientsKeepTheAuditCountsAndTheChain) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);
  {
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(youth);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(env->service_id("saj"));
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = common::ToProto(env->clock().Now() + absl::Hours(24 * 30));
    v1::Consent out;
    ASSERT_TRUE(env->care().GrantConsent(env->As(kAmoCaseworker).get(), req, &out).ok());
  }
  absl::StatusOr<int64_t> before = env->host().audit().Length();
  ASSERT_TRUE(before.ok()) << before.status();

  // Each client: (who, what it does once per iteration).
  using Client = std::function<void(Tally&, int)>;
  const int port = env->host().port();
  std::vector<Client> clients;
  for (int writer = 0; writer < 2; ++writer) {
    clients.push_back([&, writer](Tally& t, int i) {
      auto stub = v1::RecordService::NewStub(OwnConnection(port));
      v1::Entry out;
      grpc::Status s =
          stub->AddEntry(env->As(kAmoCaseworker).get(), Entry(youth, writer * 1000 + i), &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (s.ok()) ++t.calls[{v1::ACTION_ADD_ENTRY, v1::DECISION_ALLOW}];
    });
  }
  clients.push_back([&](Tally& t, int) {  // the SAJ reads the shared entries
    auto stub = v1::RecordService::NewStub(OwnConnection(port));
    v1::ListEntriesRequest req;
    req.set_youth_id(youth);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    req.set_page_size(5);
    v1::ListEntriesResponse out;
    grpc::Status s = stub->ListEntries(env->As(kSajCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (s.ok()) {
      ++t.calls[{v1::ACTION_LIST_ENTRIES, v1::DECISION_ALLOW}];
      // One READ_ENTRY event per entry shown.
      t.calls[{v1::ACTION_READ_ENTRY, v1::DECISION_ALLOW}] += out.entries_size();
    }
  });
  clients.push_back([&](Tally& t, int) {  // the PMS does not accompany: denied
    auto stub = v1::RecordService::NewStub(OwnConnection(port));
    v1::GetYouthRequest req;
    req.set_youth_id(youth);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Youth out;
    grpc::Status s = stub->GetYouth(env->As(kPmsCaseworker).get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
    ++t.calls[{v1::ACTION_READ_YOUTH, v1::DECISION_DENY}];
  });
  clients.push_back([&](Tally& t, int i) {  // new records
    auto stub = v1::RecordService::NewStub(OwnConnection(port));
    v1::CreateYouthRequest req;
    req.mutable_youth()->set_display_name(absl::StrCat("Youth ", i));
    req.mutable_youth()->set_date_of_birth("2012-05-06");
    v1::Youth out;
    grpc::Status s = stub->CreateYouth(env->As(kAmoCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (s.ok()) ++t.calls[{v1::ACTION_CREATE_YOUTH, v1::DECISION_ALLOW}];
  });
  clients.push_back([&](Tally& t, int) {  // the auditor pages through the log meanwhile
    auto stub = v1::AuditService::NewStub(OwnConnection(port));
    v1::QueryEventsRequest req;
    req.set_page_size(50);
    v1::QueryEventsResponse out;
    grpc::Status s = stub->QueryEvents(env->As(kAuditor).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (s.ok()) ++t.calls[{v1::ACTION_QUERY_AUDIT, v1::DECISION_ALLOW}];
  });

  std::vector<Tally> tallies(clients.size());
  std::latch start(static_cast<std::ptrdiff_t>(clients.size()));
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
    threads.emplace_back([&, c] {
      start.arrive_and_wait();
      for (int i = 0; i < kIterations; ++i) clients[c](tallies[c], i);
    });
  }
  for (std::thread& t : threads) t.join();

  Tally want;
  int calls = 0;
  for (const Tally& t : tallies) {
    for (const auto& [key, n] : t.calls) want.calls[key] += n;
  }
  for (const auto& [key, n] : want.calls) {
    if (key.first != v1::ACTION_READ_ENTRY) calls += n;
  }
  EXPECT_EQ(want.calls[std::make_pair(v1::ACTION_ADD_ENTRY, v1::DECISION_ALLOW)], 2 * kIterations);

  // The log, read directly (a QueryEvents call would add events of its own).
  Tally got;
  int64_t after = *before;
  while (true) {
    absl::StatusOr<std::vector<v1::AuditEvent>> page =
        env->host().audit().Query(audit::EventFilter{}, after, audit::AuditLog::kMaxQueryLimit);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    for (const v1::AuditEvent& e : *page) {
      EXPECT_EQ(e.sequence(), after + 1) << "events are numbered without gaps";
      after = e.sequence();
      ++got.calls[{e.action(), e.decision()}];
    }
  }
  EXPECT_EQ(got.calls, want.calls);
  absl::StatusOr<int64_t> length = env->host().audit().Length();
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_GE(*length - *before, calls);

  v1::VerifyLogResponse verified;
  ASSERT_TRUE(
      env->audit().VerifyLog(env->As(kAuditor).get(), v1::VerifyLogRequest(), &verified).ok());
  EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
  EXPECT_EQ(verified.events_checked(), *length);

  // Every entry written is there, once.
  v1::ListEntriesRequest list;
  list.set_youth_id(youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  list.set_page_size(200);
  v1::ListEntriesResponse entries;
  ASSERT_TRUE(env->record().ListEntries(env->As(kAmoCaseworker).get(), list, &entries).ok());
  std::map<std::string, int> bodies;
  for (const v1::Entry& e : entries.entries()) ++bodies[e.body()];
  EXPECT_EQ(bodies.size(), static_cast<size_t>(2 * kIterations));
  for (const auto& [body, n] : bodies) EXPECT_EQ(n, 1) << body;
}

}  // namespace
}  // namespace relais::testing
