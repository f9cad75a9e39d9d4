#include "services/audit/audit_service.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/audit/access_report_text.h"
#include "services/audit/checkpoint.h"
#include "services/audit/export_verifier.h"
#include "services/audit/witness.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/common/stream_reactor.h"

namespace relais::audit {

using rpc::CallAudit;
using rpc::Caller;

using directory::IsPlatformAuditor;

namespace {

// A page of QueryEvents is one AuditLog::Query.
static_assert(rpc::kAuditEventPages.max_size <= AuditLog::kMaxQueryLimit);

// For the calls only the DPO makes: PERMISSION_DENIED role_not_permitted
// unless the caller is a platform auditor.
absl::Status RequirePlatformAuditor(const directory::DirectoryApi& directory,
                                    const Caller& caller) {
  ASSIGN_OR_RETURN(bool platform, IsPlatformAuditor(directory, caller));
  if (!platform) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "only the platform auditor (DPO) may do this");
  }
  return absl::OkStatus();
}

// VerifyLog's walk: signs the head first (the checkpointer refuses a
// rewritten past), then checks the stored log up to the newest checkpoint
// exactly as relais-audit-verify checks an export, against the witness file
// too. When the checkpointer refused, the walk goes to the head and also
// expects the last checkpoint it signed (from its state file), so a log cut
// short or re-hashed is named; if the walk finds nothing else, the refusal
// itself is the problem (checkpoint_refused).
absl::StatusOr<ExportReport> VerifyStoredLog(const AuditLog& log, Checkpointer* checkpointer) {
  if (checkpointer == nullptr) {
    ExportReport report;
    report.ok = false;
    report.problem = std::string(kProblemNoCheckpoint);
    report.detail = "this server has no audit key to check checkpoints with";
    return report;
  }
  absl::StatusOr<std::optional<v1::Checkpoint>> made = checkpointer->CheckpointNow();
  const bool refused =
      !made.ok() && (absl::IsDataLoss(made.status()) || absl::IsFailedPrecondition(made.status()));
  if (!made.ok() && !refused) return made.status();  // e.g. the database is busy: retry
  ASSIGN_OR_RETURN(ExportVerifier verifier,
                   ExportVerifier::Create(TrustedKeys(checkpointer->keys())));
  if (!checkpointer->witness_file().empty()) {
    absl::StatusOr<Witness> witness =
        ReadWitnessFile(checkpointer->witness_file(), TrustedKeys(checkpointer->keys()));
    if (witness.ok()) {
      verifier.SetWitness(*std::move(witness));
    } else {
      verifier.FailWitness(witness.status().message());
    }
  }
  // The anchor comes from the checkpointer, which witnessed it before
  // answering: a checkpoint signed meanwhile by its thread is not yet in the
  // witness read above, and lies beyond the walk.
  int64_t up_to = 0;
  v1::ExportItem announced;
  if (!refused) {
    std::optional<v1::Checkpoint> anchor = *std::move(made);
    if (!anchor.has_value()) {
      ASSIGN_OR_RETURN(anchor, checkpointer->LastSigned());
    }
    if (!anchor.has_value()) return ExportReport{};  // an empty log: nothing to sign
    up_to = anchor->sequence();
    *announced.mutable_checkpoint() = *std::move(anchor);
    RETURN_IF_ERROR(verifier.Add(announced));
  } else {
    ASSIGN_OR_RETURN(const ChainHead head, log.Head());
    up_to = head.sequence;
    absl::StatusOr<std::optional<v1::Checkpoint>> last_signed = checkpointer->LastSigned();
    if (last_signed.ok() && last_signed->has_value()) {
      *announced.mutable_checkpoint() = **last_signed;
      RETURN_IF_ERROR(verifier.Add(announced));
    }
    ASSIGN_OR_RETURN(const std::optional<v1::Checkpoint> latest, log.LatestCheckpoint());
    if (latest.has_value()) {
      *announced.mutable_checkpoint() = *latest;
      RETURN_IF_ERROR(verifier.Add(announced));
    }
  }
  RETURN_IF_ERROR(log.FeedVerifier(up_to, verifier));
  ExportReport report = verifier.Finish();
  if (report.ok && refused) {
    report.ok = false;
    report.problem = std::string(kProblemCheckpointRefused);
    report.problem_sequence = report.last_sequence;
    report.detail = std::string(made.status().message());
  }
  return report;
}

