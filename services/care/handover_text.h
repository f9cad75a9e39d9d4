#ifndef RELAIS_SERVICES_CARE_HANDOVER_TEXT_H_
#define RELAIS_SERVICES_CARE_HANDOVER_TEXT_H_

// Nothing sensitive in clear at rest (issue #11, item 9): a handover's reason
// and its closing (decline / cancel) reason are sealed with the youth's data
// key, each under a field name of its own bound to the handover id, like entry
// bodies. They are opened only for a response its caller may see; an empty
// text stays empty (nothing to hide, and erasure blanks them).

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "relais/v1/care.pb.h"
#include "services/record/record_api.h"
#include "storage/database.h"

namespace relais::care {

inline constexpr char kHandoverReasonField[] = "handover.reason";
inline constexpr char kHandoverClosingReasonField[] = "handover.closing_reason";

// Seals `text` for handover `handover_id` of `youth_id` under `field`.
absl::StatusOr<std::string> SealHandoverField(const record::RecordApi& records,
                                              absl::string_view youth_id, absl::string_view field,
                                              absl::string_view handover_id,
                                              absl::string_view text);

// Replaces the sealed reasons of `h` (as the store returns them) with their
// text. DATA_LOSS if a value was not sealed for this youth, field and row.
absl::Status OpenHandoverText(const record::RecordApi& records, v1::Handover& h);

// Opens the reasons with `open(field, row_id, sealed)` (the export's opener).
absl::Status OpenHandoverText(const std::function<absl::StatusOr<std::string>(
                                  absl::string_view, absl::string_view, absl::string_view)>& open,
                              v1::Handover& h);

// Once at start-up, with the keys loaded: seals the reasons of the rows
// written before they were sealed (care migration 5), re-MACing each row. A
// youth already erased keeps no text (blanked).
absl::Status SealHandoverText(storage::Database& db, const record::RecordApi& records);

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_HANDOVER_TEXT_H_
