// Checkpoint encoding and signatures, and the Checkpointer over a real
// database: when it signs, what it refuses to sign, its background thread.

#include "services/audit/checkpoint.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/audit/audit_log.h"
#include "services/audit/checkpointer.h"
#include "storage/testing/fresh_database.h"

namespace relais::audit {
namespace {

const std::string kHashA(64, 'a');

std::vector<auth::VerifyingKey> Trusted(const auth::KeyRing& ring, bool with_ids = true) {
  std::vector<auth::VerifyingKey> out;
  for (auto& [id, raw] : ring.PublicKeys()) {
    auto key = auth::VerifyingKey::FromRaw(with_ids ? id : "", raw);
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) out.push_back(*std::move(key));
  }
  return out;
}

TEST(CheckpointEncoding, IsTheDocumentedSixtyEightBytes) {
  const std::string hash = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  absl::StatusOr<std::string> input =
      CheckpointSigningInput(0x0102030405060708, hash, 0x1112131415161718);
  ASSERT_TRUE(input.ok()) << input.status();
  const std::string expected =
      absl::StrCat("relais-checkpoint-v1", absl::HexStringToBytes("0102030405060708"),
                   absl::HexStringToBytes(hash), absl::HexStringToBytes("1112131415161718"));
  EXPECT_EQ(*input, expected);
  EXPECT_EQ(input->size(), 68u);
}

TEST(CheckpointEncoding, RefusesAHashThatIsNotLowerCaseHex) {
  for (const std::string& bad :
       {std::string(63, 'a'), std::string(64, 'A'), std::string(64, 'g'), std::string()}) {
    EXPECT_EQ(CheckpointSigningInput(1, bad, 0).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CheckpointEncoding, TimestampMicrosRoundTripsBeforeAndAfterTheEpoch) {
  for (int64_t micros :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1764061200123456}, int64_t{-1000001}}) {
    google::protobuf::Timestamp ts;
    SetTimestampMicros(&ts, micros);
    EXPECT_GE(ts.nanos(), 0);
    EXPECT_EQ(TimestampMicros(ts), micros);
  }
}

TEST(CheckpointSignature, VerifiesWithTheRingsKeyAndBreaksWhenAnyFieldChanges) {
  auto ring = auth::KeyRing::InMemory();
  const absl::Time time = absl::FromUnixMicros(1764061200123456);
  absl::StatusOr<v1::Checkpoint> cp = SignCheckpoint(*ring, 42, kHashA, time);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->sequence(), 42);
  EXPECT_EQ(cp->head_hash(), kHashA);
  EXPECT_EQ(TimestampMicros(cp->time()), 1764061200123456);
  EXPECT_EQ(cp->key_id(), ring->CurrentKeyId());
  EXPECT_EQ(cp->signature().size(), auth::kEd25519SignatureBytes);
  EXPECT_TRUE(VerifyCheckpointSignature(*cp, Trusted(*ring)));
  // A key handed over without its id (a PEM file) verifies too.
  EXPECT_TRUE(VerifyCheckpointSignature(*cp, Trusted(*ring, /*with_ids=*/false)));

  v1::Checkpoint changed = *cp;
  changed.set_sequence(43);
  EXPECT_FALSE(VerifyCheckpointSignature(changed, Trusted(*ring)));
  changed = *cp;
  changed.set_head_hash(std::string(64, 'b'));
  EXPECT_FALSE(VerifyCheckpointSignature(changed, Trusted(*ring)));
  changed = *cp;
  changed.mutable_time()->set_seconds(cp->time().seconds() + 1);
  EXPECT_FALSE(VerifyCheckpointSignature(changed, Trusted(*ring)));
  changed = *cp;
  changed.mutable_signature()->at(0) ^= 1;
  EXPECT_FALSE(VerifyCheckpointSignature(changed, Trusted(*ring)));

  auto other = auth::KeyRing::InMemory();
  EXPECT_FALSE(VerifyCheckpointSignature(*cp, Trusted(*other)));
}

TEST(CheckpointSignature, IsNotATokenSignature) {
  // The tag separates domains: the same key signing the bare 48 bytes of
  // sequence, hash and time would not produce a checkpoint signature.
  auto ring = auth::KeyRing::InMemory();
  absl::StatusOr<v1::Checkpoint> cp = SignCheckpoint(*ring, 1, kHashA, absl::UnixEpoch());
  ASSERT_TRUE(cp.ok());
  absl::StatusOr<std::string> input = CheckpointSigningInput(*cp);
  ASSERT_TRUE(input.ok());
  auto bare = ring->SignWithCurrent(input->substr(kCheckpointEncodingTag.size()));
  ASSERT_TRUE(bare.ok());
  v1::Checkpoint forged = *cp;
  forged.set_signature(bare->second);
  EXPECT_FALSE(VerifyCheckpointSignature(forged, Trusted(*ring)));
}

