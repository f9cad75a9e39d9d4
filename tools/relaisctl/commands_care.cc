// accompaniment open|end|reassign|list|pending|confirm|decline, consent grant|withdraw|list and
// handover propose|accept|decline|cancel|complete|show|list: CareService.

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

using google::protobuf::EnumDescriptor;

std::string Enum(const EnumDescriptor* type, int value) { return ShortName(type, value); }

// Runs a unary call with a fresh context; prints `table(resp)` as one record.
template <typename Req, typename Resp, typename Call, typename Show>
int Unary(Invocation& in, const Req& req, Call call, Show show) {
  Resp resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = (in.client->care().*call)(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, show(resp));
  return kExitOk;
}

// --- accompaniment -----------------------------------------------------------

std::vector<Column> AccompanimentColumns(bool table) {
  std::vector<Column> c = {
      {"id", Kind::kId},       {"service_id", Kind::kId},   {"referent_member_id", Kind::kId},
      {"basis", Kind::kCode},  {"start_time", Kind::kTime}, {"end_time", Kind::kTime},
      {"active", Kind::kBool}, {"vouch", Kind::kCode}};
  if (table) {
    c[1].name = "service";
    c[2].name = "referent";
    c[4].name = "start";
    c[5].name = "end";
  } else {
    c.insert(c.begin() + 1, {"youth_id", Kind::kId});
    c.push_back({"handover_id", Kind::kId});
  }
  return c;
}

std::vector<std::string> AccompanimentRow(const v1::Accompaniment& a, bool table) {
  std::vector<std::string> row = {a.id(),
                                  a.service_id(),
                                  a.referent_member_id(),
                                  Enum(v1::AccompanimentBasis_descriptor(), a.basis()),
                                  TimeCell(a.start_time()),
                                  TimeCell(a.end_time()),
                                  a.active() ? "true" : "false",
                                  Enum(v1::Vouch_descriptor(), a.vouch())};
  if (!table) {
    row.insert(row.begin() + 1, a.youth_id());
    row.push_back(a.handover_id());
  }
  return row;
}

Table AccompanimentRecord(const v1::Accompaniment& a) {
  return Table{AccompanimentColumns(false), {AccompanimentRow(a, false)}};
}

int AccompanimentOpen(Invocation& in) {
  v1::OpenAccompanimentRequest req;
  req.set_youth_id(in.args[0]);
  req.set_referent_member_id(absl::GetFlag(FLAGS_referent));
  if (req.referent_member_id().empty()) return in.Usage("--referent is required");
  absl::StatusOr<int> basis =
      EnumFlag(v1::AccompanimentBasis_descriptor(), "basis", absl::GetFlag(FLAGS_basis));
  if (!basis.ok()) return in.Usage(basis.status().message());
  req.set_basis(static_cast<v1::AccompanimentBasis>(*basis));
  return Unary<v1::OpenAccompanimentRequest, v1::Accompaniment>(
      in, req, &v1::CareService::Stub::OpenAccompaniment, AccompanimentRecord);
}

int AccompanimentEnd(Invocation& in) {
  v1::EndAccompanimentRequest req;
  req.set_accompaniment_id(in.args[0]);
  return Unary<v1::EndAccompanimentRequest, v1::Accompaniment>(
      in, req, &v1::CareService::Stub::EndAccompaniment, AccompanimentRecord);
}

int AccompanimentReassign(Invocation& in) {
  v1::ReassignReferentRequest req;
  req.set_accompaniment_id(in.args[0]);
  req.set_referent_member_id(absl::GetFlag(FLAGS_referent));
  if (req.referent_member_id().empty()) return in.Usage("--referent is required");
  return Unary<v1::ReassignReferentRequest, v1::Accompaniment>(
      in, req, &v1::CareService::Stub::ReassignReferent, AccompanimentRecord);
}

int AccompanimentConfirm(Invocation& in) {
  v1::ConfirmAccompanimentRequest req;
  req.set_accompaniment_id(in.args[0]);
  return Unary<v1::ConfirmAccompanimentRequest, v1::Accompaniment>(
      in, req, &v1::CareService::Stub::ConfirmAccompaniment, AccompanimentRecord);
}

