// CareService: vouching for accompaniments. No service vouches for itself: an
// accompaniment opened on a record that another service created or
// accompanies waits (VOUCH_PENDING) until a service that accompanies the youth
// confirms it, or, under mandate, a mandating service (SAJ, SPJ) does.

#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

absl::Status CareServiceImpl::Vouch(const Caller& caller, CallAudit& call,
                                    absl::string_view accompaniment_id, bool confirm,
                                    v1::Accompaniment* resp) {
  RETURN_IF_ERROR(gate_->RequireRole(
      caller, confirm ? "CareService.ConfirmAccompaniment" : "CareService.DeclineAccompaniment"));
  RETURN_IF_ERROR(common::CheckId("accompaniment_id", accompaniment_id));
  call.event.object_id = std::string(accompaniment_id);
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(std::optional<v1::Accompaniment> target,
                   accompaniments_.Get(accompaniment_id, now));
  // Who may vouch is decided before anything about the accompaniment is
  // revealed: everyone else gets the answer an unknown id gets.
  if (!target.has_value() || target->service_id() == caller.service_id()) {
    return Accompaniments::NotFoundForVoucher();
  }
  ASSIGN_OR_RETURN(access::AccessFacts facts,
                   ledger_->GatherFacts(caller.service_id(), target->youth_id()));
  std::string kind;  // asked only of a service that does not accompany the youth
  if (!facts.accompanying) {
    absl::StatusOr<directory::ServiceInfo> mine = directory_->GetService(caller.service_id());
    if (!mine.ok() && !absl::IsNotFound(mine.status())) return mine.status();
    if (mine.ok()) kind = mine->kind;
  }
  ASSIGN_OR_RETURN(const v1::Vouch verdict,
                   Accompaniments::VouchFor(*target, facts.accompanying, kind, confirm));
  call.event.youth_id = target->youth_id();
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(target->youth_id()));
  if (youth.restricted) {
    return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED,
                       "processing of this record is restricted (GDPR art. 18)");
  }
  return Commit(call, [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(*resp,
                     accompaniments_.Vouch(c, accompaniment_id, verdict, caller.member_id(), now));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::ConfirmAccompaniment(
    grpc::CallbackServerContext* ctx, const v1::ConfirmAccompanimentRequest* req,
    v1::Accompaniment* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_CONFIRM_ACCOMPANIMENT,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return Vouch(caller, call, req->accompaniment_id(), /*confirm=*/true, resp);
                    });
}

grpc::ServerUnaryReactor* CareServiceImpl::DeclineAccompaniment(
    grpc::CallbackServerContext* ctx, const v1::DeclineAccompanimentRequest* req,
    v1::Accompaniment* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_DECLINE_ACCOMPANIMENT,
                    [=, this](const Caller& caller, CallAudit& call) {
                      return Vouch(caller, call, req->accompaniment_id(), /*confirm=*/false, resp);
                    });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListPendingAccompaniments(
    grpc::CallbackServerContext* ctx, const v1::ListPendingAccompanimentsRequest* req,
    v1::ListPendingAccompanimentsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListPendingAccompaniments"));
        ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> list,
                         accompaniments_.PendingFor(caller.service_id(), clock_->Now()));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(list, req->page_size(), req->page_token(),
                                       [](const v1::Accompaniment& a) { return a.id(); }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (auto& a : list) *resp->add_accompaniments() = std::move(a);
        return absl::OkStatus();
      });
}

}  // namespace relais::care
