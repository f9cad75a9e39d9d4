// CareService: a coordinator's views of their own service's work, the youths
// it follows and the consents it holds that are about to end. Ids and terms
// only: a youth's name and file are read through RecordService, under the
// access rule, by whoever may read them.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

namespace {

constexpr int kDefaultWithinDays = 30;
constexpr int kMaxWithinDays = 366;

}  // namespace

grpc::ServerUnaryReactor* CareServiceImpl::ListServiceAccompaniments(
    grpc::CallbackServerContext* ctx, const v1::ListServiceAccompanimentsRequest* req,
    v1::ListServiceAccompanimentsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListServiceAccompaniments"));
        ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> list,
                         accompaniments_.OpenOf(caller.service_id(), clock_->Now()));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(list, req->page_size(), req->page_token(),
                                       [](const v1::Accompaniment& a) { return a.id(); }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (auto& a : list) *resp->add_accompaniments() = std::move(a);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListExpiringConsents(
    grpc::CallbackServerContext* ctx, const v1::ListExpiringConsentsRequest* req,
    v1::ListExpiringConsentsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListExpiringConsents"));
        const int days = req->within_days() == 0 ? kDefaultWithinDays : req->within_days();
        if (days < 1 || days > kMaxWithinDays) {
          return common::InvalidField("within_days", "out_of_range",
                                      absl::StrCat("within_days is 1 to ", kMaxWithinDays));
        }
        const absl::Time now = clock_->Now();
        ASSIGN_OR_RETURN(
            std::vector<v1::Consent> list,
            consents_.HeldExpiring(caller.service_id(), now, now + absl::Hours(24) * days));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(list, req->page_size(), req->page_token(),
                                       [](const v1::Consent& k) { return k.id(); }));
        for (v1::Consent& k : list) {
          ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(k.youth_id()));
          consents_.Decorate(k, youth.date_of_birth, now);
        }
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        for (v1::Consent& k : list) *resp->add_consents() = std::move(k);
        return absl::OkStatus();
      });
}

}  // namespace relais::care
