// Issue #3 part 3 end to end: the server signs checkpoints of the audit chain
// with its own audit key; an auditor exports the log over gRPC
// (AuditService.ExportEvents) and checks it offline with only the audit
// public key, which finds every kind of alteration made to the exported bytes.

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "services/audit/checkpoint.h"
#include "services/audit/export_verifier.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using Items = std::vector<v1::ExportItem>;

// Streams ExportEvents into the export file format (length-delimited items).
std::string ExportBytes(RelaisEnv& env, absl::string_view login, grpc::Status* status,
                        int64_t from_sequence = 0) {
  auto ctx = env.As(login);
  v1::ExportEventsRequest req;
  req.set_from_sequence(from_sequence);
  std::unique_ptr<grpc::ClientReader<v1::ExportItem>> reader =
      env.audit().ExportEvents(ctx.get(), req);
  std::ostringstream out;
  v1::ExportItem item;
  while (reader->Read(&item)) {
    EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(item, &out));
  }
  *status = reader->Finish();
  return out.str();
}

Items Parse(const std::string& bytes) {
  Items items;
  google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
  v1::ExportItem item;
  bool clean_eof = false;
  while (true) {
    item.Clear();
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&item, &input, &clean_eof)) break;
    items.push_back(item);
  }
  EXPECT_TRUE(clean_eof);
  return items;
}

std::string Serialize(const Items& items) {
  std::ostringstream out;
  for (const v1::ExportItem& item : items) {
    EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(item, &out));
  }
  return out.str();
}

std::vector<auth::VerifyingKey> AuditKeys(RelaisEnv& env) {
  std::vector<auth::VerifyingKey> keys;
  for (auto& [id, raw] : env.host().audit_keys().PublicKeys()) {
    keys.push_back(*auth::VerifyingKey::FromRaw(id, raw));
  }
  return keys;
}

audit::ExportReport VerifyBytes(RelaisEnv& env, const std::string& bytes) {
  auto report = audit::VerifyExportBytes(bytes, AuditKeys(env));
  EXPECT_TRUE(report.ok()) << report.status();
  return report.value_or(audit::ExportReport{});
}

size_t IndexOfEvent(const Items& items, int64_t sequence) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].has_event() && items[i].event().sequence() == sequence) return i;
  }
  ADD_FAILURE() << "no event " << sequence;
  return 0;
}

// A server with some history: a youth created and accompanied (allowed
// events), a denied read and an unauthenticated call, then a checkpoint
// forced in the middle, then more events after it.
class AuditExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    ASSERT_NE(env_, nullptr);
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    auto forced = env_->host().checkpointer().CheckpointNow();
    ASSERT_TRUE(forced.ok()) << forced.status();
    ASSERT_TRUE(forced->has_value());
    forced_ = (*forced)->sequence();
    // More events after the forced checkpoint.
    v1::ListEntriesResponse listed;
    v1::ListEntriesRequest list;
    list.set_youth_id(youth_);
    list.set_purpose(v1::PURPOSE_COORDINATION);
    EXPECT_FALSE(env_->record().ListEntries(env_->As(kSajCaseworker).get(), list, &listed).ok());
    v1::VerifyLogResponse verified;
    EXPECT_FALSE(
        env_->audit().VerifyLog(env_->Anonymous().get(), v1::VerifyLogRequest(), &verified).ok());
    grpc::Status status;
    bytes_ = ExportBytes(*env_, kAuditor, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    items_ = Parse(bytes_);
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
  int64_t forced_ = 0;
  std::string bytes_;
  Items items_;
};

