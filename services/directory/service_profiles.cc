#include "services/directory/service_profiles.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/directory/directory_store.h"

namespace relais::directory {
namespace {

using storage::Connection;
using storage::Statement;

bool IsControl(char c, bool multiline) {
  const auto u = static_cast<unsigned char>(c);
  if (multiline && (c == '\n' || c == '\t' || c == '\r')) return false;
  return u < 0x20 || u == 0x7f;
}

// Free text shown to people: 1..max bytes, not blank, no control characters
// (line breaks allowed where `multiline`). Returns it trimmed.
absl::StatusOr<std::string> CheckFreeText(absl::string_view field, absl::string_view text,
                                          size_t max_bytes, bool multiline) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return common::InvalidField(field, "field_required", "is required");
  RETURN_IF_ERROR(common::CheckText(field, trimmed, max_bytes));
  if (std::any_of(trimmed.begin(), trimmed.end(),
                  [multiline](char c) { return IsControl(c, multiline); })) {
    return common::InvalidField(field, "invalid_characters", "holds control characters");
  }
  return std::string(trimmed);
}

absl::Status CheckLanguage(absl::string_view field, absl::string_view code) {
  const bool iso = code.size() == 2 && absl::ascii_islower(code[0]) && absl::ascii_islower(code[1]);
  if (!iso) {
    return common::InvalidField(field, "invalid_language",
                                "must be an ISO 639-1 code of two lower-case letters, e.g. fr");
  }
  return absl::OkStatus();
}

absl::Status CheckAges(int min_age, int max_age) {
  if (min_age < 0 || min_age > kMaxServedAge) {
    return common::InvalidField("profile.min_age", "invalid_age_range",
                                absl::StrCat("must be 0 to ", kMaxServedAge));
  }
  if (max_age < min_age || max_age > kMaxServedAge) {
    return common::InvalidField("profile.max_age", "invalid_age_range",
                                absl::StrCat("must be min_age to ", kMaxServedAge));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(absl::string_view field, size_t count, size_t min, size_t max) {
  if (count < min) return common::InvalidField(field, "field_required", "is required");
  if (count > max) {
    return common::InvalidField(field, "too_many", absl::StrCat("at most ", max));
  }
  return absl::OkStatus();
}

absl::Status CheckLists(const ServiceProfile& in, ServiceProfile& out) {
  RETURN_IF_ERROR(CheckCount("profile.needs", in.needs.size(), 1, kMaxNeeds));
  RETURN_IF_ERROR(CheckCount("profile.communes", in.communes.size(), 1, kMaxCommunes));
  RETURN_IF_ERROR(CheckCount("profile.languages", in.languages.size(), 0, kMaxLanguages));
  std::set<std::string, std::less<>> seen;
  for (const std::string& need : in.needs) {
    RETURN_IF_ERROR(CheckNeed("profile.needs", need));
    if (seen.insert(need).second) out.needs.push_back(need);
  }
  seen.clear();
  for (const std::string& commune : in.communes) {
    ASSIGN_OR_RETURN(std::string c,
                     CheckFreeText("profile.communes", commune, kMaxCommuneBytes, false));
    if (seen.insert(FoldForMatch(c)).second) out.communes.push_back(std::move(c));
  }
  seen.clear();
  for (const std::string& language : in.languages) {
    RETURN_IF_ERROR(CheckLanguage("profile.languages", language));
    if (seen.insert(language).second) out.languages.push_back(language);
  }
  return absl::OkStatus();
}

// Runs `q` to the end, calling `each` on every row.
template <typename Fn>
absl::Status ForEachRow(Statement& q, Fn each) {
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::OkStatus();
    RETURN_IF_ERROR(each(q));
  }
}

absl::Status InsertList(Connection& txn, absl::string_view table, absl::string_view column,
                        absl::string_view service_id, const std::vector<std::string>& values) {
  ASSIGN_OR_RETURN(Statement ins,
                   txn.Prepare(absl::StrCat("INSERT INTO ", table, "(service_id, position, ",
                                            column, ") VALUES (?1, ?2, ?3)")));
  for (size_t i = 0; i < values.size(); ++i) {
    ins.Reset();
    ins.Bind(1, service_id).Bind(2, static_cast<int64_t>(i)).Bind(3, values[i]);
    RETURN_IF_ERROR(ins.Run());
  }
  return absl::OkStatus();
}

absl::Status DeleteProfile(Connection& txn, absl::string_view service_id) {
  for (const char* table : {"dir_service_needs", "dir_service_communes", "dir_service_languages",
                            "dir_service_profiles"}) {
    ASSIGN_OR_RETURN(Statement del,
                     txn.Prepare(absl::StrCat("DELETE FROM ", table, " WHERE service_id = ?1")));
    del.Bind(1, service_id);
    RETURN_IF_ERROR(del.Run());
  }
  return absl::OkStatus();
}

// Reads the lists of `service_id` into `profile`, in the order written.
absl::Status ReadLists(Connection& conn, absl::string_view service_id, ServiceProfile& profile) {
  struct List {
    const char* table;
    const char* column;
    std::vector<std::string>* out;
  };
  for (const List& l : {List{"dir_service_needs", "need", &profile.needs},
                        List{"dir_service_communes", "commune", &profile.communes},
                        List{"dir_service_languages", "language", &profile.languages}}) {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare(absl::StrCat("SELECT ", l.column, " FROM ", l.table,
                                                            " WHERE service_id = ?1 "
                                                            "ORDER BY position")));
    q.Bind(1, service_id);
    RETURN_IF_ERROR(ForEachRow(q, [&](const Statement& row) {
      l.out->push_back(row.ColumnText(0));
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

// The profile of `service_id`, if it has one.
absl::StatusOr<std::optional<ServiceProfile>> ReadProfile(Connection& conn,
                                                          absl::string_view service_id) {
  ASSIGN_OR_RETURN(Statement q, conn.Prepare("SELECT mission, offer, min_age, max_age, contact, "
                                             "opening_hours, reviewed_by_member_id, "
                                             "reviewed_at_us FROM dir_service_profiles "
                                             "WHERE service_id = ?1"));
  q.Bind(1, service_id);
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::nullopt;
  ServiceProfile p;
  p.mission = q.ColumnText(0);
  p.offer = q.ColumnText(1);
  p.min_age = static_cast<int>(q.ColumnInt64(2));
  p.max_age = static_cast<int>(q.ColumnInt64(3));
  p.contact = q.ColumnText(4);
  p.opening_hours = q.ColumnText(5);
  p.reviewed_by_member_id = q.ColumnText(6);
  p.reviewed_at = absl::FromUnixMicros(q.ColumnInt64(7));
  RETURN_IF_ERROR(ReadLists(conn, service_id, p));
  return p;
}

absl::Status CheckQuery(const ProfileQuery& query) {
  if (!query.need.empty()) RETURN_IF_ERROR(CheckNeed("need", query.need));
  if (!query.sector_id.empty()) RETURN_IF_ERROR(common::CheckId("sector_id", query.sector_id));
  if (query.commune.size() > kMaxCommuneBytes) {
    return common::InvalidField("commune", "field_too_long", "is too long");
  }
  if (query.kind.size() > kMaxKindBytes) {
    return common::InvalidField("kind", "field_too_long", "is too long");
  }
  if (query.age.has_value() && (*query.age < 0 || *query.age > kMaxServedAge)) {
    return common::InvalidField("age", "out_of_range",
                                absl::StrCat("must be 0 to ", kMaxServedAge));
  }
  return absl::OkStatus();
}

absl::Status RequireRow(Connection& conn, const char* sql, absl::string_view key,
                        absl::Status if_absent) {
  ASSIGN_OR_RETURN(Statement q, conn.Prepare(sql));
  q.Bind(1, key);
  ASSIGN_OR_RETURN(bool found, q.Step());
  return found ? absl::OkStatus() : if_absent;
}

// The matching services' rows, with their MAC'd columns last then `mac`.
constexpr char kSearchSql[] = R"sql(
SELECT name, kind, id, sector_id, platform, staffed, mac FROM dir_services
WHERE id IN (SELECT service_id FROM dir_service_profiles
             WHERE CAST(?4 AS BIGINT) IS NULL OR (min_age <= ?4 AND max_age >= ?4))
  AND (?1 = '' OR id IN (SELECT service_id FROM dir_service_needs WHERE need = ?1))
  AND (?2 = '' OR id IN (SELECT service_id FROM dir_service_communes WHERE commune_folded = ?2))
  AND (?3 = '' OR sector_id = ?3)
  AND (?5 = '' OR lower(kind) = lower(?5))
  AND (?6 = '' OR (name, id) > (SELECT name, id FROM dir_services WHERE id = ?6))
ORDER BY name, id LIMIT ?7
)sql";
constexpr int kSearchMacFirst = 2;

absl::Status SearchRows(Connection& conn, const ProfileQuery& query, size_t page_size,
                        absl::string_view page_token, ProfiledPage& page) {
  ASSIGN_OR_RETURN(Statement q, conn.Prepare(kSearchSql));
  q.Bind(1, query.need).Bind(2, FoldForMatch(query.commune)).Bind(3, query.sector_id);
  if (query.age.has_value()) {
    q.Bind(4, int64_t{*query.age});
  } else {
    q.BindNull(4);
  }
  q.Bind(5, query.kind).Bind(6, page_token).Bind(7, static_cast<int64_t>(page_size) + 1);
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::OkStatus();
    if (page.services.size() == page_size) {
      // One row more than asked: another page follows.
      page.next_page_token = page.services.back().service.id;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(storage::CheckRow(conn, kServiceMac, q, kSearchMacFirst));
    ProfiledService found;
    found.service = ServiceInfo{.id = q.ColumnText(2),
                                .name = q.ColumnText(0),
                                .sector_id = q.ColumnText(3),
                                .kind = q.ColumnText(1),
                                .platform = q.ColumnInt64(4) != 0,
                                .staffed = q.ColumnInt64(5) != 0};
    page.services.push_back(std::move(found));
  }
}

}  // namespace

bool ReviewOverdue(const ServiceProfile& profile, absl::Time now) {
  return now - profile.reviewed_at > kProfileReviewInterval;
}

absl::Status CheckNeed(absl::string_view field, absl::string_view need) {
  const bool slug = !need.empty() && need.size() <= kMaxNeedBytes &&
                    std::all_of(need.begin(), need.end(), [](char c) {
                      return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
                    });
  if (!slug) return common::InvalidField(field, "invalid_need", "must be 1 to 64 of [a-z0-9_]");
  return absl::OkStatus();
}

std::string FoldForMatch(absl::string_view text) {
  std::string out(absl::StripAsciiWhitespace(text));
  for (size_t i = 0; i < out.size(); ++i) {
    const auto u = static_cast<unsigned char>(out[i]);
    if (u < 0x80) {
      out[i] = absl::ascii_tolower(out[i]);
    } else if (u == 0xC3 && i + 1 < out.size()) {
      // U+00C0..U+00DE (but U+00D7, ×) is two bytes C3 80..9E; lower case is +0x20.
      const auto next = static_cast<unsigned char>(out[i + 1]);
      if (next >= 0x80 && next <= 0x9E && next != 0x97) out[i + 1] = static_cast<char>(next + 0x20);
      ++i;
    }
  }
  return out;
}

absl::StatusOr<ServiceProfile> CheckProfile(const ServiceProfile& in) {
  ServiceProfile out;
  ASSIGN_OR_RETURN(out.mission,
                   CheckFreeText("profile.mission", in.mission, kMaxProfileTextBytes, true));
  ASSIGN_OR_RETURN(out.offer, CheckFreeText("profile.offer", in.offer, kMaxProfileTextBytes, true));
  RETURN_IF_ERROR(CheckAges(in.min_age, in.max_age));
  out.min_age = in.min_age;
  out.max_age = in.max_age;
  RETURN_IF_ERROR(CheckLists(in, out));
  ASSIGN_OR_RETURN(out.contact,
                   CheckFreeText("profile.contact", in.contact, kMaxContactBytes, false));
  if (!absl::StripAsciiWhitespace(in.opening_hours).empty()) {
    ASSIGN_OR_RETURN(out.opening_hours, CheckFreeText("profile.opening_hours", in.opening_hours,
                                                      kMaxContactBytes, false));
  }
  return out;
}

absl::StatusOr<ServiceProfile> ServiceProfiles::Put(Connection& txn, absl::string_view service_id,
                                                    const ServiceProfile& profile,
                                                    absl::string_view reviewed_by_member_id,
                                                    absl::Time reviewed_at) const {
  ASSIGN_OR_RETURN(ServiceProfile p, CheckProfile(profile));
  RETURN_IF_ERROR(RequireRow(txn, "SELECT 1 FROM dir_services WHERE id = ?1", service_id,
                             common::NotFound("service_not_found", "no service has this id")));
  p.reviewed_by_member_id = std::string(reviewed_by_member_id);
  p.reviewed_at = reviewed_at;
  RETURN_IF_ERROR(DeleteProfile(txn, service_id));
  ASSIGN_OR_RETURN(Statement ins,
                   txn.Prepare("INSERT INTO dir_service_profiles(service_id, mission, offer, "
                               "min_age, max_age, contact, opening_hours, reviewed_by_member_id, "
                               "reviewed_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  ins.Bind(1, service_id).Bind(2, p.mission).Bind(3, p.offer);
  ins.Bind(4, int64_t{p.min_age}).Bind(5, int64_t{p.max_age}).Bind(6, p.contact);
  ins.Bind(7, p.opening_hours).Bind(8, p.reviewed_by_member_id);
  ins.Bind(9, absl::ToUnixMicros(reviewed_at));
  RETURN_IF_ERROR(ins.Run());
  RETURN_IF_ERROR(InsertList(txn, "dir_service_needs", "need", service_id, p.needs));
  RETURN_IF_ERROR(InsertList(txn, "dir_service_languages", "language", service_id, p.languages));
  ASSIGN_OR_RETURN(Statement commune,
                   txn.Prepare("INSERT INTO dir_service_communes(service_id, position, commune, "
                               "commune_folded) VALUES (?1, ?2, ?3, ?4)"));
  for (size_t i = 0; i < p.communes.size(); ++i) {
    commune.Reset();
    commune.Bind(1, service_id).Bind(2, static_cast<int64_t>(i)).Bind(3, p.communes[i]);
    commune.Bind(4, FoldForMatch(p.communes[i]));
    RETURN_IF_ERROR(commune.Run());
  }
  return p;
}

absl::StatusOr<ServiceProfile> ServiceProfiles::Put(absl::string_view service_id,
                                                    const ServiceProfile& profile,
                                                    absl::string_view reviewed_by_member_id,
                                                    absl::Time reviewed_at) const {
  absl::StatusOr<ServiceProfile> stored;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) {
    stored = Put(txn, service_id, profile, reviewed_by_member_id, reviewed_at);
    return stored.status();
  }));
  return stored;
}

absl::StatusOr<std::map<std::string, ServiceProfile>> ServiceProfiles::Get(
    const std::vector<std::string>& service_ids) const {
  std::map<std::string, ServiceProfile> profiles;
  if (service_ids.empty()) return profiles;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    for (const std::string& id : service_ids) {
      ASSIGN_OR_RETURN(std::optional<ServiceProfile> p, ReadProfile(conn, id));
      if (p.has_value()) profiles[id] = *std::move(p);
    }
    return absl::OkStatus();
  }));
  return profiles;
}

