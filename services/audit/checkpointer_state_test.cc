// What the checkpointer keeps outside the database (witness.h): the state file
// of the last checkpoint it signed, which makes it refuse to sign a rewritten
// or shortened log, and the witness file an operator ships off the host.

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/audit/audit_log.h"
#include "services/audit/checkpoint.h"
#include "services/audit/checkpointer.h"
#include "services/audit/witness.h"

namespace relais::audit {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

v1::Checkpoint Signed(const auth::KeyRing& keys, int64_t sequence) {
  auto c = SignCheckpoint(keys, sequence, std::string(64, 'b'), absl::FromUnixMicros(1234567));
  EXPECT_TRUE(c.ok());
  return *c;
}

TEST(WitnessLine, RoundTripsEveryFieldTheSignatureNeeds) {
  auto keys = auth::KeyRing::InMemory();
  const v1::Checkpoint c = Signed(*keys, 42);
  const std::string line = FormatWitnessLine(c);
  EXPECT_EQ(line.substr(0, 16), "{\"sequence\":42,\"");
  EXPECT_NE(line.find("\"signed_at\":\"1970-01-01T00:00:01.234567Z\""), std::string::npos);
  EXPECT_EQ(line.back(), '\n');
  auto parsed = ParseWitnessLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), c.SerializeAsString());
  EXPECT_TRUE(VerifyCheckpointSignature(*parsed, TrustedKeys(*keys)));
}

TEST(WitnessLine, RefusesAnythingButTheCanonicalFormat) {
  auto keys = auth::KeyRing::InMemory();
  const std::string line = FormatWitnessLine(Signed(*keys, 7));
  EXPECT_FALSE(ParseWitnessLine("not json").ok());
  EXPECT_FALSE(ParseWitnessLine("{}").ok());
  std::string spaced = line;
  spaced.insert(1, " ");
  EXPECT_FALSE(ParseWitnessLine(spaced).ok());
  std::string negative = line;
  negative.replace(negative.find("7"), 1, "-7");
  EXPECT_FALSE(ParseWitnessLine(negative).ok());
  std::string extra = line;
  extra.insert(extra.size() - 2, ",\"x\":1");
  EXPECT_FALSE(ParseWitnessLine(extra).ok());
}

class StateFilesTest : public ::testing::Test {
 protected:
  StateFilesTest() {
    static std::atomic<int> counter{0};
    dir_ = ::testing::TempDir() + "/state_files_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~StateFilesTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::unique_ptr<auth::KeyRing> keys_ = auth::KeyRing::InMemory();
};

TEST_F(StateFilesTest, WitnessFileAppendsLinesAndRefusesOnesNotSignedByTheKey) {
  const std::string path = dir_ + "/audit-witness.jsonl";
  auto empty = ReadWitnessFile(path, TrustedKeys(*keys_));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty()) << "no file yet: no entry";
  ASSERT_TRUE(AppendWitnessLine(path, Signed(*keys_, 3)).ok());
  ASSERT_TRUE(AppendWitnessLine(path, Signed(*keys_, 9)).ok());
  EXPECT_EQ(Lines(ReadFile(path)).size(), 2u);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto witness = ReadWitnessFile(path, TrustedKeys(*keys_));
  ASSERT_TRUE(witness.ok()) << witness.status();
  ASSERT_EQ(witness->size(), 2u);
  EXPECT_EQ(witness->begin()->first, 3);

  auto stranger = auth::KeyRing::InMemory();
  ASSERT_TRUE(AppendWitnessLine(path, Signed(*stranger, 12)).ok());
  auto refused = ReadWitnessFile(path, TrustedKeys(*keys_));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("line 3"), std::string::npos) << refused.status();
}

