// What citing a partnership convention does to a consent or a handover, on a
// bare care database with a fake convention book: no server, no gRPC.

#include "services/care/cited_conventions.h"

#include <map>

#include "common/proto_time.h"
#include "common/reason.h"
#include "gtest/gtest.h"
#include "services/care/care_store.h"
#include "services/care/care_test_support.h"
#include "storage/testing/fresh_database.h"

namespace relais::care {
namespace {

using testing::Reason;

const absl::Time kNow = testing::kT0;
constexpr absl::Duration kDay = absl::Hours(24);

class FakeBook final : public partnership::ConventionBook {
 public:
  absl::StatusOr<partnership::ConventionTerms> GetTerms(storage::Connection&,
                                                        absl::string_view id) const override {
    auto it = terms.find(std::string(id));
    if (it == terms.end()) return common::NotFound("convention_not_found", "no such convention");
    return it->second;
  }
  std::map<std::string, partnership::ConventionTerms> terms;
};

// The AMO and the PMS share general and education entries for coordination
// and handover, for a year, handovers overlapping at most 30 days.
partnership::ConventionTerms AmoPms() {
  partnership::ConventionTerms t;
  t.id = "cnv_amo_pms";
  t.party_service_ids = {"svc_amo", "svc_pms"};
  t.categories = {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION};
  t.purposes = {v1::PURPOSE_COORDINATION, v1::PURPOSE_HANDOVER};
  t.max_overlap_days = 30;
  t.start = kNow - kDay;
  t.end = kNow + 365 * kDay;
  t.signed_by_all = true;
  return t;
}

// The AMO's consent for the PMS, citing the convention.
v1::Consent Citing() {
  v1::Consent k;
  k.set_id("cst_1");
  k.set_recorded_by_service_id("svc_amo");
  k.add_recipients()->set_service_id("svc_pms");
  k.add_categories(v1::DATA_CATEGORY_GENERAL);
  k.add_purposes(v1::PURPOSE_COORDINATION);
  *k.mutable_valid_until() = common::ToProto(kNow + 90 * kDay);
  k.set_convention_id("cnv_amo_pms");
  return k;
}

class CitedConventionsTest : public ::testing::Test {
 protected:
  void SetUp() override { book_.terms["cnv_amo_pms"] = AmoPms(); }
  absl::Status Consent(const v1::Consent& k) {
    return db_.get()->Read([&](storage::Connection& c) { return cited_.CheckConsent(c, k, kNow); });
  }
  absl::Status Handover(absl::string_view from, absl::string_view to, absl::Duration overlap,
                        absl::string_view id = "cnv_amo_pms") {
    return db_.get()->Read([&](storage::Connection& c) {
      return cited_.CheckHandover(c, id, from, to, kNow, kNow + overlap, kNow);
    });
  }
  std::vector<access::ConsentGrant> Limited(absl::string_view reader) {
    access::ConsentGrant g;
    g.id = "cst_1";
    g.holder_service_id = "svc_amo";
    g.convention.emplace();
    g.convention->id = "cnv_amo_pms";
    std::vector<access::ConsentGrant> grants = {g};
    EXPECT_TRUE(
        db_.get()
            ->Read([&](storage::Connection& c) { return cited_.Limit(c, reader, kNow, grants); })
            .ok());
    return grants;
  }

