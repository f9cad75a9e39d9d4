// RetentionSweeper without a server: what a closed record's periods make due
// is erased (and audited), what is open, held or only dry-run is not.

#include "services/record/retention_sweeper.h"

#include <string>

#include "gtest/gtest.h"
#include "services/record/record_store.h"
#include "services/record/record_test_util.h"

namespace relais::record {
namespace {

constexpr char kAmo[] = "svc_amo";

class RetentionSweeperTest : public ::testing::Test {
 protected:
  RetentionSweeperTest() {
    // General entries kept 1 day, every other category 30 days.
    for (const auto& [category, period] : RetentionPolicy::Defaults().period) {
      policy_.period[category] = absl::Hours(24 * 30);
    }
    policy_.period[v1::DATA_CATEGORY_GENERAL] = absl::Hours(24);
    youth_ = f_.AddYouth(kAmo);
    general_ = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "g");
    health_ = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_HEALTH, "h");
    // The last accompaniment ended now: the retention clock starts.
    f_.care().span = {.open = false, .last_end = f_.clock().Now()};
  }

  RetentionSweeper Sweeper() {
    return RetentionSweeper({.db = &f_.db(),
                             .keys = &f_.keys(),
                             .care = &f_.care(),
                             .audit = &f_.audit(),
                             .clock = &f_.clock(),
                             .policy = policy_});
  }

  absl::StatusOr<v1::SweepRetentionResponse> Sweep(bool dry_run = false) {
    audit::EventInput sweep;
    sweep.request_id = "req_sweep";
    sweep.object_id = "sweep_1";
    return Sweeper().Sweep(dry_run, sweep);
  }

  bool Erased(const std::string& entry_id) {
    bool erased = false;
    EXPECT_TRUE(f_.db()
                    .Read([&](storage::Connection& c) -> absl::Status {
                      absl::StatusOr<std::optional<store::SealedEntry>> e =
                          store::GetEntry(c, entry_id);
                      if (!e.ok()) return e.status();
                      erased = e->has_value() && (*e)->erased;
                      return absl::OkStatus();
                    })
                    .ok());
    return erased;
  }

  int Audited(v1::Action action) {
    int n = 0;
    for (const v1::AuditEvent& e : f_.Events()) n += e.action() == action ? 1 : 0;
    return n;
  }

  testing::RecordFixture f_;
  RetentionPolicy policy_;
  std::string youth_, general_, health_;
};

TEST_F(RetentionSweeperTest, ErasesTheEntriesWhosePeriodHasPassedAndAuditsEachOne) {
  f_.clock().Advance(absl::Hours(48));
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries_erased(), 1);
  EXPECT_EQ(r->youths_erased(), 0);
  EXPECT_TRUE(Erased(general_));
  EXPECT_FALSE(Erased(health_));
  ASSERT_EQ(Audited(v1::ACTION_RETENTION_ERASE), 1);
  EXPECT_EQ(f_.Events().back().entry_id(), general_);
  EXPECT_EQ(f_.Events().back().object_id(), "sweep_1");
  EXPECT_EQ(f_.Events().back().reason_code(), "retention_due");
}

TEST_F(RetentionSweeperTest, ErasesTheWholeRecordOnceTheLongestPeriodHasPassed) {
  f_.clock().Advance(absl::Hours(24 * 31));
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->youths_erased(), 1);
  EXPECT_EQ(f_.records().GetYouthFacts(youth_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(f_.care().care_text_erased, 1);
  EXPECT_EQ(Audited(v1::ACTION_RETENTION_ERASE), 1);
}

TEST_F(RetentionSweeperTest, NeverSweepsAYouthWhoseAccompanimentIsOpen) {
  f_.care().span = {.open = true, .last_end = std::nullopt};
  f_.clock().Advance(absl::Hours(24 * 365));
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->items_size(), 0);
  EXPECT_FALSE(Erased(general_));
  EXPECT_TRUE(f_.records().GetYouthFacts(youth_).ok());
  EXPECT_EQ(Audited(v1::ACTION_RETENTION_ERASE), 0);
}

TEST_F(RetentionSweeperTest, ADryRunReportsWhatIsDueAndErasesNothing) {
  f_.clock().Advance(absl::Hours(48));
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweep(/*dry_run=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->dry_run());
  EXPECT_EQ(r->entries_erased(), 1);
  EXPECT_FALSE(Erased(general_));
  EXPECT_EQ(Audited(v1::ACTION_RETENTION_ERASE), 0);
}

TEST_F(RetentionSweeperTest, SkipsARecordUnderLegalHold) {
  ASSERT_TRUE(f_.db()
                  .Write([&](storage::Connection& c) {
                    return store::SetYouthFlag(c, youth_, store::YouthFlag::kLegalHold, true);
                  })
                  .ok());
  f_.clock().Advance(absl::Hours(24 * 31));
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweep();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->youths_skipped(), 1);
  ASSERT_EQ(r->items_size(), 1);
  EXPECT_EQ(r->items(0).skipped_reason(), "legal_hold");
  EXPECT_TRUE(f_.records().GetYouthFacts(youth_).ok());
}

TEST_F(RetentionSweeperTest, TheScheduledSweepIsAuditedAsTheServer) {
  absl::StatusOr<v1::SweepRetentionResponse> r = Sweeper().RunScheduled();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(Audited(v1::ACTION_RETENTION_SWEEP), 1);
  EXPECT_EQ(f_.Events().front().actor_member_id(), "relaisd");
  EXPECT_EQ(f_.Events().front().reason_code(), "scheduled");
}

}  // namespace
}  // namespace relais::record
