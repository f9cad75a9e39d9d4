#ifndef RELAIS_SERVICES_HOST_MALFORMED_REQUEST_H_
#define RELAIS_SERVICES_HOST_MALFORMED_REQUEST_H_

// A request whose bytes do not parse as the method's message. gRPC 1.51's
// callback API answers it UNIMPLEMENTED, which sends a client developer looking
// for a missing method; this interceptor answers INVALID_ARGUMENT
// "malformed_request" instead and audits the attempt.

#include "auth/token.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/audit/audit_log.h"

namespace relais::host {

// Makes a MalformedRequestInterceptor per call. A call whose request message
// failed to parse gets INVALID_ARGUMENT "malformed_request" (with the usual
// ErrorDetail) and a DENY event ACTION_REJECT_MALFORMED_REQUEST naming the
// method ("RecordService.GetYouth"), the peer and, if its token verifies, the
// caller; never the bytes. Unknown methods keep their UNIMPLEMENTED answer.
// Neither pointer is owned; both must outlive the server.
class MalformedRequestFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  MalformedRequestFactory(const auth::TokenVerifier* verifier, audit::AuditLog* audit)
      : verifier_(verifier), audit_(audit) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const auth::TokenVerifier* const verifier_;
  audit::AuditLog* const audit_;
};

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_MALFORMED_REQUEST_H_
