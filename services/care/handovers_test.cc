// The handover state machine on a bare care database: no server, no gRPC.

#include "services/care/handovers.h"

#include "common/proto_time.h"
#include "common/reason.h"
#include "gtest/gtest.h"
#include "services/care/accompaniments.h"
#include "services/care/care_store.h"
#include "services/care/care_test_support.h"
#include "services/care/handover_text.h"

namespace relais::care {
namespace {

using testing::Reason;
using Move = Handovers::Move;

constexpr absl::Duration kDay = absl::Hours(24);

class HandoversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Accompaniments::Opening in{
        "y_1", "svc_amo", "mbr_amo", "mbr_amo", v1::ACCOMPANIMENT_BASIS_VOLUNTARY, "svc_amo"};
    ASSERT_TRUE(Write([&](storage::Connection& c) {
                  return accompaniments_.Open(c, in, clock_.Now()).status();
                }).ok());
  }
  absl::Status Write(absl::FunctionRef<absl::Status(storage::Connection&)> fn) {
    return db_.get()->Write(fn);
  }
  Handovers::Proposal Proposal(absl::Duration starts_in, absl::Duration lasts,
                               const std::string& reason = "moving to the SAJ") {
    const absl::Time start = clock_.Now() + starts_in;
    return {"y_1",
            "svc_amo",
            "svc_saj",
            "mbr_amo",
            reason,
            common::ToProto(start),
            common::ToProto(start + lasts),
            /*convention_id=*/""};
  }
  absl::StatusOr<v1::Handover> Propose(const Handovers::Proposal& p) {
    absl::StatusOr<v1::Handover> out;
    absl::Status s = Write([&](storage::Connection& c) {
      out = handovers_.Propose(c, p, clock_.Now());
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }
  absl::StatusOr<v1::Handover> Do(const std::string& id, Move::Kind kind,
                                  const std::string& reason = "") {
    const Move move{kind, "mbr_x", "svc_saj", "mbr_saj", reason, clock_.Now()};
    absl::StatusOr<v1::Handover> out;
    absl::Status s = Write([&](storage::Connection& c) {
      out = handovers_.Transition(c, id, move);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  testing::CareDatabase db_;
  common::FakeClock clock_{testing::kT0};
  testing::FakeRecords records_;
  Accompaniments accompaniments_{db_.get()};
  Handovers handovers_{90 * kDay, db_.get(), &clock_, &records_};
};

TEST_F(HandoversTest, TheOverlapWindowIsCheckedAgainstTheConfiguredMaximum) {
  const absl::Time now = clock_.Now();
  EXPECT_TRUE(handovers_.CheckWindow(now, now + 90 * kDay, now).ok());
  EXPECT_EQ(Reason(handovers_.CheckWindow(now - absl::Minutes(2), now + kDay, now)), "in_the_past");
  EXPECT_EQ(Reason(handovers_.CheckWindow(now + kDay, now + kDay, now)), "window_empty");
  absl::Status too_long = handovers_.CheckWindow(now, now + 91 * kDay, now);
  EXPECT_EQ(Reason(too_long), "overlap_too_long");
  EXPECT_EQ(common::FieldOf(too_long), "overlap_end");
}

TEST_F(HandoversTest, OnlyAnAccompanyingServiceProposesAndTheReasonIsStoredSealed) {
  Handovers::Proposal p = Proposal(absl::ZeroDuration(), 10 * kDay);
  p.from_service_id = "svc_pms";
  EXPECT_EQ(Reason(Propose(p)), "no_active_accompaniment");
  absl::StatusOr<v1::Handover> h = Propose(Proposal(absl::ZeroDuration(), 10 * kDay));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->state(), v1::HANDOVER_STATE_PROPOSED);
  EXPECT_EQ(h->reason(), "moving to the SAJ");
  v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
  absl::StatusOr<v1::Handover> stored =
      handovers_.LoadFor("svc_amo", h->id(), Handovers::Side::kFrom, &deny);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->reason(),
            testing::FakeRecords::Tag("y_1", kHandoverReasonField, h->id()) + h->reason());
}

TEST_F(HandoversTest, TheSameProposalRepeatedIsIdempotentAnotherOneIsRefused) {
  const Handovers::Proposal p = Proposal(absl::ZeroDuration(), 10 * kDay);
  absl::StatusOr<v1::Handover> first = Propose(p);
  absl::StatusOr<v1::Handover> again = Propose(p);
  ASSERT_TRUE(first.ok() && again.ok()) << again.status();
  EXPECT_EQ(first->id(), again->id());
  absl::StatusOr<v1::Handover> other = Propose(Proposal(absl::ZeroDuration(), 10 * kDay, "other"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(other), "handover_already_open");
}

TEST_F(HandoversTest, AcceptStartsTheReceiverAndKeepsTheProposerUntilTheWindowEnds) {
  absl::StatusOr<v1::Handover> h = Propose(Proposal(absl::ZeroDuration(), 10 * kDay));
  ASSERT_TRUE(h.ok());
  absl::StatusOr<v1::Handover> accepted = Do(h->id(), Move::kAccept);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state(), v1::HANDOVER_STATE_ACCEPTED);
  EXPECT_EQ(accepted->decided_by_member_id(), "mbr_x");
  absl::StatusOr<std::vector<v1::Accompaniment>> list = accompaniments_.List("y_1", clock_.Now());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const v1::Accompaniment& a : *list) {
    EXPECT_TRUE(a.active()) << a.service_id();
    if (a.service_id() == "svc_saj") {
      EXPECT_EQ(a.id(), accepted->to_accompaniment_id());
      EXPECT_EQ(a.vouch(), v1::VOUCH_HANDOVER);
      EXPECT_EQ(a.vouched_by_member_id(), "mbr_amo");
    } else {
      EXPECT_EQ(a.end_time().seconds(), accepted->overlap_end().seconds());
    }
  }
  // Accepting again changes nothing.
  EXPECT_EQ(Do(h->id(), Move::kAccept)->to_accompaniment_id(), accepted->to_accompaniment_id());
}

TEST_F(HandoversTest, OnlyAProposedHandoverMayBeDeclinedOrCancelled) {
  absl::StatusOr<v1::Handover> h = Propose(Proposal(absl::ZeroDuration(), 10 * kDay));
  ASSERT_TRUE(h.ok());
  absl::StatusOr<v1::Handover> declined = Do(h->id(), Move::kDecline, "no room");
  ASSERT_TRUE(declined.ok()) << declined.status();
  EXPECT_EQ(declined->state(), v1::HANDOVER_STATE_DECLINED);
  EXPECT_EQ(declined->closing_reason(),
            testing::FakeRecords::Tag("y_1", kHandoverClosingReasonField, h->id()) + "no room");
  EXPECT_TRUE(Do(h->id(), Move::kDecline, "no room").ok());  // idempotent
  EXPECT_EQ(Reason(Do(h->id(), Move::kCancel)), "illegal_transition");
  EXPECT_EQ(Reason(Do(h->id(), Move::kAccept)), "illegal_transition");
  EXPECT_EQ(Reason(Do(h->id(), Move::kComplete)), "illegal_transition");
}

TEST_F(HandoversTest, AcceptingAfterTheWindowIsRefused) {
  absl::StatusOr<v1::Handover> h = Propose(Proposal(absl::ZeroDuration(), kDay));
  ASSERT_TRUE(h.ok());
  clock_.Advance(kDay);
  EXPECT_EQ(Reason(Do(h->id(), Move::kAccept)), "window_elapsed");
}

TEST_F(HandoversTest, CompletionWaitsForTheReceiverAndHappensWhenTheWindowCloses) {
  absl::StatusOr<v1::Handover> h = Propose(Proposal(2 * kDay, 10 * kDay));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(Do(h->id(), Move::kAccept).ok());
  EXPECT_EQ(Reason(Do(h->id(), Move::kComplete)), "incoming_not_started");
  // Nothing is due before the window's end; everything accepted is after.
  std::vector<v1::Handover> due;
  ASSERT_TRUE(Write([&](storage::Connection& c) {
                absl::StatusOr<std::vector<v1::Handover>> d =
                    handovers_.CompleteDue(c, clock_.Now());
                if (d.ok()) due = *d;
                return d.status();
              }).ok());
  EXPECT_TRUE(due.empty());
  clock_.Advance(12 * kDay);
  ASSERT_TRUE(Write([&](storage::Connection& c) {
                absl::StatusOr<std::vector<v1::Handover>> d =
                    handovers_.CompleteDue(c, clock_.Now());
                if (d.ok()) due = *d;
                return d.status();
              }).ok());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].state(), v1::HANDOVER_STATE_COMPLETED);
  EXPECT_TRUE(Do(h->id(), Move::kComplete).ok());  // already completed: unchanged
}

