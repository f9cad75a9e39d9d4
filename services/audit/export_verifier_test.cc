// The offline export verifier on exports laid out as the server lays them
// (keys, head checkpoint, events with checkpoints after their event), built
// from a real audit log and then altered item by item.

#include "services/audit/export_verifier.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "services/audit/audit_log.h"
#include "services/audit/checkpoint.h"
#include "services/audit/checkpointer.h"
#include "storage/testing/fresh_database.h"

namespace relais::audit {
namespace {

using Items = std::vector<v1::ExportItem>;

std::vector<auth::VerifyingKey> Trusted(const auth::KeyRing& ring) {
  std::vector<auth::VerifyingKey> out;
  for (auto& [id, raw] : ring.PublicKeys()) {
    auto key = auth::VerifyingKey::FromRaw(id, raw);
    EXPECT_TRUE(key.ok());
    out.push_back(*std::move(key));
  }
  return out;
}

std::string Serialize(const Items& items) {
  std::ostringstream out;
  for (const v1::ExportItem& item : items) {
    EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(item, &out));
  }
  return out.str();
}

// A log of 10 events with checkpoints at 4, 8 and 10, and an export of it
// whose head checkpoint covers 10, as the server makes one.
class ExportVerifierTest : public ::testing::Test {
 protected:
  ExportVerifierTest()
      : clock_(absl::FromUnixSeconds(1764061200)), keys_(auth::KeyRing::InMemory()) {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/export_verifier_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    std::filesystem::remove(path_);
    storage::Database::Options options;
    options.path = path_;
    db_ = *storage::Database::Open(options);
    log_ = *AuditLog::Create(db_.get(), &clock_);
    Checkpointer cp(log_.get(), keys_.get(), &clock_, {});
    for (int i = 1; i <= 10; ++i) {
      EventInput e;
      e.request_id = "req-" + std::to_string(i);
      e.actor_member_id = "m-1";
      e.action = v1::ACTION_READ_ENTRY;
      e.youth_id = "y-1";
      e.decision = v1::DECISION_ALLOW;
      e.reason_code = "allowed";
      EXPECT_TRUE(log_->AppendStandalone(e).ok());
      clock_.Advance(absl::Seconds(1));
      if (i == 4 || i == 8 || i == 10) {
        EXPECT_TRUE(cp.CheckpointNow().ok());
      }
    }
    items_ = ExportOf(*log_, *keys_);
  }
  ~ExportVerifierTest() override {
    log_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // What the server streams: keys, the newest checkpoint, then the events
  // each followed by its checkpoint.
  static Items ExportOf(const AuditLog& log, const auth::KeyRing& keys) {
    Items items;
    for (v1::PublicKey& key : AuditPublicKeys(keys)) *items.emplace_back().mutable_key() = key;
    auto latest = log.LatestCheckpoint();
    EXPECT_TRUE(latest.ok() && latest->has_value());
    *items.emplace_back().mutable_checkpoint() = **latest;
    auto events = log.Query({}, 0, 1000);
    auto checkpoints = log.Checkpoints(0, 1000, 1000);
    EXPECT_TRUE(events.ok() && checkpoints.ok());
    for (const v1::AuditEvent& e : *events) {
      *items.emplace_back().mutable_event() = e;
      for (const v1::Checkpoint& c : *checkpoints) {
        if (c.sequence() == e.sequence()) *items.emplace_back().mutable_checkpoint() = c;
      }
    }
    return items;
  }

  // Index of the item holding event `sequence` / the in-place checkpoint of it.
  size_t EventAt(int64_t sequence) const {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].has_event() && items_[i].event().sequence() == sequence) return i;
    }
    ADD_FAILURE() << "no event " << sequence;
    return 0;
  }

  ExportReport Verify(const Items& items, const auth::KeyRing* ring = nullptr, int64_t from = 1) {
    auto report = VerifyExportBytes(Serialize(items), Trusted(ring ? *ring : *keys_), from);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.value_or(ExportReport{});
  }

  common::FakeClock clock_;
  std::unique_ptr<auth::KeyRing> keys_;
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<AuditLog> log_;
  Items items_;
};

