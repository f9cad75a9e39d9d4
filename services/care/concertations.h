#ifndef RELAIS_SERVICES_CARE_CONCERTATIONS_H_
#define RELAIS_SERVICES_CARE_CONCERTATIONS_H_

// The concertation rules (issue #14, item 7): a service accompanying a youth
// schedules a meeting and invites the other services that accompany the youth
// (or the other party of the handover it is about). The meeting holds ids and
// dates only; its minutes are entries of kind CONCERTATION filed with its id,
// each read under the access rule: an invitation grants no access.
//
//   scheduled --record held (once its time has come)--> held
//   scheduled --record cancelled--> cancelled
//
// Only the organizing service records the outcome; repeating it returns the
// meeting unchanged, another outcome is FAILED_PRECONDITION
// "concertation_closed".
//
// No gRPC here: the CareService handlers validate, call these, fill replies.
// Writes run on the Connection of the caller's write transaction (the one its
// audit event is appended in); reads open their own. Thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "storage/database.h"

namespace relais::care {

class Concertations {
 public:
  // Every meeting has at most this many services besides the organizer's.
  static constexpr int kMaxInvited = 9;

  explicit Concertations(storage::Database* db) : db_(db) {}

  struct Meeting {
    std::string youth_id;
    std::string handover_id;  // may be empty
    std::string organizer_service_id;
    std::string organizer_member_id;
    absl::Time scheduled_at;
    std::vector<std::string> invited;  // distinct ids, the organizer's not among them
  };
  // In the caller's write transaction. INVALID_ARGUMENT handover_id
  // "unknown_handover" unless a handover of this youth the organizer is a
  // party of; FAILED_PRECONDITION "handover_closed" if it was declined or
  // cancelled, "invitee_not_accompanying" for an invited service that neither
  // accompanies the youth (vouched for) nor is the handover's other party; the
  // same meeting repeated returns the scheduled one; ALREADY_EXISTS
  // "concertation_already_scheduled" for another one by the same service at
  // the same time.
  absl::StatusOr<v1::Concertation> Schedule(storage::Connection& c, const Meeting& m,
                                            absl::Time now) const;

  // Loads a meeting to which `service_id` was invited (own read). NOT_FOUND
  // "concertation_not_found" when unknown or not invited; with
  // `organizer_only`, PERMISSION_DENIED "wrong_service" (and `*deny` set) for
  // an invited service that did not organize it.
  absl::StatusOr<v1::Concertation> LoadFor(absl::string_view service_id, absl::string_view id,
                                           bool organizer_only, v1::AccessReason* deny) const;

  struct Outcome {
    v1::ConcertationState state;  // HELD or CANCELLED
    v1::YouthParticipation youth_participation;
    std::string member_id;  // who records it
    absl::Time now;
  };
  // In the caller's write transaction, on a meeting LoadFor returned (re-read
  // here). FAILED_PRECONDITION "concertation_not_yet_held" for HELD before its
  // time, "concertation_closed" for a change of a recorded outcome.
  absl::StatusOr<v1::Concertation> Record(storage::Connection& c, absl::string_view id,
                                          const Outcome& outcome) const;

  // The youth's meetings to which the service was invited, latest first.
  absl::StatusOr<std::vector<v1::Concertation>> List(absl::string_view service_id,
                                                     absl::string_view youth_id) const;

 private:
  absl::Status CheckInvited(storage::Connection& c, const Meeting& m, absl::Time now,
                            absl::string_view handover_party) const;

  storage::Database* const db_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CONCERTATIONS_H_