TEST_F(AuditExportTest, AnAuditorsExportVerifiesOfflineWithTheAuditKey) {
  audit::ExportReport r = VerifyBytes(*env_, bytes_);
  ASSERT_TRUE(r.ok) << r.problem << " at " << r.problem_sequence << ": " << r.detail;
  auto head = env_->host().audit().Head();
  ASSERT_TRUE(head.ok());
  // The export ends with its own audit event, covered by the head checkpoint
  // the server signed for it: nothing is left unanchored.
  EXPECT_EQ(r.first_sequence, 1);
  EXPECT_EQ(r.last_sequence, head->sequence);
  EXPECT_EQ(r.events, head->sequence);
  EXPECT_EQ(r.head_hash, head->hash);
  EXPECT_EQ(r.anchored_through, head->sequence);
  EXPECT_EQ(r.unanchored, 0);
  EXPECT_GE(r.checkpoints, 3);  // head ahead, forced in place, head in place
  EXPECT_EQ(r.keys_listed, 1);
  EXPECT_EQ(r.keys_trusted, 1);

  // Layout: keys first, then the head checkpoint, then events in order with
  // the forced checkpoint right after the event it covers.
  ASSERT_GE(items_.size(), 3u);
  EXPECT_TRUE(items_[0].has_key());
  EXPECT_EQ(items_[0].key().algorithm(), "Ed25519");
  ASSERT_TRUE(items_[1].has_checkpoint());
  EXPECT_EQ(items_[1].checkpoint().sequence(), head->sequence);
  const size_t forced_at = IndexOfEvent(items_, forced_);
  ASSERT_TRUE(items_[forced_at + 1].has_checkpoint());
  EXPECT_EQ(items_[forced_at + 1].checkpoint().sequence(), forced_);
  EXPECT_EQ(items_[forced_at + 1].checkpoint().head_hash(), items_[forced_at].event().hash());
}

TEST_F(AuditExportTest, TheAuditKeyIsNotATokenKey) {
  auto audit_keys = env_->host().audit_keys().PublicKeys();
  ASSERT_EQ(audit_keys.size(), 1u);
  for (auto& [id, raw] : env_->host().keys().PublicKeys()) EXPECT_NE(raw, audit_keys[0].second);
  EXPECT_EQ(items_[0].key().public_key(), audit_keys[0].second);
  // A checkpoint does not verify under the token key.
  std::vector<auth::VerifyingKey> token_keys;
  for (auto& [id, raw] : env_->host().keys().PublicKeys()) {
    token_keys.push_back(*auth::VerifyingKey::FromRaw(id, raw));
  }
  auto r = audit::VerifyExportBytes(bytes_, std::move(token_keys));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "checkpoint_signature_invalid");
}

TEST_F(AuditExportTest, TheExportIsItselfAudited) {
  const v1::AuditEvent& last =
      items_[IndexOfEvent(items_, VerifyBytes(*env_, bytes_).last_sequence)].event();
  EXPECT_EQ(last.action(), v1::ACTION_EXPORT_AUDIT);
  EXPECT_EQ(last.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(last.actor_member_id(), env_->member_id(kAuditor));
  EXPECT_EQ(last.reason_code(), "allowed");
}

TEST_F(AuditExportTest, ACaseworkerCannotExportAndTheRefusalIsAudited) {
  grpc::Status status;
  const std::string bytes = ExportBytes(*env_, kAmoCaseworker, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(status), "role_not_permitted");
  EXPECT_TRUE(bytes.empty()) << "nothing is streamed before the refusal";

  auto events = env_->host().audit().Query({}, 0, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  const v1::AuditEvent& last = events->back();
  EXPECT_EQ(last.action(), v1::ACTION_EXPORT_AUDIT);
  EXPECT_EQ(last.decision(), v1::DECISION_DENY);
  EXPECT_EQ(last.actor_member_id(), env_->member_id(kAmoCaseworker));
  EXPECT_EQ(last.reason_code(), "role_not_permitted");

  grpc::Status anonymous;
  auto ctx = env_->Anonymous();
  auto reader = env_->audit().ExportEvents(ctx.get(), v1::ExportEventsRequest());
  v1::ExportItem item;
  EXPECT_FALSE(reader->Read(&item));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuditExportTest, AFlippedByteInAnEventIsAHashMismatchAtThatEvent) {
  // Flip one bit of event 3's request id, in the exported bytes themselves.
  const v1::ExportItem& item = items_[IndexOfEvent(items_, 3)];
  const std::string request_id = item.event().request_id();
  ASSERT_FALSE(request_id.empty());
  std::string bytes = bytes_;
  const size_t item_at = bytes.find(item.SerializeAsString());  // holds its own hash: unique
  ASSERT_NE(item_at, std::string::npos);
  const size_t at = bytes.find(request_id, item_at);
  ASSERT_NE(at, std::string::npos);
  bytes[at + request_id.size() - 1] ^= 0x01;
  audit::ExportReport r = VerifyBytes(*env_, bytes);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "hash_mismatch");
  EXPECT_EQ(r.problem_sequence, 3);
}

TEST_F(AuditExportTest, ADeletedEventIsASequenceGap) {
  items_.erase(items_.begin() + IndexOfEvent(items_, 4));
  audit::ExportReport r = VerifyBytes(*env_, Serialize(items_));
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.problem_sequence, 4);
}

