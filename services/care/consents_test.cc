// The consent rules on a bare care database: no server, no gRPC.

#include "services/care/consents.h"

#include "common/reason.h"
#include "gtest/gtest.h"
#include "services/care/care_test_support.h"

namespace relais::care {
namespace {

using testing::Reason;

constexpr int kSelfConsentAge = 12;

class ConsentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_.AddService("svc_amo", "aide_jeunesse", "AMO");
    directory_.AddService("svc_pms", "enseignement", "PMS");
  }
  // A consent the AMO records for the PMS centre.
  static v1::Consent Request() {
    v1::Consent in;
    in.set_youth_id("y_1");
    in.set_giver(v1::CONSENT_GIVER_YOUTH);
    in.add_recipients()->set_service_id("svc_pms");
    in.add_categories(v1::DATA_CATEGORY_GENERAL);
    in.add_purposes(v1::PURPOSE_COORDINATION);
    return in;
  }
  // A youth who turns `age` on `birthday_in` from now (negative: already).
  record::YouthFacts YouthAged(int age, absl::Duration birthday_in = -absl::Hours(24 * 30)) {
    record::YouthFacts y;
    y.id = "y_1";
    const absl::CivilDay birthday = absl::ToCivilDay(now_ + birthday_in, absl::UTCTimeZone());
    y.date_of_birth = absl::CivilDay(birthday.year() - age, birthday.month(), birthday.day());
    y.guardian_ids = {"grd_1"};
    return y;
  }

  testing::CareDatabase db_;
  testing::FakeDirectory directory_;
  Consents consents_{db_.get(), &directory_, kSelfConsentAge};
  const absl::Time now_ = testing::kT0;
};

TEST_F(ConsentsTest, TheHolderSharesOnlyWithKnownRecipientsOtherThanItself) {
  EXPECT_TRUE(consents_.CheckScope(Request(), "svc_amo").ok());
  v1::Consent in = Request();
  in.mutable_recipients(0)->set_service_id("svc_amo");
  EXPECT_EQ(Reason(consents_.CheckScope(in, "svc_amo")), "recipient_is_holder");
  in.mutable_recipients(0)->set_service_id("svc_unknown");
  EXPECT_EQ(Reason(consents_.CheckScope(in, "svc_amo")), "unknown_recipient");
  in.mutable_recipients(0)->set_sector_id("Not A Slug");
  EXPECT_EQ(Reason(consents_.CheckScope(in, "svc_amo")), "malformed_id");
  in.mutable_recipients(0)->set_sector_id("enseignement");
  EXPECT_TRUE(consents_.CheckScope(in, "svc_amo").ok());
  in.clear_recipients();
  EXPECT_EQ(Reason(consents_.CheckScope(in, "svc_amo")), "field_required");
}

TEST_F(ConsentsTest, TheScopeNamesCategoriesAndPurposes) {
  v1::Consent in = Request();
  in.clear_categories();
  EXPECT_EQ(common::FieldOf(consents_.CheckScope(in, "svc_amo")), "consent.categories");
  in.set_all_non_special_categories(true);
  EXPECT_TRUE(consents_.CheckScope(in, "svc_amo").ok());
  in.add_categories(static_cast<v1::DataCategory>(99));
  EXPECT_EQ(Reason(consents_.CheckScope(in, "svc_amo")), "invalid_enum");
  in = Request();
  in.clear_purposes();
  EXPECT_EQ(common::FieldOf(consents_.CheckScope(in, "svc_amo")), "consent.purposes");
}

TEST_F(ConsentsTest, WhoConsentsFollowsTheAgeOnTheDayOfTheDecision) {
  v1::Consent youth = Request();
  EXPECT_TRUE(consents_.CheckGiver(youth, YouthAged(12), now_).ok());
  EXPECT_EQ(Reason(consents_.CheckGiver(youth, YouthAged(12, absl::Hours(24)), now_)),
            "youth_below_self_consent_age");
  v1::Consent guardian = Request();
  guardian.set_giver(v1::CONSENT_GIVER_GUARDIAN);
  guardian.set_guardian_id("grd_1");
  guardian.set_youth_opinion(v1::YOUTH_OPINION_AGREES);
  EXPECT_EQ(Reason(consents_.CheckGiver(guardian, YouthAged(12), now_)), "youth_must_consent");
  EXPECT_TRUE(consents_.CheckGiver(guardian, YouthAged(11), now_).ok());
  guardian.set_guardian_id("grd_other");
  EXPECT_EQ(Reason(consents_.CheckGiver(guardian, YouthAged(11), now_)), "unknown_guardian");
  guardian.set_guardian_id("grd_1");
  guardian.clear_youth_opinion();
  EXPECT_EQ(Reason(consents_.CheckGiver(guardian, YouthAged(11), now_)), "youth_opinion_required");
}