absl::StatusOr<ProfiledPage> ServiceProfiles::Search(const ProfileQuery& query, size_t page_size,
                                                     absl::string_view page_token) const {
  RETURN_IF_ERROR(CheckQuery(query));
  if (!page_token.empty() && !common::CheckId("page_token", page_token).ok()) {
    return common::InvalidField("page_token", "bad_page_token", "is not a token this server gave");
  }
  if (page_size == 0) return absl::InvalidArgumentError("page_size must be at least 1");
  ProfiledPage page;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    if (!query.sector_id.empty()) {
      RETURN_IF_ERROR(RequireRow(conn, "SELECT 1 FROM dir_sectors WHERE id = ?1", query.sector_id,
                                 common::NotFound("sector_not_found", "no sector has this id")));
    }
    if (!page_token.empty()) {
      RETURN_IF_ERROR(RequireRow(
          conn, "SELECT 1 FROM dir_services WHERE id = ?1", page_token,
          common::InvalidField("page_token", "bad_page_token", "is not a token this server gave")));
    }
    RETURN_IF_ERROR(SearchRows(conn, query, page_size, page_token, page));
    for (ProfiledService& s : page.services) {
      ASSIGN_OR_RETURN(std::optional<ServiceProfile> p, ReadProfile(conn, s.service.id));
      if (p.has_value()) s.profile = *std::move(p);
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<Definition> ServiceProfiles::Define(Connection& txn, const Definition& definition,
                                                   absl::Time updated_at) const {
  Definition d;
  ASSIGN_OR_RETURN(d.term, CheckFreeText("definition.term", definition.term, kMaxTermBytes, false));
  RETURN_IF_ERROR(common::CheckId("definition.sector_id", definition.sector_id));
  ASSIGN_OR_RETURN(d.text,
                   CheckFreeText("definition.text", definition.text, kMaxDefinitionBytes, true));
  d.sector_id = definition.sector_id;
  d.updated_at = updated_at;
  RETURN_IF_ERROR(RequireRow(txn, "SELECT 1 FROM dir_sectors WHERE id = ?1", d.sector_id,
                             common::NotFound("sector_not_found", "no sector has this id")));
  ASSIGN_OR_RETURN(
      Statement up,
      txn.Prepare("INSERT INTO dir_definitions(term_folded, sector_id, term, text, updated_at_us) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(term_folded, sector_id) DO UPDATE SET "
                  "term = excluded.term, text = excluded.text, "
                  "updated_at_us = excluded.updated_at_us"));
  up.Bind(1, FoldForMatch(d.term)).Bind(2, d.sector_id).Bind(3, d.term).Bind(4, d.text);
  up.Bind(5, absl::ToUnixMicros(updated_at));
  RETURN_IF_ERROR(up.Run());
  return d;
}

absl::StatusOr<std::vector<Definition>> ServiceProfiles::Definitions(
    absl::string_view sector_id) const {
  std::vector<Definition> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement q, conn.Prepare("SELECT term, sector_id, text, updated_at_us "
                                               "FROM dir_definitions "
                                               "WHERE ?1 = '' OR sector_id = ?1 "
                                               "ORDER BY term_folded, sector_id"));
    q.Bind(1, sector_id);
    return ForEachRow(q, [&](const Statement& row) {
      out.push_back({row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
                     absl::FromUnixMicros(row.ColumnInt64(3))});
      return absl::OkStatus();
    });
  }));
  return out;
}

}  // namespace relais::directory
