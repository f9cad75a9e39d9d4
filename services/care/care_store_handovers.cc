// The care store's handovers (care_handovers): see care_store.h.

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/care_store_internal.h"

namespace relais::care::store {

using internal::CheckBeforeUpdate;
using internal::kHandoverColumns;
using internal::kHandoverMac;
using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;
namespace {

absl::StatusOr<v1::Handover> RowToHandover(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kHandoverMac, s));
  v1::Handover h;
  h.set_id(s.ColumnText(0));
  h.set_youth_id(s.ColumnText(1));
  h.set_from_service_id(s.ColumnText(2));
  h.set_to_service_id(s.ColumnText(3));
  // Reasons are sealed with the youth's key (care/handover_text.h): bytes.
  h.set_reason(s.ColumnBlob(4));
  SetTs(h.mutable_overlap_start(), s.ColumnInt64(5));
  SetTs(h.mutable_overlap_end(), s.ColumnInt64(6));
  h.set_state(static_cast<v1::HandoverState>(s.ColumnInt64(7)));
  h.set_proposed_by_member_id(s.ColumnText(8));
  h.set_decided_by_member_id(s.ColumnText(9));
  h.set_closing_reason(s.ColumnBlob(10));
  h.set_to_accompaniment_id(s.ColumnText(11));
  SetTs(h.mutable_created_at(), s.ColumnInt64(12));
  SetTs(h.mutable_updated_at(), s.ColumnInt64(13));
  ASSIGN_OR_RETURN(*h.mutable_convention_id(),
                   internal::CitedConvention(c, "care_handover_conventions", h.id()));
  return h;
}

}  // namespace

absl::Status InsertHandover(Connection& c, const v1::Handover& h,
                            absl::string_view from_accompaniment_id) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO care_handovers (id, youth_id, from_service_id, to_service_id, "
                "from_accompaniment_id, reason, overlap_start_us, overlap_end_us, state, "
                "proposed_by, created_at_us, updated_at_us, text_sealed) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1)"));
  s.Bind(1, h.id()).Bind(2, h.youth_id()).Bind(3, h.from_service_id()).Bind(4, h.to_service_id());
  s.Bind(5, from_accompaniment_id).BindBlob(6, h.reason()).Bind(7, Us(h.overlap_start()));
  s.Bind(8, Us(h.overlap_end())).Bind(9, int64_t{h.state()}).Bind(10, h.proposed_by_member_id());
  s.Bind(11, Us(h.created_at())).Bind(12, Us(h.updated_at()));
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(
      internal::InsertCitedConvention(c, "care_handover_conventions", h.id(), h.convention_id()));
  return storage::SetRowMac(c, kHandoverMac, h.id());
}

absl::Status UpdateHandover(Connection& c, const v1::Handover& h) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_handovers SET state = ?2, decided_by = ?3, "
                             "closing_reason = ?4, to_accompaniment_id = ?5, updated_at_us = ?6 "
                             "WHERE id = ?1"));
  s.Bind(1, h.id()).Bind(2, int64_t{h.state()}).BindOptional(3, h.decided_by_member_id());
  if (h.closing_reason().empty()) {
    s.BindNull(4);
  } else {
    s.BindBlob(4, h.closing_reason());  // sealed by the caller
  }
  s.BindOptional(5, h.to_accompaniment_id());
  s.Bind(6, Us(h.updated_at()));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, h.id()));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::InternalError("handover row vanished");
  return storage::SetRowMac(c, kHandoverMac, h.id());
}

absl::StatusOr<std::optional<v1::Handover>> GetHandover(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                                       " FROM care_handovers WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToHandover(c, s);
}

absl::StatusOr<std::string> HandoverFromAccompaniment(Connection& c,
                                                      absl::string_view handover_id) {
  RETURN_IF_ERROR(storage::CheckStoredRow(c, kHandoverMac, handover_id));
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT from_accompaniment_id FROM care_handovers "
                                          "WHERE id = ?1"));
  s.Bind(1, handover_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::InternalError("handover row vanished");
  return s.ColumnText(0);
}

