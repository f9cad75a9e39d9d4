// PartnershipStore's protocols: versions and acknowledgements are history.

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/partnership/partnership_store.h"
#include "services/partnership/store_internal.h"

namespace relais::partnership {

using internal::SetTs;
using internal::Us;
using storage::Connection;
using storage::Statement;

namespace {

constexpr char kProtocolColumns[] =
    "p.id, p.title, p.owner_service_id, p.convention_id, p.roles, p.review_us, "
    "p.created_at_us, p.created_by_member_id, v.number, v.summary, v.link, v.published_at_us, "
    "v.published_by_member_id";
constexpr char kProtocolJoin[] =
    " FROM pship_protocols p JOIN pship_protocol_versions v "
    "ON v.protocol_id = p.id AND v.number = p.current_version";

// The protocol row `s` holds (kProtocolColumns), without services and text.
v1::Protocol ProtocolRow(const Statement& s, absl::Time now) {
  v1::Protocol p;
  p.set_id(s.ColumnText(0));
  p.set_title(s.ColumnText(1));
  p.set_owner_service_id(s.ColumnText(2));
  if (!s.ColumnIsNull(3)) p.set_convention_id(s.ColumnText(3));
  for (int r : internal::SplitInts(s.ColumnView(4))) p.add_roles(static_cast<v1::Role>(r));
  SetTs(p.mutable_review_time(), s.ColumnInt64(5));
  p.set_lapsed(internal::FromUs(s.ColumnInt64(5)) <= now);
  SetTs(p.mutable_created_at(), s.ColumnInt64(6));
  p.set_created_by_member_id(s.ColumnText(7));
  v1::ProtocolVersion* v = p.mutable_current_version();
  v->set_number(static_cast<int32_t>(s.ColumnInt64(8)));
  v->set_summary(s.ColumnText(9));
  v->set_link(s.ColumnText(10));
  SetTs(v->mutable_published_at(), s.ColumnInt64(11));
  v->set_published_by_member_id(s.ColumnText(12));
  return p;
}

absl::Status FillServices(Connection& c, v1::Protocol& p) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT service_id FROM pship_protocol_services "
                                          "WHERE protocol_id = ?1 ORDER BY rowid"));
  s.Bind(1, p.id());
  ASSIGN_OR_RETURN(std::vector<std::string> ids, internal::Column0(s));
  for (std::string& id : ids) p.add_service_ids(std::move(id));
  return absl::OkStatus();
}

absl::Status InsertVersionRow(Connection& txn, absl::string_view id, int number,
                              const v1::ProtocolVersion& v, absl::Time review, absl::Time now,
                              absl::string_view member_id) {
  ASSIGN_OR_RETURN(Statement s,
                   txn.Prepare("INSERT INTO pship_protocol_versions (protocol_id, number, "
                               "summary, link, text, review_us, published_at_us, "
                               "published_by_member_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  s.Bind(1, id).Bind(2, int64_t{number}).Bind(3, v.summary()).Bind(4, v.link()).Bind(5, v.text());
  return s.Bind(6, Us(review)).Bind(7, Us(now)).Bind(8, member_id).Run();
}

}  // namespace

absl::StatusOr<v1::Protocol> PartnershipStore::InsertProtocol(Connection& txn,
                                                              const v1::Protocol& in,
                                                              const v1::ProtocolVersion& first,
                                                              const Actor& by) {
  const std::string id = common::NewId("prt");
  const absl::Time now = clock_->Now();
  const absl::Time review = common::FromProto(in.review_time());
  ASSIGN_OR_RETURN(Statement s,
                   txn.Prepare("INSERT INTO pship_protocols (id, title, owner_service_id, "
                               "convention_id, roles, review_us, current_version, created_at_us, "
                               "created_by_member_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)"));
  s.Bind(1, id).Bind(2, in.title()).Bind(3, by.service_id).BindOptional(4, in.convention_id());
  s.Bind(5, internal::JoinInts(in.roles())).Bind(6, Us(review));
  RETURN_IF_ERROR(s.Bind(7, Us(now)).Bind(8, by.member_id).Run());
  ASSIGN_OR_RETURN(Statement p, txn.Prepare("INSERT INTO pship_protocol_services (protocol_id, "
                                            "service_id) VALUES (?1, ?2)"));
  for (const std::string& service : in.service_ids()) {
    RETURN_IF_ERROR(p.Bind(1, id).Bind(2, service).Run());
    p.Reset();
  }
  RETURN_IF_ERROR(InsertVersionRow(txn, id, 1, first, review, now, by.member_id));
  return ReadProtocol(txn, id, /*with_text=*/false);
}

absl::StatusOr<v1::Protocol> PartnershipStore::ReadProtocol(Connection& c, absl::string_view id,
                                                            bool with_text) const {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kProtocolColumns, ", v.text",
                                                       kProtocolJoin, " WHERE p.id = ?1")));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return common::NotFound("protocol_not_found", "no such protocol");
  v1::Protocol out = ProtocolRow(s, clock_->Now());
  if (with_text) out.mutable_current_version()->set_text(s.ColumnText(13));
  RETURN_IF_ERROR(FillServices(c, out));
  return out;
}

