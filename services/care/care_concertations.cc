// CareService: the concertation meeting handlers. The rules are
// Concertations' (concertations.h); the minutes are RecordService entries.

#include <set>
#include <string>
#include <vector>

#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

namespace {

constexpr absl::Duration kRecordedAfter = absl::Hours(24 * 90);
constexpr absl::Duration kScheduledAhead = absl::Hours(24 * 365);

// The invited services other than the caller's, each once.
absl::StatusOr<std::vector<std::string>> InvitedOthers(const v1::ScheduleConcertationRequest& req,
                                                       absl::string_view own) {
  constexpr int kMaxListed = Concertations::kMaxInvited + 1;  // the caller's own may be listed
  if (req.invited_service_ids_size() > kMaxListed) {
    return common::InvalidField("invited_service_ids", "out_of_range",
                                "invite 1 to 9 services besides your own");
  }
  std::set<std::string, std::less<>> out;
  for (const std::string& id : req.invited_service_ids()) {
    RETURN_IF_ERROR(common::CheckId("invited_service_ids", id));
    if (id != own) out.insert(id);
  }
  if (out.empty() || out.size() > static_cast<size_t>(Concertations::kMaxInvited)) {
    return common::InvalidField("invited_service_ids", "out_of_range",
                                "invite 1 to 9 services besides your own");
  }
  return std::vector<std::string>(out.begin(), out.end());
}

void Redact(v1::Concertation& m, absl::string_view own) {
  std::vector<std::string> kept;
  for (const std::string& id : m.invited_service_ids()) {
    if (id == own || id == m.organizer_service_id()) kept.push_back(id);
  }
  m.clear_invited_service_ids();
  for (std::string& id : kept) m.add_invited_service_ids(std::move(id));
}

absl::Status CheckOutcome(const v1::RecordConcertationRequest& req) {
  if (req.outcome() == v1::CONCERTATION_STATE_HELD) {
    if (req.youth_participation() == v1::YOUTH_PARTICIPATION_UNSPECIFIED ||
        !v1::YouthParticipation_IsValid(req.youth_participation())) {
      return common::InvalidField("youth_participation", "field_required",
                                  "say whether the youth attended, gave a view, or neither");
    }
    return absl::OkStatus();
  }
  if (req.outcome() == v1::CONCERTATION_STATE_CANCELLED) {
    if (req.youth_participation() != v1::YOUTH_PARTICIPATION_UNSPECIFIED) {
      return common::InvalidField("youth_participation", "not_applicable",
                                  "a cancelled meeting has no participation");
    }
    return absl::OkStatus();
  }
  return common::InvalidField("outcome", "invalid_enum", "must be HELD or CANCELLED");
}

}  // namespace

grpc::ServerUnaryReactor* CareServiceImpl::ScheduleConcertation(
    grpc::CallbackServerContext* ctx, const v1::ScheduleConcertationRequest* req,
    v1::Concertation* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_SCHEDULE_CONCERTATION,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ScheduleConcertation"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        if (!req->handover_id().empty()) {
          RETURN_IF_ERROR(common::CheckId("handover_id", req->handover_id()));
        }
        if (!req->has_scheduled_at()) {
          return common::InvalidField("scheduled_at", "field_required", "is required");
        }
        ASSIGN_OR_RETURN(const absl::Time at,
                         common::TimeFromRequest("scheduled_at", req->scheduled_at()));
        const absl::Time now = clock_->Now();
        if (at < now - kRecordedAfter || at > now + kScheduledAhead) {
          return common::InvalidField("scheduled_at", "out_of_range",
                                      "within 90 days before and 365 days after now");
        }
        ASSIGN_OR_RETURN(std::vector<std::string> invited,
                         InvitedOthers(*req, caller.service_id()));
        RETURN_IF_ERROR(RequireWrite(caller, req->youth_id()));
        const Concertations::Meeting meeting{
            req->youth_id(),   req->handover_id(), caller.service_id(), caller.member_id(), at,
            std::move(invited)};
        return Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(*resp, concertations_.Schedule(c, meeting, now));
          call.event.object_id = resp->id();
          return NoticeConcertation(c, *resp, now);
        });
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::RecordConcertation(
    grpc::CallbackServerContext* ctx, const v1::RecordConcertationRequest* req,
    v1::Concertation* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_RECORD_CONCERTATION,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.RecordConcertation"));
        RETURN_IF_ERROR(common::CheckId("concertation_id", req->concertation_id()));
        call.event.object_id = req->concertation_id();
        RETURN_IF_ERROR(CheckOutcome(*req));
        v1::AccessReason deny = v1::ACCESS_REASON_UNSPECIFIED;
        absl::StatusOr<v1::Concertation> loaded = concertations_.LoadFor(
            caller.service_id(), req->concertation_id(), /*organizer_only=*/true, &deny);
        if (!loaded.ok()) {
          call.event.reason = deny;
          return loaded.status();
        }
        call.event.youth_id = loaded->youth_id();
        RETURN_IF_ERROR(RequireChangeable(loaded->youth_id()));
        const Concertations::Outcome outcome{req->outcome(), req->youth_participation(),
                                             caller.member_id(), clock_->Now()};
        return Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(*resp, concertations_.Record(c, req->concertation_id(), outcome));
          return absl::OkStatus();
        });
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListConcertations(
    grpc::CallbackServerContext* ctx, const v1::ListConcertationsRequest* req,
    v1::ListConcertationsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListConcertations"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        ASSIGN_OR_RETURN(std::vector<v1::Concertation> list,
                         concertations_.List(caller.service_id(), req->youth_id()));
        // Like the youth's other care records, while the service may read them;
        // and, like a handover's party, an invited service sees its meetings
        // before it accompanies the youth. Never on an erased record.
        const absl::Status read = RequireRead(caller, req->youth_id(), &call);
        if (!read.ok() && (list.empty() || common::ReasonOf(read) != "no_active_accompaniment")) {
          return read;
        }
        // Who else is invited tells which services follow the youth: a service
        // that does not follow them yet sees only the organizer and itself.
        if (!read.ok()) {
          for (v1::Concertation& m : list) Redact(m, caller.service_id());
        }
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(list, req->page_size(), req->page_token(),
                                       [](const v1::Concertation& m) { return m.id(); }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (v1::Concertation& m : list) *resp->add_concertations() = std::move(m);
        return absl::OkStatus();
      });
}

}  // namespace relais::care
