#include "services/host/malformed_request.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "auth/authenticator.h"
#include "common/log.h"
#include "common/reason.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/common.pb.h"
#include "services/common/rpc.h"

namespace relais::host {
namespace {

using grpc::experimental::InterceptionHookPoints;

// "/relais.v1.RecordService/GetYouth" -> "RecordService.GetYouth".
std::string MethodName(const char* full) {
  absl::string_view m = full != nullptr ? full : "";
  absl::ConsumePrefix(&m, "/");
  absl::ConsumePrefix(&m, "relais.v1.");
  std::string out(m);
  for (char& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

class MalformedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  MalformedRequestInterceptor(grpc::experimental::ServerRpcInfo* info,
                              const auth::TokenVerifier* verifier, audit::AuditLog* audit)
      : info_(info),
        verifier_(verifier),
        audit_(audit),
        single_request_(info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY ||
                        info->type() == grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING) {
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // gRPC hands the interceptors a null message when deserialization of a
    // call's one request failed. (A stream's reads end with null too: those
    // are not looked at.)
    if (single_request_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      malformed_ = true;
    }
    if (malformed_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(Reject());
    }
    methods->Proceed();
  }

 private:
  grpc::Status Reject() {
    const std::string method = MethodName(info_->method());
    const absl::Status status = common::WithReason(
        absl::StatusCode::kInvalidArgument, "malformed_request",
        absl::StrCat("the request's bytes do not parse as the message of ", method));
    audit::EventInput event;
    event.action = v1::ACTION_REJECT_MALFORMED_REQUEST;
    event.object_id = method;
    grpc::ServerContextBase* ctx = info_->server_context();
    if (ctx != nullptr) {
      event.client_identity = rpc::IdentifyPeer(*ctx).client_identity;
      const auto& md = ctx->client_metadata();
      if (auto it = md.find("x-request-id"); it != md.end()) {
        event.request_id.assign(it->second.data(), it->second.size());
      }
      absl::StatusOr<auth::Principal> who = auth::AuthenticateMetadata(*verifier_, md);
      if (who.ok()) {
        event.actor_member_id = who->member_id;
        event.actor_service_id = who->service_id;
      }
    }
    rpc::CallGate gate(verifier_, audit_);
    // UNAVAILABLE if the attempt cannot be audited, like every other denial.
    return rpc::ToGrpc(gate.AuditDenial(std::move(event), status));
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const auth::TokenVerifier* const verifier_;
  audit::AuditLog* const audit_;
  const bool single_request_;
  bool malformed_ = false;
};

}  // namespace

grpc::experimental::Interceptor* MalformedRequestFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MalformedRequestInterceptor(info, verifier_, audit_);
}

}  // namespace relais::host
