#ifndef RELAIS_OBSERVABILITY_REQUEST_LOG_H_
#define RELAIS_OBSERVABILITY_REQUEST_LOG_H_

// One structured log line per RPC, and the per-RPC feed of the metrics.

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace relais::observability {

// Told about every finished RPC. Implementations must be thread-safe.
class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  // `method` is "/relais.v1.CareService/ProposeHandover"; `reason` the stable
  // reason code of the reply ("allowed" for OK, the ErrorDetail's reason
  // otherwise, "" when the reply carries none).
  virtual void OnRpcDone(absl::string_view method, grpc::StatusCode code, absl::string_view reason,
                         absl::Duration latency) = 0;
};

// Makes a RequestLogInterceptor per call. For each RPC it logs one JSON line
// (common/log.h, level info, msg "rpc") with the fields request_id, method,
// code (e.g. "PERMISSION_DENIED"), reason, latency_ms and peer ("mtls",
// "ipv4", "ipv6", "unix" or "inproc") — never metadata values other than the
// request id, nor any message content. A call without a valid x-request-id
// gets one here ("r" + 16 hex digits), written into the call's metadata so
// the handler's audit event carries the same id. `observer` (may be null; not
// owned; must outlive the server) is told too.
class RequestLogFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RequestLogFactory(RpcObserver* observer) : observer_(observer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcObserver* const observer_;
};

// "PERMISSION_DENIED" for grpc::StatusCode::PERMISSION_DENIED.
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace relais::observability

#endif  // RELAIS_OBSERVABILITY_REQUEST_LOG_H_
