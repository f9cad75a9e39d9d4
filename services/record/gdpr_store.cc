// The GDPR tables of the record service (rec_gdpr_changes, rec_erasure_requests,
// rec_full_exports): see gdpr_store.h.
#include "services/record/gdpr_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "services/record/record_store_internal.h"

namespace relais::record::store {
namespace {

using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;
using storage::crypto::FieldCrypto;
using storage::crypto::YouthKey;

// Field names in the AAD of each sealed column. Never rename one: values
// sealed under the old name would no longer open.
constexpr char kGdprReason[] = "gdpr.reason";
constexpr char kErasureReason[] = "erasure.reason";
constexpr char kErasureCancelReason[] = "erasure.cancel_reason";
constexpr char kFullExportReason[] = "full_export.reason";

constexpr char kErasureColumns[] =
    "id, youth_id, state, requested_by_member, requested_by_service, requested_at_us, "
    "restricted_by_request, approved_by_member, approved_by_service, approved_at_us, "
    "execute_after_us, executed_at_us, cancelled_by_member, cancelled_at_us, cancel_reason_code";

void SetOptionalTs(const Statement& s, int column, google::protobuf::Timestamp* ts) {
  if (!s.ColumnIsNull(column)) SetTs(ts, s.ColumnInt64(column));
}

v1::ErasureRequest RowToErasure(const Statement& s) {
  v1::ErasureRequest r;
  r.set_id(s.ColumnText(0));
  r.set_youth_id(s.ColumnText(1));
  r.set_state(static_cast<v1::ErasureState>(s.ColumnInt64(2)));
  r.set_requested_by_member_id(s.ColumnText(3));
  r.set_requested_by_service_id(s.ColumnText(4));
  SetTs(r.mutable_requested_at(), s.ColumnInt64(5));
  r.set_restricted_by_request(s.ColumnInt64(6) != 0);
  r.set_approved_by_member_id(s.ColumnText(7));
  r.set_approved_by_service_id(s.ColumnText(8));
  SetOptionalTs(s, 9, r.mutable_approved_at());
  SetOptionalTs(s, 10, r.mutable_execute_after());
  SetOptionalTs(s, 11, r.mutable_executed_at());
  r.set_cancelled_by_member_id(s.ColumnText(12));
  SetOptionalTs(s, 13, r.mutable_cancelled_at());
  r.set_cancel_reason_code(s.ColumnText(14));
  return r;
}

}  // namespace

absl::Status RecordGdprChange(Connection& c, const FieldCrypto& crypto, const GdprChange& change) {
  std::string sealed;
  if (!change.reason.empty()) {
    ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, change.youth_id));
    ASSIGN_OR_RETURN(sealed, key.Seal({kGdprReason, change.id}, change.reason));
  }
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO rec_gdpr_changes (id, youth_id, kind, reason, "
                             "member_id, service_id, at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, change.id).Bind(2, change.youth_id).Bind(3, change.kind);
  if (sealed.empty()) {
    s.BindNull(4);
  } else {
    s.BindBlob(4, sealed);
  }
  s.Bind(5, change.member_id).Bind(6, change.service_id).Bind(7, absl::ToUnixMicros(change.at));
  return s.Run();
}

absl::Status InsertErasureRequest(Connection& c, const FieldCrypto& crypto,
                                  const v1::ErasureRequest& r, absl::string_view reason) {
  ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, r.youth_id()));
  ASSIGN_OR_RETURN(std::string sealed, key.Seal({kErasureReason, r.id()}, reason));
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO rec_erasure_requests (id, youth_id, state, reason, "
                             "requested_by_member, requested_by_service, requested_at_us, "
                             "restricted_by_request) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  s.Bind(1, r.id()).Bind(2, r.youth_id()).Bind(3, int64_t{r.state()}).BindBlob(4, sealed);
  s.Bind(5, r.requested_by_member_id()).Bind(6, r.requested_by_service_id());
  s.Bind(7, Us(r.requested_at())).Bind(8, int64_t{r.restricted_by_request() ? 1 : 0});
  return s.Run();
}

