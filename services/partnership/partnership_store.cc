#include "services/partnership/partnership_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/partnership/partnership_rules.h"
#include "services/partnership/partnership_schema.h"
#include "services/partnership/store_internal.h"

namespace relais::partnership {

using storage::Connection;
using storage::Statement;

namespace internal {

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

void SetTs(google::protobuf::Timestamp* out, int64_t us) { *out = common::ToProto(FromUs(us)); }

std::string JoinInts(const google::protobuf::RepeatedField<int>& values) {
  return absl::StrJoin(values, ",");
}

std::vector<int> SplitInts(absl::string_view list) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Column0(Statement& s) {
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.ColumnText(0));
  }
}

}  // namespace internal

using internal::FromUs;
using internal::SetTs;
using internal::Us;

namespace {

constexpr char kConventionColumns[] =
    "id, title, purpose, categories, purposes, max_overlap_days, start_us, end_us, review_us, "
    "proposed_by_member_id, created_at_us, last_reviewed_at_us, last_reviewed_by_member_id, "
    "terminated_at_us, terminated_by_member_id, termination_reason";

// The columns read: kConventionColumns, then the MAC'd ones and the MAC.
constexpr int kMacFirst = 16;
std::string ConventionSelect() {
  return absl::StrCat("SELECT ", kConventionColumns, ", ", kConventionMacColumns,
                      ", mac FROM pship_conventions ");
}

// The convention row `s` holds (kConventionColumns), without parties and
// signatures.
v1::Convention ConventionRow(const Statement& s) {
  v1::Convention c;
  c.set_id(s.ColumnText(0));
  c.set_title(s.ColumnText(1));
  c.set_purpose(s.ColumnText(2));
  for (int v : internal::SplitInts(s.ColumnView(3))) {
    c.mutable_scope()->add_categories(static_cast<v1::DataCategory>(v));
  }
  for (int v : internal::SplitInts(s.ColumnView(4))) {
    c.mutable_scope()->add_purposes(static_cast<v1::Purpose>(v));
  }
  c.mutable_scope()->set_max_overlap_days(static_cast<int32_t>(s.ColumnInt64(5)));
  SetTs(c.mutable_start_time(), s.ColumnInt64(6));
  SetTs(c.mutable_end_time(), s.ColumnInt64(7));
  SetTs(c.mutable_review_time(), s.ColumnInt64(8));
  c.set_proposed_by_member_id(s.ColumnText(9));
  SetTs(c.mutable_created_at(), s.ColumnInt64(10));
  if (!s.ColumnIsNull(11)) {
    SetTs(c.mutable_last_reviewed_at(), s.ColumnInt64(11));
    c.set_last_reviewed_by_member_id(s.ColumnText(12));
  }
  if (!s.ColumnIsNull(13)) {
    SetTs(c.mutable_terminated_at(), s.ColumnInt64(13));
    c.set_terminated_by_member_id(s.ColumnText(14));
    c.set_termination_reason(s.ColumnText(15));
  }
  return c;
}

// Fills `c`'s parties (in the order proposed) and signatures.
absl::Status FillParties(Connection& conn, v1::Convention& c) {
  ASSIGN_OR_RETURN(Statement p, conn.Prepare("SELECT service_id FROM pship_parties "
                                             "WHERE convention_id = ?1 ORDER BY rowid"));
  p.Bind(1, c.id());
  ASSIGN_OR_RETURN(std::vector<std::string> parties, internal::Column0(p));
  for (std::string& id : parties) c.add_party_service_ids(std::move(id));
  ASSIGN_OR_RETURN(Statement s, conn.Prepare("SELECT service_id, member_id, signed_at_us FROM "
                                             "pship_signatures WHERE convention_id = ?1 "
                                             "ORDER BY signed_at_us, rowid"));
  s.Bind(1, c.id());
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::OkStatus();
    v1::ConventionSignature* sig = c.add_signatures();
    sig->set_service_id(s.ColumnText(0));
    sig->set_member_id(s.ColumnText(1));
    SetTs(sig->mutable_signed_at(), s.ColumnInt64(2));
  }
}

