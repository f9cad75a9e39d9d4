#ifndef RELAIS_SERVICES_DIAGNOSTICS_DIAGNOSTICS_SERVICE_H_
#define RELAIS_SERVICES_DIAGNOSTICS_DIAGNOSTICS_SERVICE_H_

#include "relais/v1/diagnostics.grpc.pb.h"
#include "services/common/rpc.h"

namespace relais::diagnostics {

// DiagnosticsService.Echo: what a call costs with the transport, the request
// log and the token check, and nothing else; the load driver's baseline.
// Answered on the gRPC callback thread, like a bare gRPC echo. Off unless
// relaisd runs with --diagnostics. Thread-safe.
class DiagnosticsServiceImpl final : public v1::DiagnosticsService::CallbackService {
 public:
  // `gate` is borrowed and must outlive this object.
  explicit DiagnosticsServiceImpl(const rpc::CallGate* gate) : gate_(gate) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* req,
                                 v1::EchoResponse* resp) override;

 private:
  const rpc::CallGate* const gate_;
};

}  // namespace relais::diagnostics

#endif  // RELAIS_SERVICES_DIAGNOSTICS_DIAGNOSTICS_SERVICE_H_
