#ifndef RELAIS_SERVICES_INBOX_INBOX_SERVICE_H_
#define RELAIS_SERVICES_INBOX_INBOX_SERVICE_H_

#include <memory>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/inbox.grpc.pb.h"
#include "services/common/rpc.h"
#include "services/inbox/inbox_store.h"
#include "services/inbox/inbox_watch.h"

namespace relais::inbox {

// The gRPC face of the members' inboxes. A member reads only their own items
// (the store is always asked for the caller's member id); every call leaves
// one audit event (ACTION_READ_INBOX), allowed or denied.
//
// Thread-safe. `gate` and `store` are borrowed and must outlive the service.
class InboxServiceImpl final : public v1::InboxService::CallbackService {
 public:
  // `care` and `partnership` (borrowed) feed Orientation. `poll`: how often
  // open Watch streams look for new items.
  InboxServiceImpl(rpc::CallGate* gate, const InboxStore* store, const CareDigest* care,
                   const PartnershipDigest* partnership,
                   absl::Duration poll = absl::Milliseconds(200))
      : gate_(gate),
        store_(store),
        care_(care),
        partnership_(partnership),
        hub_(std::make_unique<WatchHub>(store, poll)) {}

  // Ends every open Watch stream (OK; clients resume with their cursor).
  void CloseStreams() { hub_->CloseAll(); }

  grpc::ServerUnaryReactor* ListInbox(grpc::CallbackServerContext* ctx,
                                      const v1::ListInboxRequest* request,
                                      v1::ListInboxResponse* reply) override;
  grpc::ServerWriteReactor<v1::InboxItem>* Watch(grpc::CallbackServerContext* ctx,
                                                 const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Orientation(grpc::CallbackServerContext* ctx,
                                        const v1::OrientationRequest* request,
                                        v1::OrientationResponse* reply) override;

 private:
  rpc::CallGate* const gate_;
  const InboxStore* const store_;
  const CareDigest* const care_;
  const PartnershipDigest* const partnership_;
  const std::unique_ptr<WatchHub> hub_;
};

}  // namespace relais::inbox

#endif  // RELAIS_SERVICES_INBOX_INBOX_SERVICE_H_
