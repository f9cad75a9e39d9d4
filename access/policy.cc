#include "access/policy.h"

#include "absl/strings/str_cat.h"

namespace relais::access {
namespace {

Verdict Deny(v1::AccessReason reason, std::string explanation) {
  Verdict v;
  v.decision = v1::DECISION_DENY;
  v.reason = reason;
  v.explanation = std::move(explanation);
  return v;
}

Verdict Allow(std::string explanation, std::string consent_id = "") {
  Verdict v;
  v.decision = v1::DECISION_ALLOW;
  v.reason = v1::ACCESS_REASON_ALLOWED;
  v.explanation = std::move(explanation);
  v.consent_id = std::move(consent_id);
  return v;
}

// Rule 2: a vouched accompaniment. An emergency grant never stands in for it.
bool NeedToKnow(const AccessFacts& facts) { return facts.accompanying; }

Verdict NoNeedToKnow(const AccessFacts& facts) {
  if (facts.pending) {
    return Deny(v1::ACCESS_REASON_ACCOMPANIMENT_PENDING,
                absl::StrCat("the accompaniment of service ", facts.service_id,
                             " waits to be vouched for by a service accompanying this youth"));
  }
  return Deny(
      v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
      absl::StrCat("service ", facts.service_id, " has no active accompaniment of this youth"));
}

// Rule 4.
bool RecordBlocked(const YouthState& youth, Verdict* out) {
  if (youth.erased) {
    *out = Deny(v1::ACCESS_REASON_RECORD_ERASED, "the record has been erased");
    return true;
  }
  if (youth.restricted) {
    *out = Deny(v1::ACCESS_REASON_RECORD_RESTRICTED,
                "processing of this record is restricted (GDPR art. 18)");
    return true;
  }
  return false;
}

}  // namespace

bool IsSpecialCategory(v1::DataCategory category) {
  return category == v1::DATA_CATEGORY_HEALTH || category == v1::DATA_CATEGORY_JUDICIAL;
}

bool CoversCategory(const ConsentGrant& grant, v1::DataCategory category) {
  if (category == v1::DATA_CATEGORY_UNSPECIFIED) return false;
  if (grant.categories.count(category) > 0) return true;
  return grant.all_non_special_categories && !IsSpecialCategory(category);
}

bool ConventionCovers(const ConsentGrant::ConventionLimit& convention, v1::DataCategory category,
                      v1::Purpose purpose) {
  return convention.in_force_for_parties && convention.categories.count(category) > 0 &&
         convention.purposes.count(purpose) > 0;
}

Verdict DecideRecordRead(const AccessFacts& facts, const YouthState& youth) {
  if (!NeedToKnow(facts)) return NoNeedToKnow(facts);
  // A restricted record stays readable by its current services (art. 18 allows
  // storage and consultation); only erasure blocks reading.
  if (youth.erased) {
    return Deny(v1::ACCESS_REASON_RECORD_ERASED, "the record has been erased");
  }
  return Allow("the service accompanies this youth");
}

Verdict DecideRecordWrite(const AccessFacts& facts, const YouthState& youth) {
  if (!NeedToKnow(facts)) return NoNeedToKnow(facts);
  Verdict blocked;
  if (RecordBlocked(youth, &blocked)) return blocked;
  return Allow("the service accompanies this youth");
}

Verdict DecideEntryRead(const AccessFacts& facts, const YouthState& youth, const EntryFacts& entry,
                        v1::Purpose purpose) {
  if (!NeedToKnow(facts)) return NoNeedToKnow(facts);
  std::string consent_id;
  // Rule 3.
  if (entry.author_service_id != facts.service_id) {
    if (entry.visibility != v1::VISIBILITY_SHARED) {
      return Deny(v1::ACCESS_REASON_ENTRY_PRIVATE, "the entry is private to its author service");
    }
    bool any_recipient = false;
    bool category_covered = false;
    std::string outside_convention;  // a consent covers it, its convention does not
    for (const ConsentGrant& g : facts.consents) {
      if (g.holder_service_id != entry.author_service_id) continue;  // not the holder's to give
      any_recipient = true;
      if (!CoversCategory(g, entry.category)) continue;
      category_covered = true;
      if (g.purposes.count(purpose) == 0) continue;
      if (g.convention.has_value() && !ConventionCovers(*g.convention, entry.category, purpose)) {
        outside_convention = g.convention->id;
        continue;
      }
      consent_id = g.id;
      break;
    }
    if (consent_id.empty() && facts.break_glass) {
      // An emergency shares beyond consent; a restricted record is not shared further.
      Verdict blocked;
      if (RecordBlocked(youth, &blocked)) return blocked;
      Verdict v = Allow("an emergency access (break-the-glass) grant covers this read");
      v.break_glass = true;
      return v;
    }
    if (consent_id.empty()) {
      if (!outside_convention.empty()) {
        return Deny(v1::ACCESS_REASON_OUTSIDE_CONVENTION,
                    absl::StrCat("the consent cites convention ", outside_convention,
                                 ", which does not cover this now (not in force, not both "
                                 "services a party, or outside its scope)"));
      }
      if (!any_recipient) {
        return Deny(v1::ACCESS_REASON_NO_CONSENT,
                    absl::StrCat("no consent recorded by the entry's author service covers "
                                 "service ",
                                 facts.service_id));
      }
      if (!category_covered) {
        return Deny(
            v1::ACCESS_REASON_CONSENT_CATEGORY_NOT_COVERED,
            absl::StrCat("no consent covers the category ", v1::DataCategory_Name(entry.category)));
      }
      return Deny(v1::ACCESS_REASON_CONSENT_PURPOSE_NOT_COVERED,
                  absl::StrCat("no consent covers the purpose ", v1::Purpose_Name(purpose)));
    }
  }
  // Rule 4: erasure blocks every read. A restricted record stays readable by
  // the services that already may read it (art. 18); restriction blocks changes
  // and new sharing, which are writes.
  if (youth.erased) {
    return Deny(v1::ACCESS_REASON_RECORD_ERASED, "the record has been erased");
  }
  return Allow(consent_id.empty() ? "the entry was written by this service"
                                  : "a consent of the youth covers this entry",
               consent_id);
}

}  // namespace relais::access