int AccompanimentDecline(Invocation& in) {
  v1::DeclineAccompanimentRequest req;
  req.set_accompaniment_id(in.args[0]);
  return Unary<v1::DeclineAccompanimentRequest, v1::Accompaniment>(
      in, req, &v1::CareService::Stub::DeclineAccompaniment, AccompanimentRecord);
}

int AccompanimentPending(Invocation& in) {
  v1::ListPendingAccompanimentsRequest req;
  v1::ListPendingAccompanimentsResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ListPendingAccompaniments(ctx.get(), req, &resp);
      !s.ok()) {
    return in.Fail(s);
  }
  Table t{AccompanimentColumns(false), {}};
  for (const auto& a : resp.accompaniments()) t.rows.push_back(AccompanimentRow(a, false));
  PrintList(in, t);
  return kExitOk;
}

int AccompanimentList(Invocation& in) {
  v1::ListAccompanimentsRequest req;
  req.set_youth_id(in.args[0]);
  v1::ListAccompanimentsResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ListAccompaniments(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  const bool table = in.format == Format::kTable;
  Table t{AccompanimentColumns(table), {}};
  for (const auto& a : resp.accompaniments()) t.rows.push_back(AccompanimentRow(a, table));
  PrintList(in, t);
  return kExitOk;
}

// --- consent -------------------------------------------------------------------

std::vector<Column> ConsentColumns(bool table) {
  if (table) {
    return {{"id", Kind::kId},
            {"state", Kind::kCode},
            {"recipients", Kind::kText},
            {"categories", Kind::kText},
            {"until", Kind::kTime}};
  }
  return {{"id", Kind::kId},
          {"youth_id", Kind::kId},
          {"state", Kind::kCode},
          {"giver", Kind::kCode},
          {"guardian_id", Kind::kId},
          {"youth_opinion", Kind::kCode},
          {"recipients", Kind::kText},
          {"categories", Kind::kText},
          {"purposes", Kind::kText},
          {"valid_from", Kind::kTime},
          {"valid_until", Kind::kTime},
          {"recorded_by_member_id", Kind::kId},
          {"recorded_by_service_id", Kind::kId},
          {"recorded_at", Kind::kTime},
          {"withdrawn_at", Kind::kTime},
          {"withdrawn_by_member_id", Kind::kId},
          {"needs_youth_confirmation", Kind::kBool},
          {"convention_id", Kind::kId}};
}

std::vector<std::string> ConsentRow(const v1::Consent& k, bool table) {
  std::vector<std::string> recipients, categories, purposes;
  for (const v1::Recipient& r : k.recipients()) {
    recipients.push_back(r.has_sector_id() ? absl::StrCat("sector:", r.sector_id())
                                           : r.service_id());
  }
  if (k.all_non_special_categories()) categories.push_back("all_non_special");
  for (int c : k.categories()) categories.push_back(Enum(v1::DataCategory_descriptor(), c));
  for (int p : k.purposes()) purposes.push_back(Enum(v1::Purpose_descriptor(), p));
  const std::string state = Enum(v1::ConsentState_descriptor(), k.state());
  if (table) {
    return {k.id(), state, absl::StrJoin(recipients, " "), absl::StrJoin(categories, ","),
            TimeCell(k.valid_until())};
  }
  return {k.id(),
          k.youth_id(),
          state,
          Enum(v1::ConsentGiver_descriptor(), k.giver()),
          k.guardian_id(),
          Enum(v1::YouthOpinion_descriptor(), k.youth_opinion()),
          absl::StrJoin(recipients, " "),
          absl::StrJoin(categories, ","),
          absl::StrJoin(purposes, ","),
          TimeCell(k.valid_from()),
          TimeCell(k.valid_until()),
          k.recorded_by_member_id(),
          k.recorded_by_service_id(),
          TimeCell(k.recorded_at()),
          TimeCell(k.withdrawn_at()),
          k.withdrawn_by_member_id(),
          k.needs_youth_confirmation() ? "true" : "false",
          k.convention_id()};
}

Table ConsentRecord(const v1::Consent& k) {
  return Table{ConsentColumns(false), {ConsentRow(k, false)}};
}

int ConsentGrant(Invocation& in) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(in.args[0]);
  for (const std::string& s : absl::GetFlag(FLAGS_to_service))
    k->add_recipients()->set_service_id(s);
  for (const std::string& s : absl::GetFlag(FLAGS_to_sector)) k->add_recipients()->set_sector_id(s);
  if (k->recipients().empty())
    return in.Usage("name recipients with --to_service and/or --to_sector");
  for (const std::string& c : absl::GetFlag(FLAGS_categories)) {
    absl::StatusOr<int> v = EnumFlag(v1::DataCategory_descriptor(), "categories", c);
    if (!v.ok()) return in.Usage(v.status().message());
    k->add_categories(static_cast<v1::DataCategory>(*v));
  }
  k->set_all_non_special_categories(absl::GetFlag(FLAGS_all_non_special));
  if (k->categories().empty() && !k->all_non_special_categories()) {
    return in.Usage("name --categories and/or --all_non_special");
  }
  for (const std::string& p : absl::GetFlag(FLAGS_purposes)) {
    absl::StatusOr<int> v = EnumFlag(v1::Purpose_descriptor(), "purposes", p);
    if (!v.ok()) return in.Usage(v.status().message());
    k->add_purposes(static_cast<v1::Purpose>(*v));
  }
  absl::Time from = absl::Now();
  if (const std::string f = absl::GetFlag(FLAGS_from); !f.empty()) {
    absl::StatusOr<absl::Time> t = DayStartFlag("from", f);
    if (!t.ok()) return in.Usage(t.status().message());
    from = *t;
    *k->mutable_valid_from() = common::ToProto(from);
  }
  const std::string until = absl::GetFlag(FLAGS_until), valid_for = absl::GetFlag(FLAGS_valid_for);
  if (until.empty() == valid_for.empty())
    return in.Usage("give exactly one of --until, --valid_for");
  absl::StatusOr<absl::Time> end = absl::InfinitePast();
  if (!until.empty()) {
    end = DayEndFlag("until", until);
  } else if (absl::StatusOr<absl::Duration> d = DurationFlag("valid_for", valid_for); d.ok()) {
    end = from + *d;
  } else {
    end = d.status();
  }
  if (!end.ok()) return in.Usage(end.status().message());
  *k->mutable_valid_until() = common::ToProto(*end);
  absl::StatusOr<int> giver =
      EnumFlag(v1::ConsentGiver_descriptor(), "giver", absl::GetFlag(FLAGS_giver));
  if (!giver.ok()) return in.Usage(giver.status().message());
  k->set_giver(static_cast<v1::ConsentGiver>(*giver));
  k->set_guardian_id(absl::GetFlag(FLAGS_guardian_id));
  absl::StatusOr<int> opinion = EnumFlag(v1::YouthOpinion_descriptor(), "opinion",
                                         absl::GetFlag(FLAGS_opinion), /*required=*/false);
  if (!opinion.ok()) return in.Usage(opinion.status().message());
  k->set_youth_opinion(static_cast<v1::YouthOpinion>(*opinion));
  k->set_convention_id(absl::GetFlag(FLAGS_convention));
  return Unary<v1::GrantConsentRequest, v1::Consent>(in, req, &v1::CareService::Stub::GrantConsent,
                                                     ConsentRecord);
}

