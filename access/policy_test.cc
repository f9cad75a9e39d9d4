#include "access/policy.h"

#include "gtest/gtest.h"

namespace relais::access {
namespace {

AccessFacts Accompanying(std::vector<ConsentGrant> consents = {}) {
  AccessFacts f;
  f.service_id = "svc_saj";
  f.sector_id = "aide_jeunesse";
  f.accompanying = true;
  f.consents = std::move(consents);
  return f;
}

// A consent held by the AMO, the author of the entries below.
ConsentGrant Grant(std::set<int> categories, std::set<int> purposes, bool blanket = false) {
  ConsentGrant g;
  g.id = "cst_1";
  g.holder_service_id = "svc_amo";
  g.categories = std::move(categories);
  g.purposes = std::move(purposes);
  g.all_non_special_categories = blanket;
  return g;
}

const EntryFacts kSharedGeneral{"svc_amo", v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL};
const EntryFacts kSharedHealth{"svc_amo", v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_HEALTH};
const EntryFacts kPrivate{"svc_amo", v1::VISIBILITY_SERVICE_PRIVATE, v1::DATA_CATEGORY_GENERAL};
const EntryFacts kOwnPrivate{"svc_saj", v1::VISIBILITY_SERVICE_PRIVATE, v1::DATA_CATEGORY_HEALTH};

TEST(AccessPolicy, WithoutAccompanimentNothingIsReadableEvenWithConsent) {
  AccessFacts f = Accompanying({Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION})});
  f.accompanying = false;
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
  EXPECT_EQ(DecideRecordRead(f, {}).reason, v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
  EXPECT_EQ(DecideRecordWrite(f, {}).reason, v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
}

TEST(AccessPolicy, OwnEntriesAreReadableWithoutConsent) {
  EXPECT_TRUE(DecideEntryRead(Accompanying(), {}, kOwnPrivate, v1::PURPOSE_COORDINATION).allowed());
}

TEST(AccessPolicy, AnotherServicesPrivateEntryIsNeverReadable) {
  AccessFacts f = Accompanying({Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION})});
  EXPECT_EQ(DecideEntryRead(f, {}, kPrivate, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_ENTRY_PRIVATE);
}

TEST(AccessPolicy, SharedEntryNeedsConsentForCategoryAndPurpose) {
  EXPECT_EQ(DecideEntryRead(Accompanying(), {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_NO_CONSENT);
  AccessFacts f = Accompanying({Grant({v1::DATA_CATEGORY_FAMILY}, {v1::PURPOSE_COORDINATION})});
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_CONSENT_CATEGORY_NOT_COVERED);
  f = Accompanying({Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_HANDOVER})});
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_CONSENT_PURPOSE_NOT_COVERED);
  Verdict ok = DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_HANDOVER);
  EXPECT_TRUE(ok.allowed());
  EXPECT_EQ(ok.consent_id, "cst_1");
}

// A consent citing a convention that, when in force, shares general entries for
// coordination.
ConsentGrant UnderConvention(bool in_force) {
  ConsentGrant g = Grant({v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_HEALTH},
                         {v1::PURPOSE_COORDINATION, v1::PURPOSE_HANDOVER});
  g.convention = ConsentGrant::ConventionLimit{
      "cnv_1", in_force, {v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION}};
  return g;
}

TEST(AccessPolicy, ACitedConventionNarrowsTheConsentToItsScope) {
  AccessFacts f = Accompanying({UnderConvention(/*in_force=*/true)});
  Verdict ok = DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION);
  EXPECT_TRUE(ok.allowed());
  EXPECT_EQ(ok.consent_id, "cst_1");
  // The consent names health and handover; the convention does not.
  Verdict health = DecideEntryRead(f, {}, kSharedHealth, v1::PURPOSE_COORDINATION);
  EXPECT_EQ(health.reason, v1::ACCESS_REASON_OUTSIDE_CONVENTION);
  EXPECT_NE(health.explanation.find("cnv_1"), std::string::npos);
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_HANDOVER).reason,
            v1::ACCESS_REASON_OUTSIDE_CONVENTION);
}

