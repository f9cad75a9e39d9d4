// The care store's concertation meetings (care_concertations): see care_store.h.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/care_store_internal.h"

namespace relais::care::store {

using internal::CheckBeforeUpdate;
using internal::kConcertationColumns;
using internal::kConcertationMac;
using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;

namespace {

absl::StatusOr<v1::Concertation> RowToConcertation(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kConcertationMac, s));
  v1::Concertation m;
  m.set_id(s.ColumnText(0));
  m.set_youth_id(s.ColumnText(1));
  m.set_handover_id(s.ColumnText(2));
  m.set_organizer_service_id(s.ColumnText(3));
  m.set_organizer_member_id(s.ColumnText(4));
  for (absl::string_view id : absl::StrSplit(s.ColumnText(5), ',', absl::SkipEmpty())) {
    m.add_invited_service_ids(std::string(id));
  }
  SetTs(m.mutable_scheduled_at(), s.ColumnInt64(6));
  m.set_state(static_cast<v1::ConcertationState>(s.ColumnInt64(7)));
  m.set_youth_participation(static_cast<v1::YouthParticipation>(s.ColumnInt64(8)));
  m.set_recorded_by_member_id(s.ColumnText(9));
  SetTs(m.mutable_created_at(), s.ColumnInt64(10));
  SetTs(m.mutable_updated_at(), s.ColumnInt64(11));
  return m;
}

absl::StatusOr<std::vector<v1::Concertation>> Rows(Connection& c, Statement& s) {
  std::vector<v1::Concertation> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Concertation m, RowToConcertation(c, s));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

absl::Status InsertConcertation(Connection& c, const v1::Concertation& m) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO care_concertations (id, youth_id, handover_id, organizer_service_id, "
                "organizer_member_id, invited, scheduled_at_us, state, youth_participation, "
                "recorded_by, created_at_us, updated_at_us) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  s.Bind(1, m.id()).Bind(2, m.youth_id()).Bind(3, m.handover_id());
  s.Bind(4, m.organizer_service_id()).Bind(5, m.organizer_member_id());
  s.Bind(6, absl::StrJoin(m.invited_service_ids(), ",")).Bind(7, Us(m.scheduled_at()));
  s.Bind(8, int64_t{m.state()}).Bind(9, int64_t{m.youth_participation()});
  s.Bind(10, m.recorded_by_member_id()).Bind(11, Us(m.created_at()));
  s.Bind(12, Us(m.updated_at()));
  RETURN_IF_ERROR(s.Run());
  return storage::SetRowMac(c, kConcertationMac, m.id());
}

absl::Status UpdateConcertationOutcome(Connection& c, const v1::Concertation& m) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare("UPDATE care_concertations SET state = ?2, youth_participation = ?3, "
                             "recorded_by = ?4, updated_at_us = ?5 WHERE id = ?1"));
  s.Bind(1, m.id()).Bind(2, int64_t{m.state()}).Bind(3, int64_t{m.youth_participation()});
  s.Bind(4, m.recorded_by_member_id()).Bind(5, Us(m.updated_at()));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kConcertationMac, m.id()));
  RETURN_IF_ERROR(s.Run());
  if (c.Changes() != 1) return absl::InternalError("concertation row vanished");
  return storage::SetRowMac(c, kConcertationMac, m.id());
}

absl::StatusOr<std::optional<v1::Concertation>> GetConcertation(Connection& c,
                                                                absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kConcertationColumns, ", mac",
                                                       " FROM care_concertations WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(std::vector<v1::Concertation> rows, Rows(c, s));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

absl::StatusOr<std::vector<v1::Concertation>> ListConcertations(Connection& c,
                                                                absl::string_view youth_id,
                                                                absl::string_view service_id) {
  // `invited` is a sorted, comma-joined list of ids (ids hold no comma). It
  // holds the service if removing ",service," changes it: not LIKE, whose '_'
  // would match any character of an id, nor instr (SQLite only).
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kConcertationColumns, ", mac",
                                          " FROM care_concertations WHERE youth_id = ?1 AND "
                                          "(?2 = '' OR replace(',' || invited || ',', "
                                          "',' || ?2 || ',', '') <> ',' || invited || ',') "
                                          "ORDER BY scheduled_at_us DESC, rowid DESC")));
  // No LIMIT: a youth has a handful; callers page the whole list (rpc::TakePage).
  s.Bind(1, youth_id).Bind(2, service_id);
  return Rows(c, s);
}

absl::StatusOr<std::optional<v1::Concertation>> FindScheduledConcertation(
    Connection& c, absl::string_view youth_id, absl::string_view organizer_service_id,
    absl::Time scheduled_at) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kConcertationColumns, ", mac",
                                          " FROM care_concertations WHERE youth_id = ?1 AND "
                                          "organizer_service_id = ?2 AND scheduled_at_us = ?3 "
                                          "AND state = ?4 ORDER BY rowid LIMIT 1")));
  s.Bind(1, youth_id).Bind(2, organizer_service_id).Bind(3, Us(scheduled_at));
  s.Bind(4, int64_t{v1::CONCERTATION_STATE_SCHEDULED});
  ASSIGN_OR_RETURN(std::vector<v1::Concertation> rows, Rows(c, s));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

}  // namespace relais::care::store
