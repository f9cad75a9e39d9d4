#ifndef RELAIS_SERVICES_CARE_HANDOVERS_H_
#define RELAIS_SERVICES_CARE_HANDOVERS_H_

// The handover rules (DESIGN.md, "Handover"): service A, accompanying a youth,
// proposes that service B take over, with a reason and an overlap window.
//
//   proposed --accept--> accepted --(window ends | complete)--> completed
//   proposed --decline--> declined        proposed --cancel--> cancelled
//
// On accept B's accompaniment starts (vouched for by A) and A's continues until
// the window ends. Repeating a transition that already happened returns the
// handover unchanged (idempotent); any other is FAILED_PRECONDITION
// "illegal_transition". Reasons are sealed with the youth's key
// (handover_text.h): handovers returned by the writes below hold the reason in
// clear only where stated; the caller opens the rest with OpenHandoverText.
//
// No gRPC here: the CareService handlers validate, call these, fill replies.
// Writes run on the Connection of a write transaction the caller holds (the
// one its audit event is appended in); reads open their own. Thread-safe:
// holds no state but borrowed pointers.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "google/protobuf/timestamp.pb.h"
#include "relais/v1/care.pb.h"
#include "services/record/record_api.h"
#include "storage/database.h"

namespace relais::care {

class Handovers {
 public:
  // Pointers are borrowed and must outlive this object. `records` seals and
  // opens the reasons; `clock` stamps updated_at.
  Handovers(absl::Duration max_overlap, storage::Database* db, const common::Clock* clock,
            const record::RecordApi* records)
      : max_overlap_(max_overlap), db_(db), clock_(clock), records_(records) {}

  // The overlap window of a proposal made at `now`: INVALID_ARGUMENT naming
  // overlap_start "in_the_past" (over a minute ago), overlap_end "window_empty"
  // or "overlap_too_long" (beyond the configured maximum).
  absl::Status CheckWindow(absl::Time start, absl::Time end, absl::Time now) const;

  struct Proposal {
    std::string youth_id;
    std::string from_service_id;
    std::string to_service_id;
    std::string member_id;  // who proposes
    std::string reason;     // in clear; sealed before it is stored
    // As requested (range-checked, CheckWindow passed); stored as given.
    google::protobuf::Timestamp overlap_start;
    google::protobuf::Timestamp overlap_end;
    std::string convention_id;  // checked by the caller (CitedConventions)
  };
  // In the caller's write transaction; returns the handover, reason in clear.
  // PERMISSION_DENIED "no_active_accompaniment" unless the proposing service
  // accompanies the youth; the same proposal repeated returns the open one;
  // ALREADY_EXISTS "handover_already_open" for a different one while one is
  // open between these services; FAILED_PRECONDITION "already_accompanying"
  // if the receiving service accompanies the youth.
  absl::StatusOr<v1::Handover> Propose(storage::Connection& c, const Proposal& p,
                                       absl::Time now) const;

  // Which party a call must be.
  enum class Side { kFrom, kTo };
  // Loads a handover (reasons sealed) the service is party to on `side`.
  // NOT_FOUND "handover_not_found" when unknown or when the service is not
  // party to it at all; PERMISSION_DENIED "wrong_service" (and `*deny` set)
  // when it is the other party, after `*youth_id` (if given) is set.
  absl::StatusOr<v1::Handover> LoadFor(absl::string_view service_id, absl::string_view handover_id,
                                       Side side, v1::AccessReason* deny,
                                       std::string* youth_id = nullptr) const;

  struct Move {
    enum Kind { kAccept, kDecline, kCancel, kComplete } kind;
    std::string member_id;           // who decides
    std::string service_id;          // kAccept: the receiving service
    std::string referent_member_id;  // kAccept: its referent
    std::string reason;              // kDecline, kCancel: in clear; sealed here
    absl::Time now;                  // when it is decided
  };
  // In the caller's write transaction: re-reads the handover (its state may
  // have moved since it was loaded), applies the move and stores it. Returns
  // it with its reasons sealed. FAILED_PRECONDITION "illegal_transition";
  // accept: "window_elapsed", "proposer_no_longer_accompanying"; complete:
  // "incoming_not_started".
  absl::StatusOr<v1::Handover> Transition(storage::Connection& c, absl::string_view handover_id,
                                          const Move& move) const;

  // In the caller's write transaction: marks completed the accepted
  // handovers whose window ended at or before `now` (the proposer's
  // accompaniment already ends at the window's end) and returns them.
  absl::StatusOr<std::vector<v1::Handover>> CompleteDue(storage::Connection& c,
                                                        absl::Time now) const;

  // The handovers involving the service, optionally of one youth, oldest
  // first, reasons sealed (own read transaction).
  absl::StatusOr<std::vector<v1::Handover>> List(absl::string_view service_id,
                                                 absl::string_view youth_id) const;
  // Whether `h` is accepted and its window ends after `now` and within
  // `days` days (0: every handover qualifies).
  static bool EndsWithin(const v1::Handover& h, absl::Time now, int days);

 private:
  absl::Status Accept(storage::Connection& c, v1::Handover& h, const Move& move,
                      bool* changed) const;
  absl::Status Close(v1::Handover& h, const Move& move, bool* changed) const;
  absl::Status Complete(storage::Connection& c, v1::Handover& h, const Move& move,
                        bool* changed) const;

  const absl::Duration max_overlap_;
  storage::Database* const db_;
  const common::Clock* const clock_;
  const record::RecordApi* const records_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_HANDOVERS_H_
