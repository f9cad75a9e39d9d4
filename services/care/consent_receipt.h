#ifndef RELAIS_SERVICES_CARE_CONSENT_RECEIPT_H_
#define RELAIS_SERVICES_CARE_CONSENT_RECEIPT_H_

// The receipt of a consent (GDPR art. 7: proof of what was agreed), with a
// French and English text a youth or guardian can read.

#include "relais/v1/care.pb.h"
#include "services/directory/directory_api.h"

namespace relais::care {

// Builds the receipt of `consent` (already Decorate()d: its state is read).
// Service names come from `directory`; an unknown service keeps its id as its
// name. Sector names are the directory's built-in ones, else the id. Never
// fails; holds no names of persons.
v1::ConsentReceipt BuildConsentReceipt(const v1::Consent& consent,
                                       const directory::DirectoryApi& directory);

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CONSENT_RECEIPT_H_
