#ifndef RELAIS_SERVICES_CARE_CARE_STORE_INTERNAL_H_
#define RELAIS_SERVICES_CARE_CARE_STORE_INTERNAL_H_

// Shared by the care_store*.cc files only: the column lists and MACs of the
// care tables (SealExistingRows needs all of them) and the time conversions of
// their columns. Not part of the store's contract (care_store.h).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/care/care_store.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::care::store::internal {

// Saturates rather than overflows: request times are range-checked at the API
// (common::TimeFromRequest), this guards every other path.
inline int64_t Us(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()));
}

inline void SetTs(google::protobuf::Timestamp* ts, int64_t us) {
  int64_t secs = us / 1'000'000;
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

// "<column> = ?<param>", where the parameter is the youth's id or (by_entry)
// an entry's, whose youth the read selects (YouthOf).
std::string YouthIs(const YouthOf& youth, absl::string_view column, int param);
// INTERNAL unless a row the read returned is of the
// youth the caller read: the read found its youth itself (YouthOf::by_entry).
absl::Status CheckSameYouth(absl::string_view row_youth_id, absl::string_view youth_id);

// Before a write changes a row: the row must be authentic (absent is left to
// the write, which reports it its own way).
absl::Status CheckBeforeUpdate(storage::Connection& c, const storage::MacTable& t,
                               absl::string_view id);

inline constexpr char kAccompanimentColumns[] =
    "id, youth_id, service_id, referent_member_id, basis, start_us, end_us, handover_id, "
    "vouch, vouched_by, vouched_at_us";
// Every row the access rule reads carries a MAC over these columns (docs/security.md
// "Authenticated access facts"); reads select them followed by `mac`.
inline constexpr storage::MacTable kAccompanimentMac{"care_accompaniments", "id",
                                                     kAccompanimentColumns,
                                                     storage::CountColumns(kAccompanimentColumns)};

inline constexpr char kHandoverColumns[] =
    "id, youth_id, from_service_id, to_service_id, reason, overlap_start_us, overlap_end_us, "
    "state, proposed_by, decided_by, closing_reason, to_accompaniment_id, created_at_us, "
    "updated_at_us, from_accompaniment_id";
// The convention a handover cites belongs to its MAC (nothing when it cites none,
// so rows sealed before conventions existed still verify).
absl::StatusOr<std::string> HandoverConventionCanonical(storage::Connection& c,
                                                        absl::string_view handover_id);
inline constexpr storage::MacTable kHandoverMac{"care_handovers", "id", kHandoverColumns,
                                                storage::CountColumns(kHandoverColumns),
                                                &HandoverConventionCanonical};

// The convention cited by a consent or handover (`table` is
// care_consent_conventions or care_handover_conventions), or "".
absl::StatusOr<std::string> CitedConvention(storage::Connection& c, absl::string_view table,
                                            absl::string_view row_id);
// In two halves, for a caller that sends it with other reads (Statement::Send).
absl::StatusOr<storage::Statement> SendCitedConvention(storage::Connection& c,
                                                       absl::string_view table,
                                                       absl::string_view row_id);
absl::StatusOr<std::string> CitedConvention(storage::Statement& sent);
absl::Status InsertCitedConvention(storage::Connection& c, absl::string_view table,
                                   absl::string_view row_id, absl::string_view convention_id);
// `fields` followed by `convention` (empty: none), as AppendCitedConvention encodes it.
std::string WithConvention(storage::CanonicalFields fields, absl::string_view convention);
// `fields` followed by the cited convention, if any.
absl::StatusOr<std::string> AppendCitedConvention(storage::Connection& c, absl::string_view table,
                                                  absl::string_view row_id,
                                                  storage::CanonicalFields fields);

inline constexpr char kConcertationColumns[] =
    "id, youth_id, handover_id, organizer_service_id, organizer_member_id, invited, "
    "scheduled_at_us, state, youth_participation, recorded_by, created_at_us, updated_at_us";
// Who was invited decides who files minutes: an access fact.
inline constexpr storage::MacTable kConcertationMac{
    "care_concertations", "id", kConcertationColumns, storage::CountColumns(kConcertationColumns)};

inline constexpr char kConsentColumns[] =
    "id, youth_id, giver, guardian_id, youth_opinion, categories, all_non_special, purposes, "
    "valid_from_us, valid_until_us, recorded_by_member_id, recorded_by_service_id, "
    "recorded_at_us, withdrawn_at_us, withdrawn_by_member_id";
// A consent's recipients and cited convention belong to its MAC: a recipient
// added or a convention dropped by hand widens it (care_store_consents.cc).
absl::StatusOr<std::string> RecipientsCanonical(storage::Connection& c,
                                                absl::string_view consent_id);
inline constexpr storage::MacTable kConsentMac{"care_consents", "id", kConsentColumns,
                                               storage::CountColumns(kConsentColumns),
                                               &RecipientsCanonical};

inline constexpr char kGrantColumns[] =
    "id, youth_id, service_id, member_id, justification, opened_at_us, expires_at_us, verdict, "
    "review_note, reviewed_by_member_id, reviewed_at_us";
inline constexpr storage::MacTable kGrantMac{"care_emergency_grants", "id", kGrantColumns,
                                             storage::CountColumns(kGrantColumns)};

}  // namespace relais::care::store::internal

#endif  // RELAIS_SERVICES_CARE_CARE_STORE_INTERNAL_H_