TEST_F(AuditExportTest, TwoSwappedEventsAreASequenceGapAtTheFirst) {
  std::swap(items_[IndexOfEvent(items_, 2)], items_[IndexOfEvent(items_, 3)]);
  audit::ExportReport r = VerifyBytes(*env_, Serialize(items_));
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.problem_sequence, 2);
}

TEST_F(AuditExportTest, AnAlteredCheckpointHashIsAnInvalidSignature) {
  const size_t at = IndexOfEvent(items_, forced_) + 1;
  ASSERT_TRUE(items_[at].has_checkpoint());
  items_[at].mutable_checkpoint()->set_head_hash(
      items_[IndexOfEvent(items_, forced_ - 1)].event().hash());
  audit::ExportReport r = VerifyBytes(*env_, Serialize(items_));
  EXPECT_EQ(r.problem, "checkpoint_signature_invalid");
  EXPECT_EQ(r.problem_sequence, forced_);
}

TEST_F(AuditExportTest, ARewrittenChainDoesNotMatchTheSignedCheckpoint) {
  // Change event 2 and recompute every later hash: the chain itself verifies,
  // the checkpoint the server signed does not.
  std::string prev;
  for (size_t i = IndexOfEvent(items_, 2); i < items_.size(); ++i) {
    if (!items_[i].has_event()) continue;
    v1::AuditEvent* e = items_[i].mutable_event();
    if (e->sequence() == 2) e->set_reason_code("no_consent");
    if (e->sequence() > 2) e->set_prev_hash(prev);
    e->set_hash(*audit::ComputeEventHash(*e));
    prev = e->hash();
  }
  audit::ExportReport r = VerifyBytes(*env_, Serialize(items_));
  EXPECT_EQ(r.problem, "checkpoint_mismatch");
  EXPECT_EQ(r.problem_sequence, forced_);
}

TEST_F(AuditExportTest, AnExportCutAfterACheckpointIsCheckpointBeyondEnd) {
  const int64_t head = items_[1].checkpoint().sequence();
  ASSERT_GT(head, forced_);
  items_.resize(IndexOfEvent(items_, forced_) + 2);  // ends with the forced checkpoint
  audit::ExportReport r = VerifyBytes(*env_, Serialize(items_));
  EXPECT_EQ(r.problem, "checkpoint_beyond_end");
  EXPECT_EQ(r.problem_sequence, head);
  EXPECT_EQ(r.last_sequence, forced_);
}

