// convention propose|sign|review|terminate|show|list and protocol
// create|publish|ack|show|list|coverage: PartnershipService.

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

// Runs a unary PartnershipService call; prints `show(resp)` as one record.
template <typename Req, typename Resp, typename Call, typename Show>
int Unary(Invocation& in, const Req& req, Call call, Show show) {
  Resp resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = (in.client->partnership().*call)(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, show(resp));
  return kExitOk;
}

// --- convention ----------------------------------------------------------------

// What needs a coordinator's attention, shown in its own column.
std::string ConventionFlag(const v1::Convention& c) { return c.review_due() ? "REVIEW DUE" : ""; }

std::vector<Column> ConventionColumns() {
  return {
      {"id", Kind::kId},           {"title", Kind::kText},    {"state", Kind::kCode},
      {"attention", Kind::kCode},  {"review", Kind::kTime},   {"signed", Kind::kNumber},
      {"end", Kind::kTime},        {"start", Kind::kTime},    {"parties", Kind::kText},
      {"categories", Kind::kText}, {"purposes", Kind::kText}, {"max_overlap_days", Kind::kNumber}};
}

std::vector<std::string> ConventionRow(const v1::Convention& c) {
  std::vector<std::string> categories, purposes;
  for (int v : c.scope().categories()) {
    categories.push_back(ShortName(v1::DataCategory_descriptor(), v));
  }
  for (int v : c.scope().purposes()) purposes.push_back(ShortName(v1::Purpose_descriptor(), v));
  return {c.id(),
          c.title(),
          ShortName(v1::ConventionState_descriptor(), c.state()),
          ConventionFlag(c),
          TimeCell(c.review_time()),
          absl::StrCat(c.signatures_size(), "/", c.party_service_ids_size()),
          TimeCell(c.end_time()),
          TimeCell(c.start_time()),
          absl::StrJoin(c.party_service_ids(), ","),
          absl::StrJoin(categories, ","),
          absl::StrJoin(purposes, ","),
          absl::StrCat(c.scope().max_overlap_days())};
}

Table ConventionRecord(const v1::Convention& c) {
  return Table{ConventionColumns(), {ConventionRow(c)}};
}

// A table keeps the first `n` columns (80 columns wide); CSV and JSON all.
void Narrow(const Invocation& in, Table& t, size_t n) {
  if (in.format != Format::kTable) return;
  t.columns.resize(n);
  for (auto& row : t.rows) row.resize(n);
}

// A date flag as a timestamp: the start of that day, or of the next (`end`).
int DateInto(Invocation& in, absl::string_view flag, const std::string& value, bool end,
             google::protobuf::Timestamp* out) {
  if (value.empty()) return in.Usage(absl::StrCat("--", flag, " is required"));
  absl::StatusOr<absl::Time> t = end ? DayEndFlag(flag, value) : DayStartFlag(flag, value);
  if (!t.ok()) return in.Usage(t.status().message());
  *out = common::ToProto(*t);
  return kExitOk;
}

int ScopeInto(Invocation& in, v1::ConventionScope* scope) {
  for (const std::string& c : absl::GetFlag(FLAGS_categories)) {
    absl::StatusOr<int> v = EnumFlag(v1::DataCategory_descriptor(), "categories", c);
    if (!v.ok()) return in.Usage(v.status().message());
    scope->add_categories(static_cast<v1::DataCategory>(*v));
  }
  for (const std::string& p : absl::GetFlag(FLAGS_purposes)) {
    absl::StatusOr<int> v = EnumFlag(v1::Purpose_descriptor(), "purposes", p);
    if (!v.ok()) return in.Usage(v.status().message());
    scope->add_purposes(static_cast<v1::Purpose>(*v));
  }
  const std::string overlap = absl::GetFlag(FLAGS_max_overlap);
  if (overlap.empty()) return in.Usage("--max_overlap is required");
  absl::StatusOr<absl::Duration> d = DurationFlag("max_overlap", overlap);
  if (!d.ok()) return in.Usage(d.status().message());
  scope->set_max_overlap_days(static_cast<int32_t>(*d / absl::Hours(24)));
  return kExitOk;
}

