// concertation schedule|record|list: CareService's concertation meetings. The
// minutes are entries (entry add --concertation <id>).

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

std::vector<Column> ConcertationColumns(bool table) {
  if (table) {
    return {{"id", Kind::kId},
            {"youth", Kind::kId},
            {"at", Kind::kTime},
            {"state", Kind::kCode},
            {"youth_took_part", Kind::kCode},
            {"invited", Kind::kText}};
  }
  return {{"id", Kind::kId},
          {"youth_id", Kind::kId},
          {"handover_id", Kind::kId},
          {"organizer_service_id", Kind::kId},
          {"organizer_member_id", Kind::kId},
          {"invited_service_ids", Kind::kText},
          {"scheduled_at", Kind::kTime},
          {"state", Kind::kCode},
          {"youth_participation", Kind::kCode},
          {"recorded_by_member_id", Kind::kId},
          {"created_at", Kind::kTime},
          {"updated_at", Kind::kTime}};
}

std::vector<std::string> ConcertationRow(const v1::Concertation& m, bool table) {
  const std::string state = ShortName(v1::ConcertationState_descriptor(), m.state());
  const std::string part =
      m.youth_participation() == v1::YOUTH_PARTICIPATION_UNSPECIFIED
          ? ""
          : ShortName(v1::YouthParticipation_descriptor(), m.youth_participation());
  const std::string invited = absl::StrJoin(m.invited_service_ids(), ",");
  if (table) return {m.id(), m.youth_id(), TimeCell(m.scheduled_at()), state, part, invited};
  return {m.id(),
          m.youth_id(),
          m.handover_id(),
          m.organizer_service_id(),
          m.organizer_member_id(),
          invited,
          TimeCell(m.scheduled_at()),
          state,
          part,
          m.recorded_by_member_id(),
          TimeCell(m.created_at()),
          TimeCell(m.updated_at())};
}

int Show(Invocation& in, const v1::Concertation& m) {
  PrintOne(in, Table{ConcertationColumns(false), {ConcertationRow(m, false)}});
  return kExitOk;
}

absl::StatusOr<absl::Time> AtFlag() {
  const std::string at = absl::GetFlag(FLAGS_at);
  if (at == "now") return absl::Now();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M", at, absl::LocalTimeZone(), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--at must be YYYY-MM-DDTHH:MM or now, not \"", at, "\""));
  }
  return t;
}

int Schedule(Invocation& in) {
  v1::ScheduleConcertationRequest req;
  req.set_youth_id(in.args[0]);
  req.set_handover_id(absl::GetFlag(FLAGS_handover));
  for (const std::string& s : absl::GetFlag(FLAGS_invite)) req.add_invited_service_ids(s);
  if (req.invited_service_ids().empty()) return in.Usage("--invite is required");
  if (absl::GetFlag(FLAGS_at).empty()) return in.Usage("--at is required");
  absl::StatusOr<absl::Time> at = AtFlag();
  if (!at.ok()) return in.Usage(at.status().message());
  *req.mutable_scheduled_at() = common::ToProto(*at);
  v1::Concertation resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ScheduleConcertation(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  return Show(in, resp);
}

int Record(Invocation& in) {
  v1::RecordConcertationRequest req;
  req.set_concertation_id(in.args[0]);
  absl::StatusOr<int> outcome =
      EnumFlag(v1::ConcertationState_descriptor(), "outcome", absl::GetFlag(FLAGS_outcome));
  if (!outcome.ok()) return in.Usage(outcome.status().message());
  req.set_outcome(static_cast<v1::ConcertationState>(*outcome));
  if (const std::string p = absl::GetFlag(FLAGS_participation); !p.empty()) {
    absl::StatusOr<int> part = EnumFlag(v1::YouthParticipation_descriptor(), "participation", p);
    if (!part.ok()) return in.Usage(part.status().message());
    req.set_youth_participation(static_cast<v1::YouthParticipation>(*part));
  }
  v1::Concertation resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().RecordConcertation(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  return Show(in, resp);
}

int List(Invocation& in) {
  v1::ListConcertationsRequest req;
  req.set_youth_id(in.args[0]);
  v1::ListConcertationsResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->care().ListConcertations(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  const bool table = in.format == Format::kTable;
  Table t{ConcertationColumns(table), {}};
  for (const v1::Concertation& m : resp.concertations())
    t.rows.push_back(ConcertationRow(m, table));
  PrintList(in, t);
  return kExitOk;
}

}  // namespace

// table: the concertation commands, one CommandSpec each.
std::vector<CommandSpec> ConcertationCommands() {
  return {
      {"concertation",
       "schedule",
       "<youth-id>",
       1,
       1,
       {"at", "invite", "handover", "format", "quiet"},
       "--at <YYYY-MM-DDTHH:MM|now> --invite <service-id,...>",
       "Schedule a concertation meeting about a youth.",
       "Your service and every invited one must accompany the youth (or, with --handover "
       "<id>, be that handover's other party). The invited services' coordinators and "
       "referents find it in their inbox. The minutes are entries: entry add <youth-id> "
       "--concertation <id>, each read under the access rule. Scheduling the same meeting "
       "again returns it. Prints the meeting (--quiet: only its id).",
       true,
       true,
       Schedule},
      {"concertation",
       "record",
       "<concertation-id>",
       1,
       1,
       {"outcome", "participation", "format", "quiet"},
       "--outcome <held|cancelled> [--participation <present|view_conveyed|absent>]",
       "Record how a meeting your service organized ended.",
       "held (once its time has come) needs --participation: the youth was present, gave a "
       "view that is in the minutes, or neither. Recorded once; repeating it is harmless.",
       true,
       true,
       Record},
      {"concertation",
       "list",
       "<youth-id>",
       1,
       1,
       {"format", "quiet"},
       "",
       "List the meetings about a youth your service was invited to.",
       "Latest first; csv and json show every field.",
       true,
       true,
       List},
  };
}

}  // namespace relais::ctl