// Events read per database round trip while exporting.
constexpr int kExportPageSize = 500;
// ... and while building an access report: memory stays bounded by a page of
// events plus the report's own lines.
constexpr int kReportPageSize = 500;

// One ExportEvents call (streamed by rpc::StreamReactor). Authorises and
// audits first, then reads the next page of events (and the checkpoints among
// them) only when the previous page has been sent, so a long log never sits
// in memory.
class ExportSource final : public rpc::StreamSource<v1::ExportItem> {
 public:
  ExportSource(AuditLog* log, rpc::CallGate* gate, const directory::DirectoryApi* directory,
               Checkpointer* checkpointer, const v1::ExportEventsRequest& req)
      : log_(log), gate_(gate), directory_(directory), checkpointer_(checkpointer), req_(req) {}

  absl::Status Begin(grpc::CallbackServerContext* ctx, std::deque<v1::ExportItem>& out) override {
    return rpc::BeginStream(
        *gate_, ctx, v1::ACTION_EXPORT_AUDIT, "",
        [&](const Caller& caller, CallAudit& call) { return Authorise(caller, call, req_, out); });
  }

  // Queues the next page of events with their checkpoints; nothing when done.
  absl::Status Fill(std::deque<v1::ExportItem>& out) override {
    if (after_ >= upper_) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<v1::AuditEvent> events,
                     log_->Query(EventFilter{}, after_, kExportPageSize));
    while (!events.empty() && events.back().sequence() > upper_) events.pop_back();
    if (events.empty()) {
      after_ = upper_;
      return absl::OkStatus();
    }
    const int64_t last = events.back().sequence();
    // At most one checkpoint per event, so one query covers the page.
    ASSIGN_OR_RETURN(std::vector<v1::Checkpoint> checkpoints,
                     log_->Checkpoints(after_, last, kExportPageSize));
    auto checkpoint = checkpoints.begin();
    for (v1::AuditEvent& event : events) {
      const int64_t sequence = event.sequence();
      out.emplace_back().mutable_event()->Swap(&event);
      for (; checkpoint != checkpoints.end() && checkpoint->sequence() <= sequence; ++checkpoint) {
        out.emplace_back().mutable_checkpoint()->Swap(&*checkpoint);
      }
    }
    after_ = last;
    return absl::OkStatus();
  }

 private:
  absl::Status Authorise(const Caller& caller, CallAudit& call, const v1::ExportEventsRequest& req,
                         std::deque<v1::ExportItem>& out) {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.ExportEvents"));
    RETURN_IF_ERROR(RequirePlatformAuditor(*directory_, caller));
    if (req.from_sequence() < 0) {
      return common::InvalidField("from_sequence", "out_of_range", "must not be negative");
    }
    const int64_t from = std::max<int64_t>(1, req.from_sequence());
    ASSIGN_OR_RETURN(const ChainHead before, log_->Head());
    // The export's own event will be before.sequence + 1 at the earliest.
    if (from > before.sequence + 1) {
      return common::InvalidField("from_sequence", "out_of_range", "is beyond the last event");
    }
    // Audited before anything leaves, and covered by the head checkpoint.
    RETURN_IF_ERROR(rpc::RecordAllowed(*log_, call));

    bool signed_head = false;
    if (checkpointer_ != nullptr) {
      for (v1::PublicKey& key : AuditPublicKeys(checkpointer_->keys())) {
        out.emplace_back().mutable_key()->Swap(&key);
      }
      absl::StatusOr<std::optional<v1::Checkpoint>> made = checkpointer_->CheckpointNow();
      if (made.ok()) {
        signed_head = true;
      } else {
        // The auditor needs a damaged log most of all: export it anyway; the
        // verifier will show where it breaks. The last head the server
        // signed goes first, so a log cut short or re-hashed since is
        // named (checkpoint_beyond_end, checkpoint_mismatch).
        common::LogError("export: cannot sign the audit head",
                         {{"status", made.status().ToString()}});
        absl::StatusOr<std::optional<v1::Checkpoint>> last = checkpointer_->LastSigned();
        if (last.ok() && last->has_value() && (*last)->sequence() >= from) {
          *out.emplace_back().mutable_checkpoint() = **last;
        }
      }
    }
    ASSIGN_OR_RETURN(const std::optional<v1::Checkpoint> latest, log_->LatestCheckpoint());
    if (signed_head && latest.has_value()) {
      upper_ = latest->sequence();
    } else {
      ASSIGN_OR_RETURN(const ChainHead head, log_->Head());
      upper_ = head.sequence;
    }
    if (latest.has_value() && latest->sequence() >= from && latest->sequence() <= upper_) {
      *out.emplace_back().mutable_checkpoint() = *latest;
    }
    after_ = from - 1;
    return absl::OkStatus();
  }

  AuditLog* const log_;
  rpc::CallGate* const gate_;
  const directory::DirectoryApi* const directory_;
  Checkpointer* const checkpointer_;
  const v1::ExportEventsRequest req_;
  int64_t after_ = 0;  // last sequence queued
  int64_t upper_ = 0;  // last sequence exported
};

