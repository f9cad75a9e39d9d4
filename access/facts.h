#ifndef RELAIS_ACCESS_FACTS_H_
#define RELAIS_ACCESS_FACTS_H_

// The policy information point: what a service that enforces the access rule
// (the record service, the audit service's access report) asks of the care
// records. Declared here, apart from the care service, so that the record
// service depends on the rule and its facts and not on the care service; the
// care service implements it (care::CareLedger). Thread-safe; evaluated at
// the implementation's clock's "now".

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "access/policy.h"
#include "relais/v1/care.pb.h"
#include "storage/database.h"

namespace relais::access {

// The handover facts the record service needs to file concertation entries.
struct HandoverFacts {
  std::string id;
  std::string youth_id;
  std::string from_service_id;
  std::string to_service_id;
};

// The concertation meeting facts the record service needs to file minutes.
struct ConcertationFacts {
  std::string id;
  std::string youth_id;
  std::string handover_id;  // empty: the youth's own thread
  std::vector<std::string> invited_service_ids;
  bool cancelled = false;
};

// Everything the care records hold on one youth, for the record's export
// (GDPR art. 15/20): consents decorated and with their receipt.
struct CareExport {
  std::vector<v1::Accompaniment> accompaniments;
  std::vector<v1::Handover> handovers;
  std::vector<v1::Consent> consents;
  std::vector<v1::Concertation> concertations;
};

// The retention clock (docs/retention.md): whether an accompaniment of the
// youth is active now or starts later (`open`: the youth is never swept), and
// the latest end among those that ended.
struct AccompanimentSpan {
  bool open = false;
  std::optional<absl::Time> last_end;
};

// Care facts whose reads were sent (CareFacts::SendFactsOfEntry).
class PendingFacts {
 public:
  virtual ~PendingFacts() = default;
  // Once, on the connection they were sent on and in the same transaction:
  // the facts of `youth_id`, the youth of the entry as the caller read it.
  // INTERNAL if a fact read is of another youth.
  virtual absl::StatusOr<AccessFacts> Receive(absl::string_view youth_id) = 0;
};

class CareFacts {
 public:
  virtual ~CareFacts() = default;
  // The relationship of `service_id` to `youth_id` now and the consents in
  // force that name that service or its sector. An emergency grant counts only
  // for the member who opened it: `member_id` (empty: none counts).
  virtual absl::StatusOr<AccessFacts> GatherFacts(absl::string_view service_id,
                                                  absl::string_view youth_id,
                                                  absl::string_view member_id = "") const = 0;
  // GatherFacts of the youth the entry `entry_id` belongs to, for a caller
  // reading that entry on `c` in one transaction: the reads find the youth
  // themselves, so they need not wait for the entry's (on PostgreSQL they
  // travel with it, one round trip for both, when the caller sent its read
  // first), and are received once the caller knows the youth. The default
  // reads nothing until Receive, which gathers the facts by youth.
  virtual absl::StatusOr<std::unique_ptr<PendingFacts>> SendFactsOfEntry(
      storage::Connection& c, absl::string_view service_id, absl::string_view entry_id,
      absl::string_view member_id) const {
    (void)c, (void)entry_id;
    class AtReceive final : public PendingFacts {
     public:
      AtReceive(const CareFacts& care, absl::string_view service_id, absl::string_view member_id)
          : care_(care), service_id_(service_id), member_id_(member_id) {}
      absl::StatusOr<AccessFacts> Receive(absl::string_view youth_id) override {
        return care_.GatherFacts(service_id_, youth_id, member_id_);
      }

     private:
      const CareFacts& care_;
      const std::string service_id_;
      const std::string member_id_;
    };
    return std::make_unique<AtReceive>(*this, service_id, member_id);
  }
  // NOT_FOUND "handover_not_found".
  virtual absl::StatusOr<HandoverFacts> GetHandoverFacts(absl::string_view handover_id) const = 0;
  // NOT_FOUND "concertation_not_found".
  virtual absl::StatusOr<ConcertationFacts> GetConcertationFacts(
      absl::string_view concertation_id) const = 0;
  // Whether an accompaniment of the youth with basis MANDATE is active now
  // (erasure is then refused).
  virtual absl::StatusOr<bool> HasActiveMandate(absl::string_view youth_id) const = 0;
  // Opens a value sealed with the youth's key: (field, row id, sealed) -> text.
  using TextOpener = std::function<absl::StatusOr<std::string>(
      absl::string_view field, absl::string_view row_id, absl::string_view sealed)>;
  // The youth's accompaniments, handovers and consents, oldest first; the
  // caller decided and audited the access. `date_of_birth` decides which
  // guardian consents need the youth's confirmation. Handover reasons are
  // opened with `open_text`; without one (a metadata-only export) they are
  // left out, never opened, and consents come without their receipt.
  virtual absl::StatusOr<CareExport> ExportCare(absl::string_view youth_id,
                                                absl::CivilDay date_of_birth,
                                                const TextOpener& open_text) const = 0;
  // Read on `c`, so the retention sweep can check it inside its erasing
  // transaction.
  virtual absl::StatusOr<AccompanimentSpan> GetAccompanimentSpan(
      storage::Connection& c, absl::string_view youth_id) const = 0;
  // Erasure (art. 17): blanks the free text the care records keep in clear
  // about the youth (handover reasons), on `c`, inside the erasing transaction.
  virtual absl::Status EraseCareText(storage::Connection& c, absl::string_view youth_id) const = 0;
};

}  // namespace relais::access

#endif  // RELAIS_ACCESS_FACTS_H_