TEST_F(StateFilesTest, StateFileIsReplacedWholeAndRefusedWhenOthersMayWriteIt) {
  const std::string path = dir_ + "/audit-checkpoint.state";
  auto none = ReadStateFile(path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(WriteStateFile(path, Signed(*keys_, 5)).ok());
  ASSERT_TRUE(WriteStateFile(path, Signed(*keys_, 8)).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto state = ReadStateFile(path);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((*state)->sequence(), 8);
  EXPECT_EQ(Lines(ReadFile(path)).size(), 1u);

  ASSERT_EQ(::chmod(path.c_str(), 0620), 0);
  EXPECT_EQ(ReadStateFile(path).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  const std::string link = dir_ + "/link.state";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_EQ(ReadStateFile(link).status().code(), absl::StatusCode::kFailedPrecondition);
  std::ofstream(path, std::ios::trunc) << "garbage\n";
  EXPECT_EQ(ReadStateFile(path).status().code(), absl::StatusCode::kDataLoss);
}

// A log on a fresh database, a fake clock, an in-memory audit key, and the
// state and witness files in a directory of their own.
class CheckpointerStateTest : public StateFilesTest {
 protected:
  CheckpointerStateTest() : clock_(absl::FromUnixSeconds(1764061200)) {
    storage::Database::Options options;
    options.path = dir_ + "/log.db";
    db_ = *storage::Database::Open(options);
    log_ = *AuditLog::Create(db_.get(), &clock_);
  }
  ~CheckpointerStateTest() override {
    log_.reset();
    db_.reset();
  }

  std::unique_ptr<Checkpointer> Make(const std::string& state = "") {
    return std::make_unique<Checkpointer>(
        log_.get(), keys_.get(), &clock_,
        Checkpointer::Options{.every_events = 100,
                              .every = absl::Hours(1),
                              .poll_interval = absl::Hours(1),
                              .state_file = state.empty() ? state_path() : state,
                              .witness_file = witness_path()});
  }
  std::string state_path() const { return dir_ + "/audit-checkpoint.state"; }
  std::string witness_path() const { return dir_ + "/audit-witness.jsonl"; }

  void Add(int n) {
    for (int i = 0; i < n; ++i) {
      EventInput e;
      e.request_id = "req-" + std::to_string(i);
      e.action = v1::ACTION_READ_ENTRY;
      e.decision = v1::DECISION_ALLOW;
      e.reason_code = "allowed";
      ASSERT_TRUE(log_->AppendStandalone(e).ok());
      clock_.Advance(absl::Seconds(1));
    }
  }
  void Sql(const std::string& sql) {
    ASSERT_TRUE(db_->Write([&](storage::Connection& c) { return c.Exec(sql); }).ok()) << sql;
  }
  // Alters event `from` and recomputes every hash after it, as someone with
  // write access to the database but without the audit key would.
  void RewriteFrom(int64_t from) {
    auto events = log_->Query({}, 0, 1000);
    ASSERT_TRUE(events.ok());
    std::string prev;
    for (v1::AuditEvent& e : *events) {
      if (e.sequence() < from) continue;
      if (e.sequence() == from) e.set_request_id("req-rewritten");
      if (e.sequence() > from) e.set_prev_hash(prev);
      e.set_hash(*ComputeEventHash(e));
      prev = e.hash();
      Sql("UPDATE audit_events SET request_id = '" + e.request_id() + "', prev_hash = '" +
          e.prev_hash() + "', hash = '" + e.hash() +
          "' WHERE sequence = " + std::to_string(e.sequence()));
    }
  }
  int64_t Covered() {
    auto latest = log_->LatestCheckpoint();
    return latest.ok() && latest->has_value() ? (*latest)->sequence() : 0;
  }

  common::FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(CheckpointerStateTest, RecordsEachCheckpointInTheStateAndWitnessFiles) {
  auto cp = Make();
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(2);
  auto made = cp->CheckpointNow();
  ASSERT_TRUE(made.ok()) << made.status();
  auto state = ReadStateFile(state_path());
  ASSERT_TRUE(state.ok() && state->has_value()) << state.status();
  EXPECT_EQ((*state)->SerializeAsString(), (*made)->SerializeAsString());
  auto witness = ReadWitnessFile(witness_path(), TrustedKeys(*keys_));
  ASSERT_TRUE(witness.ok()) << witness.status();
  ASSERT_EQ(witness->size(), 2u);
  EXPECT_EQ(witness->rbegin()->second.SerializeAsString(), (*made)->SerializeAsString());
  EXPECT_EQ(cp->refusals(), 0);
  EXPECT_FALSE(cp->refusing());
}

TEST_F(CheckpointerStateTest, RefusesToSignARewrittenChainWhoseCheckpointsWereDeleted) {
  auto cp = Make();
  Add(5);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  // Event 2 rewritten, the chain re-hashed, the checkpoint rows deleted: the
  // database alone now holds a valid-looking chain with nothing signed.
  RewriteFrom(2);
  Sql("DELETE FROM audit_checkpoints");
  Add(1);
  auto refused = cp->CheckpointNow();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("no longer has the hash"), std::string::npos)
      << refused.status();
  EXPECT_EQ(Covered(), 0) << "never a checkpoint over the rewritten chain";
  EXPECT_EQ(cp->refusals(), 1);
  EXPECT_TRUE(cp->refusing());
  EXPECT_FALSE(cp->CheckpointIfDue().ok()) << "and it keeps refusing";
  EXPECT_EQ(cp->refusals(), 2);

  // A restarted checkpointer reads the state file and refuses as well.
  cp.reset();
  auto restarted = Make();
  EXPECT_EQ(restarted->CheckpointNow().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Covered(), 0);
  EXPECT_EQ(Lines(ReadFile(witness_path())).size(), 1u) << "nothing new witnessed";
}

TEST_F(CheckpointerStateTest, RefusesALogCutBackBeforeTheLastSignedHead) {
  auto cp = Make();
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  // Back to how it was at the first checkpoint: a consistent, shorter log.
  Sql("DELETE FROM audit_events WHERE sequence > 3");
  Sql("DELETE FROM audit_checkpoints WHERE sequence > 3");
  Add(1);
  auto refused = cp->CheckpointNow();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("events were removed"), std::string::npos);
  EXPECT_EQ(Covered(), 3);
}

TEST_F(CheckpointerStateTest, RefusesWhenTheLastSignedCheckpointRowIsDeleted) {
  auto cp = Make();
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Sql("DELETE FROM audit_checkpoints WHERE sequence = 6");
  Add(1);
  auto refused = cp->CheckpointNow();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("missing from the database"), std::string::npos);
}

TEST_F(CheckpointerStateTest, WithoutAStateFileAdoptsTheNewestCheckpointOnlyIfTheLogVerifies) {
  auto cp = Make();
  Add(4);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  cp.reset();
  // The state file lost (first start after an upgrade, or moved aside): the
  // newest stored checkpoint is adopted after the whole log verifies.
  std::filesystem::remove(state_path());
  auto adopted = Make();
  auto last = adopted->LastSigned();
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->sequence(), 4);
  EXPECT_TRUE(std::filesystem::exists(state_path()));
  Add(1);
  ASSERT_TRUE(adopted->CheckpointNow().ok());
  adopted.reset();

  // A rewritten log is not adopted.
  std::filesystem::remove(state_path());
  RewriteFrom(2);
  auto refused = Make();
  EXPECT_EQ(refused->CheckpointNow().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(refused->refusing());
  EXPECT_FALSE(std::filesystem::exists(state_path()));
}

TEST_F(CheckpointerStateTest, DoesNotAdoptALogRolledBackBehindItsWitness) {
  auto cp = Make();
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  cp.reset();
  // Rolled back to the first checkpoint, state file removed: the witness
  // still knows that event 6 was signed.
  Sql("DELETE FROM audit_events WHERE sequence > 3");
  Sql("DELETE FROM audit_checkpoints WHERE sequence > 3");
  std::filesystem::remove(state_path());
  auto refused = Make();
  auto status = refused->CheckpointNow().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("witness file holds later checkpoints"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace relais::audit
