// Issue #11, evidence: the audit log proves something only if a signature
// covers its last event and what was signed is kept out of reach of whoever
// can write the database. Tampering with the database file itself (events
// rewritten and re-hashed, checkpoint rows deleted), under a running or a
// restarted server, is found by VerifyLog and by the offline verifier, and the
// checkpointer refuses, visibly, to sign the rewritten chain. Also: an access
// report of a youth with thousands of events is complete.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "services/audit/checkpoint.h"
#include "services/audit/export_verifier.h"
#include "services/audit/witness.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kAuditService[] = "relais.v1.AuditService";

v1::VerifyLogResponse Verify(RelaisEnv& env) {
  v1::VerifyLogResponse resp;
  grpc::Status s = env.audit().VerifyLog(env.As(kAuditor).get(), v1::VerifyLogRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

std::vector<v1::AuditEvent> AllEvents(RelaisEnv& env) {
  std::vector<v1::AuditEvent> all;
  int64_t after = 0;
  while (true) {
    auto page = env.host().audit().Query({}, after, audit::AuditLog::kMaxQueryLimit);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->empty()) break;
    after = page->back().sequence();
    all.insert(all.end(), page->begin(), page->end());
  }
  return all;
}

// SQL that alters event `from` and recomputes the hash of it and of every
// later event: what someone with write access to the file but without the
// audit key can do. The chain alone still verifies afterwards.
std::string RewriteSql(const std::vector<v1::AuditEvent>& events, int64_t from) {
  std::string sql;
  std::string prev;
  for (v1::AuditEvent e : events) {
    if (e.sequence() < from) continue;
    if (e.sequence() == from) e.set_reason_code("tampered");
    if (e.sequence() > from) e.set_prev_hash(prev);
    e.set_hash(*audit::ComputeEventHash(e));
    prev = e.hash();
    absl::StrAppend(&sql, "UPDATE audit_events SET reason_code = '", e.reason_code(),
                    "', prev_hash = '", e.prev_hash(), "', hash = '", e.hash(),
                    "' WHERE sequence = ", e.sequence(), ";");
  }
  return sql;
}

std::vector<v1::Checkpoint> StoredCheckpoints(RelaisEnv& env) {
  auto checkpoints = env.host().audit().Checkpoints(0, 1 << 30, 1000);
  EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
  return checkpoints.value_or(std::vector<v1::Checkpoint>{});
}

// Streams ExportEvents into the export file format (length-delimited items).
std::string ExportBytes(RelaisEnv& env) {
  auto ctx = env.As(kAuditor);
  auto reader = env.audit().ExportEvents(ctx.get(), v1::ExportEventsRequest());
  std::ostringstream out;
  v1::ExportItem item;
  while (reader->Read(&item)) {
    EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(item, &out));
  }
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out.str();
}

audit::ExportReport VerifyExport(RelaisEnv& env, const std::string& bytes,
                                 const audit::Witness* witness = nullptr) {
  auto report =
      audit::VerifyExportBytes(bytes, audit::TrustedKeys(env.host().audit_keys()), 1, witness);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.value_or(audit::ExportReport{});
}

// Waits (real time) until the audit service's health is `serving`.
bool WaitAuditServing(RelaisEnv& env, bool serving) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (env.host().serving(kAuditService) == serving) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

std::string RefusalsMetric(RelaisEnv& env) {
  const std::string page = env.host().metrics().Render();
  const size_t at = page.find("\nrelais_audit_checkpoint_refusals_total ");
  if (at == std::string::npos) return "absent";
  return page.substr(at + 1, page.find('\n', at + 1) - at - 1);
}

// A server with some history and a first verified, signed head.
class AuditEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    ASSERT_NE(env_, nullptr);
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    const v1::VerifyLogResponse first = Verify(*env_);
    ASSERT_TRUE(first.ok()) << first.problem() << " at " << first.first_bad_sequence();
    EXPECT_EQ(first.anchored_through(), first.events_checked());
    EXPECT_GE(first.checkpoints_checked(), 1);
    // More history after the first signed head, then a second one.
    env_->CreateYouth(9, kSajCaseworker);
    ASSERT_TRUE(Verify(*env_).ok());
    ASSERT_GE(StoredCheckpoints(*env_).size(), 2u);
    EXPECT_EQ(RefusalsMetric(*env_), "relais_audit_checkpoint_refusals_total 0");
    EXPECT_TRUE(env_->host().serving(kAuditService));
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
};

