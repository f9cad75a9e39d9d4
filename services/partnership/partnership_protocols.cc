// PartnershipService's protocol calls.

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/partnership/partnership_rules.h"
#include "services/partnership/partnership_service.h"

namespace relais::partnership {
namespace {

Actor ActorOf(const rpc::Caller& caller) { return {caller.member_id(), caller.service_id()}; }

template <typename Items, typename Item>
bool Contains(const Items& items, const Item& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

bool HoldsConcernedRole(const v1::Protocol& p, const std::vector<v1::Role>& roles) {
  for (int r : p.roles()) {
    if (Contains(roles, static_cast<v1::Role>(r))) return true;
  }
  return false;
}

absl::Status OutsideConvention(absl::string_view explanation) {
  return common::Precondition("outside_convention", explanation);
}

}  // namespace

bool Concerns(const v1::Protocol& p, const rpc::Caller& caller) {
  if (!Contains(p.service_ids(), caller.service_id())) return false;
  for (int r : p.roles()) {
    if (caller.HasRole(static_cast<v1::Role>(r))) return true;
  }
  return false;
}

absl::Status PartnershipServiceImpl::CheckConcernedServices(
    storage::Connection& txn, const google::protobuf::RepeatedPtrField<std::string>& ids,
    absl::string_view convention_id, absl::string_view owner) const {
  const bool others =
      std::any_of(ids.begin(), ids.end(), [&](const std::string& id) { return id != owner; });
  if (convention_id.empty()) {
    if (others) {
      return OutsideConvention(
          "a protocol concerns other services only under a convention in force with them");
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const ConventionTerms terms, store_->GetTerms(txn, convention_id));
  if (!terms.InForceAt(store_->Now()) || !terms.HasParty(owner)) {
    return OutsideConvention("the convention is not in force between the owner and the others");
  }
  for (const std::string& id : ids) {
    if (id != owner && !terms.HasParty(id)) {
      return OutsideConvention("a service concerned is not a party to the convention");
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::CreateProtocol(
    grpc::CallbackServerContext* ctx, const v1::CreateProtocolRequest* request,
    v1::Protocol* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_PUBLISH_PROTOCOL,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.CreateProtocol"));
        const v1::Protocol& in = request->protocol();
        RETURN_IF_ERROR(CheckProtocolInput(in, store_->Now()));
        RETURN_IF_ERROR(CheckVersionInput("first_version", request->first_version()));
        RETURN_IF_ERROR(RequireServices(in.service_ids()));
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              RETURN_IF_ERROR(CheckConcernedServices(txn, in.service_ids(), in.convention_id(),
                                                     caller.service_id()));
              ASSIGN_OR_RETURN(*reply, store_->InsertProtocol(txn, in, request->first_version(),
                                                              ActorOf(caller)));
              call.event.object_id = reply->id();
              reply->set_to_acknowledge(Concerns(*reply, caller));
              return NoticeProtocol(txn, *reply);
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::PublishProtocolVersion(
    grpc::CallbackServerContext* ctx, const v1::PublishProtocolVersionRequest* request,
    v1::Protocol* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_PUBLISH_PROTOCOL,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.PublishProtocolVersion"));
        const std::string& id = request->protocol_id();
        RETURN_IF_ERROR(common::CheckId("protocol_id", id));
        call.event.object_id = id;
        RETURN_IF_ERROR(CheckVersionInput("version", request->version()));
        RETURN_IF_ERROR(CheckProtocolReview("review_time", request->review_time(), store_->Now()));
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(const v1::Protocol p, store_->ReadProtocol(txn, id, false));
              if (p.owner_service_id() != caller.service_id()) {
                return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                                   "only the owner service's coordinators publish a protocol");
              }
              // A protocol shared with other services still needs its convention.
              RETURN_IF_ERROR(CheckConcernedServices(txn, p.service_ids(), p.convention_id(),
                                                     p.owner_service_id()));
              RETURN_IF_ERROR(store_
                                  ->InsertVersion(txn, id, request->version(),
                                                  common::FromProto(request->review_time()),
                                                  ActorOf(caller))
                                  .status());
              ASSIGN_OR_RETURN(*reply, store_->ReadProtocol(txn, id, false));
              reply->set_to_acknowledge(Concerns(*reply, caller));
              return NoticeProtocol(txn, *reply);
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::AcknowledgeProtocol(
    grpc::CallbackServerContext* ctx, const v1::AcknowledgeProtocolRequest* request,
    v1::Protocol* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_ACKNOWLEDGE_PROTOCOL,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.AcknowledgeProtocol"));
        const std::string& id = request->protocol_id();
        RETURN_IF_ERROR(common::CheckId("protocol_id", id));
        call.event.object_id = id;
        if (request->version() <= 0) {
          return common::InvalidField("version", "field_required", "the version read");
        }
        return rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(*reply, store_->ReadProtocol(txn, id, false));
              if (!Concerns(*reply, caller)) {
                return common::WithReason(absl::StatusCode::kPermissionDenied, "not_concerned",
                                          "the protocol does not concern your service and role");
              }
              if (reply->lapsed()) {
                return common::Precondition("protocol_lapsed",
                                            "past its review date: wait for a new version");
              }
              if (request->version() != reply->current_version().number()) {
                return common::Precondition("stale_version",
                                            "not the current version: read the current one");
              }
              // Idempotent: acknowledging twice changes nothing.
              RETURN_IF_ERROR(store_->Acknowledge(txn, id, request->version(), caller.member_id()));
              reply->set_to_acknowledge(false);
              return absl::OkStatus();
            });
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::GetProtocol(grpc::CallbackServerContext* ctx,
                                                              const v1::GetProtocolRequest* request,
                                                              v1::Protocol* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_PARTNERSHIP,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.GetProtocol"));
        const std::string& id = request->protocol_id();
        RETURN_IF_ERROR(common::CheckId("protocol_id", id));
        call.event.object_id = id;
        ASSIGN_OR_RETURN(v1::Protocol p, store_->GetProtocol(id, /*with_text=*/true));
        ASSIGN_OR_RETURN(const std::set<std::string> acked,
                         store_->AcknowledgedBy(caller.member_id()));
        // A lapsed protocol cannot be acknowledged: nothing to ask of anyone.
        p.set_to_acknowledge(Concerns(p, caller) && !p.lapsed() &&
                             !acked.count(AckKey(p.id(), p.current_version().number())));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        *reply = std::move(p);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::ListProtocols(
    grpc::CallbackServerContext* ctx, const v1::ListProtocolsRequest* request,
    v1::ListProtocolsResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_PARTNERSHIP,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.ListProtocols"));
        ASSIGN_OR_RETURN(const size_t size,
                         rpc::PageSize(request->page_size(), rpc::kServicePages));
        ASSIGN_OR_RETURN(std::vector<v1::Protocol> items, store_->ProtocolsOf(caller.service_id()));
        ASSIGN_OR_RETURN(const std::set<std::string> acked,
                         store_->AcknowledgedBy(caller.member_id()));
        for (v1::Protocol& p : items) {
          p.set_to_acknowledge(Concerns(p, caller) && !p.lapsed() &&
                               !acked.count(AckKey(p.id(), p.current_version().number())));
        }
        const bool only_to_ack = request->to_acknowledge_only();
        ASSIGN_OR_RETURN(*reply->mutable_next_page_token(),
                         rpc::TakePage(
                             items, static_cast<int32_t>(size), request->page_token(),
                             [](const v1::Protocol& p) { return p.id(); },
                             [&](const v1::Protocol& p) {
                               const bool mine = p.owner_service_id() == caller.service_id() ||
                                                 Concerns(p, caller);
                               return mine && (!only_to_ack || p.to_acknowledge());
                             }));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        for (v1::Protocol& p : items) *reply->add_protocols() = std::move(p);
        return absl::OkStatus();
      });
}

absl::Status PartnershipServiceImpl::CoverageLine(const v1::Protocol& p,
                                                  absl::string_view service_id,
                                                  const std::set<std::string>& acknowledged,
                                                  bool own, v1::ServiceCoverage* out) const {
  ASSIGN_OR_RETURN(const std::vector<directory::MemberInfo> members,
                   roster_->ActiveMembers(service_id));
  out->set_service_id(std::string(service_id));
  int concerned = 0, done = 0;
  for (const directory::MemberInfo& m : members) {
    if (!HoldsConcernedRole(p, m.roles)) continue;
    ++concerned;
    if (acknowledged.count(m.id)) {
      ++done;
    } else if (own) {
      out->add_pending_member_ids(m.id);
    }
  }
  out->set_members_concerned(concerned);
  out->set_members_acknowledged(done);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* PartnershipServiceImpl::ProtocolCoverage(
    grpc::CallbackServerContext* ctx, const v1::ProtocolCoverageRequest* request,
    v1::ProtocolCoverageResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_PARTNERSHIP,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "PartnershipService.ProtocolCoverage"));
        const std::string& id = request->protocol_id();
        RETURN_IF_ERROR(common::CheckId("protocol_id", id));
        call.event.object_id = id;
        v1::Protocol p;
        std::set<std::string> acked;
        RETURN_IF_ERROR(db_->Read([&](storage::Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(p, store_->ReadProtocol(c, id, false));
          ASSIGN_OR_RETURN(acked, store_->Acknowledgers(c, id, p.current_version().number()));
          return absl::OkStatus();
        }));
        const bool owner = p.owner_service_id() == caller.service_id();
        if (!owner && !Contains(p.service_ids(), caller.service_id())) {
          return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                             "the coverage is for the owner and the services concerned");
        }
        v1::ProtocolCoverageResponse out;
        out.set_version(p.current_version().number());
        out.set_lapsed(p.lapsed());
        for (const std::string& service : p.service_ids()) {
          if (!owner && service != caller.service_id()) continue;
          RETURN_IF_ERROR(
              CoverageLine(p, service, acked, service == caller.service_id(), out.add_services()));
        }
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        *reply = std::move(out);
        return absl::OkStatus();
      });
}

}  // namespace relais::partnership
