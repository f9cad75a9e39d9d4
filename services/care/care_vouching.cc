// CareService: vouching for accompaniments. No service vouches for itself: an
// accompaniment opened on a record that another service created or
// accompanies waits (VOUCH_PENDING) until a service that accompanies the youth
// confirms it, or, under mandate, a mandating service (SAJ, SPJ) does.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/care_store.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::Caller;
using rpc::CallAudit;
using storage::Connection;

namespace {

// Kinds of service whose decisions are mandates (youth-aid Code of 2018).
bool IsMandatingKind(absl::string_view kind) {
  const std::string k = absl::AsciiStrToUpper(kind);
  return k == "SAJ" || k == "SPJ";
}

absl::Status NotFoundForCaller() {
  return rpc::NotFound("accompaniment_not_found", "no such pending accompaniment for you");
}

}  // namespace

absl::Status CareServiceImpl::Vouch(const Caller& caller, CallAudit& call,
                                    absl::string_view accompaniment_id, bool confirm,
                                    v1::Accompaniment* resp) {
  RETURN_IF_ERROR(gate_->RequireRole(caller, confirm ? "CareService.ConfirmAccompaniment"
                                                     : "CareService.DeclineAccompaniment"));
  RETURN_IF_ERROR(rpc::CheckId("accompaniment_id", accompaniment_id));
  call.event.object_id = std::string(accompaniment_id);
  const absl::Time now = clock_->Now();
  std::optional<v1::Accompaniment> target;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(target, store::GetAccompaniment(c, accompaniment_id, now));
    return absl::OkStatus();
  }));
  // Who may vouch is decided before anything about the accompaniment is
  // revealed: everyone else gets the answer an unknown id gets.
  if (!target.has_value() || target->service_id() == caller.service_id()) {
    return NotFoundForCaller();
  }
  ASSIGN_OR_RETURN(access::AccessFacts facts,
                   ledger_->GatherFacts(caller.service_id(), target->youth_id()));
  bool by_mandate = false;
  if (!facts.accompanying) {
    absl::StatusOr<directory::ServiceInfo> mine = directory_->GetService(caller.service_id());
    if (!mine.ok() && !absl::IsNotFound(mine.status())) return mine.status();
    by_mandate = mine.ok() && IsMandatingKind(mine->kind) &&
                 target->basis() == v1::ACCOMPANIMENT_BASIS_MANDATE;
    if (!by_mandate) return NotFoundForCaller();
  }
  call.event.youth_id = target->youth_id();
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(target->youth_id()));
  if (youth.restricted) {
    return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED,
                       "processing of this record is restricted (GDPR art. 18)");
  }
  const v1::Vouch verdict = !confirm    ? v1::VOUCH_DECLINED
                            : by_mandate ? v1::VOUCH_MANDATE
                                         : v1::VOUCH_CONFIRMED;
  return Commit(call, [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(auto a, store::GetAccompaniment(c, accompaniment_id, now));
    if (!a.has_value()) return absl::InternalError("accompaniment vanished");
    const bool declined = a->vouch() == v1::VOUCH_DECLINED;
    if (a->vouch() != v1::VOUCH_PENDING) {
      // Idempotent repeat; the opposite decision is refused.
      if (declined != !confirm) {
        return rpc::Precondition("not_pending", "this accompaniment was already decided");
      }
      *resp = *a;
      return absl::OkStatus();
    }
    if (a->has_end_time() && rpc::FromProto(a->end_time()) <= now) {
      return rpc::Precondition("accompaniment_ended", "this accompaniment has ended");
    }
    RETURN_IF_ERROR(store::SetAccompanimentVouch(c, a->id(), verdict, caller.member_id(), now));
    a->set_vouch(verdict);
    a->set_vouched_by_member_id(caller.member_id());
    *a->mutable_vouched_at() = rpc::ToProto(now);
    if (!confirm) {
      RETURN_IF_ERROR(store::SetAccompanimentEnd(c, a->id(), now));
      *a->mutable_end_time() = rpc::ToProto(now);
      a->set_active(false);
    }
    *resp = *a;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::ConfirmAccompaniment(
    grpc::CallbackServerContext* ctx, const v1::ConfirmAccompanimentRequest* req,
    v1::Accompaniment* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_CONFIRM_ACCOMPANIMENT,
                    [&](const Caller& caller, CallAudit& call) {
    return Vouch(caller, call, req->accompaniment_id(), /*confirm=*/true, resp);
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::DeclineAccompaniment(
    grpc::CallbackServerContext* ctx, const v1::DeclineAccompanimentRequest* req,
    v1::Accompaniment* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_DECLINE_ACCOMPANIMENT,
                    [&](const Caller& caller, CallAudit& call) {
    return Vouch(caller, call, req->accompaniment_id(), /*confirm=*/false, resp);
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListPendingAccompaniments(
    grpc::CallbackServerContext* ctx, const v1::ListPendingAccompanimentsRequest* req,
    v1::ListPendingAccompanimentsResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListPendingAccompaniments"));
    const absl::Time now = clock_->Now();
    std::vector<v1::Accompaniment> list;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(list, store::PendingForService(c, caller.service_id(), now));
      return absl::OkStatus();
    }));
    ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                     rpc::TakePage(list, req->page_size(), req->page_token(),
                                   [](const v1::Accompaniment& a) { return a.id(); }));
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
    for (auto& a : list) *resp->add_accompaniments() = std::move(a);
    return absl::OkStatus();
  });
}

}  // namespace relais::care