TEST_F(AuditEvidenceTest, EventsRewrittenAndRehashedInTheFileAreFoundAndNeverSigned) {
  const std::vector<v1::Checkpoint> before = StoredCheckpoints(*env_);
  const int64_t victim = 3;
  Sql(env_->db_path(), RewriteSql(AllEvents(*env_), victim));

  const v1::VerifyLogResponse after = Verify(*env_);
  EXPECT_FALSE(after.ok());
  // The first checkpoint at or after the victim is where the signed hash and
  // the witness line disagree with the re-hashed chain.
  int64_t first_signed = 0;
  for (const v1::Checkpoint& c : before) {
    if (c.sequence() >= victim) {
      first_signed = c.sequence();
      break;
    }
  }
  EXPECT_EQ(after.problem(), "witness_mismatch");
  EXPECT_EQ(after.first_bad_sequence(), first_signed);

  // The checkpointer refused, visibly, and signed nothing over the rewrite.
  EXPECT_GE(env_->host().checkpointer().refusals(), 1);
  EXPECT_THAT(RefusalsMetric(*env_), StartsWith("relais_audit_checkpoint_refusals_total "));
  EXPECT_NE(RefusalsMetric(*env_), "relais_audit_checkpoint_refusals_total 0");
  EXPECT_TRUE(WaitAuditServing(*env_, false)) << "AuditService stays SERVING";
  EXPECT_TRUE(env_->host().serving()) << "the other services keep serving";
  const std::vector<v1::Checkpoint> now = StoredCheckpoints(*env_);
  ASSERT_EQ(now.size(), before.size()) << "a checkpoint was signed over the rewritten chain";
  EXPECT_EQ(now.back().SerializeAsString(), before.back().SerializeAsString());

  // The export made now does not verify offline either, even without the
  // witness: the stored checkpoints no longer match.
  audit::ExportReport report = VerifyExport(*env_, ExportBytes(*env_));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.problem, "checkpoint_mismatch");
  EXPECT_EQ(report.problem_sequence, first_signed);
}

TEST_F(AuditEvidenceTest, DeletedCheckpointRowsAreFound) {
  // One old row: only the witness file still knows it was signed.
  const std::vector<v1::Checkpoint> before = StoredCheckpoints(*env_);
  const int64_t old = before.front().sequence();
  Sql(env_->db_path(), absl::StrCat("DELETE FROM audit_checkpoints WHERE sequence = ", old));
  v1::VerifyLogResponse one = Verify(*env_);
  EXPECT_FALSE(one.ok());
  EXPECT_EQ(one.problem(), "checkpoint_missing");
  EXPECT_EQ(one.first_bad_sequence(), old);

  // Every row: the checkpointer will not sign without the head it signed last.
  Sql(env_->db_path(), "DELETE FROM audit_checkpoints");
  v1::VerifyLogResponse all = Verify(*env_);
  EXPECT_FALSE(all.ok());
  EXPECT_EQ(all.problem(), "checkpoint_missing");
  EXPECT_EQ(all.first_bad_sequence(), old);
  EXPECT_TRUE(StoredCheckpoints(*env_).empty()) << "nothing signed after the deletion";
  EXPECT_GE(env_->host().checkpointer().refusals(), 1);

  // The export of that log carries no checkpoint but the last one the server
  // signed, which now names an event the chain no longer vouches for alone.
  audit::ExportReport report = VerifyExport(*env_, ExportBytes(*env_));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.problem, "unanchored_tail");
}

TEST_F(AuditEvidenceTest, ARestartedServerRefusesToSignALogRewrittenWhileItWasStopped) {
  const std::vector<v1::AuditEvent> events = AllEvents(*env_);
  const std::string db = env_->db_path(), keys = env_->keys_dir();
  env_->Stop();
  env_.reset();
  // Rewritten and re-hashed from event 2, every checkpoint row deleted: the
  // file alone now looks like an intact, never-signed log.
  Sql(db, RewriteSql(events, 2) + "DELETE FROM audit_checkpoints;");

  env_ = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env_, nullptr);
  const v1::VerifyLogResponse after = Verify(*env_);
  EXPECT_FALSE(after.ok());
  EXPECT_EQ(after.problem(), "witness_mismatch");
  EXPECT_TRUE(StoredCheckpoints(*env_).empty()) << "a checkpoint blessed the rewritten chain";
  EXPECT_GE(env_->host().checkpointer().refusals(), 1);
  EXPECT_TRUE(WaitAuditServing(*env_, false));

  // Offline, with the key only: nothing signed covers the export's end.
  const std::string bytes = ExportBytes(*env_);
  audit::ExportReport report = VerifyExport(*env_, bytes);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.problem, "checkpoint_mismatch") << report.detail;
  // ... and with the witness shipped off the host.
  auto witness = audit::ReadWitnessFile(keys + "/audit-witness.jsonl",
                                        audit::TrustedKeys(env_->host().audit_keys()));
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_FALSE(witness->empty());
  EXPECT_EQ(VerifyExport(*env_, bytes, &*witness).problem, "witness_mismatch");
}