// The row `s` holds (ConventionSelect()), with its parties and signatures,
// once its MAC verifies.
absl::StatusOr<v1::Convention> CheckedConvention(Connection& conn, const Statement& s) {
  v1::Convention c = ConventionRow(s);
  RETURN_IF_ERROR(FillParties(conn, c));
  ASSIGN_OR_RETURN(const std::string extra, ConventionPartiesCanonical(conn, c.id()));
  RETURN_IF_ERROR(storage::CheckRow(conn, kConventionMac, s, kMacFirst, extra));
  return c;
}

// A trigger's refusal (SQLite CONSTRAINT -> FAILED_PRECONDITION) as a reason.
absl::Status Final(const absl::Status& s, absl::string_view reason) {
  if (s.code() == absl::StatusCode::kFailedPrecondition) {
    return common::Precondition(reason, "the record does not allow this change");
  }
  return s;
}

}  // namespace

absl::StatusOr<std::string> ConventionPartiesCanonical(Connection& c,
                                                       absl::string_view convention_id) {
  storage::CanonicalFields fields;
  ASSIGN_OR_RETURN(Statement p, c.Prepare("SELECT service_id FROM pship_parties "
                                          "WHERE convention_id = ?1 ORDER BY service_id"));
  p.Bind(1, convention_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, p.Step());
    if (!row) break;
    fields.Add("party").AddColumns(p, 0, 1);
  }
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT service_id, member_id, signed_at_us FROM "
                                          "pship_signatures WHERE convention_id = ?1 "
                                          "ORDER BY service_id"));
  s.Bind(1, convention_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    fields.Add("signature").AddColumns(s, 0, 3);
  }
  return fields.bytes();
}

absl::Status SealExistingRows(storage::Database& db) {
  return storage::SealExistingRows(db, {kConventionMac});
}

absl::StatusOr<std::unique_ptr<PartnershipStore>> PartnershipStore::Create(
    storage::Database* db, const common::Clock* clock) {
  if (db == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("PartnershipStore needs a database and a clock");
  }
  RETURN_IF_ERROR(
      db->Migrate(kPartnershipComponent, PartnershipMigrations(), PartnershipPostgresMigrations()));
  return std::unique_ptr<PartnershipStore>(new PartnershipStore(db, clock));
}