TEST(CheckpointSignature, RefusesToSignNothing) {
  auto ring = auth::KeyRing::InMemory();
  EXPECT_EQ(SignCheckpoint(*ring, 0, kHashA, absl::UnixEpoch()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignCheckpoint(*ring, 1, "nothex", absl::UnixEpoch()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A fresh database file with an audit log, a frozen fake clock and an
// in-memory audit key ring.
class CheckpointerTest : public ::testing::Test {
 protected:
  CheckpointerTest() : clock_(absl::FromUnixSeconds(1764061200)), keys_(auth::KeyRing::InMemory()) {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/checkpointer_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    std::filesystem::remove(path_);
    storage::Database::Options options;
    options.path = path_;
    auto db = storage::Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto log = AuditLog::Create(db_.get(), &clock_);
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  ~CheckpointerTest() override {
    log_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  std::unique_ptr<Checkpointer> Make(int64_t every_events, absl::Duration every,
                                     absl::Duration poll = absl::Hours(1)) {
    return std::make_unique<Checkpointer>(
        log_.get(), keys_.get(), &clock_,
        Checkpointer::Options{.every_events = every_events, .every = every, .poll_interval = poll});
  }

  void Add(int n) {
    for (int i = 0; i < n; ++i) {
      EventInput e;
      e.request_id = "req";
      e.action = v1::ACTION_READ_ENTRY;
      e.decision = v1::DECISION_ALLOW;
      e.reason_code = "allowed";
      ASSERT_TRUE(log_->AppendStandalone(e).ok());
    }
  }

  int64_t Covered() {
    auto latest = log_->LatestCheckpoint();
    EXPECT_TRUE(latest.ok()) << latest.status();
    return latest.ok() && latest->has_value() ? (*latest)->sequence() : 0;
  }

  // Waits (real time) until a checkpoint covers `sequence`.
  bool WaitCovered(int64_t sequence) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (Covered() >= sequence) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  void Sql(const std::string& sql) {
    ASSERT_TRUE(db_->Write([&](storage::Connection& c) { return c.Exec(sql); }).ok());
  }

  common::FakeClock clock_;
  std::unique_ptr<auth::KeyRing> keys_;
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(CheckpointerTest, SignsTheHeadOnceAndStoresIt) {
  auto cp = Make(100, absl::Hours(1));
  auto none = cp->CheckpointNow();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value()) << "an empty log has nothing to sign";

  Add(3);
  auto made = cp->CheckpointNow();
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(made->has_value());
  auto head = log_->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ((*made)->sequence(), 3);
  EXPECT_EQ((*made)->head_hash(), head->hash);
  EXPECT_EQ(TimestampMicros((*made)->time()), absl::ToUnixMicros(clock_.Now()));
  EXPECT_TRUE(VerifyCheckpointSignature(**made, Trusted(*keys_)));

  auto stored = log_->LatestCheckpoint();
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->SerializeAsString(), (*made)->SerializeAsString());

  auto again = cp->CheckpointNow();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "the head is already covered";

  Add(1);
  auto next = cp->CheckpointNow();
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->sequence(), 4);
  auto listed = log_->Checkpoints(0, 100, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].sequence(), 3);
  EXPECT_EQ((*listed)[1].sequence(), 4);
}

TEST_F(CheckpointerTest, IsDueAfterNEventsOrWhenTheLastCheckpointIsOld) {
  auto cp = Make(5, absl::Seconds(60));
  Add(4);
  auto due = cp->CheckpointIfDue();
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_FALSE(due->has_value()) << "4 events, no time passed";
  Add(1);
  due = cp->CheckpointIfDue();
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_TRUE(due->has_value());
  EXPECT_EQ((*due)->sequence(), 5);

  Add(1);
  clock_.Advance(absl::Seconds(59));
  due = cp->CheckpointIfDue();
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(due->has_value()) << "1 event, 59 s";
  clock_.Advance(absl::Seconds(1));
  due = cp->CheckpointIfDue();
  ASSERT_TRUE(due.ok());
  ASSERT_TRUE(due->has_value()) << "1 event, 60 s";
  EXPECT_EQ((*due)->sequence(), 6);

  clock_.Advance(absl::Hours(1));
  due = cp->CheckpointIfDue();
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(due->has_value()) << "old, but no new event";
}

TEST_F(CheckpointerTest, APollThatIsNotDueLeavesVerificationToTheDueCheckpoint) {
  // Polls come every second: one that is not due reads no event (it would
  // re-verify the whole unsigned tail each time); the due one verifies it all
  // and refuses a tampered event, however long ago it was written.
  auto cp = Make(100, absl::Seconds(60));
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(2);
  Sql("UPDATE audit_events SET youth_id = 'y-tampered' WHERE sequence = 4");
  auto not_due = cp->CheckpointIfDue();
  ASSERT_TRUE(not_due.ok()) << not_due.status();
  EXPECT_FALSE(not_due->has_value());
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(cp->CheckpointIfDue().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(cp->refusing());
}

TEST_F(CheckpointerTest, RefusesToSignAChainThatFailsSinceTheLastCheckpoint) {
  auto cp = Make(100, absl::Hours(1));
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Add(2);
  Sql("UPDATE audit_events SET youth_id = 'y-tampered' WHERE sequence = 4");
  auto refused = cp->CheckpointNow();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("hash_mismatch at 4"), std::string::npos)
      << refused.status();
  EXPECT_EQ(Covered(), 3);
}

TEST_F(CheckpointerTest, RefusesToContinueFromACheckpointItDidNotSign) {
  auto cp = Make(100, absl::Hours(1));
  Add(3);
  auto head = log_->Head();
  ASSERT_TRUE(head.ok());
  // A row planted in the table, e.g. to make the server bless a rewritten chain.
  Sql("INSERT INTO audit_checkpoints VALUES (3, '" + head->hash + "', 0, 'k-forged', " +
      storage::testing::BlobLiteral("00") + ")");
  Add(1);
  auto refused = cp->CheckpointNow();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_EQ(Covered(), 3);
}

TEST_F(CheckpointerTest, RefusesALogShorterThanItsCheckpoint) {
  auto cp = Make(100, absl::Hours(1));
  Add(3);
  ASSERT_TRUE(cp->CheckpointNow().ok());
  Sql("DELETE FROM audit_events WHERE sequence = 3");
  EXPECT_EQ(cp->CheckpointNow().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CheckpointerTest, BackgroundThreadSignsAfterNEventsAndStopSignsTheRest) {
  // Polling once an hour: only the append listener can trigger in time.
  auto cp = Make(3, absl::Hours(1));
  cp->Start();
  Add(2);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Covered(), 0);
  Add(1);
  EXPECT_TRUE(WaitCovered(3));
  Add(1);
  cp->Stop();
  EXPECT_EQ(Covered(), 4) << "Stop() signs the tail";
  cp->Stop();  // idempotent
  Add(1);
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(Covered(), 4) << "a stopped checkpointer no longer listens";
}

TEST_F(CheckpointerTest, BackgroundThreadSignsWhenTheLastCheckpointGetsOld) {
  auto cp = Make(1000, absl::Seconds(60), /*poll=*/absl::Milliseconds(5));
  cp->Start();
  Add(1);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Covered(), 0) << "the fake clock has not moved";
  clock_.Advance(absl::Seconds(60));
  EXPECT_TRUE(WaitCovered(1));
}

TEST_F(CheckpointerTest, TheSignerLeaseIsOneHoldersUntilReleasedOrExpired) {
  auto take = [&](const char* holder) {
    absl::StatusOr<bool> taken = log_->TakeSignerLease(holder, absl::Seconds(30));
    EXPECT_TRUE(taken.ok()) << taken.status();
    return taken.ok() && *taken;
  };
  EXPECT_TRUE(take("a"));
  EXPECT_FALSE(take("b")) << "a holds it";
  EXPECT_TRUE(take("a")) << "a renews its own";
  ASSERT_TRUE(log_->ReleaseSignerLease("b").ok());
  EXPECT_FALSE(take("b")) << "b cannot release a's lease";
  clock_.Advance(absl::Seconds(31));
  EXPECT_TRUE(take("b")) << "a's lease expired (a signer that died)";
  EXPECT_FALSE(take("a"));
  ASSERT_TRUE(log_->ReleaseSignerLease("b").ok());
  EXPECT_TRUE(take("a"));
}

// Two instances over one database (issue #15): while one signs, the other's
// due checkpoint waits its turn and an asked-for one fails UNAVAILABLE after
// lease_wait; once the lease is free, the other signs, extending what the
// first signed.
TEST_F(CheckpointerTest, InstancesSharingTheLogSignOneAtATime) {
  auto first = Make(1, absl::Hours(1));
  auto second = std::make_unique<Checkpointer>(
      log_.get(), keys_.get(), &clock_,
      Checkpointer::Options{
          .every_events = 1, .every = absl::Hours(1), .lease_wait = absl::Milliseconds(100)});
  Add(2);
  ASSERT_TRUE(first->CheckpointNow().ok());
  EXPECT_EQ(Covered(), 2);
  Add(2);
  // Another instance in the middle of signing.
  ASSERT_TRUE(*log_->TakeSignerLease("another-instance", absl::Seconds(30)));
  auto due = second->CheckpointIfDue();
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_FALSE(due->has_value()) << "not its turn";
  EXPECT_EQ(second->CheckpointNow().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second->refusals(), 0) << "waiting is not a refusal";
  EXPECT_EQ(Covered(), 2);
  ASSERT_TRUE(log_->ReleaseSignerLease("another-instance").ok());
  auto made = second->CheckpointIfDue();
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(made->has_value());
  EXPECT_EQ((*made)->sequence(), 4);
  // The first instance continues from the second's checkpoint.
  Add(1);
  auto next = first->CheckpointNow();
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->sequence(), 5);
  EXPECT_TRUE(*log_->TakeSignerLease("another-instance", absl::Seconds(30)))
      << "each signer releases the lease when done";
}

TEST_F(CheckpointerTest, AnUnstartedCheckpointerSignsNothingWhenDestroyed) {
  Add(2);
  Make(1, absl::Seconds(1)).reset();
  EXPECT_EQ(Covered(), 0);
}

}  // namespace
}  // namespace relais::audit