TEST_F(ConsentsTest, AConsentIsRecordedByItsHolderWithoutDuplicates) {
  v1::Consent in = Request();
  in.add_categories(v1::DATA_CATEGORY_GENERAL);
  in.add_purposes(v1::PURPOSE_COORDINATION);
  in.set_guardian_id("grd_ignored");  // given by the youth: no guardian kept
  const v1::Consent k =
      Consents::Build(in, now_, now_ + absl::Hours(24), {"mbr_amo", "svc_amo"}, now_);
  EXPECT_FALSE(k.id().empty());
  EXPECT_EQ(k.categories_size(), 1);
  EXPECT_EQ(k.purposes_size(), 1);
  EXPECT_TRUE(k.guardian_id().empty());
  EXPECT_EQ(k.recorded_by_service_id(), "svc_amo");
  EXPECT_EQ(k.recorded_by_member_id(), "mbr_amo");
}

TEST_F(ConsentsTest, WithdrawalIsFinalKeptAsHistoryAndRepeatable) {
  const v1::Consent k =
      Consents::Build(Request(), now_, now_ + absl::Hours(24 * 30), {"mbr_amo", "svc_amo"}, now_);
  ASSERT_TRUE(
      db_.get()->Write([&](storage::Connection& c) { return consents_.Record(c, k); }).ok());
  v1::Consent withdrawn;
  auto withdraw = [&](absl::Time when) {
    return db_.get()->Write([&](storage::Connection& c) -> absl::Status {
      absl::StatusOr<v1::Consent> w = consents_.Withdraw(c, k.id(), "mbr_pms", when);
      if (w.ok()) withdrawn = *w;
      return w.status();
    });
  };
  ASSERT_TRUE(withdraw(now_ + absl::Hours(1)).ok());
  EXPECT_EQ(withdrawn.withdrawn_by_member_id(), "mbr_pms");
  const int64_t at = withdrawn.withdrawn_at().seconds();
  ASSERT_TRUE(withdraw(now_ + absl::Hours(2)).ok());  // the first withdrawal stands
  EXPECT_EQ(withdrawn.withdrawn_at().seconds(), at);
  absl::StatusOr<std::vector<v1::Consent>> list = consents_.List("y_1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  v1::Consent listed = (*list)[0];
  consents_.Decorate(listed, YouthAged(14).date_of_birth, now_ + absl::Hours(3));
  EXPECT_EQ(listed.state(), v1::CONSENT_STATE_WITHDRAWN);
  EXPECT_FALSE(consents_.Receipt(listed).text().empty());
}

TEST_F(ConsentsTest, AGuardiansConsentAsksTheYouthOnceOfAge) {
  v1::Consent in = Request();
  in.set_giver(v1::CONSENT_GIVER_GUARDIAN);
  in.set_guardian_id("grd_1");
  in.set_youth_opinion(v1::YOUTH_OPINION_AGREES);
  v1::Consent k =
      Consents::Build(in, now_, now_ + absl::Hours(24 * 365), {"mbr_amo", "svc_amo"}, now_);
  const absl::CivilDay dob = YouthAged(12, absl::Hours(24 * 10)).date_of_birth;
  consents_.Decorate(k, dob, now_);
  EXPECT_EQ(k.state(), v1::CONSENT_STATE_ACTIVE);
  EXPECT_FALSE(k.needs_youth_confirmation());
  consents_.Decorate(k, dob, now_ + absl::Hours(24 * 11));
  EXPECT_TRUE(k.needs_youth_confirmation());
}

}  // namespace
}  // namespace relais::care