TEST_F(AuditExportTest, APartialExportStartsAtTheRequestedEvent) {
  grpc::Status status;
  const std::string bytes = ExportBytes(*env_, kAuditor, &status, /*from_sequence=*/forced_);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto r = audit::VerifyExportBytes(bytes, AuditKeys(*env_), forced_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->problem << ": " << r->detail;
  EXPECT_EQ(r->first_sequence, forced_);
  EXPECT_EQ(r->unanchored, 0);

  grpc::Status beyond;
  ExportBytes(*env_, kAuditor, &beyond, /*from_sequence=*/1000000);
  EXPECT_EQ(beyond.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(beyond), "out_of_range");
}

TEST_F(AuditExportTest, TheDatabaseSideVerifyStillWorks) {
  v1::VerifyLogResponse verified;
  ASSERT_TRUE(
      env_->audit().VerifyLog(env_->As(kAuditor).get(), v1::VerifyLogRequest(), &verified).ok());
  EXPECT_TRUE(verified.ok());
  EXPECT_EQ(verified.problem(), "");

  ASSERT_TRUE(env_->host()
                  .db()
                  .Write([](storage::Connection& c) {
                    return c.Exec("UPDATE audit_events SET reason_code = 'x' WHERE sequence = 2");
                  })
                  .ok());
  verified.Clear();
  ASSERT_TRUE(
      env_->audit().VerifyLog(env_->As(kAuditor).get(), v1::VerifyLogRequest(), &verified).ok());
  EXPECT_FALSE(verified.ok());
  EXPECT_EQ(verified.problem(), "hash_mismatch");
  EXPECT_EQ(verified.first_bad_sequence(), 2);

  // An export of the damaged database still streams, and shows the damage.
  grpc::Status status;
  const std::string bytes = ExportBytes(*env_, kAuditor, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  audit::ExportReport r = VerifyBytes(*env_, bytes);
  EXPECT_EQ(r.problem, "hash_mismatch");
  EXPECT_EQ(r.problem_sequence, 2);
}

TEST_F(AuditExportTest, TheCommandLineVerifierChecksAnExportFile) {
  const std::string dir = FreshPath("verify_cli");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p '", dir, "'").c_str()), 0);
  const std::string good = dir + "/good.export", bad = dir + "/bad.export",
                    pubkey = dir + "/audit.pub", report = dir + "/report.txt";
  std::ofstream(good, std::ios::binary) << bytes_;
  items_.erase(items_.begin() + IndexOfEvent(items_, 4));
  std::ofstream(bad, std::ios::binary) << Serialize(items_);
  auto pem = audit::PublicKeyPem(env_->host().audit_keys().PublicKeys().front().second);
  ASSERT_TRUE(pem.ok());
  std::ofstream(pubkey) << *pem;

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
  EXPECT_EQ(run(good), 0);
  EXPECT_THAT(output(), ::testing::StartsWith("ok\n"));
  EXPECT_THAT(output(), ::testing::HasSubstr("unanchored events: 0"));
  EXPECT_EQ(run(bad), 1);
  EXPECT_THAT(output(), ::testing::StartsWith("FAILED: sequence_gap at sequence 4"));
  EXPECT_EQ(run(bad, "--json"), 1);
  EXPECT_THAT(output(),
              ::testing::HasSubstr("\"problem\":\"sequence_gap\",\"problem_sequence\":4"));
  EXPECT_EQ(run(dir + "/missing.export"), 2);
}

TEST_F(AuditExportTest, TheExportCommandSavesAFileTheVerifierAccepts) {
  const std::string dir = FreshPath("export_cli");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p '", dir, "'").c_str()), 0);
  const std::string file = dir + "/log.export", pubkey = dir + "/audit.pub";
  std::ofstream(pubkey) << *audit::PublicKeyPem(
      env_->host().audit_keys().PublicKeys().front().second);
  auto token =
      env_->host().issuer().Issue(env_->member_id(kAuditor), env_->service_id("agaj"), {"auditor"});
  ASSERT_TRUE(token.ok()) << token.status();
  auto export_to = [&](const std::string& token_value) {
    const int rc = std::system(
        absl::StrCat("RELAIS_TOKEN='", token_value, "' ", RELAIS_AUDIT_EXPORT,
                     " --insecure --addr 127.0.0.1:", env_->host().port(), " --out '", file, "'")
            .c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(export_to("not-a-token"), 1);
  EXPECT_FALSE(std::ifstream(file).good()) << "a refused export leaves no file";
  ASSERT_EQ(export_to(*token), 0);
  const int rc = std::system(
      absl::StrCat(RELAIS_AUDIT_VERIFY, " '", file, "' --pubkey '", pubkey, "' > /dev/null")
          .c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

TEST(AuditCheckpoints, TheServerSignsAfterAHundredEventsAndOnShutdown) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string keys_dir = env->keys_dir();
  const std::string db_path = env->db_path();
  auto covered = [&]() -> int64_t {
    auto latest = env->host().audit().LatestCheckpoint();
    EXPECT_TRUE(latest.ok());
    return latest.ok() && latest->has_value() ? (*latest)->sequence() : 0;
  };
  // 100 refused calls are 100 audit events; the fake clock does not move, so
  // only the count can trigger.
  for (int i = 0; i < 100; ++i) {
    v1::VerifyLogResponse r;
    EXPECT_FALSE(env->audit().VerifyLog(env->Anonymous().get(), v1::VerifyLogRequest(), &r).ok());
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (covered() < 100 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_GE(covered(), 100);

  v1::VerifyLogResponse r;
  EXPECT_FALSE(env->audit().VerifyLog(env->Anonymous().get(), v1::VerifyLogRequest(), &r).ok());
  auto head = env->host().audit().Head();
  ASSERT_TRUE(head.ok());
  env->Stop();

  // After a restart on the same files: the shutdown signed the tail, and the
  // audit key (kept in <keys_dir>/audit) still verifies it.
  auto again = RelaisEnv::Start(db_path, /*seed=*/false, keys_dir);
  ASSERT_NE(again, nullptr);
  auto latest = again->host().audit().LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->sequence(), head->sequence);
  EXPECT_EQ((*latest)->head_hash(), head->hash);
  grpc::Status status;
  const std::string bytes = ExportBytes(*again, kAuditor, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  audit::ExportReport report = VerifyBytes(*again, bytes);
  EXPECT_TRUE(report.ok) << report.problem << ": " << report.detail;
  EXPECT_EQ(report.unanchored, 0);
}

}  // namespace
}  // namespace relais::testing
