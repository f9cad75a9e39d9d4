#include "services/inbox/inbox_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/common/stream_reactor.h"

namespace relais::inbox {
namespace {

using rpc::CallAudit;
using rpc::Caller;

constexpr rpc::PageLimits kInboxPages{100, 1000};

// A Watch refused before it streams anything.
class Refused final : public grpc::ServerWriteReactor<v1::InboxItem> {
 public:
  explicit Refused(const absl::Status& status) { Finish(rpc::ToGrpc(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* InboxServiceImpl::ListInbox(grpc::CallbackServerContext* ctx,
                                                      const v1::ListInboxRequest* req,
                                                      v1::ListInboxResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_INBOX,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "InboxService.ListInbox"));
        ASSIGN_OR_RETURN(const int64_t after, ParseCursor("after_cursor", req->after_cursor()));
        ASSIGN_OR_RETURN(const size_t size, rpc::PageSize(req->page_size(), kInboxPages));
        // One more than asked tells whether more follow.
        ASSIGN_OR_RETURN(std::vector<v1::InboxItem> items,
                         store_->List(caller.member_id(), after, static_cast<int>(size) + 1));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        resp->set_more(items.size() > size);
        if (resp->more()) items.pop_back();
        for (v1::InboxItem& item : items) resp->add_items()->Swap(&item);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::InboxItem>* InboxServiceImpl::Watch(grpc::CallbackServerContext* ctx,
                                                                 const v1::WatchRequest* req) {
  std::string member_id;
  int64_t after = 0;
  const absl::Status begun =
      rpc::BeginStream(*gate_, ctx, v1::ACTION_READ_INBOX, "",
                       [&](const Caller& caller, CallAudit& call) -> absl::Status {
                         RETURN_IF_ERROR(gate_->RequireRole(caller, "InboxService.Watch"));
                         ASSIGN_OR_RETURN(after, ParseCursor("after_cursor", req->after_cursor()));
                         RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
                         member_id = caller.member_id();
                         return absl::OkStatus();
                       });
  if (!begun.ok()) return new Refused(begun);
  return hub_->Start(std::move(member_id), after, req->until_caught_up());
}

grpc::ServerUnaryReactor* InboxServiceImpl::Orientation(grpc::CallbackServerContext* ctx,
                                                        const v1::OrientationRequest*,
                                                        v1::OrientationResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_INBOX,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "InboxService.Orientation"));
        call.event.object_id = caller.service_id();
        const std::string& service = caller.service_id();
        std::vector<v1::Role> roles;
        for (v1::Role r : {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR}) {
          if (caller.HasRole(r)) roles.push_back(r);
        }
        ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> accompaniments,
                         care_->ActiveAccompaniments(service));
        ASSIGN_OR_RETURN(std::vector<v1::Handover> handovers, care_->OpenHandovers(service));
        ASSIGN_OR_RETURN(std::vector<v1::Convention> conventions,
                         partnership_->LiveConventions(service));
        ASSIGN_OR_RETURN(std::vector<v1::Protocol> protocols,
                         partnership_->ToAcknowledge(caller.member_id(), service, roles));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        resp->set_service_id(service);
        for (v1::Accompaniment& a : accompaniments) resp->add_accompaniments()->Swap(&a);
        for (v1::Handover& h : handovers) resp->add_open_handovers()->Swap(&h);
        for (v1::Convention& c : conventions) resp->add_conventions()->Swap(&c);
        for (v1::Protocol& p : protocols) resp->add_protocols_to_acknowledge()->Swap(&p);
        return absl::OkStatus();
      });
}

}  // namespace relais::inbox
