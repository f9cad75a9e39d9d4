#ifndef RELAIS_ACCESS_POLICY_H_
#define RELAIS_ACCESS_POLICY_H_

// The access rule of DESIGN.md as pure functions over gathered facts, so the
// same code decides every call and can be checked against a reference model.
// Rule 1 (authentication, role) is enforced before these are called.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "relais/v1/common.pb.h"

namespace relais::access {

// The partnership convention a consent cites, as it stands now: the consent
// then covers only what the convention also covers. (Outside ConsentGrant:
// clang cannot default-construct a nested class with member initialisers
// inside the enclosing class's std::optional.)
struct CitedConventionLimit {
  std::string id;
  // In force now, with both the holder and the reading service as parties.
  bool in_force_for_parties = false;
  std::set<int> categories;  // v1::DataCategory values
  std::set<int> purposes;    // v1::Purpose values
};

// One consent in force now (valid, not withdrawn) that names the service or its
// sector. It covers only the entries of its holder (the service that recorded
// it): shared professional secrecy is the holder's to share.
struct ConsentGrant {
  using ConventionLimit = CitedConventionLimit;
  std::string id;
  std::string holder_service_id;
  std::set<int> categories;  // v1::DataCategory values named explicitly
  bool all_non_special_categories = false;
  std::set<int> purposes;                     // v1::Purpose values
  std::optional<ConventionLimit> convention;  // the convention the consent cites, if any
};

// The facts about one service and one youth at one instant.
struct AccessFacts {
  std::string service_id;
  std::string sector_id;
  // An active accompaniment that was vouched for (handover overlap included).
  bool accompanying = false;
  // An active accompaniment still waiting to be vouched for (gives nothing).
  bool pending = false;
  // An active emergency grant opened by the calling member (not the service).
  bool break_glass = false;
  std::string break_glass_grant_id;  // its id, when break_glass
  std::vector<ConsentGrant> consents;
};

struct YouthState {
  bool restricted = false;
  bool erased = false;
};

struct EntryFacts {
  std::string author_service_id;
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
};

struct Verdict {
  v1::Decision decision = v1::DECISION_DENY;
  v1::AccessReason reason = v1::ACCESS_REASON_UNSPECIFIED;
  std::string explanation;  // a sentence for a caseworker; ids only
  std::string consent_id;   // the consent that allowed it, if any
  // Allowed only thanks to an emergency grant (break-the-glass).
  bool break_glass = false;
  bool allowed() const { return decision == v1::DECISION_ALLOW; }
};

// HEALTH and JUDICIAL: never covered unless a consent names them.
bool IsSpecialCategory(v1::DataCategory category);

// Whether a consent covers a category (special ones only when named).
bool CoversCategory(const ConsentGrant& grant, v1::DataCategory category);

// Whether a cited convention lets its parties share this category for this
// purpose now (a convention names special categories explicitly, like a consent).
bool ConventionCovers(const ConsentGrant::ConventionLimit& convention, v1::DataCategory category,
                      v1::Purpose purpose);

// Rules 2 and 4 for the record as a whole: reading identity, listing entries.
Verdict DecideRecordRead(const AccessFacts& facts, const YouthState& youth);

// Rules 2 and 4 for changing the record (adding an entry, consents, handovers):
// an active accompaniment and no restriction. Break-the-glass never writes.
Verdict DecideRecordWrite(const AccessFacts& facts, const YouthState& youth);

// Rules 2, 3 and 4 for reading one entry with a purpose. Only consents held by
// the entry's author service count. An emergency grant (facts.break_glass)
// stands in for the consent of rule 3 for SHARED entries of other services
// (the verdict then says break_glass), never for rule 2; other services'
// private entries stay hidden, and restriction and erasure stop it.
Verdict DecideEntryRead(const AccessFacts& facts, const YouthState& youth, const EntryFacts& entry,
                        v1::Purpose purpose);

}  // namespace relais::access

#endif  // RELAIS_ACCESS_POLICY_H_