int ConventionPropose(Invocation& in) {
  v1::ProposeConventionRequest req;
  v1::Convention* c = req.mutable_convention();
  c->set_title(absl::GetFlag(FLAGS_title));
  c->set_purpose(absl::GetFlag(FLAGS_purpose));
  for (const std::string& p : absl::GetFlag(FLAGS_parties)) c->add_party_service_ids(p);
  if (int rc = ScopeInto(in, c->mutable_scope()); rc != kExitOk) return rc;
  std::string start = absl::GetFlag(FLAGS_start);
  if (start == "now") start.clear();
  if (start.empty()) {
    *c->mutable_start_time() = common::ToProto(absl::Now());
  } else if (int rc = DateInto(in, "start", start, false, c->mutable_start_time()); rc != kExitOk) {
    return rc;
  }
  if (int rc = DateInto(in, "end", absl::GetFlag(FLAGS_end), true, c->mutable_end_time());
      rc != kExitOk) {
    return rc;
  }
  if (int rc = DateInto(in, "review", absl::GetFlag(FLAGS_review), false, c->mutable_review_time());
      rc != kExitOk) {
    return rc;
  }
  return Unary<v1::ProposeConventionRequest, v1::Convention>(
      in, req, &v1::PartnershipService::Stub::ProposeConvention, ConventionRecord);
}

int ConventionSign(Invocation& in) {
  v1::SignConventionRequest req;
  req.set_convention_id(in.args[0]);
  return Unary<v1::SignConventionRequest, v1::Convention>(
      in, req, &v1::PartnershipService::Stub::SignConvention, ConventionRecord);
}

int ConventionReview(Invocation& in) {
  v1::ReviewConventionRequest req;
  req.set_convention_id(in.args[0]);
  if (int rc = DateInto(in, "review", absl::GetFlag(FLAGS_review), false,
                        req.mutable_next_review_time());
      rc != kExitOk) {
    return rc;
  }
  return Unary<v1::ReviewConventionRequest, v1::Convention>(
      in, req, &v1::PartnershipService::Stub::ReviewConvention, ConventionRecord);
}

int ConventionTerminate(Invocation& in) {
  v1::TerminateConventionRequest req;
  req.set_convention_id(in.args[0]);
  req.set_reason(absl::GetFlag(FLAGS_reason));
  if (req.reason().empty()) return in.Usage("--reason is required");
  return Unary<v1::TerminateConventionRequest, v1::Convention>(
      in, req, &v1::PartnershipService::Stub::TerminateConvention, ConventionRecord);
}

int ConventionShow(Invocation& in) {
  v1::GetConventionRequest req;
  req.set_convention_id(in.args[0]);
  return Unary<v1::GetConventionRequest, v1::Convention>(
      in, req, &v1::PartnershipService::Stub::GetConvention, ConventionRecord);
}

