#include "services/record/retention_policy.h"

#include "gtest/gtest.h"

namespace relais::record {
namespace {

constexpr absl::Duration kYear = absl::Hours(24 * 365);

TEST(RetentionPolicy, DefaultsAreValidAndDocumented) {
  const RetentionPolicy p = RetentionPolicy::Defaults();
  EXPECT_TRUE(p.Validate().ok()) << p.Validate();
  EXPECT_EQ(p.period.size(), 6u);
  for (v1::DataCategory c : {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION,
                             v1::DATA_CATEGORY_FAMILY, v1::DATA_CATEGORY_SOCIAL}) {
    EXPECT_EQ(p.period.at(c), 5 * kYear) << v1::DataCategory_Name(c);
  }
  EXPECT_EQ(p.period.at(v1::DATA_CATEGORY_HEALTH), 10 * kYear);
  EXPECT_EQ(p.period.at(v1::DATA_CATEGORY_JUDICIAL), 10 * kYear);
  EXPECT_EQ(p.MaxPeriod(), 10 * kYear);
  EXPECT_EQ(p.sweep_interval, absl::Hours(24));
}

TEST(RetentionPolicy, RejectsMissingCategory) {
  RetentionPolicy p = RetentionPolicy::Defaults();
  p.period.erase(v1::DATA_CATEGORY_SOCIAL);
  EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.Validate().message().find("DATA_CATEGORY_SOCIAL"), absl::string_view::npos);
}

TEST(RetentionPolicy, RejectsZeroNegativeAndInfinitePeriods) {
  for (absl::Duration bad : {absl::ZeroDuration(), -kYear, absl::InfiniteDuration()}) {
    RetentionPolicy p = RetentionPolicy::Defaults();
    p.period[v1::DATA_CATEGORY_EDUCATION] = bad;
    EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RetentionPolicy, SpecialCategoriesAreKeptAtLeastAsLongAsGeneral) {
  RetentionPolicy p = RetentionPolicy::Defaults();
  p.period[v1::DATA_CATEGORY_HEALTH] = 4 * kYear;
  EXPECT_EQ(p.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.Validate().message().find("DATA_CATEGORY_HEALTH"), absl::string_view::npos);
  p = RetentionPolicy::Defaults();
  p.period[v1::DATA_CATEGORY_JUDICIAL] = 5 * kYear;  // equal is fine
  EXPECT_TRUE(p.Validate().ok());
  p.period[v1::DATA_CATEGORY_GENERAL] = 6 * kYear;
  EXPECT_FALSE(p.Validate().ok());
}

TEST(RetentionPolicy, RejectsUnknownCategoryAndNegativeInterval) {
  RetentionPolicy p = RetentionPolicy::Defaults();
  p.period[v1::DATA_CATEGORY_UNSPECIFIED] = kYear;
  EXPECT_FALSE(p.Validate().ok());
  p = RetentionPolicy::Defaults();
  p.sweep_interval = absl::ZeroDuration();  // disables the scheduled sweep
  EXPECT_TRUE(p.Validate().ok());
  p.sweep_interval = -absl::Seconds(1);
  EXPECT_FALSE(p.Validate().ok());
}

}  // namespace
}  // namespace relais::record