int ConsentWithdraw(Invocation& in) {
  v1::WithdrawConsentRequest req;
  req.set_consent_id(in.args[0]);
  return Unary<v1::WithdrawConsentRequest, v1::Consent>(
      in, req, &v1::CareService::Stub::WithdrawConsent, ConsentRecord);
}

int ConsentList(Invocation& in) {
  v1::ListConsentsRequest req;
  req.set_youth_id(in.args[0]);
  v1::ListConsentsResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ListConsents(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  const bool table = in.format == Format::kTable;
  Table t{ConsentColumns(table), {}};
  for (const auto& k : resp.consents()) t.rows.push_back(ConsentRow(k, table));
  PrintList(in, t);
  return kExitOk;
}

// --- handover ------------------------------------------------------------------

std::vector<Column> HandoverColumns(bool table) {
  if (table) {
    return {{"id", Kind::kId}, {"youth", Kind::kId},   {"from", Kind::kId},
            {"to", Kind::kId}, {"state", Kind::kCode}, {"ends", Kind::kTime}};
  }
  return {{"id", Kind::kId},
          {"youth_id", Kind::kId},
          {"from_service_id", Kind::kId},
          {"to_service_id", Kind::kId},
          {"state", Kind::kCode},
          {"overlap_start", Kind::kTime},
          {"overlap_end", Kind::kTime},
          {"reason"},
          {"proposed_by_member_id", Kind::kId},
          {"decided_by_member_id", Kind::kId},
          {"closing_reason"},
          {"to_accompaniment_id", Kind::kId},
          {"created_at", Kind::kTime},
          {"updated_at", Kind::kTime},
          {"convention_id", Kind::kId}};
}

std::vector<std::string> HandoverRow(const v1::Handover& h, bool table) {
  const std::string state = Enum(v1::HandoverState_descriptor(), h.state());
  if (table) {
    return {h.id(),
            h.youth_id(),
            h.from_service_id(),
            h.to_service_id(),
            state,
            TimeCell(h.overlap_end())};
  }
  return {h.id(),
          h.youth_id(),
          h.from_service_id(),
          h.to_service_id(),
          state,
          TimeCell(h.overlap_start()),
          TimeCell(h.overlap_end()),
          h.reason(),
          h.proposed_by_member_id(),
          h.decided_by_member_id(),
          h.closing_reason(),
          h.to_accompaniment_id(),
          TimeCell(h.created_at()),
          TimeCell(h.updated_at()),
          h.convention_id()};
}

Table HandoverRecord(const v1::Handover& h) {
  return Table{HandoverColumns(false), {HandoverRow(h, false)}};
}

int HandoverPropose(Invocation& in) {
  v1::ProposeHandoverRequest req;
  req.set_youth_id(in.args[0]);
  req.set_to_service_id(absl::GetFlag(FLAGS_to));
  req.set_reason(absl::GetFlag(FLAGS_reason));
  req.set_convention_id(absl::GetFlag(FLAGS_convention));
  if (req.to_service_id().empty()) return in.Usage("--to is required");
  if (req.reason().empty()) return in.Usage("--reason is required");
  // The window starts now, or on a day: today means now (the server refuses
  // a start in the past).
  const absl::Time now = absl::Now();
  absl::Time start = now;
  if (const std::string s = absl::GetFlag(FLAGS_start); s != "now") {
    absl::StatusOr<absl::Time> day = DayStartFlag("start", s);
    if (!day.ok()) return in.Usage(day.status().message());
    start = (*day <= now && now < *day + absl::Hours(24)) ? now : *day;
  }
  const std::string end = absl::GetFlag(FLAGS_end), overlap = absl::GetFlag(FLAGS_overlap);
  if (end.empty() == overlap.empty()) return in.Usage("give exactly one of --end, --overlap");
  absl::StatusOr<absl::Time> until = absl::InfinitePast();
  if (!end.empty()) {
    until = DayEndFlag("end", end);
  } else if (absl::StatusOr<absl::Duration> d = DurationFlag("overlap", overlap); d.ok()) {
    until = start + *d;
  } else {
    until = d.status();
  }
  if (!until.ok()) return in.Usage(until.status().message());
  *req.mutable_overlap_start() = common::ToProto(start);
  *req.mutable_overlap_end() = common::ToProto(*until);
  return Unary<v1::ProposeHandoverRequest, v1::Handover>(
      in, req, &v1::CareService::Stub::ProposeHandover, HandoverRecord);
}

int HandoverAccept(Invocation& in) {
  v1::AcceptHandoverRequest req;
  req.set_handover_id(in.args[0]);
  req.set_referent_member_id(absl::GetFlag(FLAGS_referent));
  if (req.referent_member_id().empty()) return in.Usage("--referent is required");
  return Unary<v1::AcceptHandoverRequest, v1::Handover>(
      in, req, &v1::CareService::Stub::AcceptHandover, HandoverRecord);
}

template <typename Req>
int HandoverWithReason(Invocation& in,
                       grpc::Status (v1::CareService::Stub::*call)(grpc::ClientContext*, const Req&,
                                                                   v1::Handover*)) {
  Req req;
  req.set_handover_id(in.args[0]);
  req.set_reason(absl::GetFlag(FLAGS_reason));
  if (req.reason().empty()) return in.Usage("--reason is required");
  return Unary<Req, v1::Handover>(in, req, call, HandoverRecord);
}

int HandoverDecline(Invocation& in) {
  return HandoverWithReason<v1::DeclineHandoverRequest>(in,
                                                        &v1::CareService::Stub::DeclineHandover);
}

int HandoverCancel(Invocation& in) {
  return HandoverWithReason<v1::CancelHandoverRequest>(in, &v1::CareService::Stub::CancelHandover);
}

int HandoverComplete(Invocation& in) {
  v1::CompleteHandoverRequest req;
  req.set_handover_id(in.args[0]);
  return Unary<v1::CompleteHandoverRequest, v1::Handover>(
      in, req, &v1::CareService::Stub::CompleteHandover, HandoverRecord);
}

int HandoverShow(Invocation& in) {
  v1::GetHandoverRequest req;
  req.set_handover_id(in.args[0]);
  return Unary<v1::GetHandoverRequest, v1::Handover>(in, req, &v1::CareService::Stub::GetHandover,
                                                     HandoverRecord);
}

int HandoverList(Invocation& in) {
  v1::ListHandoversRequest req;
  req.set_youth_id(absl::GetFlag(FLAGS_youth));
  if (const std::string within = absl::GetFlag(FLAGS_ending_within); !within.empty()) {
    absl::StatusOr<absl::Duration> d = DurationFlag("ending-within", within);
    if (!d.ok()) return in.Usage(d.status().message());
    if (*d % absl::Hours(24) != absl::ZeroDuration()) {
      return in.Usage("--ending-within counts whole days, e.g. 7d or 2w");
    }
    req.set_ending_within_days(static_cast<int32_t>(*d / absl::Hours(24)));
  }
  v1::ListHandoversResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ListHandovers(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  const bool table = in.format == Format::kTable;
  Table t{HandoverColumns(table), {}};
  for (const auto& h : resp.handovers()) t.rows.push_back(HandoverRow(h, table));
  PrintList(in, t);
  return kExitOk;
}

constexpr char kOneRecord[] = "Prints the result (--quiet: only its id).";

}  // namespace

// table: the care commands, one CommandSpec each.
std::vector<CommandSpec> CareCommands() {
  const std::vector<const char*> out = {"format", "quiet"};
  auto with = [&](std::vector<const char*> flags) {
    flags.insert(flags.end(), out.begin(), out.end());
    return flags;
  };
  return {
      {"accompaniment", "open", "<youth-id>", 1, 1, with({"referent", "basis"}),
       "--referent <member-id>", "Start accompanying a youth (coordinator).",
       "Declares that your service now follows the youth, with a referent member of your "
       "service: the \"need to know\" link without which your service sees nothing. "
       "Active at once on a record your service created; otherwise PENDING until a service "
       "that accompanies the youth confirms it. Coordinators only.",
       true, true, AccompanimentOpen},
      {"accompaniment", "end", "<accompaniment-id>", 1, 1, out, "",
       "End one of your service's accompaniments (coordinator).",
       "Refused (failed precondition) while your service hands the youth over to a service "
       "whose accompaniment has not started: the youth is never left without a service.",
       true, true, AccompanimentEnd},
      {"accompaniment", "reassign", "<accompaniment-id>", 1, 1, with({"referent"}),
       "--referent <member-id>",
       "Give one of your service's accompaniments a new referent "
       "(coordinator).",
       "Turnover: another active member of your service becomes the person responsible for "
       "the youth. The change is kept in the accompaniment's referent history. Coordinators "
       "only.",
       true, true, AccompanimentReassign},
      {"accompaniment", "list", "<youth-id>", 1, 1, out, "", "List a youth's accompaniments.",
       "Needs an active accompaniment of your service.", true, true, AccompanimentList},
      {"accompaniment", "pending", "", 0, 0, out, "",
       "Requests waiting for your service to vouch for them (coordinator).",
       "Other services' accompaniments, not yet vouched for, of the youths your service "
       "accompanies. Confirm or decline each one.",
       true, true, AccompanimentPending},
      {"accompaniment", "confirm", "<accompaniment-id>", 1, 1, out, "",
       "Vouch for another service's pending accompaniment (coordinator).",
       "Your service accompanies the youth, or it is a mandating service (SAJ, SPJ) and the "
       "accompaniment is under mandate. No service vouches for itself.",
       true, true, AccompanimentConfirm},
      {"accompaniment", "decline", "<accompaniment-id>", 1, 1, out, "",
       "Refuse another service's pending accompaniment (coordinator).",
       "It ends at once and never gave access.", true, true, AccompanimentDecline},
      {"consent", "grant", "<youth-id>", 1, 1,
       with({"to_service", "to_sector", "categories", "all_non_special", "purposes", "from",
             "until", "valid_for", "giver", "guardian_id", "opinion", "convention"}),
       "(--to_service <id> | --to_sector <id>) (--categories <c,...> | --all_non_special) "
       "(--until <YYYY-MM-DD> | --valid_for <30d>)",
       "Record a consent given by the youth or a guardian.",
       "From the self-consent age (12 by default) the youth consents (--giver youth); below "
       "it a guardian does (--giver guardian --guardian_id <id> --opinion <agrees|disagrees|"
       "not_expressed>). Health and judicial entries are covered only when named in "
       "--categories. With --convention <id> the sharing is made under that partnership "
       "convention: only its parties, within its scope, while it is in force. "
       "Prints the consent (--quiet: only its id).",
       true, true, ConsentGrant},
      {"consent", "withdraw", "<consent-id>", 1, 1, out, "", "Withdraw a consent.",
       "Effective for the very next decision; the consent stays in the history (list).", true, true,
       ConsentWithdraw},
      {"consent", "list", "<youth-id>", 1, 1, out, "",
       "List a youth's consents, withdrawn and expired ones included.",
       "The table shows state, recipients, categories and end; csv and json show every field.",
       true, true, ConsentList},
      {"handover", "propose", "<youth-id>", 1, 1,
       with({"to", "reason", "start", "end", "overlap", "convention"}),
       "--to <service-id> --reason <text> (--end <YYYY-MM-DD> | --overlap <30d>)",
       "Propose that another service take the youth over.",
       "Both services accompany the youth during the overlap window, which starts now (or "
       "--start <YYYY-MM-DD>) and lasts --overlap, or ends with the day --end (at most the "
       "server's maximum, 90 days by default). Proposing the same again returns the open "
       "proposal. --convention <id> makes it under a partnership convention both services "
       "signed (checked again at acceptance). "
       "Prints the handover (--quiet: only its id).",
       true, true, HandoverPropose},
      {"handover", "accept", "<handover-id>", 1, 1, with({"referent"}), "--referent <member-id>",
       "Accept a handover (receiving coordinator).",
       "Your service's accompaniment starts with the window, with this referent. "
       "Idempotent.",
       true, true, HandoverAccept},
      {"handover", "decline", "<handover-id>", 1, 1, with({"reason"}), "--reason <text>",
       "Decline a handover (receiving coordinator).", kOneRecord, true, true, HandoverDecline},
      {"handover", "cancel", "<handover-id>", 1, 1, with({"reason"}), "--reason <text>",
       "Withdraw your service's proposal before it is accepted.", kOneRecord, true, true,
       HandoverCancel},
      {"handover", "complete", "<handover-id>", 1, 1, out, "",
       "End the overlap early (proposing coordinator).",
       "Ends your service's accompaniment once the receiving service's has started. "
       "Idempotent.",
       true, true, HandoverComplete},
      {"handover", "show", "<handover-id>", 1, 1, out, "", "Show one handover.", kOneRecord, true,
       true, HandoverShow},
      {"handover", "list", "", 0, 0, with({"youth", "ending_within"}), "",
       "List your service's handovers.",
       "With --ending-within 7d: only accepted handovers whose overlap window ends within 7 "
       "days (reminders). The table shows when each window ends; csv and json show every "
       "field.",
       true, true, HandoverList},
  };
}

}  // namespace relais::ctl
