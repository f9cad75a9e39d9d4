// The care store's accompaniments (care_accompaniments): see care_store.h.

#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/care_store_internal.h"

namespace relais::care::store {

using internal::CheckBeforeUpdate;
using internal::kAccompanimentColumns;
using internal::kAccompanimentMac;
using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;
namespace {

absl::StatusOr<v1::Accompaniment> RowToAccompaniment(Connection& c, const Statement& s,
                                                     absl::Time now) {
  RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  v1::Accompaniment a;
  a.set_id(s.ColumnText(0));
  a.set_youth_id(s.ColumnText(1));
  a.set_service_id(s.ColumnText(2));
  a.set_referent_member_id(s.ColumnText(3));
  a.set_basis(static_cast<v1::AccompanimentBasis>(s.ColumnInt64(4)));
  SetTs(a.mutable_start_time(), s.ColumnInt64(5));
  const bool open_ended = s.ColumnIsNull(6);
  if (!open_ended) SetTs(a.mutable_end_time(), s.ColumnInt64(6));
  a.set_handover_id(s.ColumnText(7));
  a.set_vouch(static_cast<v1::Vouch>(s.ColumnInt64(8)));
  a.set_vouched_by_member_id(s.ColumnText(9));
  if (!s.ColumnIsNull(10)) SetTs(a.mutable_vouched_at(), s.ColumnInt64(10));
  const int64_t now_us = Us(now);
  a.set_active(s.ColumnInt64(5) <= now_us && (open_ended || s.ColumnInt64(6) > now_us));
  return a;
}

// Every row `s` selects (kAccompanimentColumns, mac), in its order.
absl::StatusOr<std::vector<v1::Accompaniment>> AllRows(Connection& c, Statement& s,
                                                       absl::Time now) {
  std::vector<v1::Accompaniment> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Accompaniment a, RowToAccompaniment(c, s, now));
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

absl::Status InsertAccompaniment(Connection& c, const v1::Accompaniment& a) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("INSERT INTO care_accompaniments (id, youth_id, service_id, "
                             "referent_member_id, basis, start_us, end_us, handover_id, vouch, "
                             "vouched_by, vouched_at_us) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
  s.Bind(1, a.id()).Bind(2, a.youth_id()).Bind(3, a.service_id());
  s.Bind(4, a.referent_member_id()).Bind(5, int64_t{a.basis()}).Bind(6, Us(a.start_time()));
  if (a.has_end_time()) {
    s.Bind(7, Us(a.end_time()));
  } else {
    s.BindNull(7);
  }
  s.BindOptional(8, a.handover_id());
  // Never stored unspecified: a row without a vouch would read as pending.
  s.Bind(9, int64_t{a.vouch() == v1::VOUCH_UNSPECIFIED ? v1::VOUCH_PENDING : a.vouch()});
  s.BindOptional(10, a.vouched_by_member_id());
  if (a.has_vouched_at()) {
    s.Bind(11, Us(a.vouched_at()));
  } else {
    s.BindNull(11);
  }
  RETURN_IF_ERROR(s.Run());
  return storage::SetRowMac(c, kAccompanimentMac, a.id());
}

absl::Status SetAccompanimentVouch(Connection& c, absl::string_view id, v1::Vouch vouch,
                                   absl::string_view member_id, absl::Time when) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_accompaniments SET vouch = ?2, vouched_by = ?3, "
                             "vouched_at_us = ?4 WHERE id = ?1 AND vouch = 1"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kAccompanimentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, int64_t{vouch}).Bind(3, member_id).Bind(4, Us(when)).Run());
  if (c.Changes() != 1) {
    return common::Precondition("not_pending", "the accompaniment is no longer pending");
  }
  return storage::SetRowMac(c, kAccompanimentMac, id);
}

absl::StatusOr<bool> EverVouchedOther(Connection& c, absl::string_view youth_id,
                                      absl::string_view service_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 AND "
                                          "service_id != ?2 AND vouch NOT IN (1, 6) LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, service_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  return row;
}

absl::StatusOr<std::vector<v1::Accompaniment>> PendingForService(Connection& c,
                                                                 absl::string_view service_id,
                                                                 absl::Time now) {
  // Pending requests of other services on youths this service accompanies
  // (vouched, active now).
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare(absl::StrCat(
          "SELECT ", kAccompanimentColumns, ", mac",
          " FROM care_accompaniments p WHERE p.vouch = 1 AND p.service_id != ?1 AND "
          "(p.end_us IS NULL OR p.end_us > ?2) AND EXISTS (SELECT 1 FROM care_accompaniments m "
          "WHERE m.youth_id = p.youth_id AND m.service_id = ?1 AND m.vouch NOT IN (1, 6) AND "
          "m.start_us <= ?2 AND (m.end_us IS NULL OR m.end_us > ?2)) ORDER BY p.start_us, p.id")));
  s.Bind(1, service_id).Bind(2, Us(now));
  return AllRows(c, s, now);
}

absl::StatusOr<std::optional<v1::Accompaniment>> GetAccompaniment(Connection& c,
                                                                  absl::string_view id,
                                                                  absl::Time now) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                                       " FROM care_accompaniments WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToAccompaniment(c, s, now);
}

absl::StatusOr<std::vector<v1::Accompaniment>> ListAccompaniments(Connection& c,
                                                                  absl::string_view youth_id,
                                                                  absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 "
                                          "ORDER BY start_us, rowid")));
  s.Bind(1, youth_id);
  return AllRows(c, s, now);
}