TEST_F(ExportVerifierTest, AcceptsAnIntactExportAnchoredAtItsLastEvent) {
  ExportReport r = Verify(items_);
  EXPECT_TRUE(r.ok) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.events, 10);
  EXPECT_EQ(r.first_sequence, 1);
  EXPECT_EQ(r.last_sequence, 10);
  EXPECT_EQ(r.head_hash, log_->Head()->hash);
  EXPECT_EQ(r.checkpoints, 4);  // head (10) ahead, then 4, 8 and 10 in place
  EXPECT_EQ(r.anchored_through, 10);
  ASSERT_TRUE(r.anchored_time.has_value());
  EXPECT_EQ(*r.anchored_time, absl::FromUnixSeconds(1764061200 + 10));
  EXPECT_EQ(r.unanchored, 0);
  EXPECT_EQ(r.keys_listed, 1);
  EXPECT_EQ(r.keys_trusted, 1);
  EXPECT_NE(FormatReport(r).find("ok\n"), std::string::npos);
}

// Removes every checkpoint item naming `sequence` (0: every checkpoint).
void RemoveCheckpoints(Items& items, int64_t sequence = 0) {
  std::erase_if(items, [&](const v1::ExportItem& item) {
    return item.has_checkpoint() && (sequence == 0 || item.checkpoint().sequence() == sequence);
  });
}

TEST_F(ExportVerifierTest, FailsWithoutAnyCheckpointSoTheKeyProvesSomething) {
  RemoveCheckpoints(items_);
  ExportReport r = Verify(items_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "no_checkpoint");
  EXPECT_EQ(r.problem_sequence, 10);
  EXPECT_EQ(r.events, 10) << "the chain itself is intact";
  EXPECT_NE(FormatReport(r).find("FAILED: no_checkpoint"), std::string::npos);
}

TEST_F(ExportVerifierTest, FailsWhenTheLastEventsFollowTheLastCheckpoint) {
  RemoveCheckpoints(items_, 10);  // the head ahead and in place
  ExportReport r = Verify(items_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "unanchored_tail");
  EXPECT_EQ(r.problem_sequence, 9);
  EXPECT_EQ(r.anchored_through, 8);
  EXPECT_EQ(r.unanchored, 2);
}

TEST_F(ExportVerifierTest, FailsWhenEventsAreAppendedAfterTheSignedHead) {
  // Someone without the key chains a well-formed event 11 after the head.
  v1::AuditEvent forged = items_[EventAt(10)].event();
  forged.set_sequence(11);
  forged.set_prev_hash(forged.hash());
  forged.set_request_id("req-forged");
  forged.set_hash(*ComputeEventHash(forged));
  *items_.emplace_back().mutable_event() = forged;
  ExportReport r = Verify(items_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "unanchored_tail");
  EXPECT_EQ(r.problem_sequence, 11);
  EXPECT_EQ(r.events, 11);
}

TEST_F(ExportVerifierTest, ReportsAnAlteredEventAsHashMismatch) {
  items_[EventAt(6)].mutable_event()->set_youth_id("y-2");
  ExportReport r = Verify(items_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "hash_mismatch");
  EXPECT_EQ(r.problem_sequence, 6);
  EXPECT_EQ(r.events, 5);
  EXPECT_NE(FormatReport(r).find("FAILED: hash_mismatch at sequence 6"), std::string::npos);
}

TEST_F(ExportVerifierTest, ReportsABrokenLinkAsChainBroken) {
  items_[EventAt(6)].mutable_event()->set_prev_hash(std::string(64, '1'));
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "chain_broken");
  EXPECT_EQ(r.problem_sequence, 6);
}

TEST_F(ExportVerifierTest, ReportsADeletedEventAsSequenceGap) {
  items_.erase(items_.begin() + EventAt(6));
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.problem_sequence, 6);
}

TEST_F(ExportVerifierTest, ReportsADeletedFirstEventAsSequenceGap) {
  items_.erase(items_.begin() + EventAt(1));
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.problem_sequence, 1);
}

TEST_F(ExportVerifierTest, ReportsReorderedEventsAsSequenceGapAtTheFirstOutOfPlace) {
  std::swap(items_[EventAt(6)], items_[EventAt(7)]);
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.problem_sequence, 6);
}

TEST_F(ExportVerifierTest, ReportsAnAlteredCheckpointAsSignatureInvalid) {
  v1::Checkpoint* cp = items_[EventAt(4) + 1].mutable_checkpoint();
  ASSERT_EQ(cp->sequence(), 4);
  cp->set_head_hash(items_[EventAt(3)].event().hash());
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "checkpoint_signature_invalid");
  EXPECT_EQ(r.problem_sequence, 4);
}

