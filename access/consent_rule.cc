#include "access/consent_rule.h"

#include "absl/strings/str_cat.h"

namespace relais::access {

ConsentGiverVerdict DecideConsentGiver(v1::ConsentGiver giver, int age, int self_consent_age) {
  if (giver == v1::CONSENT_GIVER_YOUTH && age < self_consent_age) {
    return {false, "youth_below_self_consent_age",
            absl::StrCat("below ", self_consent_age, " a guardian gives consent")};
  }
  if (giver == v1::CONSENT_GIVER_GUARDIAN && age >= self_consent_age) {
    return {false, "youth_must_consent",
            absl::StrCat("from ", self_consent_age, " the youth consents personally")};
  }
  return {true, "", ""};
}

bool NeedsYouthConfirmation(v1::ConsentGiver giver, int age, int self_consent_age) {
  return giver == v1::CONSENT_GIVER_GUARDIAN && age >= self_consent_age;
}

}  // namespace relais::access