// Turns audit events into access-report lines, looking each service up once
// (name, sector) and, only when configured, each member.
class ReportLines {
 public:
  ReportLines(const directory::DirectoryApi& directory, bool name_members,
              v1::AccessReportResponse* resp)
      : directory_(directory), name_members_(name_members), resp_(resp) {}

  void Add(const v1::AuditEvent& e) {
    v1::AccessReportLine* line = resp_->add_lines();
    *line->mutable_time() = e.time();
    line->set_service_id(e.actor_service_id());
    if (!e.actor_service_id().empty()) {
      const auto& [name, sector] = Service(e.actor_service_id());
      line->set_service_name(name);
      line->set_service_sector(sector);
    }
    if (name_members_ && !e.actor_member_id().empty())
      line->set_member(Member(e.actor_member_id()));
    line->set_role(e.actor_roles());
    line->set_action(e.action());
    line->set_purpose(e.purpose());
    line->set_decision(e.decision());
    line->set_reason_code(e.reason_code());
    line->set_entry_id(e.entry_id());
  }

 private:
  const std::pair<std::string, std::string>& Service(const std::string& id) {
    auto it = services_.find(id);
    if (it == services_.end()) {
      absl::StatusOr<directory::ServiceInfo> s = directory_.GetService(id);
      it = services_
               .emplace(id, s.ok() ? std::pair(s->name, s->sector_id)
                                   : std::pair(std::string(), std::string()))
               .first;
    }
    return it->second;
  }

  const std::string& Member(const std::string& id) {
    auto it = members_.find(id);
    if (it == members_.end()) {
      absl::StatusOr<directory::MemberInfo> m = directory_.GetMember(id);
      it = members_.emplace(id, m.ok() ? absl::StrCat(m->display_name, " (", m->login, ")") : id)
               .first;
    }
    return it->second;
  }

  const directory::DirectoryApi& directory_;
  const bool name_members_;
  v1::AccessReportResponse* const resp_;
  std::map<std::string, std::pair<std::string, std::string>> services_;
  std::map<std::string, std::string> members_;
};

}  // namespace

grpc::ServerWriteReactor<v1::ExportItem>* AuditServiceImpl::ExportEvents(
    grpc::CallbackServerContext* ctx, const v1::ExportEventsRequest* req) {
  return rpc::StartStream<v1::ExportItem>(
      ctx, std::make_unique<ExportSource>(log_, gate_, directory_, checkpointer_, *req),
      "export interrupted");
}