TEST(AccessPolicy, AConventionNotInForceForBothPartiesSharesNothing) {
  AccessFacts f = Accompanying({UnderConvention(/*in_force=*/false)});
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_OUTSIDE_CONVENTION);
  // Another consent of the holder, citing no convention, still counts.
  f.consents.push_back(Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION}));
  f.consents.back().id = "cst_2";
  Verdict ok = DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION);
  EXPECT_TRUE(ok.allowed());
  EXPECT_EQ(ok.consent_id, "cst_2");
  // What the consent itself does not cover is reported as such, not as the convention.
  f = Accompanying({UnderConvention(/*in_force=*/false)});
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_UNSPECIFIED).reason,
            v1::ACCESS_REASON_CONSENT_PURPOSE_NOT_COVERED);
}

TEST(AccessPolicy, BlanketConsentNeverCoversSpecialCategories) {
  AccessFacts f = Accompanying({Grant({}, {v1::PURPOSE_COORDINATION}, /*blanket=*/true)});
  EXPECT_TRUE(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).allowed());
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedHealth, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_CONSENT_CATEGORY_NOT_COVERED);
  f = Accompanying({Grant({v1::DATA_CATEGORY_HEALTH}, {v1::PURPOSE_COORDINATION})});
  EXPECT_TRUE(DecideEntryRead(f, {}, kSharedHealth, v1::PURPOSE_COORDINATION).allowed());
}

TEST(AccessPolicy, RestrictionBlocksWritesButNotReadsErasureBlocksBoth) {
  AccessFacts f = Accompanying({Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION})});
  const YouthState restricted{.restricted = true};
  const YouthState erased{.erased = true};
  EXPECT_EQ(DecideRecordWrite(f, restricted).reason, v1::ACCESS_REASON_RECORD_RESTRICTED);
  EXPECT_TRUE(DecideRecordRead(f, restricted).allowed());
  EXPECT_TRUE(DecideEntryRead(f, restricted, kSharedGeneral, v1::PURPOSE_COORDINATION).allowed());
  EXPECT_EQ(DecideRecordRead(f, erased).reason, v1::ACCESS_REASON_RECORD_ERASED);
  EXPECT_EQ(DecideEntryRead(f, erased, kOwnPrivate, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_RECORD_ERASED);
}

TEST(AccessPolicy, PendingAccompanimentGivesNothing) {
  AccessFacts f = Accompanying({Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION})});
  f.accompanying = false;
  f.pending = true;
  f.break_glass = true;
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_ACCOMPANIMENT_PENDING);
  EXPECT_EQ(DecideRecordRead(f, {}).reason, v1::ACCESS_REASON_ACCOMPANIMENT_PENDING);
  EXPECT_EQ(DecideRecordWrite(f, {}).reason, v1::ACCESS_REASON_ACCOMPANIMENT_PENDING);
}

// Shared professional secrecy: a consent covers only its holder's entries.
TEST(AccessPolicy, OnlyTheHoldersConsentCoversItsEntries) {
  ConsentGrant other =
      Grant({v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_HEALTH}, {v1::PURPOSE_COORDINATION});
  other.holder_service_id = "svc_pms";
  ConsentGrant own = other;
  own.holder_service_id = "svc_saj";  // the reader recorded it: covers nothing of the AMO
  AccessFacts f = Accompanying({other, own});
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_NO_CONSENT);
  f.consents.push_back(Grant({v1::DATA_CATEGORY_GENERAL}, {v1::PURPOSE_COORDINATION}));
  EXPECT_TRUE(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).allowed());
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedHealth, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_CONSENT_CATEGORY_NOT_COVERED);
}

TEST(AccessPolicy, BreakTheGlassLiftsConsentNeverNeedToKnowNorRestriction) {
  AccessFacts f = Accompanying();
  f.break_glass = true;
  EXPECT_TRUE(DecideEntryRead(f, {}, kSharedHealth, v1::PURPOSE_COORDINATION).break_glass);
  EXPECT_EQ(DecideEntryRead(f, {}, kPrivate, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_ENTRY_PRIVATE);
  EXPECT_EQ(
      DecideEntryRead(f, {.restricted = true}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
      v1::ACCESS_REASON_RECORD_RESTRICTED);
  f.accompanying = false;
  EXPECT_EQ(DecideEntryRead(f, {}, kSharedGeneral, v1::PURPOSE_COORDINATION).reason,
            v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
  EXPECT_EQ(DecideRecordRead(f, {}).reason, v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
  EXPECT_EQ(DecideRecordWrite(f, {}).reason, v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT);
}

}  // namespace
}  // namespace relais::access
