// The care store's consents (care_consents, care_consent_recipients): see
// care_store.h.

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/care_store_internal.h"

namespace relais::care::store {

using internal::AppendCitedConvention;
using internal::CheckBeforeUpdate;
using internal::CitedConvention;
using internal::InsertCitedConvention;
using internal::kConsentColumns;
using internal::kConsentMac;
using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;

constexpr char kConsentConventions[] = "care_consent_conventions";

namespace internal {

absl::StatusOr<std::string> RecipientsCanonical(Connection& c, absl::string_view consent_id) {
  ASSIGN_OR_RETURN(Statement r, c.Prepare("SELECT kind, target_id FROM care_consent_recipients "
                                          "WHERE consent_id = ?1 ORDER BY rowid"));
  r.Bind(1, consent_id);
  storage::CanonicalFields fields;
  while (true) {
    ASSIGN_OR_RETURN(bool row, r.Step());
    if (!row) break;
    fields.AddColumns(r, 0, 2);
  }
  return AppendCitedConvention(c, kConsentConventions, consent_id, std::move(fields));
}

}  // namespace internal

namespace {

std::string JoinInts(const google::protobuf::RepeatedField<int>& values) {
  return absl::StrJoin(values, ",");
}

std::vector<int> SplitInts(absl::string_view s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

// The reads that complete a consent row, sent together: its recipients and
// the convention it cites (both also under the row's MAC).
struct ConsentParts {
  Statement recipients;
  Statement convention;
};

absl::StatusOr<ConsentParts> SendConsentParts(Connection& c, absl::string_view consent_id) {
  ASSIGN_OR_RETURN(Statement r, c.Prepare("SELECT kind, target_id FROM care_consent_recipients "
                                          "WHERE consent_id = ?1 ORDER BY rowid"));
  r.Bind(1, consent_id);
  RETURN_IF_ERROR(r.Send());
  ASSIGN_OR_RETURN(Statement v, internal::SendCitedConvention(c, kConsentConventions, consent_id));
  return ConsentParts{std::move(r), std::move(v)};
}

void SetConsentColumns(const Statement& s, v1::Consent& k);

// The consent of the current row of `s`, completed by `parts` (sent for it).
absl::StatusOr<v1::Consent> RowToConsent(Connection& c, const Statement& s, ConsentParts& parts) {
  v1::Consent k;
  // Read once, for the MAC (RecipientsCanonical's encoding) and for the consent.
  storage::CanonicalFields canonical;
  while (true) {
    ASSIGN_OR_RETURN(bool row, parts.recipients.Step());
    if (!row) break;
    canonical.AddColumns(parts.recipients, 0, 2);
    v1::Recipient* rec = k.add_recipients();
    if (parts.recipients.ColumnText(0) == "sector") {
      rec->set_sector_id(parts.recipients.ColumnText(1));
    } else {
      rec->set_service_id(parts.recipients.ColumnText(1));
    }
  }
  ASSIGN_OR_RETURN(*k.mutable_convention_id(), internal::CitedConvention(parts.convention));
  RETURN_IF_ERROR(storage::CheckRow(
      c, kConsentMac, s, 0, internal::WithConvention(std::move(canonical), k.convention_id())));
  SetConsentColumns(s, k);
  return k;
}

// The consent's own columns (kConsentColumns, from column 0) of the current row of `s`.
void SetConsentColumns(const Statement& s, v1::Consent& k) {
  k.set_id(s.ColumnText(0));
  k.set_youth_id(s.ColumnText(1));
  k.set_giver(static_cast<v1::ConsentGiver>(s.ColumnInt64(2)));
  k.set_guardian_id(s.ColumnText(3));
  k.set_youth_opinion(static_cast<v1::YouthOpinion>(s.ColumnInt64(4)));
  for (int v : SplitInts(s.ColumnText(5))) k.add_categories(static_cast<v1::DataCategory>(v));
  k.set_all_non_special_categories(s.ColumnInt64(6) != 0);
  for (int v : SplitInts(s.ColumnText(7))) k.add_purposes(static_cast<v1::Purpose>(v));
  SetTs(k.mutable_valid_from(), s.ColumnInt64(8));
  SetTs(k.mutable_valid_until(), s.ColumnInt64(9));
  k.set_recorded_by_member_id(s.ColumnText(10));
  k.set_recorded_by_service_id(s.ColumnText(11));
  SetTs(k.mutable_recorded_at(), s.ColumnInt64(12));
  if (!s.ColumnIsNull(13)) SetTs(k.mutable_withdrawn_at(), s.ColumnInt64(13));
  k.set_withdrawn_by_member_id(s.ColumnText(14));
}

absl::StatusOr<v1::Consent> RowToConsent(Connection& c, const Statement& s) {
  ASSIGN_OR_RETURN(ConsentParts parts, SendConsentParts(c, s.ColumnText(0)));
  return RowToConsent(c, s, parts);
}

// The authenticated recipients name the service, or the sector (never empty).
bool Names(const v1::Consent& k, absl::string_view service_id, absl::string_view sector_id) {
  for (const v1::Recipient& r : k.recipients()) {
    if (r.has_service_id() && r.service_id() == service_id) return true;
    if (r.has_sector_id() && !sector_id.empty() && r.sector_id() == sector_id) return true;
  }
  return false;
}

}  // namespace

absl::Status InsertConsent(Connection& c, const v1::Consent& k) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare("INSERT INTO care_consents (id, youth_id, giver, guardian_id, youth_opinion, "
                "categories, all_non_special, purposes, valid_from_us, valid_until_us, "
                "recorded_by_member_id, recorded_by_service_id, recorded_at_us) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  s.Bind(1, k.id()).Bind(2, k.youth_id()).Bind(3, int64_t{k.giver()});
  s.BindOptional(4, k.guardian_id()).Bind(5, int64_t{k.youth_opinion()});
  s.Bind(6, JoinInts(k.categories())).Bind(7, int64_t{k.all_non_special_categories() ? 1 : 0});
  s.Bind(8, JoinInts(k.purposes())).Bind(9, Us(k.valid_from())).Bind(10, Us(k.valid_until()));
  s.Bind(11, k.recorded_by_member_id()).Bind(12, k.recorded_by_service_id());
  s.Bind(13, Us(k.recorded_at()));
  RETURN_IF_ERROR(s.Run());
  ASSIGN_OR_RETURN(Statement r, c.Prepare("INSERT INTO care_consent_recipients (consent_id, "
                                          "kind, target_id) VALUES (?1, ?2, ?3)"));
  for (const v1::Recipient& rec : k.recipients()) {
    r.Reset();
    r.Bind(1, k.id());
    if (rec.has_sector_id()) {
      r.Bind(2, "sector").Bind(3, rec.sector_id());
    } else {
      r.Bind(2, "service").Bind(3, rec.service_id());
    }
    RETURN_IF_ERROR(r.Run());
  }
  RETURN_IF_ERROR(InsertCitedConvention(c, kConsentConventions, k.id(), k.convention_id()));
  return storage::SetRowMac(c, kConsentMac, k.id());
}

absl::StatusOr<std::optional<v1::Consent>> GetConsent(Connection& c, absl::string_view id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kConsentColumns, ", mac",
                                                       " FROM care_consents WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToConsent(c, s);
}

absl::StatusOr<std::vector<v1::Consent>> ListConsents(Connection& c, absl::string_view youth_id) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kConsentColumns, ", mac",
                                                       " FROM care_consents WHERE youth_id = ?1 "
                                                       "ORDER BY recorded_at_us, rowid")));
  s.Bind(1, youth_id);
  std::vector<v1::Consent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Consent k, RowToConsent(c, s));
    out.push_back(std::move(k));
  }
  return out;
}