absl::StatusOr<std::optional<v1::Handover>> FindOpenHandover(Connection& c,
                                                             absl::string_view youth_id,
                                                             absl::string_view from_service_id,
                                                             absl::string_view to_service_id,
                                                             absl::Time now) {
  // A proposal whose window has ended can never be accepted: it no longer
  // blocks a new one.
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE youth_id = ?1 AND "
                                          "from_service_id = ?2 AND to_service_id = ?3 AND "
                                          "(state = ?5 OR (state = ?4 AND overlap_end_us > ?6)) "
                                          "LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, from_service_id).Bind(3, to_service_id);
  s.Bind(4, int64_t{v1::HANDOVER_STATE_PROPOSED}).Bind(5, int64_t{v1::HANDOVER_STATE_ACCEPTED});
  s.Bind(6, Us(now));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToHandover(c, s);
}

absl::Status EraseHandoverText(Connection& c, absl::string_view youth_id) {
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT id FROM care_handovers WHERE youth_id = ?1"));
    q.Bind(1, youth_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.ColumnText(0));
    }
  }
  for (const std::string& id : ids) RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, id));
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_handovers SET reason = '', closing_reason = "
                             "CASE WHEN closing_reason IS NULL THEN closing_reason ELSE '' END "
                             "WHERE youth_id = ?1"));
  s.Bind(1, youth_id);
  RETURN_IF_ERROR(s.Run());
  for (const std::string& id : ids) RETURN_IF_ERROR(storage::SetRowMac(c, kHandoverMac, id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UnsealedHandoverText>> ListUnsealedHandoverText(Connection& c) {
  std::vector<std::string> ids;
  {
    ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT id FROM care_handovers WHERE text_sealed = 0"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.ColumnText(0));
    }
  }
  std::vector<UnsealedHandoverText> out;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Handover> h, GetHandover(c, id));  // MAC checked
    if (!h.has_value()) return absl::InternalError("handover row vanished");
    out.push_back({h->id(), h->youth_id(), h->reason(), h->closing_reason()});
  }
  return out;
}

absl::Status StoreSealedHandoverText(Connection& c, absl::string_view id,
                                     absl::string_view sealed_reason,
                                     absl::string_view sealed_closing_reason) {
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kHandoverMac, id));
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE care_handovers SET reason = ?2, "
                                          "closing_reason = CASE WHEN closing_reason IS NULL "
                                          "THEN NULL ELSE ?3 END, text_sealed = 1 "
                                          "WHERE id = ?1 AND text_sealed = 0"));
  s.Bind(1, id).BindBlob(2, sealed_reason).BindBlob(3, sealed_closing_reason);
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kHandoverMac, id);
}

absl::StatusOr<std::vector<v1::Handover>> ListHandovers(Connection& c, absl::string_view service_id,
                                                        absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE (?1 = '' OR "
                                          "from_service_id = ?1 OR to_service_id = ?1) AND "
                                          "(?2 = '' OR youth_id = ?2) "
                                          "ORDER BY created_at_us, rowid")));
  // No LIMIT: callers page the whole list (rpc::TakePage) or need all of it
  // (export, ending an accompaniment); a cut-off would drop handovers silently.
  s.Bind(1, service_id).Bind(2, youth_id);
  std::vector<v1::Handover> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Handover h, RowToHandover(c, s));
    out.push_back(std::move(h));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Handover>> DueHandovers(Connection& c, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE state = ?1 AND "
                                          "overlap_end_us <= ?2 ORDER BY overlap_end_us")));
  s.Bind(1, int64_t{v1::HANDOVER_STATE_ACCEPTED}).Bind(2, Us(now));
  std::vector<v1::Handover> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Handover h, RowToHandover(c, s));
    out.push_back(std::move(h));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Handover>> HandoversEndingBefore(Connection& c, absl::Time now,
                                                                absl::Time before) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kHandoverColumns, ", mac",
                                          " FROM care_handovers WHERE state = ?1 AND "
                                          "overlap_end_us > ?2 AND overlap_end_us <= ?3 "
                                          "ORDER BY overlap_end_us")));
  s.Bind(1, int64_t{v1::HANDOVER_STATE_ACCEPTED}).Bind(2, Us(now)).Bind(3, Us(before));
  std::vector<v1::Handover> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Handover h, RowToHandover(c, s));
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace relais::care::store