TEST_F(ExportVerifierTest, ReportsACheckpointSignedByAnotherKeyAsSignatureInvalid) {
  auto stranger = auth::KeyRing::InMemory();
  ExportReport r = Verify(items_, stranger.get());
  EXPECT_EQ(r.problem, "checkpoint_signature_invalid");
  EXPECT_EQ(r.problem_sequence, 10);  // the head checkpoint comes first
  EXPECT_EQ(r.keys_trusted, 0);
}

TEST_F(ExportVerifierTest, ReportsARewrittenChainAsCheckpointMismatch) {
  // Alter event 3 and recompute every later hash: a valid chain, but not the
  // one the server signed at 4.
  std::string prev;
  for (int64_t seq = 3; seq <= 10; ++seq) {
    v1::AuditEvent* e = items_[EventAt(seq)].mutable_event();
    if (seq == 3) e->set_youth_id("y-2");
    if (seq > 3) e->set_prev_hash(prev);
    e->set_hash(*ComputeEventHash(*e));
    prev = e->hash();
  }
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "checkpoint_mismatch");
  EXPECT_EQ(r.problem_sequence, 4);
  EXPECT_EQ(r.events, 4);
}

TEST_F(ExportVerifierTest, ReportsACheckpointMovedAfterLaterEventsAsMismatch) {
  const size_t at = EventAt(4) + 1;
  v1::ExportItem cp = items_[at];
  items_.erase(items_.begin() + at);
  items_.insert(items_.begin() + EventAt(6) + 1, cp);
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "checkpoint_mismatch");
  EXPECT_EQ(r.problem_sequence, 4);
}

TEST_F(ExportVerifierTest, ReportsAnExportCutAfterACheckpointAsCheckpointBeyondEnd) {
  items_.resize(EventAt(4) + 2);  // ... event 4, checkpoint 4
  ExportReport r = Verify(items_);
  EXPECT_EQ(r.problem, "checkpoint_beyond_end");
  EXPECT_EQ(r.problem_sequence, 10);
  EXPECT_EQ(r.events, 4);
}

TEST_F(ExportVerifierTest, ReportsBytesCutInsideAnItemAsMalformed) {
  std::string bytes = Serialize(items_);
  bytes.resize(bytes.size() - 3);  // inside checkpoint 10, after event 10
  auto r = VerifyExportBytes(bytes, Trusted(*keys_));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "malformed_export");
  EXPECT_EQ(r->problem_sequence, 11);
}

TEST_F(ExportVerifierTest, ReportsAnEmptyItemAndAnExportWithoutEventsAsMalformed) {
  items_.insert(items_.begin() + EventAt(2), v1::ExportItem());
  EXPECT_EQ(Verify(items_).problem, "malformed_export");
  EXPECT_EQ(Verify(Items{items_[0]}).problem, "malformed_export");
}

TEST_F(ExportVerifierTest, VerifiesAPartialExportFromItsFirstEvent) {
  Items partial(items_.begin(), items_.begin() + 2);  // key, head checkpoint
  partial.insert(partial.end(), items_.begin() + EventAt(5), items_.end());
  ExportReport r = Verify(partial, nullptr, /*from=*/5);
  EXPECT_TRUE(r.ok) << r.problem << ": " << r.detail;
  EXPECT_EQ(r.first_sequence, 5);
  EXPECT_EQ(r.events, 6);
  EXPECT_EQ(r.anchored_through, 10);
  EXPECT_EQ(r.unanchored, 0);
  // The same bytes checked as a full export lack events 1..4.
  EXPECT_EQ(Verify(partial).problem, "sequence_gap");
}

TEST_F(ExportVerifierTest, ReadsTheExportFromAFile) {
  const std::string file =
      ::testing::TempDir() + "/export_verifier_" + std::to_string(::getpid()) + ".export";
  std::ofstream(file, std::ios::binary) << Serialize(items_);
  auto r = VerifyExportFile(file, Trusted(*keys_));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->events, 10);
  std::filesystem::remove(file);
  EXPECT_EQ(VerifyExportFile(file, Trusted(*keys_)).status().code(), absl::StatusCode::kNotFound);
}

// The checkpoints of the fixture's log, as the server's witness file holds them.
Witness WitnessOf(const AuditLog& log) {
  Witness witness;
  auto checkpoints = log.Checkpoints(0, 1000, 1000);
  EXPECT_TRUE(checkpoints.ok());
  for (const v1::Checkpoint& c : *checkpoints) witness.emplace(c.sequence(), c);
  return witness;
}

