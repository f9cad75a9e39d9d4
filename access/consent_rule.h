#ifndef RELAIS_ACCESS_CONSENT_RULE_H_
#define RELAIS_ACCESS_CONSENT_RULE_H_

// Who gives consent for a youth of a given age (DESIGN.md, "Consent"): the
// youth personally from the self-consent age (2018 youth-aid Code of the
// Fédération Wallonie-Bruxelles: 12 by default, configurable), a guardian
// below it. Pure functions: the caller computes the age at the moment of the
// decision (record::AgeOn), so the rule is evaluated at each decision.

#include <string>

#include "relais/v1/care.pb.h"

namespace relais::access {

// Whether `giver` may give a consent for a youth aged `age` (whole years).
// Refused with a stable reason code: "youth_below_self_consent_age" (the youth
// is too young to consent alone) or "youth_must_consent" (a guardian may no
// longer consent in the youth's place).
struct ConsentGiverVerdict {
  bool allowed = false;
  std::string reason_code;  // empty when allowed
  std::string explanation;  // a sentence for a caseworker
};
ConsentGiverVerdict DecideConsentGiver(v1::ConsentGiver giver, int age, int self_consent_age);

// Whether a consent given by `giver` now needs the youth's own confirmation:
// a guardian gave it and the youth has since reached the self-consent age.
// (The caller also requires the consent to be in force.)
bool NeedsYouthConfirmation(v1::ConsentGiver giver, int age, int self_consent_age);

}  // namespace relais::access

#endif  // RELAIS_ACCESS_CONSENT_RULE_H_
