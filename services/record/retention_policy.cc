#include "services/record/retention_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace relais::record {
namespace {

absl::Duration Years(int n) { return absl::Hours(24 * 365 * n); }

constexpr v1::DataCategory kCategories[] = {
    v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION, v1::DATA_CATEGORY_FAMILY,
    v1::DATA_CATEGORY_SOCIAL,  v1::DATA_CATEGORY_HEALTH,    v1::DATA_CATEGORY_JUDICIAL,
};

}  // namespace

RetentionPolicy RetentionPolicy::Defaults() {
  // A starting point for each deployment's DPO, not a legal reading
  // (docs/retention.md): 5 years for the ordinary categories, 10 for the special ones.
  RetentionPolicy p;
  for (v1::DataCategory c : kCategories) p.period[c] = Years(5);
  p.period[v1::DATA_CATEGORY_HEALTH] = Years(10);
  p.period[v1::DATA_CATEGORY_JUDICIAL] = Years(10);
  return p;
}

absl::Status RetentionPolicy::Validate() const {
  for (const auto& [category, d] : period) {
    if (category == v1::DATA_CATEGORY_UNSPECIFIED || !v1::DataCategory_IsValid(category)) {
      return absl::InvalidArgumentError(
          absl::StrCat("retention: unknown data category ", static_cast<int>(category)));
    }
  }
  for (v1::DataCategory c : kCategories) {
    auto it = period.find(c);
    if (it == period.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("retention: no period for ", v1::DataCategory_Name(c)));
    }
    if (it->second <= absl::ZeroDuration() || it->second == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retention: period for ", v1::DataCategory_Name(c), " must be positive and finite"));
    }
  }
  const absl::Duration general = period.at(v1::DATA_CATEGORY_GENERAL);
  for (v1::DataCategory c : {v1::DATA_CATEGORY_HEALTH, v1::DATA_CATEGORY_JUDICIAL}) {
    if (period.at(c) < general) {
      return absl::InvalidArgumentError(
          absl::StrCat("retention: the period for ", v1::DataCategory_Name(c),
                       " must not be shorter than DATA_CATEGORY_GENERAL's"));
    }
  }
  if (sweep_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("retention: sweep_interval must not be negative");
  }
  return absl::OkStatus();
}

absl::Duration RetentionPolicy::MaxPeriod() const {
  absl::Duration m = absl::ZeroDuration();
  for (const auto& [category, d] : period) m = std::max(m, d);
  return m;
}

}  // namespace relais::record