TEST_F(HandoversTest, OnlyThePartiesSeeAHandoverAndEachMayOnlyPlayItsSide) {
  absl::StatusOr<v1::Handover> h = Propose(Proposal(absl::ZeroDuration(), 10 * kDay));
  ASSERT_TRUE(h.ok());
  v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
  std::string youth;
  EXPECT_EQ(Reason(handovers_.LoadFor("svc_pms", h->id(), Handovers::Side::kFrom, &deny, &youth)),
            "handover_not_found");
  EXPECT_TRUE(youth.empty());
  EXPECT_EQ(Reason(handovers_.LoadFor("svc_saj", h->id(), Handovers::Side::kFrom, &deny, &youth)),
            "wrong_service");
  EXPECT_EQ(deny, v1::ACCESS_REASON_WRONG_SERVICE);
  EXPECT_EQ(youth, "y_1");
  EXPECT_TRUE(handovers_.LoadFor("svc_saj", h->id(), Handovers::Side::kTo, &deny).ok());
  absl::StatusOr<std::vector<v1::Handover>> listed = handovers_.List("svc_saj", "");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  EXPECT_TRUE(handovers_.List("svc_pms", "")->empty());
}

TEST_F(HandoversTest, EndingSoonMeansAcceptedWithAWindowClosingWithinTheDays) {
  const absl::Time now = clock_.Now();
  v1::Handover h;
  h.set_state(v1::HANDOVER_STATE_ACCEPTED);
  *h.mutable_overlap_end() = common::ToProto(now + 3 * kDay);
  EXPECT_TRUE(Handovers::EndsWithin(h, now, 3));
  EXPECT_FALSE(Handovers::EndsWithin(h, now, 2));
  EXPECT_TRUE(Handovers::EndsWithin(h, now, 0));  // no filter
  h.set_state(v1::HANDOVER_STATE_PROPOSED);
  EXPECT_FALSE(Handovers::EndsWithin(h, now, 3));
  h.set_state(v1::HANDOVER_STATE_ACCEPTED);
  EXPECT_FALSE(Handovers::EndsWithin(h, now + 3 * kDay, 3));  // already ended
}

}  // namespace
}  // namespace relais::care