absl::StatusOr<std::optional<v1::ErasureRequest>> GetErasureRequest(Connection& c,
                                                                    absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kErasureColumns,
                                          " FROM rec_erasure_requests WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToErasure(s);
}

absl::StatusOr<std::optional<v1::ErasureRequest>> PendingErasureRequest(
    Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kErasureColumns,
                                          " FROM rec_erasure_requests WHERE youth_id = ?1 AND "
                                          "state IN (?2, ?3) ORDER BY position DESC LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, int64_t{v1::ERASURE_STATE_REQUESTED});
  s.Bind(3, int64_t{v1::ERASURE_STATE_APPROVED});
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToErasure(s);
}

absl::StatusOr<std::vector<v1::ErasureRequest>> ListErasureRequests(Connection& c,
                                                                    absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kErasureColumns,
                                          " FROM rec_erasure_requests WHERE youth_id = ?1 "
                                          "ORDER BY position DESC")));
  s.Bind(1, youth_id);
  std::vector<v1::ErasureRequest> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(RowToErasure(s));
  }
  return out;
}

absl::Status ApproveErasureRequest(Connection& c, absl::string_view id, absl::string_view member_id,
                                   absl::string_view service_id, absl::Time at,
                                   absl::Time execute_after) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE rec_erasure_requests SET state = ?2, approved_by_member = ?3, "
                             "approved_by_service = ?4, approved_at_us = ?5, "
                             "execute_after_us = ?6 WHERE id = ?1 AND state = ?7"));
  s.Bind(1, id).Bind(2, int64_t{v1::ERASURE_STATE_APPROVED}).Bind(3, member_id);
  s.Bind(4, service_id).Bind(5, absl::ToUnixMicros(at)).Bind(6, absl::ToUnixMicros(execute_after));
  s.Bind(7, int64_t{v1::ERASURE_STATE_REQUESTED});
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::AbortedError("erasure request changed concurrently");
  return absl::OkStatus();
}

absl::Status CancelErasureRequest(Connection& c, const FieldCrypto& crypto,
                                  const v1::ErasureRequest& r, absl::string_view member_id,
                                  absl::string_view service_id, absl::Time at,
                                  absl::string_view reason, absl::string_view reason_code) {
  std::string sealed;
  if (!reason.empty()) {
    ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, r.youth_id()));
    ASSIGN_OR_RETURN(sealed, key.Seal({kErasureCancelReason, r.id()}, reason));
  }
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE rec_erasure_requests SET state = ?2, "
                             "cancelled_by_member = ?3, cancelled_by_service = ?4, "
                             "cancelled_at_us = ?5, cancel_reason = ?6, cancel_reason_code = ?7 "
                             "WHERE id = ?1 AND state IN (?8, ?9)"));
  s.Bind(1, r.id()).Bind(2, int64_t{v1::ERASURE_STATE_CANCELLED}).Bind(3, member_id);
  s.Bind(4, service_id).Bind(5, absl::ToUnixMicros(at));
  if (sealed.empty()) {
    s.BindNull(6);
  } else {
    s.BindBlob(6, sealed);
  }
  s.Bind(7, reason_code).Bind(8, int64_t{v1::ERASURE_STATE_REQUESTED});
  s.Bind(9, int64_t{v1::ERASURE_STATE_APPROVED});
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::AbortedError("erasure request changed concurrently");
  return absl::OkStatus();
}

absl::Status MarkErasureExecuted(Connection& c, absl::string_view id, absl::Time at) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE rec_erasure_requests SET state = ?2, executed_at_us = ?3, "
                             "reason = ?5, cancel_reason = NULL WHERE id = ?1 AND state = ?4"));
  s.Bind(1, id).Bind(2, int64_t{v1::ERASURE_STATE_EXECUTED}).Bind(3, absl::ToUnixMicros(at));
  s.Bind(4, int64_t{v1::ERASURE_STATE_APPROVED}).BindBlob(5, "");
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::AbortedError("erasure request changed concurrently");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DueErasureRequests(Connection& c, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("SELECT id FROM rec_erasure_requests WHERE state = ?1 AND "
                             "execute_after_us <= ?2 ORDER BY execute_after_us, position"));
  s.Bind(1, int64_t{v1::ERASURE_STATE_APPROVED}).Bind(2, absl::ToUnixMicros(now));
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.ColumnText(0));
  }
  return out;
}

