#ifndef RELAIS_SERVICES_CARE_ACCESS_POLICY_H_
#define RELAIS_SERVICES_CARE_ACCESS_POLICY_H_

// The access rule lives in access/policy.h; these names keep older callers
// compiling while they move to relais::access.
#include "access/policy.h"

namespace relais::care {
using access::AccessFacts;
using access::ConsentGrant;
using access::CoversCategory;
using access::DecideEntryRead;
using access::DecideRecordRead;
using access::DecideRecordWrite;
using access::EntryFacts;
using access::IsSpecialCategory;
using access::Verdict;
using access::YouthState;
}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_ACCESS_POLICY_H_