absl::StatusOr<std::vector<v1::Accompaniment>> ActiveAccompanimentsOf(Connection& c,
                                                                      absl::string_view service_id,
                                                                      absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE service_id = ?1 AND "
                                          "start_us <= ?2 AND (end_us IS NULL OR end_us > ?2) "
                                          "ORDER BY youth_id, start_us")));
  s.Bind(1, service_id).Bind(2, Us(now));
  return AllRows(c, s, now);
}

absl::StatusOr<std::vector<v1::Accompaniment>> OpenAccompanimentsOf(Connection& c,
                                                                    absl::string_view service_id,
                                                                    absl::Time now) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat(
                                    "SELECT ", kAccompanimentColumns, ", mac",
                                    " FROM care_accompaniments WHERE service_id = ?1 AND "
                                    "(end_us IS NULL OR end_us > ?2) ORDER BY start_us, id")));
  s.Bind(1, service_id).Bind(2, Us(now));
  return AllRows(c, s, now);
}

absl::StatusOr<std::optional<v1::Accompaniment>> ActiveAccompaniment(Connection& c,
                                                                     absl::string_view service_id,
                                                                     absl::string_view youth_id,
                                                                     absl::Time now) {
  ASSIGN_OR_RETURN(Statement s, SendActiveAccompaniment(c, service_id, YouthOf{youth_id}, now));
  return ActiveAccompaniment(c, s, now, youth_id);
}

absl::StatusOr<Statement> SendActiveAccompaniment(Connection& c, absl::string_view service_id,
                                                  const YouthOf& youth, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE ",
                                          internal::YouthIs(youth, "youth_id", 1),
                                          " AND service_id = ?2 AND start_us <= ?3 AND "
                                          "(end_us IS NULL OR end_us > ?3) "
                                          "ORDER BY start_us DESC LIMIT 1")));
  s.Bind(1, youth.id).Bind(2, service_id).Bind(3, Us(now));
  RETURN_IF_ERROR(s.Send());
  return s;
}

absl::StatusOr<std::optional<v1::Accompaniment>> ActiveAccompaniment(Connection& c, Statement& sent,
                                                                     absl::Time now,
                                                                     absl::string_view youth_id) {
  ASSIGN_OR_RETURN(bool row, sent.Step());
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(v1::Accompaniment a, RowToAccompaniment(c, sent, now));
  RETURN_IF_ERROR(internal::CheckSameYouth(a.youth_id(), youth_id));
  return a;
}

absl::StatusOr<bool> HasFutureAccompaniment(Connection& c, absl::string_view service_id,
                                            absl::string_view youth_id, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE youth_id = ?1 "
                                          "AND service_id = ?2 AND start_us > ?3 LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, service_id).Bind(3, Us(now));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) RETURN_IF_ERROR(storage::CheckRow(c, kAccompanimentMac, s));
  return row;
}

absl::Status SetAccompanimentEnd(Connection& c, absl::string_view id, absl::Time end) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_accompaniments SET end_us = ?2 WHERE id = ?1"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kAccompanimentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, Us(end)).Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kAccompanimentMac, id);
}

absl::Status SetAccompanimentReferent(Connection& c, absl::string_view id, absl::string_view from,
                                      absl::string_view to, absl::string_view by, absl::Time when) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE care_accompaniments SET referent_member_id = ?2 "
                                          "WHERE id = ?1 AND referent_member_id = ?3"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kAccompanimentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, to).Bind(3, from).Run());
  if (c.Changes() != 1) {
    return common::Precondition("referent_changed", "the referent changed meanwhile; try again");
  }
  RETURN_IF_ERROR(storage::SetRowMac(c, kAccompanimentMac, id));
  ASSIGN_OR_RETURN(Statement h, c.Prepare("INSERT INTO care_referent_changes (accompaniment_id, "
                                          "from_member_id, to_member_id, by_member_id, at_us) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5)"));
  return h.Bind(1, id).Bind(2, from).Bind(3, to).Bind(4, by).Bind(5, Us(when)).Run();
}

absl::StatusOr<std::vector<std::pair<std::string, v1::ReferentChange>>> ReferentChanges(
    Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("SELECT r.accompaniment_id, r.from_member_id, r.to_member_id, r.by_member_id, "
                "r.at_us FROM care_referent_changes r JOIN care_accompaniments a "
                "ON a.id = r.accompaniment_id WHERE a.youth_id = ?1 ORDER BY r.seq"));
  s.Bind(1, youth_id);
  std::vector<std::pair<std::string, v1::ReferentChange>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    v1::ReferentChange change;
    change.set_from_member_id(s.ColumnText(1));
    change.set_to_member_id(s.ColumnText(2));
    change.set_by_member_id(s.ColumnText(3));
    SetTs(change.mutable_time(), s.ColumnInt64(4));
    out.emplace_back(s.ColumnText(0), std::move(change));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Accompaniment>> ReferredBy(Connection& c,
                                                          absl::string_view member_id,
                                                          absl::Time now) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kAccompanimentColumns, ", mac",
                                          " FROM care_accompaniments WHERE referent_member_id = ?1"
                                          " AND (end_us IS NULL OR end_us > ?2)"
                                          " ORDER BY start_us, rowid")));
  s.Bind(1, member_id).Bind(2, Us(now));
  return AllRows(c, s, now);
}

}  // namespace relais::care::store
