#include "services/partnership/partnership_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/partnership/partnership_rules.h"
#include "services/partnership/partnership_schema.h"

namespace relais::partnership {
namespace {

Actor ActorOf(const rpc::Caller& caller) { return {caller.member_id(), caller.service_id()}; }

bool IsParty(const v1::Convention& c, absl::string_view service_id) {
  return std::find(c.party_service_ids().begin(), c.party_service_ids().end(), service_id) !=
         c.party_service_ids().end();
}

// Only a party's coordinator acts on a convention, for their own service.
absl::Status RequireParty(const rpc::Caller& caller, const v1::Convention& c) {
  if (!IsParty(c, caller.service_id())) {
    return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                       "only a coordinator of a party acts on a convention");
  }
  return absl::OkStatus();
}

// Signatures and reviews are for a convention that still binds its parties.
absl::Status RequireNotEnded(const v1::Convention& c) {
  if (c.state() == v1::CONVENTION_STATE_TERMINATED) {
    return common::Precondition("convention_terminated", "the convention was terminated");
  }
  if (c.state() == v1::CONVENTION_STATE_EXPIRED) {
    return common::Precondition("convention_expired", "the convention has ended");
  }
  return absl::OkStatus();
}

// Whether `c` is one of ListConventions' reminders at `now`.
bool DueWithin(const v1::Convention& c, int days, absl::Time now) {
  if (Ended(c, now)) return false;
  const absl::Time horizon = now + absl::Hours(24) * days;
  return common::FromProto(c.review_time()) <= horizon ||
         common::FromProto(c.end_time()) <= horizon;
}

}  // namespace

absl::Status PartnershipServiceImpl::Migrate(storage::Database* db) {
  return db->Migrate(kPartnershipComponent, PartnershipMigrations(),
                     PartnershipPostgresMigrations());
}

absl::Status PartnershipServiceImpl::RequireServices(
    const google::protobuf::RepeatedPtrField<std::string>& ids) const {
  for (const std::string& id : ids) RETURN_IF_ERROR(directory_->GetService(id).status());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::ProposeConvention(
    grpc::CallbackServerContext* ctx, const v1::ProposeConventionRequest* request,
    v1::Convention* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_PROPOSE_CONVENTION,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.ProposeConvention"));
        const v1::Convention& in = request->convention();
        if (!IsParty(in, caller.service_id())) {
          return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                             "a coordinator proposes conventions their own service is a party to");
        }
        RETURN_IF_ERROR(CheckConventionInput(in, store_->Now()));
        RETURN_IF_ERROR(RequireServices(in.party_service_ids()));
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(*reply, store_->InsertConvention(txn, in, ActorOf(caller)));
              call.event.object_id = reply->id();
              return absl::OkStatus();
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::SignConvention(
    grpc::CallbackServerContext* ctx, const v1::SignConventionRequest* request,
    v1::Convention* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_SIGN_CONVENTION,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.SignConvention"));
        const std::string& id = request->convention_id();
        RETURN_IF_ERROR(common::CheckId("convention_id", id));
        call.event.object_id = id;
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(const v1::Convention c, store_->ReadConvention(txn, id));
              RETURN_IF_ERROR(RequireParty(caller, c));
              RETURN_IF_ERROR(RequireNotEnded(c));
              // Idempotent: a second signature of the service changes nothing.
              RETURN_IF_ERROR(store_->AddSignature(txn, id, ActorOf(caller)));
              ASSIGN_OR_RETURN(*reply, store_->ReadConvention(txn, id));
              return absl::OkStatus();
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::ReviewConvention(
    grpc::CallbackServerContext* ctx, const v1::ReviewConventionRequest* request,
    v1::Convention* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_REVIEW_CONVENTION,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.ReviewConvention"));
        const std::string& id = request->convention_id();
        RETURN_IF_ERROR(common::CheckId("convention_id", id));
        call.event.object_id = id;
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(const v1::Convention c, store_->ReadConvention(txn, id));
              RETURN_IF_ERROR(RequireParty(caller, c));
              RETURN_IF_ERROR(RequireNotEnded(c));
              RETURN_IF_ERROR(CheckNextReview("next_review_time", request->next_review_time(),
                                              store_->Now(), common::FromProto(c.end_time())));
              RETURN_IF_ERROR(store_->RecordReview(txn, id, ActorOf(caller),
                                                   common::FromProto(request->next_review_time())));
              ASSIGN_OR_RETURN(*reply, store_->ReadConvention(txn, id));
              return absl::OkStatus();
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::TerminateConvention(
    grpc::CallbackServerContext* ctx, const v1::TerminateConventionRequest* request,
    v1::Convention* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_TERMINATE_CONVENTION,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.TerminateConvention"));
        const std::string& id = request->convention_id();
        RETURN_IF_ERROR(common::CheckId("convention_id", id));
        call.event.object_id = id;
        RETURN_IF_ERROR(common::CheckText("reason", request->reason(), common::kMaxReasonLength));
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(*reply, store_->ReadConvention(txn, id));
              RETURN_IF_ERROR(RequireParty(caller, *reply));
              // Idempotent: the first termination (and its reason) stands.
              if (reply->state() == v1::CONVENTION_STATE_TERMINATED) return absl::OkStatus();
              RETURN_IF_ERROR(RequireNotEnded(*reply));
              RETURN_IF_ERROR(
                  store_->RecordTermination(txn, id, ActorOf(caller), request->reason()));
              ASSIGN_OR_RETURN(*reply, store_->ReadConvention(txn, id));
              return absl::OkStatus();
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::GetConvention(
    grpc::CallbackServerContext* ctx, const v1::GetConventionRequest* request,
    v1::Convention* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_PARTNERSHIP,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.GetConvention"));
        RETURN_IF_ERROR(common::CheckId("convention_id", request->convention_id()));
        call.event.object_id = request->convention_id();
        ASSIGN_OR_RETURN(v1::Convention c, store_->GetConvention(request->convention_id()));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        *reply = std::move(c);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::ListConventions(
    grpc::CallbackServerContext* ctx, const v1::ListConventionsRequest* request,
    v1::ListConventionsResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_PARTNERSHIP,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.ListConventions"));
        if (!request->service_id().empty()) {
          RETURN_IF_ERROR(common::CheckId("service_id", request->service_id()));
        }
        const int days = request->due_within_days();
        if (days < 0 || days > 365) {
          return common::InvalidField("due_within_days", "out_of_range", "must be 0 to 365");
        }
        ASSIGN_OR_RETURN(const size_t size,
                         rpc::PageSize(request->page_size(), rpc::kServicePages));
        ASSIGN_OR_RETURN(std::vector<v1::Convention> items,
                         store_->ListConventions(request->service_id()));
        const absl::Time now = store_->Now();
        ASSIGN_OR_RETURN(
            *reply->mutable_next_page_token(),
            rpc::TakePage(
                items, static_cast<int32_t>(size), request->page_token(),
                [](const v1::Convention& c) { return c.id(); },
                [&](const v1::Convention& c) { return days == 0 || DueWithin(c, days, now); }));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        for (v1::Convention& c : items) *reply->add_conventions() = std::move(c);
        return absl::OkStatus();
      });
}

}  // namespace relais::partnership