absl::StatusOr<v1::Protocol> PartnershipStore::GetProtocol(absl::string_view id,
                                                           bool with_text) const {
  v1::Protocol out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out, ReadProtocol(c, id, with_text));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int> PartnershipStore::InsertVersion(Connection& txn, absl::string_view id,
                                                    const v1::ProtocolVersion& version,
                                                    absl::Time review, const Actor& by) {
  ASSIGN_OR_RETURN(const v1::Protocol current, ReadProtocol(txn, id, /*with_text=*/false));
  const int number = current.current_version().number() + 1;
  RETURN_IF_ERROR(InsertVersionRow(txn, id, number, version, review, clock_->Now(), by.member_id));
  ASSIGN_OR_RETURN(Statement s, txn.Prepare("UPDATE pship_protocols SET current_version = ?2, "
                                            "review_us = ?3 WHERE id = ?1"));
  RETURN_IF_ERROR(s.Bind(1, id).Bind(2, int64_t{number}).Bind(3, Us(review)).Run());
  return number;
}

absl::Status PartnershipStore::Acknowledge(Connection& txn, absl::string_view id, int version,
                                           absl::string_view member_id) {
  ASSIGN_OR_RETURN(Statement s,
                   txn.Prepare("INSERT INTO pship_acknowledgements (protocol_id, version, "
                               "member_id, acknowledged_at_us) VALUES (?1, ?2, ?3, ?4) "
                               "ON CONFLICT DO NOTHING"));
  return s.Bind(1, id)
      .Bind(2, int64_t{version})
      .Bind(3, member_id)
      .Bind(4, Us(clock_->Now()))
      .Run();
}

absl::StatusOr<std::set<std::string>> PartnershipStore::Acknowledgers(Connection& c,
                                                                      absl::string_view id,
                                                                      int version) const {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT member_id FROM pship_acknowledgements "
                                          "WHERE protocol_id = ?1 AND version = ?2"));
  s.Bind(1, id).Bind(2, int64_t{version});
  ASSIGN_OR_RETURN(std::vector<std::string> ids, internal::Column0(s));
  return std::set<std::string>(ids.begin(), ids.end());
}

absl::StatusOr<std::vector<v1::Protocol>> PartnershipStore::ProtocolsOf(
    absl::string_view service_id) const {
  std::vector<v1::Protocol> out;
  const absl::Time now = clock_->Now();
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s,
                     c.Prepare(absl::StrCat("SELECT ", kProtocolColumns, kProtocolJoin,
                                            " WHERE p.owner_service_id = ?1 OR p.id IN (SELECT "
                                            "protocol_id FROM pship_protocol_services WHERE "
                                            "service_id = ?1) ORDER BY p.title, p.id")));
    s.Bind(1, service_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ProtocolRow(s, now));
    }
    for (v1::Protocol& p : out) RETURN_IF_ERROR(FillServices(c, p));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::set<std::string>> PartnershipStore::AcknowledgedBy(
    absl::string_view member_id) const {
  std::set<std::string> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT protocol_id, version FROM "
                                            "pship_acknowledgements WHERE member_id = ?1"));
    s.Bind(1, member_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return absl::OkStatus();
      out.insert(AckKey(s.ColumnView(0), static_cast<int>(s.ColumnInt64(1))));
    }
  }));
  return out;
}

}  // namespace relais::partnership