absl::Status MarkConsentWithdrawn(Connection& c, absl::string_view id, absl::string_view member_id,
                                  absl::Time when) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("UPDATE care_consents SET withdrawn_at_us = ?2, "
                                          "withdrawn_by_member_id = ?3 WHERE id = ?1 AND "
                                          "withdrawn_at_us IS NULL"));
  RETURN_IF_ERROR(CheckBeforeUpdate(c, kConsentMac, id));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, Us(when)).Bind(3, member_id).Run());
  if (c.Changes() != 1) return absl::OkStatus();
  return storage::SetRowMac(c, kConsentMac, id);
}

absl::StatusOr<Statement> SendConsentsInForce(Connection& c, const YouthOf& youth,
                                              absl::string_view service_id, absl::Time now) {
  // One statement: each consent in force with its recipients and cited
  // convention (a row per recipient), so that its MAC can be checked without
  // another round trip. Every sector recipient matches here: the service's
  // sector is not known yet when this is sent (it travels with the
  // directory's read of the service). ConsentsInForce keeps those whose
  // authenticated recipients name the service or its sector.
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare(absl::StrCat(
          "SELECT ", kConsentColumns,
          ", mac, p.kind, p.target_id, v.convention_id "
          "FROM care_consents k "
          "LEFT JOIN care_consent_recipients p ON p.consent_id = k.id "
          "LEFT JOIN care_consent_conventions v ON v.consent_id = k.id WHERE ",
          internal::YouthIs(youth, "k.youth_id", 1),
          " AND k.withdrawn_at_us IS NULL AND k.valid_from_us <= ?3 AND k.valid_until_us > ?3 "
          "AND EXISTS (SELECT 1 FROM care_consent_recipients r WHERE r.consent_id = k.id AND "
          "((r.kind = 'service' AND r.target_id = ?2) OR r.kind = 'sector')) "
          "ORDER BY k.recorded_at_us, k.id, p.rowid")));
  s.Bind(1, youth.id).Bind(2, service_id).Bind(3, Us(now));
  RETURN_IF_ERROR(s.Send());
  return s;
}