absl::Status InsertFullExportRequest(Connection& c, const FieldCrypto& crypto,
                                     const v1::FullExportRequest& r,
                                     absl::string_view requested_by_service,
                                     absl::string_view reason) {
  ASSIGN_OR_RETURN(YouthKey key, crypto.KeyFor(c, r.youth_id()));
  ASSIGN_OR_RETURN(std::string sealed, key.Seal({kFullExportReason, r.id()}, reason));
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO rec_full_exports (id, youth_id, state, reason, "
                             "requested_by_member, requested_by_service, requested_at_us) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, r.id()).Bind(2, r.youth_id()).Bind(3, int64_t{v1::FULL_EXPORT_STATE_REQUESTED});
  s.BindBlob(4, sealed).Bind(5, r.requested_by_member_id()).Bind(6, requested_by_service);
  s.Bind(7, Us(r.requested_at()));
  return s.Run();
}

absl::StatusOr<std::optional<v1::FullExportRequest>> GetFullExportRequest(Connection& c,
                                                                          absl::string_view id,
                                                                          absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("SELECT id, youth_id, state, requested_by_member, requested_at_us, "
                             "approved_by_member, approved_at_us, used_at_us "
                             "FROM rec_full_exports WHERE id = ?1"));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  v1::FullExportRequest r;
  r.set_id(s.ColumnText(0));
  r.set_youth_id(s.ColumnText(1));
  r.set_state(static_cast<v1::FullExportState>(s.ColumnInt64(2)));
  r.set_requested_by_member_id(s.ColumnText(3));
  SetTs(r.mutable_requested_at(), s.ColumnInt64(4));
  r.set_approved_by_member_id(s.ColumnText(5));
  if (!s.ColumnIsNull(6)) {
    const int64_t approved = s.ColumnInt64(6);
    SetTs(r.mutable_approved_at(), approved);
    const absl::Time expires = absl::FromUnixMicros(approved) + kFullExportValidity;
    SetTs(r.mutable_expires_at(), absl::ToUnixMicros(expires));
    if (r.state() == v1::FULL_EXPORT_STATE_APPROVED && now >= expires) {
      r.set_state(v1::FULL_EXPORT_STATE_EXPIRED);
    }
  }
  SetOptionalTs(s, 7, r.mutable_used_at());
  return r;
}

absl::Status ApproveFullExportRequest(Connection& c, absl::string_view id,
                                      absl::string_view member_id, absl::Time at) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE rec_full_exports SET state = ?2, approved_by_member = ?3, "
                             "approved_at_us = ?4 WHERE id = ?1 AND state = ?5"));
  s.Bind(1, id).Bind(2, int64_t{v1::FULL_EXPORT_STATE_APPROVED}).Bind(3, member_id);
  s.Bind(4, absl::ToUnixMicros(at)).Bind(5, int64_t{v1::FULL_EXPORT_STATE_REQUESTED});
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::AbortedError("full export request changed concurrently");
  return absl::OkStatus();
}

absl::Status MarkFullExportUsed(Connection& c, absl::string_view id, absl::Time at) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE rec_full_exports SET state = ?2, used_at_us = ?3 "
                                          "WHERE id = ?1 AND state = ?4 AND used_at_us IS NULL"));
  s.Bind(1, id).Bind(2, int64_t{v1::FULL_EXPORT_STATE_USED}).Bind(3, absl::ToUnixMicros(at));
  s.Bind(4, int64_t{v1::FULL_EXPORT_STATE_APPROVED});
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::AbortedError("full export request changed concurrently");
  return absl::OkStatus();
}

}  // namespace relais::record::store
