#ifndef RELAIS_SERVICES_RECORD_GDPR_STORE_H_
#define RELAIS_SERVICES_RECORD_GDPR_STORE_H_

// The record service's GDPR tables: the history of restrictions, holds and
// erasures (rec_gdpr_changes), four-eyes erasure requests
// (rec_erasure_requests) and two-person full exports (rec_full_exports).
// Free text is sealed with the youth's data key; rows hold ids, states and
// times otherwise. The youth row must exist (record_store.h).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/record.pb.h"
#include "storage/crypto/field_crypto.h"
#include "storage/database.h"

namespace relais::record::store {

// One change of a record's GDPR state, kept as history (rec_gdpr_changes).
struct GdprChange {
  std::string id;
  std::string youth_id;
  std::string kind;    // "restrict", "lift_restriction", "legal_hold", "lift_legal_hold", "erase"
  std::string reason;  // free text, sealed with the youth's key; empty: none stored
  std::string member_id;
  std::string service_id;
  absl::Time at;
};
absl::Status RecordGdprChange(storage::Connection& c, const storage::crypto::FieldCrypto& crypto,
                              const GdprChange& change);

// Four-eyes erasure requests (rec_erasure_requests). Reasons are sealed with
// the youth's data key (fields "erasure.reason" and "erasure.cancel_reason",
// bound to the request id); the rows hold ids, states and times otherwise.
absl::Status InsertErasureRequest(storage::Connection& c,
                                  const storage::crypto::FieldCrypto& crypto,
                                  const v1::ErasureRequest& request, absl::string_view reason);
absl::StatusOr<std::optional<v1::ErasureRequest>> GetErasureRequest(storage::Connection& c,
                                                                    absl::string_view id);
// The youth's REQUESTED or APPROVED request, if any (there is at most one).
absl::StatusOr<std::optional<v1::ErasureRequest>> PendingErasureRequest(storage::Connection& c,
                                                                        absl::string_view youth_id);
// Every request of the youth, newest first.
absl::StatusOr<std::vector<v1::ErasureRequest>> ListErasureRequests(storage::Connection& c,
                                                                    absl::string_view youth_id);
// REQUESTED -> APPROVED.
absl::Status ApproveErasureRequest(storage::Connection& c, absl::string_view id,
                                   absl::string_view member_id, absl::string_view service_id,
                                   absl::Time at, absl::Time execute_after);
// REQUESTED or APPROVED -> CANCELLED. `reason` empty: none stored (the server).
absl::Status CancelErasureRequest(storage::Connection& c,
                                  const storage::crypto::FieldCrypto& crypto,
                                  const v1::ErasureRequest& request, absl::string_view member_id,
                                  absl::string_view service_id, absl::Time at,
                                  absl::string_view reason, absl::string_view reason_code);
// APPROVED -> EXECUTED; the sealed reasons are dropped with the key.
absl::Status MarkErasureExecuted(storage::Connection& c, absl::string_view id, absl::Time at);
// Ids of the APPROVED requests whose execute_after is at or before `now`, oldest first.
absl::StatusOr<std::vector<std::string>> DueErasureRequests(storage::Connection& c, absl::Time now);

// Two-person full exports (rec_full_exports). `now` evaluates the EXPIRED state.
inline constexpr absl::Duration kFullExportValidity = absl::Hours(24);
absl::Status InsertFullExportRequest(storage::Connection& c,
                                     const storage::crypto::FieldCrypto& crypto,
                                     const v1::FullExportRequest& request,
                                     absl::string_view requested_by_service,
                                     absl::string_view reason);
absl::StatusOr<std::optional<v1::FullExportRequest>> GetFullExportRequest(storage::Connection& c,
                                                                          absl::string_view id,
                                                                          absl::Time now);
// REQUESTED -> APPROVED, usable until at + kFullExportValidity.
absl::Status ApproveFullExportRequest(storage::Connection& c, absl::string_view id,
                                      absl::string_view member_id, absl::Time at);
// APPROVED -> USED.
absl::Status MarkFullExportUsed(storage::Connection& c, absl::string_view id, absl::Time at);

}  // namespace relais::record::store

#endif  // RELAIS_SERVICES_RECORD_GDPR_STORE_H_