namespace {

// Columns of SendConsentsInForce's rows after the consent's own and its MAC.
constexpr int kMacColumn = kConsentMac.column_count;
constexpr int kRecipientKind = kMacColumn + 1;
constexpr int kConventionColumn = kMacColumn + 3;

// One consent of SendConsentsInForce's answer, gathered over its rows.
struct ConsentRows {
  v1::Consent consent;
  storage::CanonicalFields fields;      // its own columns, for the MAC
  storage::CanonicalFields recipients;  // RecipientsCanonical's encoding
  std::optional<std::string> mac;
};

void StartConsent(const Statement& s, ConsentRows& k) {
  SetConsentColumns(s, k.consent);
  k.fields.AddColumns(s, 0, kConsentMac.column_count);
  if (!s.ColumnIsNull(kMacColumn)) k.mac = s.ColumnBlob(kMacColumn);
  k.consent.set_convention_id(s.ColumnText(kConventionColumn));
}

void AddRecipient(const Statement& s, ConsentRows& k) {
  if (s.ColumnIsNull(kRecipientKind)) return;  // none: the MAC says whether it had some
  k.recipients.AddColumns(s, kRecipientKind, 2);
  v1::Recipient* rec = k.consent.add_recipients();
  if (s.ColumnText(kRecipientKind) == "sector") {
    rec->set_sector_id(s.ColumnText(kRecipientKind + 1));
  } else {
    rec->set_service_id(s.ColumnText(kRecipientKind + 1));
  }
}

}  // namespace

absl::StatusOr<std::vector<access::ConsentGrant>> ConsentsInForce(Connection& c, Statement& sent,
                                                                  absl::string_view service_id,
                                                                  absl::string_view sector_id,
                                                                  absl::string_view youth_id) {
  std::vector<access::ConsentGrant> out;
  // The grant is built from the authenticated row (its MAC checked,
  // recipients and convention included), never from the columns the filter
  // matched.
  auto finish = [&](ConsentRows& rows) -> absl::Status {
    const v1::Consent& k = rows.consent;
    RETURN_IF_ERROR(storage::CheckFields(
        c, kConsentMac, k.id(), rows.fields, rows.mac,
        internal::WithConvention(std::move(rows.recipients), k.convention_id())));
    RETURN_IF_ERROR(internal::CheckSameYouth(k.youth_id(), youth_id));
    if (!Names(k, service_id, sector_id)) return absl::OkStatus();
    access::ConsentGrant g;
    g.id = k.id();
    for (int v : k.categories()) g.categories.insert(v);
    g.all_non_special_categories = k.all_non_special_categories();
    for (int v : k.purposes()) g.purposes.insert(v);
    g.holder_service_id = k.recorded_by_service_id();
    if (!k.convention_id().empty()) {
      g.convention.emplace();  // not in force until the caller reads its terms
      g.convention->id = k.convention_id();
    }
    out.push_back(std::move(g));
    return absl::OkStatus();
  };
  std::optional<ConsentRows> current;
  while (true) {
    ASSIGN_OR_RETURN(bool row, sent.Step());
    if (!row) break;
    if (!current.has_value() || sent.ColumnView(0) != current->consent.id()) {
      if (current.has_value()) RETURN_IF_ERROR(finish(*current));
      current.emplace();
      StartConsent(sent, *current);
    }
    AddRecipient(sent, *current);
  }
  if (current.has_value()) RETURN_IF_ERROR(finish(*current));
  return out;
}

absl::StatusOr<std::vector<v1::Consent>> HeldConsentsExpiringBefore(Connection& c,
                                                                    absl::string_view service_id,
                                                                    absl::Time now,
                                                                    absl::Time before) {
  ASSIGN_OR_RETURN(
      Statement s,
      c.Prepare(absl::StrCat(
          "SELECT ", kConsentColumns, ", mac",
          " FROM care_consents WHERE recorded_by_service_id = ?1 AND withdrawn_at_us IS NULL AND "
          "valid_from_us <= ?2 AND valid_until_us > ?2 AND valid_until_us <= ?3 AND EXISTS "
          "(SELECT 1 FROM care_accompaniments m WHERE m.youth_id = care_consents.youth_id AND "
          "m.service_id = ?1 AND m.vouch NOT IN (1, 6) AND m.start_us <= ?2 AND "
          "(m.end_us IS NULL OR m.end_us > ?2)) ORDER BY valid_until_us, id")));
  s.Bind(1, service_id).Bind(2, Us(now)).Bind(3, Us(before));
  std::vector<v1::Consent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Consent k, RowToConsent(c, s));
    out.push_back(std::move(k));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Consent>> ConsentsExpiringBefore(Connection& c, absl::Time now,
                                                                absl::Time before) {
  ASSIGN_OR_RETURN(Statement s,
                   c.Prepare(absl::StrCat("SELECT ", kConsentColumns, ", mac",
                                          " FROM care_consents WHERE withdrawn_at_us IS NULL AND "
                                          "valid_from_us <= ?1 AND valid_until_us > ?1 AND "
                                          "valid_until_us <= ?2 ORDER BY valid_until_us")));
  s.Bind(1, Us(now)).Bind(2, Us(before));
  std::vector<v1::Consent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::Consent k, RowToConsent(c, s));
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace relais::care::store
