#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_STORE_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_STORE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "relais/v1/partnership.pb.h"
#include "services/partnership/partnership_api.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::partnership {

// Authenticated access facts (storage/row_mac.h): a convention's terms, its
// termination, and (as extra content) its parties and signatures carry a MAC,
// checked on every read (PERMISSION_DENIED "integrity_violation"): the care
// service decides access with them.
inline constexpr char kConventionMacColumns[] =
    "id, categories, purposes, max_overlap_days, start_us, end_us, terminated_at_us";
absl::StatusOr<std::string> ConventionPartiesCanonical(storage::Connection& c,
                                                       absl::string_view convention_id);
inline constexpr storage::MacTable kConventionMac{"pship_conventions", "id", kConventionMacColumns,
                                                  storage::CountColumns(kConventionMacColumns),
                                                  &ConventionPartiesCanonical};
// MACs the conventions written before (once), or re-MACs them after a master
// key rotation; needs the row MAC key bound.
absl::Status SealExistingRows(storage::Database& db);

// Who acts: a member and their service.
struct Actor {
  std::string member_id;
  std::string service_id;
};

// The partnership tables in the shared database (partnership_schema.cc).
// Thread-safe (all state is in the database). Writes take the Connection of
// the caller's Database::Write, so the caller appends the audit event of the
// change in the same transaction. Inputs are checked by the caller
// (partnership_rules.h) and permissions by the service; the store keeps the
// history rules (append-only signatures, versions and acknowledgements, fixed
// terms) and stamps times with its clock.
//
// Conventions come back with state and review_due evaluated at the clock's
// now; protocols with lapsed evaluated, to_acknowledge left to the caller.
class PartnershipStore final : public ConventionBook {
 public:
  // Applies the "partnership" migrations. `db` and `clock` are not owned and
  // must outlive the store.
  static absl::StatusOr<std::unique_ptr<PartnershipStore>> Create(storage::Database* db,
                                                                  const common::Clock* clock);

  absl::Time Now() const { return clock_->Now(); }
  storage::Database& db() const { return *db_; }

  // ---- Conventions (partnership_store.cc) ----
  // Inserts `in`'s terms with a fresh "cnv_" id, proposed by `by` and signed
  // at once for `by.service_id`.
  absl::StatusOr<v1::Convention> InsertConvention(storage::Connection& txn,
                                                  const v1::Convention& in, const Actor& by);
  // NOT_FOUND "convention_not_found".
  absl::StatusOr<v1::Convention> ReadConvention(storage::Connection& c, absl::string_view id) const;
  absl::StatusOr<v1::Convention> GetConvention(absl::string_view id) const;
  // Signs for `by.service_id` unless it already signed (then nothing).
  absl::Status AddSignature(storage::Connection& txn, absl::string_view id, const Actor& by);
  // Records a review (kept in the history) and the next review date.
  absl::Status RecordReview(storage::Connection& txn, absl::string_view id, const Actor& by,
                            absl::Time next_review);
  // Terminates now (once: FAILED_PRECONDITION otherwise, by the trigger).
  absl::Status RecordTermination(storage::Connection& txn, absl::string_view id, const Actor& by,
                                 absl::string_view reason);
  // Every convention, newest first; with a service id, those it is a party to.
  absl::StatusOr<std::vector<v1::Convention>> ListConventions(absl::string_view service_id) const;

  // ConventionBook.
  absl::StatusOr<ConventionTerms> GetTerms(storage::Connection& c,
                                           absl::string_view convention_id) const override;

  // ---- Protocols (protocol_store.cc) ----
  // Inserts `in` owned by `by.service_id` with `first` as version 1.
  absl::StatusOr<v1::Protocol> InsertProtocol(storage::Connection& txn, const v1::Protocol& in,
                                              const v1::ProtocolVersion& first, const Actor& by);
  // NOT_FOUND "protocol_not_found". The current version's text only `with_text`.
  absl::StatusOr<v1::Protocol> ReadProtocol(storage::Connection& c, absl::string_view id,
                                            bool with_text) const;
  absl::StatusOr<v1::Protocol> GetProtocol(absl::string_view id, bool with_text) const;
  // Publishes the next version with its review date; returns its number.
  absl::StatusOr<int> InsertVersion(storage::Connection& txn, absl::string_view id,
                                    const v1::ProtocolVersion& version, absl::Time review,
                                    const Actor& by);
  // Records `member_id`'s acknowledgement of `version` unless already there.
  absl::Status Acknowledge(storage::Connection& txn, absl::string_view id, int version,
                           absl::string_view member_id);
  // Who acknowledged `version` of protocol `id`.
  absl::StatusOr<std::set<std::string>> Acknowledgers(storage::Connection& c, absl::string_view id,
                                                      int version) const;
  // Protocols owned by or concerning `service_id`, by title, without text.
  absl::StatusOr<std::vector<v1::Protocol>> ProtocolsOf(absl::string_view service_id) const;
  // The "<protocol id>/<version>" pairs `member_id` acknowledged.
  absl::StatusOr<std::set<std::string>> AcknowledgedBy(absl::string_view member_id) const;

 private:
  PartnershipStore(storage::Database* db, const common::Clock* clock) : db_(db), clock_(clock) {}

  storage::Database* const db_;
  const common::Clock* const clock_;
};

// The key AcknowledgedBy() uses.
std::string AckKey(absl::string_view protocol_id, int version);

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_STORE_H_