TEST_F(ExportVerifierTest, AgreesWithTheWitnessOfAnHonestLog) {
  const Witness witness = WitnessOf(*log_);
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem << ": " << r->detail;
  EXPECT_TRUE(r->witness_given);
  EXPECT_EQ(r->witness_matched, 3);
  EXPECT_EQ(r->witness_beyond, 0);
  EXPECT_NE(FormatReport(*r).find("witness:           3 entries matched"), std::string::npos);
}

TEST_F(ExportVerifierTest, TheWitnessExposesAHistoryRewrittenWithAStolenKey) {
  const Witness witness = WitnessOf(*log_);
  // Event 3 altered, every later hash recomputed, every checkpoint re-signed
  // with the (stolen) audit key: the export alone cannot tell.
  std::string prev;
  for (int64_t seq = 3; seq <= 10; ++seq) {
    v1::AuditEvent* e = items_[EventAt(seq)].mutable_event();
    if (seq == 3) e->set_youth_id("y-2");
    if (seq > 3) e->set_prev_hash(prev);
    e->set_hash(*ComputeEventHash(*e));
    prev = e->hash();
  }
  for (v1::ExportItem& item : items_) {
    if (!item.has_checkpoint()) continue;
    const int64_t seq = item.checkpoint().sequence();
    auto resigned = SignCheckpoint(*keys_, seq, items_[EventAt(seq)].event().hash(),
                                   absl::FromUnixSeconds(1764061300 + seq));
    ASSERT_TRUE(resigned.ok());
    *item.mutable_checkpoint() = *resigned;
  }
  EXPECT_TRUE(Verify(items_).ok) << "a stolen key signs anything";
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "witness_mismatch");
  EXPECT_EQ(r->problem_sequence, 10) << "the head checkpoint, announced first, differs";
}

TEST_F(ExportVerifierTest, TheWitnessExposesARewrittenEventBeforeItsCheckpoint) {
  // The same rewrite, the checkpoints left alone and the head one dropped:
  // event 4's hash is not the one the witness recorded.
  const Witness witness = WitnessOf(*log_);
  RemoveCheckpoints(items_);
  std::string prev;
  for (int64_t seq = 3; seq <= 10; ++seq) {
    v1::AuditEvent* e = items_[EventAt(seq)].mutable_event();
    if (seq == 3) e->set_youth_id("y-2");
    if (seq > 3) e->set_prev_hash(prev);
    e->set_hash(*ComputeEventHash(*e));
    prev = e->hash();
  }
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "witness_mismatch");
  EXPECT_EQ(r->problem_sequence, 4);
}

TEST_F(ExportVerifierTest, TheWitnessExposesADeletedCheckpoint) {
  const Witness witness = WitnessOf(*log_);
  RemoveCheckpoints(items_, 4);
  EXPECT_TRUE(Verify(items_).ok) << "later checkpoints still anchor the chain";
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "checkpoint_missing");
  EXPECT_EQ(r->problem_sequence, 4);
}

TEST_F(ExportVerifierTest, TheExportsLastCheckpointMustBeInTheWitness) {
  Witness witness = WitnessOf(*log_);
  witness.erase(10);  // a witness copied before the export
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->problem, "witness_missing");
  EXPECT_EQ(r->problem_sequence, 10);
}

TEST_F(ExportVerifierTest, WitnessEntriesAfterTheExportAreCountedNotFailed) {
  Witness witness = WitnessOf(*log_);
  auto later = SignCheckpoint(*keys_, 12, std::string(64, 'a'), absl::FromUnixSeconds(1764061300));
  ASSERT_TRUE(later.ok());
  witness.emplace(12, *later);
  auto r = VerifyExportBytes(Serialize(items_), Trusted(*keys_), 1, &witness);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->witness_beyond, 1);
}

TEST(ExportVerifier, NeedsATrustedKey) {
  EXPECT_EQ(ExportVerifier::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PublicKeyPem, RoundTripsAndRefusesOtherText) {
  auto ring = auth::KeyRing::InMemory();
  const std::string raw = ring->PublicKeys().front().second;
  auto pem = PublicKeyPem(raw);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_NE(pem->find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto other = auth::KeyRing::InMemory();
  auto two = ParsePublicKeysPem(*pem + *PublicKeyPem(other->PublicKeys().front().second));
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].Raw(), raw);
  EXPECT_EQ(ParsePublicKeysPem("not a key").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyPem("short").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace relais::audit
