#include "services/audit/audit_service.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace relais::audit {

using rpc::Caller;
using rpc::CallAudit;

namespace {

constexpr int kDefaultPageSize = 100;

absl::Status RecordAllowed(AuditLog* log, CallAudit& call) {
  call.event.decision = v1::DECISION_ALLOW;
  call.event.reason = v1::ACCESS_REASON_ALLOWED;
  call.event.reason_code = "allowed";
  RETURN_IF_ERROR(log->AppendStandalone(call.event).status());
  call.recorded = true;
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* AuditServiceImpl::QueryEvents(grpc::CallbackServerContext* ctx,
                                                        const v1::QueryEventsRequest* req,
                                                        v1::QueryEventsResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_QUERY_AUDIT,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, call.event.action, {v1::ROLE_AUDITOR}));
    EventFilter filter;
    for (auto [field, value, out] :
         {std::tuple{"youth_id", &req->youth_id(), &filter.youth_id},
          std::tuple{"actor_member_id", &req->actor_member_id(), &filter.actor_member_id},
          std::tuple{"actor_service_id", &req->actor_service_id(), &filter.actor_service_id}}) {
      if (!value->empty()) {
        RETURN_IF_ERROR(rpc::CheckId(field, *value));
        *out = *value;
      }
    }
    if (req->has_start_time()) filter.start = rpc::FromProto(req->start_time());
    if (req->has_end_time()) filter.end = rpc::FromProto(req->end_time());
    if (filter.start && filter.end && *filter.start > *filter.end) {
      return rpc::InvalidField("end_time", "window_empty", "must not be before start_time");
    }
    if (!v1::Decision_IsValid(req->decision())) {
      return rpc::InvalidField("decision", "invalid_enum", "unknown decision");
    }
    filter.decision = req->decision();
    if (req->page_size() < 0 || req->page_size() > AuditLog::kMaxQueryLimit) {
      return rpc::InvalidField("page_size", "out_of_range", "must be 0 to 1000");
    }
    const int limit = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
    int64_t after = 0;
    if (!req->page_token().empty() && (!absl::SimpleAtoi(req->page_token(), &after) || after < 0)) {
      return rpc::InvalidField("page_token", "bad_page_token", "is not a token this server gave");
    }
    call.event.youth_id = filter.youth_id;
    ASSIGN_OR_RETURN(std::vector<v1::AuditEvent> events, log_->Query(filter, after, limit));
    RETURN_IF_ERROR(RecordAllowed(log_, call));
    if (static_cast<int>(events.size()) == limit) {
      resp->set_next_page_token(absl::StrCat(events.back().sequence()));
    }
    for (v1::AuditEvent& e : events) *resp->add_events() = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::AccessReport(grpc::CallbackServerContext* ctx,
                                                         const v1::AccessReportRequest* req,
                                                         v1::AccessReportResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_ACCESS_REPORT,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, call.event.action,
                                       {v1::ROLE_AUDITOR, v1::ROLE_COORDINATOR}));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    call.event.youth_id = req->youth_id();
    if (!caller.HasRole(v1::ROLE_AUDITOR)) {
      ASSIGN_OR_RETURN(care::AccessFacts facts,
                       care_->GatherFacts(caller.service_id(), req->youth_id()));
      if (!facts.accompanying) {
        return rpc::Denied(v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
                           "your service does not accompany this youth");
      }
    }
    EventFilter filter;
    filter.youth_id = req->youth_id();
    std::vector<v1::AuditEvent> all;
    int64_t after = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<v1::AuditEvent> page,
                       log_->Query(filter, after, AuditLog::kMaxQueryLimit));
      if (page.empty()) break;
      after = page.back().sequence();
      for (auto& e : page) all.push_back(std::move(e));
      if (static_cast<int>(page.size()) < AuditLog::kMaxQueryLimit) break;
    }
    RETURN_IF_ERROR(RecordAllowed(log_, call));
    std::map<std::string, std::string> names;
    resp->set_youth_id(req->youth_id());
    for (const v1::AuditEvent& e : all) {
      v1::AccessReportLine* line = resp->add_lines();
      *line->mutable_time() = e.time();
      line->set_service_id(e.actor_service_id());
      if (!e.actor_service_id().empty()) {
        auto it = names.find(e.actor_service_id());
        if (it == names.end()) {
          absl::StatusOr<directory::ServiceInfo> s = directory_->GetService(e.actor_service_id());
          it = names.emplace(e.actor_service_id(), s.ok() ? s->name : "").first;
        }
        line->set_service_name(it->second);
      }
      line->set_role(e.actor_roles());
      line->set_action(e.action());
      line->set_purpose(e.purpose());
      line->set_decision(e.decision());
      line->set_reason_code(e.reason_code());
      line->set_entry_id(e.entry_id());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::VerifyLog(grpc::CallbackServerContext* ctx,
                                                      const v1::VerifyLogRequest*,
                                                      v1::VerifyLogResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_VERIFY_AUDIT,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, call.event.action, {v1::ROLE_AUDITOR}));
    ASSIGN_OR_RETURN(VerifyResult result, log_->Verify());
    RETURN_IF_ERROR(RecordAllowed(log_, call));
    resp->set_ok(result.ok);
    resp->set_events_checked(result.events_checked);
    resp->set_first_bad_sequence(result.first_bad_sequence);
    resp->set_problem(result.problem);
    resp->set_head_hash(result.head_hash);
    return absl::OkStatus();
  });
}

}  // namespace relais::audit
