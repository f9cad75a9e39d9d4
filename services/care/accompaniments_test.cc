// The accompaniment rules on a bare care database: no server, no gRPC.

#include "services/care/accompaniments.h"

#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "services/care/care_test_support.h"
#include "services/care/handovers.h"

namespace relais::care {
namespace {

using testing::Reason;

class AccompanimentsTest : public ::testing::Test {
 protected:
  absl::StatusOr<v1::Accompaniment> Open(
      const std::string& service, const std::string& creator,
      v1::AccompanimentBasis basis = v1::ACCOMPANIMENT_BASIS_VOLUNTARY) {
    Accompaniments::Opening in{"y_1", service, "mbr_" + service, "ref_" + service, basis, creator};
    absl::StatusOr<v1::Accompaniment> out;
    absl::Status s = db_.get()->Write([&](storage::Connection& c) -> absl::Status {
      out = accompaniments_.Open(c, in, now_);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }
  absl::StatusOr<v1::Accompaniment> End(const std::string& service, const std::string& id) {
    absl::StatusOr<v1::Accompaniment> out;
    absl::Status s = db_.get()->Write([&](storage::Connection& c) -> absl::Status {
      out = accompaniments_.End(c, service, id, now_);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }
  absl::StatusOr<v1::Accompaniment> Vouch(const std::string& id, v1::Vouch verdict) {
    absl::StatusOr<v1::Accompaniment> out;
    absl::Status s = db_.get()->Write([&](storage::Connection& c) -> absl::Status {
      out = accompaniments_.Vouch(c, id, verdict, "mbr_voucher", now_);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  testing::CareDatabase db_;
  Accompaniments accompaniments_{db_.get()};
  absl::Time now_ = testing::kT0;
};

TEST_F(AccompanimentsTest, OnlyTheFirstContactIsVouchedAtOnce) {
  absl::StatusOr<v1::Accompaniment> amo = Open("svc_amo", /*creator=*/"svc_amo");
  ASSERT_TRUE(amo.ok()) << amo.status();
  EXPECT_EQ(amo->vouch(), v1::VOUCH_FIRST_CONTACT);
  EXPECT_EQ(amo->vouched_by_member_id(), "mbr_svc_amo");
  EXPECT_TRUE(amo->active());
  // Another service vouches for nobody, itself included.
  absl::StatusOr<v1::Accompaniment> pms = Open("svc_pms", "svc_amo");
  ASSERT_TRUE(pms.ok()) << pms.status();
  EXPECT_EQ(pms->vouch(), v1::VOUCH_PENDING);
  EXPECT_TRUE(pms->vouched_by_member_id().empty());
}

TEST_F(AccompanimentsTest, TheCreatorWaitsOnceAnotherServiceWasVouchedFor) {
  ASSERT_TRUE(Open("svc_amo", "svc_amo").ok());
  absl::StatusOr<v1::Accompaniment> pms = Open("svc_pms", "svc_amo");
  ASSERT_TRUE(pms.ok());
  ASSERT_TRUE(Vouch(pms->id(), v1::VOUCH_CONFIRMED).ok());
  absl::StatusOr<v1::Accompaniment> amo = Open("svc_amo", "svc_amo");
  ASSERT_TRUE(amo.ok());
  ASSERT_TRUE(End("svc_amo", amo->id()).ok());
  now_ += absl::Hours(1);
  absl::StatusOr<v1::Accompaniment> again = Open("svc_amo", "svc_amo");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->id(), amo->id());
  EXPECT_EQ(again->vouch(), v1::VOUCH_PENDING);
}

TEST_F(AccompanimentsTest, OpeningTwiceReturnsTheActiveAccompaniment) {
  absl::StatusOr<v1::Accompaniment> first = Open("svc_amo", "svc_amo");
  absl::StatusOr<v1::Accompaniment> second = Open("svc_amo", "svc_amo");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->id(), second->id());
  absl::StatusOr<std::vector<v1::Accompaniment>> list = accompaniments_.List("y_1", now_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(AccompanimentsTest, OnlyAnAccompanyingOrMandatingServiceMayVouch) {
  v1::Accompaniment voluntary;
  voluntary.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment mandate;
  mandate.set_basis(v1::ACCOMPANIMENT_BASIS_MANDATE);
  EXPECT_EQ(*Accompaniments::VouchFor(voluntary, true, "", true), v1::VOUCH_CONFIRMED);
  EXPECT_EQ(*Accompaniments::VouchFor(voluntary, true, "", false), v1::VOUCH_DECLINED);
  EXPECT_EQ(*Accompaniments::VouchFor(mandate, false, "spj", true), v1::VOUCH_MANDATE);
  EXPECT_EQ(*Accompaniments::VouchFor(mandate, false, "SAJ", false), v1::VOUCH_DECLINED);
  // Everyone else gets the answer an unknown id gets.
  EXPECT_EQ(Reason(Accompaniments::VouchFor(voluntary, false, "SAJ", true)),
            "accompaniment_not_found");
  EXPECT_EQ(Reason(Accompaniments::VouchFor(mandate, false, "AMO", true)),
            "accompaniment_not_found");
}

TEST_F(AccompanimentsTest, AVouchIsDecidedOnceAndADeclineEndsTheAccompaniment) {
  ASSERT_TRUE(Open("svc_amo", "svc_amo").ok());
  absl::StatusOr<v1::Accompaniment> pms = Open("svc_pms", "svc_amo");
  ASSERT_TRUE(pms.ok());
  absl::StatusOr<v1::Accompaniment> declined = Vouch(pms->id(), v1::VOUCH_DECLINED);
  ASSERT_TRUE(declined.ok()) << declined.status();
  EXPECT_EQ(declined->vouch(), v1::VOUCH_DECLINED);
  EXPECT_FALSE(declined->active());
  EXPECT_EQ(declined->vouched_by_member_id(), "mbr_voucher");
  // The same decision repeated is answered unchanged; the opposite is refused.
  EXPECT_TRUE(Vouch(pms->id(), v1::VOUCH_DECLINED).ok());
  EXPECT_EQ(Reason(Vouch(pms->id(), v1::VOUCH_CONFIRMED)), "not_pending");
  // Nothing is left pending for the AMO to vouch for.
  absl::StatusOr<std::vector<v1::Accompaniment>> pending =
      accompaniments_.PendingFor("svc_amo", now_);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST_F(AccompanimentsTest, PendingAccompanimentsAreListedForTheServicesThatMayVouch) {
  ASSERT_TRUE(Open("svc_amo", "svc_amo").ok());
  absl::StatusOr<v1::Accompaniment> pms = Open("svc_pms", "svc_amo");
  ASSERT_TRUE(pms.ok());
  absl::StatusOr<std::vector<v1::Accompaniment>> amo = accompaniments_.PendingFor("svc_amo", now_);
  ASSERT_TRUE(amo.ok());
  ASSERT_EQ(amo->size(), 1u);
  EXPECT_EQ((*amo)[0].id(), pms->id());
  // Not for itself, nor for a service that does not accompany the youth.
  EXPECT_TRUE(accompaniments_.PendingFor("svc_pms", now_)->empty());
  EXPECT_TRUE(accompaniments_.PendingFor("svc_cpas", now_)->empty());
}

TEST_F(AccompanimentsTest, EndingIsIdempotentAndOnlyForTheOwningService) {
  absl::StatusOr<v1::Accompaniment> amo = Open("svc_amo", "svc_amo");
  ASSERT_TRUE(amo.ok());
  EXPECT_EQ(Reason(End("svc_pms", amo->id())), "accompaniment_not_found");
  EXPECT_EQ(Reason(End("svc_amo", "acc_unknown")), "accompaniment_not_found");
  absl::StatusOr<v1::Accompaniment> ended = End("svc_amo", amo->id());
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_FALSE(ended->active());
  now_ += absl::Minutes(5);
  absl::StatusOr<v1::Accompaniment> again = End("svc_amo", amo->id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->end_time().seconds(), ended->end_time().seconds());
}

TEST_F(AccompanimentsTest, TheProposerStaysUntilTheReceivingServiceHasStarted) {
  common::FakeClock clock(now_);
  testing::FakeRecords records;
  Handovers handovers(absl::Hours(24 * 90), db_.get(), &clock, &records);
  absl::StatusOr<v1::Accompaniment> amo = Open("svc_amo", "svc_amo");
  ASSERT_TRUE(amo.ok());
  Handovers::Proposal p{"y_1",
                        "svc_amo",
                        "svc_saj",
                        "mbr_amo",
                        "reason",
                        common::ToProto(now_ + absl::Hours(48)),
                        common::ToProto(now_ + absl::Hours(96)),
                        /*convention_id=*/""};
  ASSERT_TRUE(db_.get()
                  ->Write([&](storage::Connection& c) -> absl::Status {
                    absl::StatusOr<v1::Handover> h = handovers.Propose(c, p, now_);
                    if (!h.ok()) return h.status();
                    const Handovers::Move accept{
                        Handovers::Move::kAccept, "mbr_saj", "svc_saj", "ref_saj", "", now_};
                    return handovers.Transition(c, h->id(), accept).status();
                  })
                  .ok());
  EXPECT_EQ(Reason(End("svc_amo", amo->id())), "incoming_not_started");
  now_ += absl::Hours(49);
  EXPECT_TRUE(End("svc_amo", amo->id()).ok());
}

}  // namespace
}  // namespace relais::care