absl::StatusOr<v1::Convention> PartnershipStore::InsertConvention(Connection& txn,
                                                                  const v1::Convention& in,
                                                                  const Actor& by) {
  const std::string id = common::NewId("cnv");
  const int64_t now = Us(clock_->Now());
  ASSIGN_OR_RETURN(
      Statement s,
      txn.Prepare("INSERT INTO pship_conventions (id, title, purpose, categories, purposes, "
                  "max_overlap_days, start_us, end_us, review_us, proposed_by_member_id, "
                  "created_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
  s.Bind(1, id).Bind(2, in.title()).Bind(3, in.purpose());
  s.Bind(4, internal::JoinInts(in.scope().categories()));
  s.Bind(5, internal::JoinInts(in.scope().purposes()));
  s.Bind(6, int64_t{in.scope().max_overlap_days()});
  s.Bind(7, Us(common::FromProto(in.start_time())));
  s.Bind(8, Us(common::FromProto(in.end_time())));
  s.Bind(9, Us(common::FromProto(in.review_time())));
  RETURN_IF_ERROR(s.Bind(10, by.member_id).Bind(11, now).Run());
  ASSIGN_OR_RETURN(Statement p, txn.Prepare("INSERT INTO pship_parties (convention_id, "
                                            "service_id) VALUES (?1, ?2)"));
  for (const std::string& party : in.party_service_ids()) {
    RETURN_IF_ERROR(p.Bind(1, id).Bind(2, party).Run());
    p.Reset();
  }
  RETURN_IF_ERROR(AddSignature(txn, id, by));
  return ReadConvention(txn, id);
}

absl::StatusOr<v1::Convention> PartnershipStore::ReadConvention(Connection& c,
                                                                absl::string_view id) const {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat(ConventionSelect(), "WHERE id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return common::NotFound("convention_not_found", "no such convention");
  ASSIGN_OR_RETURN(v1::Convention out, CheckedConvention(c, s));
  Evaluate(out, clock_->Now());
  return out;
}

absl::StatusOr<v1::Convention> PartnershipStore::GetConvention(absl::string_view id) const {
  v1::Convention out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out, ReadConvention(c, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PartnershipStore::AddSignature(Connection& txn, absl::string_view id,
                                            const Actor& by) {
  ASSIGN_OR_RETURN(Statement s, txn.Prepare("INSERT INTO pship_signatures "
                                            "(convention_id, service_id, member_id, signed_at_us) "
                                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"));
  RETURN_IF_ERROR(
      s.Bind(1, id).Bind(2, by.service_id).Bind(3, by.member_id).Bind(4, Us(clock_->Now())).Run());
  // The signatures are part of the convention's MAC.
  return storage::SetRowMac(txn, kConventionMac, id);
}

absl::Status PartnershipStore::RecordReview(Connection& txn, absl::string_view id, const Actor& by,
                                            absl::Time next_review) {
  const int64_t now = Us(clock_->Now());
  ASSIGN_OR_RETURN(Statement h, txn.Prepare("INSERT INTO pship_reviews (convention_id, member_id, "
                                            "reviewed_at_us, next_review_us) "
                                            "VALUES (?1, ?2, ?3, ?4)"));
  RETURN_IF_ERROR(h.Bind(1, id).Bind(2, by.member_id).Bind(3, now).Bind(4, Us(next_review)).Run());
  ASSIGN_OR_RETURN(Statement s, txn.Prepare("UPDATE pship_conventions SET review_us = ?2, "
                                            "last_reviewed_at_us = ?3, "
                                            "last_reviewed_by_member_id = ?4 WHERE id = ?1"));
  return Final(s.Bind(1, id).Bind(2, Us(next_review)).Bind(3, now).Bind(4, by.member_id).Run(),
               "convention_terminated");
}

absl::Status PartnershipStore::RecordTermination(Connection& txn, absl::string_view id,
                                                 const Actor& by, absl::string_view reason) {
  ASSIGN_OR_RETURN(Statement s, txn.Prepare("UPDATE pship_conventions SET terminated_at_us = ?2, "
                                            "terminated_by_member_id = ?3, "
                                            "termination_reason = ?4 WHERE id = ?1"));
  RETURN_IF_ERROR(
      Final(s.Bind(1, id).Bind(2, Us(clock_->Now())).Bind(3, by.member_id).Bind(4, reason).Run(),
            "convention_terminated"));
  return storage::SetRowMac(txn, kConventionMac, id);
}

absl::StatusOr<std::vector<v1::Convention>> PartnershipStore::ListConventions(
    absl::string_view service_id) const {
  std::vector<v1::Convention> out;
  const absl::Time now = clock_->Now();
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s,
                     c.Prepare(absl::StrCat(ConventionSelect(),
                                            "WHERE ?1 = '' OR id IN (SELECT convention_id FROM "
                                            "pship_parties WHERE service_id = ?1) "
                                            "ORDER BY position DESC")));
    s.Bind(1, service_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return absl::OkStatus();
      ASSIGN_OR_RETURN(v1::Convention conv, CheckedConvention(c, s));
      Evaluate(conv, now);
      out.push_back(std::move(conv));
    }
  }));
  return out;
}

absl::StatusOr<ConventionTerms> PartnershipStore::GetTerms(Connection& c,
                                                           absl::string_view convention_id) const {
  ASSIGN_OR_RETURN(const v1::Convention conv, ReadConvention(c, convention_id));
  ConventionTerms t;
  t.id = conv.id();
  t.party_service_ids.assign(conv.party_service_ids().begin(), conv.party_service_ids().end());
  t.categories.insert(conv.scope().categories().begin(), conv.scope().categories().end());
  t.purposes.insert(conv.scope().purposes().begin(), conv.scope().purposes().end());
  t.max_overlap_days = conv.scope().max_overlap_days();
  t.start = common::FromProto(conv.start_time());
  t.end = common::FromProto(conv.end_time());
  t.signed_by_all = SignedByAll(conv);
  if (conv.has_terminated_at()) t.terminated_at = common::FromProto(conv.terminated_at());
  return t;
}

std::string AckKey(absl::string_view protocol_id, int version) {
  return absl::StrCat(protocol_id, "/", version);
}

}  // namespace relais::partnership
