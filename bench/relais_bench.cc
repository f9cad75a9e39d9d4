// relais-bench: what each piece of a call costs (docs/performance.md).
//   relais-bench [--benchmark_filter=...] [--relais_youths=200] [--relais_events=1000000]
// Items per second are calls, events or tokens per second as named.

#include <atomic>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "bench/bench_world.h"
#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "storage/crypto/aead.h"
#include "storage/database.h"

ABSL_FLAG(int, relais_youths, 200, "accompanied youths (three entries each) in the data set");
ABSL_FLAG(int64_t, relais_events, 1'000'000, "audit events in the log that BM_VerifyLog checks");

namespace relais::bench {
namespace {

World& Data(bool group_commit = true) {
  return GetWorld(absl::GetFlag(FLAGS_relais_youths), group_commit);
}

void Check(benchmark::State& state, const absl::Status& status) {
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());
}

// Token verification: the first call of a token (Ed25519) and the next ones
// (remembered; expiry and revocation still checked). Arg: 0 first, 1 next.
void BM_TokenVerify(benchmark::State& state) {
  const std::unique_ptr<auth::KeyRing> ring = auth::KeyRing::InMemory();
  const auth::TokenIssuer issuer(ring.get(), &common::RealClock(), "relais");
  const auth::TokenVerifier verifier(ring.get(), &common::RealClock(), "relais", nullptr,
                                     state.range(0) == 0 ? 0 : auth::kMaxCachedTokens);
  const std::string token = issuer.Issue("member", "service", {"caseworker"}).value();
  for (auto _ : state) {
    absl::StatusOr<auth::Principal> principal = verifier.Verify(token);
    if (!principal.ok()) Check(state, principal.status());
    benchmark::DoNotOptimize(principal);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenVerify)->ArgName("remembered")->Arg(0)->Arg(1);

// Sealing and opening one entry body of range(0) bytes with AES-256-GCM.
void BM_SealOpen(benchmark::State& state) {
  const storage::crypto::SecretKey key = storage::crypto::SecretKey::Generate().value();
  const std::string body(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    absl::StatusOr<std::string> sealed = storage::crypto::SealAesGcm(key, body, "entry:id");
    absl::StatusOr<std::string> opened = storage::crypto::OpenAesGcm(key, *sealed, "entry:id");
    if (!opened.ok()) Check(state, opened.status());
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SealOpen)->Arg(256)->Arg(4096);

// The access decision's facts for one youth among the data set's: the
// accompaniments, vouching and consents read for the AMO.
void BM_GatherFacts(benchmark::State& state) {
  World& world = Data();
  const std::string amo = world.seeder->world().service_ids.at("amo");
  size_t i = 0;
  for (auto _ : state) {
    const std::string& youth = world.youth_ids[i++ % world.youth_ids.size()];
    absl::StatusOr<access::AccessFacts> facts = world.host->care_facts().GatherFacts(amo, youth);
    if (!facts.ok()) Check(state, facts.status());
    benchmark::DoNotOptimize(facts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GatherFacts);

// RecordService.GetEntry over the in-process channel: token, decision,
// decryption and the durable audit event, without the network.
void BM_GetEntry(benchmark::State& state) {
  World& world = Data();
  const auto stub = v1::RecordService::NewStub(world.host->InProcessChannel());
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", world.token));
    v1::GetEntryRequest req;
    req.set_entry_id(world.entry_ids[i++ % world.entry_ids.size()]);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry entry;
    const grpc::Status status = stub->GetEntry(&ctx, req, &entry);
    if (!status.ok()) state.SkipWithError(status.error_message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetEntry)->Threads(1)->Threads(16)->UseRealTime();

// RecordService.AddEntry from many threads at once, with group commit (Arg 1)
// and with one transaction and fsync per call (Arg 0).
void BM_AddEntry(benchmark::State& state) {
  World& world = Data(state.range(0) == 1);
  const auto stub = v1::RecordService::NewStub(world.host->InProcessChannel());
  const std::string& youth =
      world.youth_ids[static_cast<size_t>(state.thread_index()) % world.youth_ids.size()];
  for (auto _ : state) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", world.token));
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
    req.mutable_entry()->set_visibility(v1::VISIBILITY_SERVICE_PRIVATE);
    req.mutable_entry()->set_body("Phone call with the school: attendance is back to normal.");
    v1::Entry entry;
    const grpc::Status status = stub->AddEntry(&ctx, req, &entry);
    if (!status.ok()) state.SkipWithError(status.error_message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddEntry)
    ->ArgName("group_commit")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(64)
    ->UseRealTime();

audit::EventInput SampleEvent(int64_t n) {
  return {.request_id = absl::StrCat("req-", n),
          .actor_member_id = "mbr_bench",
          .actor_service_id = "svc_bench",
          .actor_roles = "caseworker",
          .client_identity = "cn=svc_bench",
          .action = v1::ACTION_READ_ENTRY,
          .youth_id = "yth_bench",
          .entry_id = absl::StrCat("ent_", n),
          .purpose = v1::PURPOSE_COORDINATION,
          .decision = v1::DECISION_ALLOW,
          .reason = v1::ACCESS_REASON_ALLOWED,
          .reason_code = "allowed"};
}

// One audit event in a transaction of its own, durable on return: from one
// thread, then from many (their events commit in shared groups).
void BM_AuditAppend(benchmark::State& state) {
  World& world = Data();
  int64_t n = 0;
  for (auto _ : state) {
    absl::StatusOr<int64_t> sequence = world.host->audit().AppendStandalone(SampleEvent(++n));
    if (!sequence.ok()) Check(state, sequence.status());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditAppend)->Threads(1)->Threads(16)->UseRealTime();

// A log of --relais_events events, built once in a database of its own.
struct VerifyLog {
  std::string dir;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<audit::AuditLog> log;
};

VerifyLog& LogToVerify(benchmark::State& state) {
  static VerifyLog* built = nullptr;
  if (built != nullptr) return *built;
  built = new VerifyLog;
  built->dir = Data().dir;
  storage::Database::Options options;
  options.path = absl::StrCat(built->dir, "/verify.db");
  absl::StatusOr<std::unique_ptr<storage::Database>> db = storage::Database::Open(options);
  if (!db.ok()) {
    Check(state, db.status());
    return *built;
  }
  built->db = *std::move(db);
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
      audit::AuditLog::Create(built->db.get(), &common::RealClock());
  if (!log.ok()) {
    Check(state, log.status());
    return *built;
  }
  built->log = *std::move(log);
  const int64_t events = absl::GetFlag(FLAGS_relais_events);
  constexpr int64_t kPerTransaction = 10'000;
  for (int64_t done = 0; done < events;) {
    const absl::Status written = built->db->Write([&](storage::Connection& txn) -> absl::Status {
      for (int64_t k = 0; k < kPerTransaction && done < events; ++k, ++done) {
        absl::StatusOr<int64_t> appended = built->log->Append(txn, SampleEvent(done));
        if (!appended.ok()) return appended.status();
      }
      return absl::OkStatus();
    });
    if (!written.ok()) {
      Check(state, written);
      break;
    }
  }
  return *built;
}

// Verifying the whole hash chain, one core: items are events checked.
void BM_VerifyLog(benchmark::State& state) {
  VerifyLog& verify = LogToVerify(state);
  if (verify.log == nullptr) return;
  int64_t checked = 0;
  for (auto _ : state) {
    absl::StatusOr<audit::VerifyResult> result = verify.log->Verify();
    if (!result.ok()) {
      Check(state, result.status());
      break;
    }
    if (!result->ok) state.SkipWithError("the chain does not verify");
    checked += result->events_checked;
  }
  state.SetItemsProcessed(checked);
}
BENCHMARK(BM_VerifyLog)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace
}  // namespace relais::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  relais::bench::EndWorlds();
  return 0;
}