int ConventionList(Invocation& in) {
  v1::ListConventionsRequest req;
  req.set_service_id(absl::GetFlag(FLAGS_service));
  req.set_due_within_days(absl::GetFlag(FLAGS_due));
  Table t{ConventionColumns(), {}};
  do {
    v1::ListConventionsResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = in.client->partnership().ListConventions(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::Convention& c : resp.conventions()) t.rows.push_back(ConventionRow(c));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  Narrow(in, t, 6);
  PrintList(in, t);
  return kExitOk;
}

// --- protocol ------------------------------------------------------------------

std::string ProtocolFlag(const v1::Protocol& p) {
  if (p.lapsed()) return "LAPSED";
  return p.to_acknowledge() ? "TO ACKNOWLEDGE" : "";
}

std::vector<Column> ProtocolColumns() {
  return {{"id", Kind::kId},          {"title", Kind::kText},    {"version", Kind::kNumber},
          {"attention", Kind::kCode}, {"review", Kind::kTime},   {"owner", Kind::kId},
          {"services", Kind::kText},  {"convention", Kind::kId}, {"summary", Kind::kText},
          {"link", Kind::kText}};
}

std::vector<std::string> ProtocolRow(const v1::Protocol& p) {
  return {p.id(),
          p.title(),
          absl::StrCat(p.current_version().number()),
          ProtocolFlag(p),
          TimeCell(p.review_time()),
          p.owner_service_id(),
          absl::StrJoin(p.service_ids(), ","),
          p.convention_id(),
          p.current_version().summary(),
          p.current_version().link()};
}

Table ProtocolRecord(const v1::Protocol& p) {
  Table t{ProtocolColumns(), {ProtocolRow(p)}};
  if (!p.current_version().text().empty()) {
    t.columns.push_back({"text", Kind::kText});
    t.rows[0].push_back(p.current_version().text());
  }
  return t;
}

// --summary with --link or --text_file into `v`.
int VersionInto(Invocation& in, v1::ProtocolVersion* v) {
  v->set_summary(absl::GetFlag(FLAGS_summary));
  if (v->summary().empty()) return in.Usage("--summary is required");
  v->set_link(absl::GetFlag(FLAGS_link));
  const std::string file = absl::GetFlag(FLAGS_text_file);
  if (v->link().empty() == file.empty()) return in.Usage("give exactly one of --link, --text_file");
  if (!file.empty()) {
    std::ifstream f(file, std::ios::binary);
    if (!f) return in.Usage(absl::StrCat("cannot read --text_file ", file));
    v->set_text(std::string(std::istreambuf_iterator<char>(f), {}));
  }
  return kExitOk;
}

int ProtocolCreate(Invocation& in) {
  v1::CreateProtocolRequest req;
  v1::Protocol* p = req.mutable_protocol();
  p->set_title(absl::GetFlag(FLAGS_title));
  for (const std::string& s : absl::GetFlag(FLAGS_services)) p->add_service_ids(s);
  if (p->service_ids().empty()) return in.Usage("--services is required");
  for (const std::string& r : absl::GetFlag(FLAGS_roles)) {
    absl::StatusOr<int> v = EnumFlag(v1::Role_descriptor(), "roles", r);
    if (!v.ok()) return in.Usage(v.status().message());
    p->add_roles(static_cast<v1::Role>(*v));
  }
  p->set_convention_id(absl::GetFlag(FLAGS_convention));
  if (int rc = DateInto(in, "review", absl::GetFlag(FLAGS_review), false, p->mutable_review_time());
      rc != kExitOk) {
    return rc;
  }
  if (int rc = VersionInto(in, req.mutable_first_version()); rc != kExitOk) return rc;
  return Unary<v1::CreateProtocolRequest, v1::Protocol>(
      in, req, &v1::PartnershipService::Stub::CreateProtocol, ProtocolRecord);
}

int ProtocolPublish(Invocation& in) {
  v1::PublishProtocolVersionRequest req;
  req.set_protocol_id(in.args[0]);
  if (int rc =
          DateInto(in, "review", absl::GetFlag(FLAGS_review), false, req.mutable_review_time());
      rc != kExitOk) {
    return rc;
  }
  if (int rc = VersionInto(in, req.mutable_version()); rc != kExitOk) return rc;
  return Unary<v1::PublishProtocolVersionRequest, v1::Protocol>(
      in, req, &v1::PartnershipService::Stub::PublishProtocolVersion, ProtocolRecord);
}

int ProtocolAck(Invocation& in) {
  v1::AcknowledgeProtocolRequest req;
  req.set_protocol_id(in.args[0]);
  req.set_version(absl::GetFlag(FLAGS_version));
  if (req.version() <= 0) return in.Usage("--version is required");
  return Unary<v1::AcknowledgeProtocolRequest, v1::Protocol>(
      in, req, &v1::PartnershipService::Stub::AcknowledgeProtocol, ProtocolRecord);
}

int ProtocolShow(Invocation& in) {
  v1::GetProtocolRequest req;
  req.set_protocol_id(in.args[0]);
  return Unary<v1::GetProtocolRequest, v1::Protocol>(
      in, req, &v1::PartnershipService::Stub::GetProtocol, ProtocolRecord);
}

int ProtocolList(Invocation& in) {
  v1::ListProtocolsRequest req;
  req.set_to_acknowledge_only(absl::GetFlag(FLAGS_to_ack));
  Table t{ProtocolColumns(), {}};
  do {
    v1::ListProtocolsResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = in.client->partnership().ListProtocols(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::Protocol& p : resp.protocols()) t.rows.push_back(ProtocolRow(p));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  Narrow(in, t, 5);
  PrintList(in, t);
  return kExitOk;
}

int ProtocolCoverage(Invocation& in) {
  v1::ProtocolCoverageRequest req;
  req.set_protocol_id(in.args[0]);
  v1::ProtocolCoverageResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->partnership().ProtocolCoverage(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  Table t{{{"service", Kind::kId},
           {"version", Kind::kNumber},
           {"acknowledged", Kind::kNumber},
           {"concerned", Kind::kNumber},
           {"attention", Kind::kCode},
           {"pending", Kind::kText}},
          {}};
  for (const v1::ServiceCoverage& c : resp.services()) {
    t.rows.push_back({c.service_id(), absl::StrCat(resp.version()),
                      absl::StrCat(c.members_acknowledged()), absl::StrCat(c.members_concerned()),
                      resp.lapsed() ? "LAPSED" : "", absl::StrJoin(c.pending_member_ids(), ",")});
  }
  PrintList(in, t);
  return kExitOk;
}

}  // namespace

// table: the partnership commands, one CommandSpec each.
std::vector<CommandSpec> PartnershipCommands() {
  const std::vector<const char*> out = {"format", "quiet"};
  auto with = [&](std::vector<const char*> flags) {
    flags.insert(flags.end(), out.begin(), out.end());
    return flags;
  };
  return {
      {"convention", "propose", "", 0, 0,
       with({"title", "purpose", "parties", "categories", "purposes", "max_overlap", "start", "end",
             "review"}),
       "--title <t> --purpose <why> --parties <a,b> --categories <c,..> --max_overlap <30d> "
       "--end <YYYY-MM-DD> --review <YYYY-MM-DD>",
       "Propose a partnership convention between services (coordinator).",
       "Your service must be a party; you sign for it at once. The terms never change: a new "
       "scope is a new convention. It is in force once every party has signed.",
       true, true, ConventionPropose},
      {"convention", "sign", "<convention-id>", 1, 1, out, "",
       "Sign a convention for your service (coordinator of a party).",
       "Signing twice changes nothing. Refused once terminated or expired.", true, true,
       ConventionSign},
      {"convention", "review", "<convention-id>", 1, 1, with({"review"}), "--review <YYYY-MM-DD>",
       "Record the parties' review and the next review date (coordinator of a party).",
       "The next date is in the future, not after the convention's end.", true, true,
       ConventionReview},
      {"convention", "terminate", "<convention-id>", 1, 1, with({"reason"}), "--reason <text>",
       "End a convention now for every party (coordinator of a party).",
       "Consents and handovers citing it stop sharing at the next decision. Idempotent.", true,
       true, ConventionTerminate},
      {"convention", "show", "<convention-id>", 1, 1, out, "", "Show one convention.",
       "Its terms, signatures and state now.", true, true, ConventionShow},
      {"convention", "list", "", 0, 0, with({"service", "due"}), "",
       "List conventions; --due 30: the reminders.",
       "Newest first. The ATTENTION column flags those whose review is due.", true, true,
       ConventionList},
      {"protocol", "create", "", 0, 0,
       with({"title", "summary", "link", "text_file", "services", "roles", "review", "convention"}),
       "--title <t> --summary <s> (--link <https://..> | --text_file <f>) --services <a,b> "
       "--review <YYYY-MM-DD>",
       "Create a protocol owned by your service (coordinator).",
       "Other services may be concerned only under a convention in force between them and "
       "yours (--convention).",
       true, true, ProtocolCreate},
      {"protocol", "publish", "<protocol-id>", 1, 1,
       with({"summary", "link", "text_file", "review"}),
       "--summary <s> (--link <https://..> | --text_file <f>) --review <YYYY-MM-DD>",
       "Publish a new version (coordinator of the owner service).",
       "Everyone concerned must acknowledge it anew.", true, true, ProtocolPublish},
      {"protocol", "ack", "<protocol-id>", 1, 1, with({"version"}), "--version <n>",
       "Acknowledge having read the current version.",
       "Refused for a version that is no longer current or a lapsed protocol.", true, true,
       ProtocolAck},
      {"protocol", "show", "<protocol-id>", 1, 1, out, "", "Show a protocol with its current text.",
       "", true, true, ProtocolShow},
      {"protocol", "list", "", 0, 0, with({"to_ack"}), "",
       "Protocols that concern you or your service owns.",
       "The ATTENTION column flags LAPSED ones (past their review date) and those TO "
       "ACKNOWLEDGE.",
       true, true, ProtocolList},
      {"protocol", "coverage", "<protocol-id>", 1, 1, out, "",
       "Who acknowledged the current version, per service (coordinator).",
       "The owner's coordinators see every service; others their own line.", true, true,
       ProtocolCoverage},
  };
}

}  // namespace relais::ctl