  testing::CareDatabase db_;
  FakeBook book_;
  CitedConventions cited_{&book_};
};

TEST_F(CitedConventionsTest, AConsentWithinTheConventionIsAccepted) {
  EXPECT_TRUE(Consent(Citing()).ok());
  v1::Consent none = Citing();
  none.clear_convention_id();
  EXPECT_TRUE(Consent(none).ok());
}

TEST_F(CitedConventionsTest, AConsentOutsideTheConventionIsRefusedWithTheReason) {
  v1::Consent k = Citing();
  k.add_categories(v1::DATA_CATEGORY_HEALTH);
  EXPECT_EQ(Reason(Consent(k)), "outside_convention");
  k = Citing();
  k.add_recipients()->set_service_id("svc_cpas");  // not a party
  EXPECT_EQ(Reason(Consent(k)), "outside_convention");
  k = Citing();
  k.set_recorded_by_service_id("svc_cpas");  // a holder outside it cannot cite it
  EXPECT_EQ(Reason(Consent(k)), "outside_convention");
  k = Citing();
  *k.mutable_valid_until() = common::ToProto(kNow + 400 * kDay);
  EXPECT_EQ(Reason(Consent(k)), "outside_convention");
  k = Citing();
  k.set_convention_id("cnv_unknown");
  EXPECT_EQ(Reason(Consent(k)), "convention_not_found");
}

TEST_F(CitedConventionsTest, OnlyAConventionInForceCanBeCited) {
  book_.terms["cnv_amo_pms"].signed_by_all = false;
  EXPECT_EQ(Reason(Consent(Citing())), "outside_convention");
  book_.terms["cnv_amo_pms"] = AmoPms();
  book_.terms["cnv_amo_pms"].terminated_at = kNow - absl::Minutes(1);
  EXPECT_EQ(Reason(Consent(Citing())), "outside_convention");
  CitedConventions nowhere(nullptr);
  EXPECT_EQ(Reason(db_.get()->Read(
                [&](storage::Connection& c) { return nowhere.CheckConsent(c, Citing(), kNow); })),
            "outside_convention");
}

TEST_F(CitedConventionsTest, AHandoverUnderTheConventionStaysWithinItsOverlap) {
  EXPECT_TRUE(Handover("svc_amo", "svc_pms", 30 * kDay).ok());
  EXPECT_TRUE(Handover("svc_amo", "svc_pms", 30 * kDay, "").ok());  // cites none
  EXPECT_EQ(Reason(Handover("svc_amo", "svc_pms", 31 * kDay)), "outside_convention");
  EXPECT_EQ(Reason(Handover("svc_amo", "svc_cpas", 10 * kDay)), "outside_convention");
  book_.terms["cnv_amo_pms"].purposes = {v1::PURPOSE_COORDINATION};
  EXPECT_EQ(Reason(Handover("svc_amo", "svc_pms", 10 * kDay)), "outside_convention");
}

TEST_F(CitedConventionsTest, TheLimitFollowsTheConventionAsItStandsForTheReader) {
  std::vector<access::ConsentGrant> grants = Limited("svc_pms");
  ASSERT_TRUE(grants[0].convention.has_value());
  EXPECT_TRUE(grants[0].convention->in_force_for_parties);
  EXPECT_EQ(grants[0].convention->categories, AmoPms().categories);
  // A reader outside the parties (e.g. through a sector recipient) gets nothing.
  EXPECT_FALSE(Limited("svc_cpas")[0].convention->in_force_for_parties);
  book_.terms["cnv_amo_pms"].terminated_at = kNow;
  EXPECT_FALSE(Limited("svc_pms")[0].convention->in_force_for_parties);
  book_.terms.clear();  // unknown: fail closed
  EXPECT_FALSE(Limited("svc_pms")[0].convention->in_force_for_parties);
}

// The cited convention belongs to the consent's row MAC: dropping it by hand
// (which the triggers refuse, so an attacker drops them first) is detected.
TEST_F(CitedConventionsTest, DroppingACitedConventionByHandIsDetected) {
  v1::Consent k = Citing();
  k.set_youth_id("y_1");
  *k.mutable_valid_from() = common::ToProto(kNow);
  *k.mutable_recorded_at() = common::ToProto(kNow);
  k.set_giver(v1::CONSENT_GIVER_YOUTH);
  ASSERT_TRUE(
      db_.get()->Write([&](storage::Connection& c) { return store::InsertConsent(c, k); }).ok());
  ASSERT_TRUE(db_.get()
                  ->Read([&](storage::Connection& c) -> absl::Status {
                    auto read = store::GetConsent(c, "cst_1");
                    EXPECT_TRUE(read.ok() && read->has_value());
                    EXPECT_EQ((*read)->convention_id(), "cnv_amo_pms");
                    return absl::OkStatus();
                  })
                  .ok());
  absl::Status refused = db_.get()->Write(
      [](storage::Connection& c) { return c.Exec("DELETE FROM care_consent_conventions"); });
  EXPECT_FALSE(refused.ok());
  ASSERT_TRUE(db_.get()
                  ->Write([](storage::Connection& c) {
                    return c.Exec(
                        absl::StrCat(storage::testing::DropTrigger("care_consent_conventions_kept",
                                                                   "care_consent_conventions"),
                                     "DELETE FROM care_consent_conventions"));
                  })
                  .ok());
  absl::Status tampered = db_.get()->Read([](storage::Connection& c) -> absl::Status {
    return store::GetConsent(c, "cst_1").status();
  });
  EXPECT_EQ(Reason(tampered), "integrity_violation");
}

}  // namespace
}  // namespace relais::care
