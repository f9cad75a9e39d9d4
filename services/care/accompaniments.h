#ifndef RELAIS_SERVICES_CARE_ACCOMPANIMENTS_H_
#define RELAIS_SERVICES_CARE_ACCOMPANIMENTS_H_

// The accompaniment rules (DESIGN.md, "Accompaniment"): a service follows a
// youth from a start until an end, and no one vouches for themselves. Only
// first contact (the service created the record, and no other service was ever
// vouched for) is immediate; any other accompaniment waits (VOUCH_PENDING)
// until a service that accompanies the youth confirms it or, under mandate, a
// mandating service (SAJ, SPJ) does. The youth is never left without a
// responsible service: a service handing over stays until the receiving one
// has started.
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
#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "storage/database.h"

namespace relais::care {

class Accompaniments {
 public:
  // `db` is borrowed and must outlive this object.
  explicit Accompaniments(storage::Database* db) : db_(db) {}

  struct Opening {
    std::string youth_id;
    std::string service_id;  // the service that accompanies
    std::string member_id;   // who opens it (vouches on first contact)
    std::string referent_member_id;
    v1::AccompanimentBasis basis = v1::ACCOMPANIMENT_BASIS_UNSPECIFIED;
    // The service that created the youth's record (its first contact).
    std::string record_creator_service_id;
  };
  // In the caller's write transaction. Idempotent: the service's active
  // accompaniment of the youth if it has one; else a new one, vouched at once
  // on first contact and pending otherwise.
  absl::StatusOr<v1::Accompaniment> Open(storage::Connection& c, const Opening& in,
                                         absl::Time now) const;

  // In the caller's write transaction: ends the service's accompaniment `id`
  // at `now` (idempotent once ended). NOT_FOUND "accompaniment_not_found" if it
  // is not the service's; FAILED_PRECONDITION "incoming_not_started" while the
  // service hands the youth over to one whose accompaniment has not started.
  absl::StatusOr<v1::Accompaniment> End(storage::Connection& c, absl::string_view service_id,
                                        absl::string_view id, absl::Time now) const;

  // In the caller's write transaction: makes `referent_member_id` (checked by
  // the caller: an active member of the service) the referent of the
  // service's accompaniment `id`, recorded as changed by `by_member_id` at
  // `now`. NOT_FOUND "accompaniment_not_found" if it is not the service's;
  // FAILED_PRECONDITION "accompaniment_ended" once ended. The current referent
  // again changes nothing. Returns it with its referent history.
  absl::StatusOr<v1::Accompaniment> Reassign(storage::Connection& c, absl::string_view service_id,
                                             absl::string_view id,
                                             absl::string_view referent_member_id,
                                             absl::string_view by_member_id, absl::Time now) const;
  // In the caller's write transaction: the accompaniments not ended at `now`
  // whose referent is `member_id` (what a departure must settle).
  absl::StatusOr<std::vector<v1::Accompaniment>> ReferredBy(storage::Connection& c,
                                                            absl::string_view member_id,
                                                            absl::Time now) const;

  // Who may vouch for `target`, another service's accompaniment: a service
  // that accompanies the youth (`voucher_accompanies`, vouched), or under a
  // mandate basis a mandating service (`voucher_kind` SAJ or SPJ). Returns the
  // vouch a decision records (DECLINED when !confirm, MANDATE or CONFIRMED);
  // NOT_FOUND "accompaniment_not_found" for anyone else, the answer an unknown
  // id gets. `voucher_kind` is read only when !voucher_accompanies.
  static absl::StatusOr<v1::Vouch> VouchFor(const v1::Accompaniment& target,
                                            bool voucher_accompanies,
                                            absl::string_view voucher_kind, bool confirm);
  // NOT_FOUND "accompaniment_not_found": no such pending accompaniment for you.
  static absl::Status NotFoundForVoucher();

  // In the caller's write transaction: records `verdict` (from VouchFor) by
  // `member_id`; a decline also ends the accompaniment at `now`. Repeating the
  // same decision returns it unchanged; FAILED_PRECONDITION "not_pending" for
  // the opposite one, "accompaniment_ended" if it ended undecided.
  absl::StatusOr<v1::Accompaniment> Vouch(storage::Connection& c, absl::string_view id,
                                          v1::Vouch verdict, absl::string_view member_id,
                                          absl::Time now) const;

  // Reads (own transaction); `active` is evaluated at `now`.
  absl::StatusOr<std::optional<v1::Accompaniment>> Get(absl::string_view id, absl::Time now) const;
  // The youth's accompaniments, oldest first, with their referent history.
  absl::StatusOr<std::vector<v1::Accompaniment>> List(absl::string_view youth_id,
                                                      absl::Time now) const;
  // Open pending accompaniments of other services on the youths `service_id`
  // accompanies now (vouched), oldest first: what it may vouch for.
  absl::StatusOr<std::vector<v1::Accompaniment>> PendingFor(absl::string_view service_id,
                                                            absl::Time now) const;
  // `service_id`'s own accompaniments not ended at `now`, oldest first.
  absl::StatusOr<std::vector<v1::Accompaniment>> OpenOf(absl::string_view service_id,
                                                        absl::Time now) const;

 private:
  storage::Database* const db_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_ACCOMPANIMENTS_H_