grpc::ServerUnaryReactor* AuditServiceImpl::QueryEvents(grpc::CallbackServerContext* ctx,
                                                        const v1::QueryEventsRequest* req,
                                                        v1::QueryEventsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_QUERY_AUDIT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.QueryEvents"));
        EventFilter filter;
        for (auto [field, value, out] :
             {std::tuple{"youth_id", &req->youth_id(), &filter.youth_id},
              std::tuple{"actor_member_id", &req->actor_member_id(), &filter.actor_member_id},
              std::tuple{"actor_service_id", &req->actor_service_id(), &filter.actor_service_id}}) {
          if (!value->empty()) {
            RETURN_IF_ERROR(common::CheckId(field, *value));
            *out = *value;
          }
        }
        ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(*directory_, caller));
        if (!platform) {
          // A service auditor sees what their own service did, nothing else.
          if (!filter.actor_service_id.empty() && filter.actor_service_id != caller.service_id()) {
            return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                               "a service auditor queries their own service's events only");
          }
          filter.actor_service_id = caller.service_id();
        }
        if (req->has_start_time()) {
          ASSIGN_OR_RETURN(filter.start, common::TimeFromRequest("start_time", req->start_time()));
        }
        if (req->has_end_time()) {
          ASSIGN_OR_RETURN(filter.end, common::TimeFromRequest("end_time", req->end_time()));
        }
        if (filter.start && filter.end && *filter.start > *filter.end) {
          return common::InvalidField("end_time", "window_empty", "must not be before start_time");
        }
        if (!v1::Decision_IsValid(req->decision())) {
          return common::InvalidField("decision", "invalid_enum", "unknown decision");
        }
        filter.decision = req->decision();
        ASSIGN_OR_RETURN(const int limit, rpc::PageSize(req->page_size(), rpc::kAuditEventPages));
        int64_t after = 0;
        if (!req->page_token().empty() &&
            (!absl::SimpleAtoi(req->page_token(), &after) || after < 0)) {
          return common::InvalidField("page_token", "bad_page_token",
                                      "is not a token this server gave");
        }
        call.event.youth_id = filter.youth_id;
        ASSIGN_OR_RETURN(std::vector<v1::AuditEvent> events, log_->Query(filter, after, limit));
        RETURN_IF_ERROR(rpc::RecordAllowed(*log_, call));
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
                    [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.AccessReport"));
                      RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
                      call.event.youth_id = req->youth_id();
                      if (!v1::AccessReportFormat_IsValid(req->format())) {
                        return common::InvalidField("format", "invalid_enum",
                                                    "must be JSON or TEXT");
                      }
                      const std::string language = req->language().empty() ? "fr" : req->language();
                      if (!IsReportLanguage(language)) {
                        return common::InvalidField("language", "unsupported_language",
                                                    "must be \"fr\" or \"en\"");
                      }
                      ASSIGN_OR_RETURN(const bool platform, IsPlatformAuditor(*directory_, caller));
                      if (!caller.HasRole(v1::ROLE_AUDITOR)) {
                        ASSIGN_OR_RETURN(access::AccessFacts facts,
                                         facts_->GatherFacts(caller.service_id(), req->youth_id()));
                        // Rule 2 as for any read (a pending accompaniment says so); the report
                        // of an erased record stays available to its services.
                        const access::Verdict v = access::DecideRecordRead(facts, {});
                        if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
                      }
                      EventFilter filter;
                      filter.youth_id = req->youth_id();
                      // The whole report is the DPO's, acting on the young person's request;
                      // anyone else gets the lines of their own service's accesses.
                      if (!platform) filter.actor_service_id = caller.service_id();
                      ReportLines lines(*directory_, options_.access_report_names_members, resp);
                      // Keyset pages of kReportPageSize events, each turned into lines before
                      // the next is read, up to the head as it was when the report began (a
                      // youth whose record is busy cannot keep the loop going).
                      ASSIGN_OR_RETURN(const ChainHead head, log_->Head());
                      resp->set_youth_id(req->youth_id());
                      int64_t after = 0;
                      while (after < head.sequence) {
                        RETURN_IF_ERROR(rpc::CheckCallAlive(ctx));
                        ASSIGN_OR_RETURN(const std::vector<v1::AuditEvent> page,
                                         log_->Query(filter, after, kReportPageSize));
                        for (const v1::AuditEvent& e : page) {
                          if (e.sequence() > head.sequence) break;
                          lines.Add(e);
                        }
                        if (static_cast<int>(page.size()) < kReportPageSize) break;
                        after = page.back().sequence();
                      }
                      RETURN_IF_ERROR(rpc::RecordAllowed(*log_, call));
                      if (req->format() == v1::ACCESS_REPORT_FORMAT_TEXT) {
                        resp->set_text(RenderAccessReportText(*resp, language));
                      }
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* AuditServiceImpl::VerifyLog(grpc::CallbackServerContext* ctx,
                                                      const v1::VerifyLogRequest*,
                                                      v1::VerifyLogResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_VERIFY_AUDIT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.VerifyLog"));
        ASSIGN_OR_RETURN(const ExportReport report, VerifyStoredLog(*log_, checkpointer_));
        RETURN_IF_ERROR(rpc::RecordAllowed(*log_, call));
        resp->set_ok(report.ok);
        resp->set_events_checked(report.events);
        resp->set_first_bad_sequence(report.ok ? 0 : report.problem_sequence);
        resp->set_problem(report.problem);
        resp->set_head_hash(report.events > 0 ? report.head_hash : std::string(kGenesisHash));
        resp->set_checkpoints_checked(report.checkpoints);
        resp->set_anchored_through(report.anchored_through);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListEmergencyAccesses(
    grpc::CallbackServerContext* ctx, const v1::ListEmergencyAccessesRequest* req,
    v1::ListEmergencyAccessesResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_LIST_EMERGENCY_ACCESS,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.ListEmergencyAccesses"));
        RETURN_IF_ERROR(RequirePlatformAuditor(*directory_, caller));
        // All grants, so that a page token stays valid when its grant is reviewed.
        ASSIGN_OR_RETURN(std::vector<v1::EmergencyAccess> grants,
                         care_->ListEmergencyGrants(/*pending_only=*/false));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(
                             grants, req->page_size(), req->page_token(),
                             [](const v1::EmergencyAccess& g) { return g.id(); },
                             [&](const v1::EmergencyAccess& g) {
                               return !req->pending_only() ||
                                      g.verdict() == v1::EMERGENCY_VERDICT_UNSPECIFIED;
                             }));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        for (v1::EmergencyAccess& g : grants) *resp->add_grants() = std::move(g);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ReviewEmergencyAccess(
    grpc::CallbackServerContext* ctx, const v1::ReviewEmergencyAccessRequest* req,
    v1::EmergencyAccess* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_REVIEW_EMERGENCY_ACCESS,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.object_id = req->grant_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "AuditService.ReviewEmergencyAccess"));
        RETURN_IF_ERROR(RequirePlatformAuditor(*directory_, caller));
        RETURN_IF_ERROR(common::CheckId("grant_id", req->grant_id()));
        if (req->verdict() != v1::EMERGENCY_VERDICT_JUSTIFIED &&
            req->verdict() != v1::EMERGENCY_VERDICT_UNJUSTIFIED) {
          return common::InvalidField("verdict", "invalid_enum",
                                      "must be JUSTIFIED or UNJUSTIFIED");
        }
        RETURN_IF_ERROR(common::CheckText("note", req->note(), common::kMaxReasonLength));
        ASSIGN_OR_RETURN(*resp,
                         care_->ReviewEmergencyGrant(req->grant_id(), req->verdict(), req->note(),
                                                     caller.member_id(), call.event));
        call.recorded = true;
        return absl::OkStatus();
      });
}

}  // namespace relais::audit
