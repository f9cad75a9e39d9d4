#include "services/care/handover_text.h"

#include <string>
#include <vector>

#include "common/log.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "storage/wal_checkpoint.h"

namespace relais::care {

absl::StatusOr<std::string> SealHandoverField(const record::RecordApi& records,
                                              absl::string_view youth_id, absl::string_view field,
                                              absl::string_view handover_id,
                                              absl::string_view text) {
  if (text.empty()) return std::string();
  return records.SealForYouth(youth_id, field, handover_id, text);
}

absl::Status OpenHandoverText(const std::function<absl::StatusOr<std::string>(
                                  absl::string_view, absl::string_view, absl::string_view)>& open,
                              v1::Handover& h) {
  if (!h.reason().empty()) {
    ASSIGN_OR_RETURN(*h.mutable_reason(), open(kHandoverReasonField, h.id(), h.reason()));
  }
  if (!h.closing_reason().empty()) {
    ASSIGN_OR_RETURN(*h.mutable_closing_reason(),
                     open(kHandoverClosingReasonField, h.id(), h.closing_reason()));
  }
  return absl::OkStatus();
}

absl::Status OpenHandoverText(const record::RecordApi& records, v1::Handover& h) {
  const std::string youth_id = h.youth_id();
  return OpenHandoverText(
      [&](absl::string_view field, absl::string_view row_id, absl::string_view sealed) {
        return records.OpenForYouth(youth_id, field, row_id, sealed);
      },
      h);
}

absl::Status SealHandoverText(storage::Database& db, const record::RecordApi& records) {
  std::vector<store::UnsealedHandoverText> rows;
  RETURN_IF_ERROR(db.Read([&](storage::Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(rows, store::ListUnsealedHandoverText(c));
    return absl::OkStatus();
  }));
  if (rows.empty()) return absl::OkStatus();
  // Sealed outside the write transaction: sealing reads the youth's key.
  for (store::UnsealedHandoverText& row : rows) {
    absl::StatusOr<std::string> reason =
        SealHandoverField(records, row.youth_id, kHandoverReasonField, row.id, row.reason);
    if (absl::IsNotFound(reason.status())) {  // erased: its text goes too
      row.reason.clear();
      row.closing_reason.clear();
      continue;
    }
    RETURN_IF_ERROR(reason.status());
    ASSIGN_OR_RETURN(std::string closing,
                     SealHandoverField(records, row.youth_id, kHandoverClosingReasonField, row.id,
                                       row.closing_reason));
    row.reason = *std::move(reason);
    row.closing_reason = std::move(closing);
  }
  RETURN_IF_ERROR(db.Write([&](storage::Connection& c) -> absl::Status {
    for (const store::UnsealedHandoverText& row : rows) {
      RETURN_IF_ERROR(store::StoreSealedHandoverText(c, row.id, row.reason, row.closing_reason));
    }
    return absl::OkStatus();
  }));
  common::LogInfo("handover reasons sealed at rest", {{"rows", std::to_string(rows.size())}});
  // The clear page images may still sit in the WAL: fold it in now.
  (void)storage::CheckpointAfterErasure(db, "handover reason sealing");
  return absl::OkStatus();
}

}  // namespace relais::care