TEST_F(AuditEvidenceTest, TheCommandLineVerifierNeedsAnAnchorAndChecksTheWitness) {
  const std::string dir = FreshPath("evidence_cli");
  std::filesystem::create_directories(dir);
  const std::string good = dir + "/good.export", stripped = dir + "/stripped.export",
                    pubkey = dir + "/audit.pub", witness = dir + "/witness.jsonl",
                    forged = dir + "/forged.jsonl", report = dir + "/report.txt";
  const std::string bytes = ExportBytes(*env_);
  std::ofstream(good, std::ios::binary) << bytes;
  // The same export with every checkpoint item removed.
  {
    google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
    std::ofstream out(stripped, std::ios::binary);
    v1::ExportItem item;
    bool eof = false;
    while (true) {
      item.Clear();
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&item, &in, &eof)) break;
      if (!item.has_checkpoint()) {
        EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(item, &out));
      }
    }
  }
  std::ofstream(pubkey) << *audit::PublicKeyPem(
      env_->host().audit_keys().PublicKeys().front().second);
  // The witness, copied after the export.
  std::filesystem::copy_file(env_->keys_dir() + "/audit-witness.jsonl", witness);
  // A witness whose first line names another head: its signature breaks.
  {
    std::ifstream in(witness);
    std::string first, rest;
    std::getline(in, first);
    std::stringstream tail;
    tail << in.rdbuf();
    const size_t head = first.find("\"head\":\"") + 8;
    first[head] = first[head] == 'a' ? 'b' : 'a';
    std::ofstream(forged) << first << "\n" << tail.str();
  }
  auto run = [&](const std::string& file, const std::string& extra = "") {
    const int rc = std::system(absl::StrCat(RELAIS_AUDIT_VERIFY, " '", file, "' --pubkey '", pubkey,
                                            "' ", extra, " > '", report, "'")
                                   .c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  auto output = [&] {
    std::ifstream in(report);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(run(good), 0) << output();
  EXPECT_EQ(run(good, "--witness '" + witness + "'"), 0) << output();
  EXPECT_THAT(output(), HasSubstr("witness:"));
  EXPECT_EQ(run(stripped), 1);
  EXPECT_THAT(output(), StartsWith("FAILED: no_checkpoint"));
  EXPECT_EQ(run(stripped, "--json"), 1);
  EXPECT_THAT(output(), HasSubstr("\"problem\":\"no_checkpoint\""));
  EXPECT_EQ(run(good, "--witness '" + forged + "'"), 1);
  EXPECT_THAT(output(), StartsWith("FAILED: witness_invalid"));
  EXPECT_EQ(run(good, "--witness '" + dir + "/missing.jsonl'"), 2);
}

TEST(AccessReport, AYouthWithThousandsOfEventsGetsEveryLine) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  // 3,000 reads of the record, two in three by the AMO, one in three by the
  // SAJ, appended straight to the log (one transaction): six pages of the
  // report's reads, more than any single query returns.
  constexpr int kReads = 3000;
  ASSERT_TRUE(env->host()
                  .db()
                  .Write([&](storage::Connection& txn) -> absl::Status {
                    for (int i = 0; i < kReads; ++i) {
                      const bool saj = i % 3 == 0;
                      audit::EventInput e;
                      e.request_id = absl::StrCat("bulk-", i);
                      e.actor_member_id = env->member_id(saj ? kSajCaseworker : kAmoCaseworker);
                      e.actor_service_id = env->service_id(saj ? "saj" : "amo");
                      e.actor_roles = "caseworker";
                      e.action = v1::ACTION_READ_ENTRY;
                      e.youth_id = youth;
                      e.purpose = v1::PURPOSE_COORDINATION;
                      e.decision = v1::DECISION_ALLOW;
                      e.reason_code = "allowed";
                      absl::StatusOr<int64_t> appended = env->host().audit().Append(txn, e);
                      if (!appended.ok()) return appended.status();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  // Another youth's events must not leak in.
  env->CreateYouth(12, kSajCaseworker);
  int64_t expected = 0, expected_amo = 0;
  for (const v1::AuditEvent& e : AllEvents(*env)) {
    if (e.youth_id() != youth) continue;
    ++expected;
    if (e.actor_service_id() == env->service_id("amo")) ++expected_amo;
  }
  ASSERT_GT(expected, kReads);

  v1::AccessReportRequest req;
  req.set_youth_id(youth);
  v1::AccessReportResponse report;
  grpc::Status s = env->audit().AccessReport(env->As(kAuditor).get(), req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(report.lines_size(), expected);
  int reads = 0;
  for (int i = 0; i < report.lines_size(); ++i) {
    if (i > 0) {
      EXPECT_GE(common::FromProto(report.lines(i).time()),
                common::FromProto(report.lines(i - 1).time()));
    }
    if (report.lines(i).action() == v1::ACTION_READ_ENTRY) ++reads;
    EXPECT_EQ(report.lines(i).service_name().empty(), report.lines(i).service_id().empty());
  }
  EXPECT_EQ(reads, kReads);

  // A coordinator of an accompanying service gets every line of its own
  // service's accesses, across all the pages, and none of the SAJ's.
  v1::AccessReportResponse own;
  s = env->audit().AccessReport(env->As(kAmoCoordinator).get(), req, &own);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(own.lines_size(), expected_amo);
  EXPECT_GT(own.lines_size(), 2 * kReads / 3 - 1);
  for (const v1::AccessReportLine& line : own.lines()) {
    ASSERT_EQ(line.service_id(), env->service_id("amo"));
  }
}

}  // namespace
}  // namespace relais::testing
