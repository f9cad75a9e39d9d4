#include "services/diagnostics/diagnostics_service.h"

namespace relais::diagnostics {

grpc::ServerUnaryReactor* DiagnosticsServiceImpl::Echo(grpc::CallbackServerContext* ctx,
                                                       const v1::EchoRequest* req,
                                                       v1::EchoResponse* resp) {
  // Nothing is read or written, so a refusal is answered, not audited.
  const absl::StatusOr<rpc::Caller> caller = gate_->AuthenticateUnaudited(*ctx);
  if (caller.ok()) resp->set_payload(req->payload());
  return rpc::Finish(ctx, caller.status());
}

}  // namespace relais::diagnostics
