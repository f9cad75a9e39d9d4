#ifndef RELAIS_SERVICES_CARE_CARE_LEDGER_H_
#define RELAIS_SERVICES_CARE_CARE_LEDGER_H_

// The care records read for the access rule (access::CareFacts), with no
// dependency on the record service: relaisd builds it first and hands it to
// the record service, the audit service and CareService itself.

#include <memory>

#include "absl/time/civil_time.h"
#include "access/facts.h"
#include "common/clock.h"
#include "services/care/cited_conventions.h"
#include "services/directory/directory_api.h"
#include "storage/database.h"

namespace relais::care {

namespace store {
struct YouthOf;
}  // namespace store

// Sets a consent's state and whether it needs the youth's own confirmation
// (a guardian's consent for a child who has since reached `self_consent_age`).
void DecorateConsent(v1::Consent& consent, absl::CivilDay date_of_birth, absl::Time now,
                     int self_consent_age);

class CareLedger final : public access::CareFacts {
 public:
  // Pointers are borrowed and must outlive this object. `conventions` may be
  // null: a consent citing a convention then shares nothing.
  CareLedger(storage::Database* db, const common::Clock* clock,
             const directory::DirectoryApi* directory, int self_consent_age,
             const partnership::ConventionBook* conventions = nullptr);

  absl::StatusOr<access::AccessFacts> GatherFacts(absl::string_view service_id,
                                                  absl::string_view youth_id,
                                                  absl::string_view member_id = "") const override;
  absl::StatusOr<std::unique_ptr<access::PendingFacts>> SendFactsOfEntry(
      storage::Connection& c, absl::string_view service_id, absl::string_view entry_id,
      absl::string_view member_id) const override;
  absl::StatusOr<access::HandoverFacts> GetHandoverFacts(
      absl::string_view handover_id) const override;
  absl::StatusOr<access::ConcertationFacts> GetConcertationFacts(
      absl::string_view concertation_id) const override;
  absl::StatusOr<bool> HasActiveMandate(absl::string_view youth_id) const override;
  absl::StatusOr<access::CareExport> ExportCare(absl::string_view youth_id,
                                                absl::CivilDay date_of_birth,
                                                const TextOpener& open_text) const override;
  absl::StatusOr<access::AccompanimentSpan> GetAccompanimentSpan(
      storage::Connection& c, absl::string_view youth_id) const override;
  absl::Status EraseCareText(storage::Connection& c, absl::string_view youth_id) const override;

 private:
  struct SentFacts;
  class Pending;
  // The facts' reads sent on `c` (youth by id or by entry), then the service's
  // read, which waits for them all: one round trip on PostgreSQL.
  absl::StatusOr<SentFacts> SendFacts(storage::Connection& c, absl::string_view service_id,
                                      const store::YouthOf& youth,
                                      absl::string_view member_id) const;
  absl::StatusOr<access::AccessFacts> ReceiveFacts(storage::Connection& c, SentFacts& sent,
                                                   absl::string_view youth_id) const;

  storage::Database* const db_;
  const common::Clock* const clock_;
  const directory::DirectoryApi* const directory_;
  const int self_consent_age_;
  const CitedConventions conventions_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CARE_LEDGER_H_
