#include "services/record/retention_store.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/record/record_store.h"

namespace relais::record::store {

using storage::Connection;
using storage::Statement;

namespace {

// The MAC'd columns follow (record_store.h): a hold lifted by hand must not
// let the sweep erase.
std::string YouthColumns() {
  return absl::StrCat("SELECT id, created_at_us, restricted, legal_hold, ", kYouthMacColumns,
                      ", mac FROM rec_youth ");
}

absl::StatusOr<RetentionYouth> RowToYouth(Connection& c, const Statement& s) {
  RETURN_IF_ERROR(storage::CheckRow(c, kYouthMac, s, 4));
  return RetentionYouth{s.ColumnText(0), absl::FromUnixMicros(s.ColumnInt64(1)),
                        s.ColumnInt64(2) != 0, s.ColumnInt64(3) != 0};
}

}  // namespace

absl::StatusOr<std::optional<RetentionYouth>> GetLiveYouth(Connection& c,
                                                           absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat(YouthColumns(), "WHERE id = ?1 AND erased = 0")));
  s.Bind(1, youth_id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToYouth(c, s);
}

absl::StatusOr<std::vector<RetentionYouth>> ListLiveYouths(Connection& c) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat(YouthColumns(), "WHERE erased = 0 ORDER BY id")));
  std::vector<RetentionYouth> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(RetentionYouth y, RowToYouth(c, s));
    out.push_back(std::move(y));
  }
  return out;
}

absl::StatusOr<std::vector<LiveEntry>> ListLiveEntries(Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT id, category FROM rec_entries WHERE "
                                          "youth_id = ?1 AND erased_at_us IS NULL "
                                          "ORDER BY position"));
  s.Bind(1, youth_id);
  std::vector<LiveEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.ColumnText(0), static_cast<v1::DataCategory>(s.ColumnInt64(1))});
  }
  return out;
}

absl::StatusOr<bool> EraseEntry(Connection& c, absl::string_view entry_id, absl::Time now) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE rec_entries SET body = ?3, erased_at_us = ?2 "
                                          "WHERE id = ?1 AND erased_at_us IS NULL"));
  s.Bind(1, entry_id).Bind(2, absl::ToUnixMicros(now)).BindBlob(3, "");
  RETURN_IF_ERROR(s.Run());
  return c.Changes() > 0;
}

}  // namespace relais::record::store
