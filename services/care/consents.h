#ifndef RELAIS_SERVICES_CARE_CONSENTS_H_
#define RELAIS_SERVICES_CARE_CONSENTS_H_

// The consent rules (DESIGN.md, "Consent", shared professional secrecy): a
// consent is recorded by the holder service, covers only that holder's
// entries, and is shared with recipients (sectors and/or other services) for
// data categories and purposes over a validity period. Who gives it for a
// youth of a given age is the access rule's (access/consent_rule.h), evaluated
// at each decision. Withdrawal takes effect for the very next decision and is
// kept as history (proof of consent, GDPR art. 7).
//
// No gRPC here: the CareService handlers validate, call these, fill replies.
// Writes run on the Connection of a write transaction the caller holds (the
// one its audit event is appended in); reads open their own. Errors carry
// stable reason codes. Thread-safe: holds no state but borrowed pointers.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "services/directory/directory_api.h"
#include "services/record/record_api.h"
#include "storage/database.h"

namespace relais::care {

class Consents {
 public:
  // Pointers are borrowed and must outlive this object. `directory` knows the
  // recipients; `self_consent_age` is the age from which the youth consents.
  Consents(storage::Database* db, const directory::DirectoryApi* directory, int self_consent_age)
      : db_(db), directory_(directory), self_consent_age_(self_consent_age) {}

  // The scope of a consent the service `holder_service_id` records: 1 to 32
  // recipients, each a known service other than the holder or a sector id;
  // categories named (or all non-special ones); at least one purpose. INVALID_
  // ARGUMENT naming the field ("unknown_recipient", "recipient_is_holder",
  // "malformed_id", "field_required", "invalid_enum"); a directory failure
  // (e.g. integrity_violation) as it is.
  absl::Status CheckScope(const v1::Consent& in, absl::string_view holder_service_id) const;

  // Who gives it, for `youth` at `now`: the age rule (FAILED_PRECONDITION
  // "youth_below_self_consent_age" / "youth_must_consent"), then for a
  // guardian one on the youth's record (INVALID_ARGUMENT "unknown_guardian")
  // and the youth's opinion recorded ("youth_opinion_required").
  absl::Status CheckGiver(const v1::Consent& in, const record::YouthFacts& youth,
                          absl::Time now) const;

  // The consent to store, from a request that passed the checks above: a new
  // id, its scope without duplicates, recorded now by the holder.
  struct Recorder {
    std::string member_id;
    std::string service_id;  // the holder
  };
  static v1::Consent Build(const v1::Consent& in, absl::Time valid_from, absl::Time valid_until,
                           const Recorder& by, absl::Time now);

  // In the caller's write transaction.
  absl::Status Record(storage::Connection& c, const v1::Consent& consent) const;
  // In the caller's write transaction: withdraws consent `id` by `member_id`
  // at `now` and returns it; a withdrawn one is returned unchanged.
  absl::StatusOr<v1::Consent> Withdraw(storage::Connection& c, absl::string_view id,
                                       absl::string_view member_id, absl::Time now) const;

  // Reads (own transaction), undecorated.
  absl::StatusOr<std::optional<v1::Consent>> Get(absl::string_view id) const;
  // The youth's consents, oldest first, withdrawn ones included.
  absl::StatusOr<std::vector<v1::Consent>> List(absl::string_view youth_id) const;
  // Consents `service_id` holds, in force at `now` and ending by `before`, on
  // youths it accompanies (vouched), soonest end first; undecorated.
  absl::StatusOr<std::vector<v1::Consent>> HeldExpiring(absl::string_view service_id,
                                                        absl::Time now, absl::Time before) const;

  // Sets the consent's state at `now` and whether it needs the youth's own
  // confirmation (care_ledger.h, DecorateConsent).
  void Decorate(v1::Consent& consent, absl::CivilDay date_of_birth, absl::Time now) const;
  // The receipt of a decorated consent (consent_receipt.h).
  v1::ConsentReceipt Receipt(const v1::Consent& consent) const;

 private:
  absl::Status CheckRecipient(const v1::Recipient& r, absl::string_view holder_service_id) const;

  storage::Database* const db_;
  const directory::DirectoryApi* const directory_;
  const int self_consent_age_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CONSENTS_H_
