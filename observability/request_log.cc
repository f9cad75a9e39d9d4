#include "observability/request_log.h"

#include <cstdint>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/common.pb.h"

namespace relais::observability {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr char kRequestIdKey[] = "x-request-id";

// The same rule as rpc::CallGate applies to a client's request id.
bool ValidRequestId(grpc::string_ref id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string MakeRequestId() {
  static absl::Mutex mu;
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("r%016x", absl::Uniform<uint64_t>(*gen));
}

// The reason code in the reply's ErrorDetail (see rpc::ToGrpc), or "".
std::string ReasonOf(const grpc::Status& status) {
  if (status.ok()) return "allowed";
  v1::RpcStatus details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return "";
  }
  for (const google::protobuf::Any& any : details.details()) {
    v1::ErrorDetail detail;
    if (any.UnpackTo(&detail)) return detail.reason();
  }
  return "";
}

std::string PeerKind(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) return "mtls";
  const std::string peer = ctx.peer();
  const size_t colon = peer.find(':');
  const std::string kind = peer.substr(0, colon);
  if (kind == "ipv4" || kind == "ipv6" || kind == "unix") return kind;
  return "inproc";
}

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  RequestLogInterceptor(grpc::experimental::ServerRpcInfo* info, RpcObserver* observer)
      : info_(info), observer_(observer), start_(absl::Now()) {}

  ~RequestLogInterceptor() override {
    // No status was sent: the call was cancelled or its deadline passed.
    if (!logged_) {
      Done(grpc::Status(grpc::StatusCode::CANCELLED, ""));
    }
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      TakeRequestId(methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Done(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void TakeRequestId(std::multimap<grpc::string_ref, grpc::string_ref>* md) {
    auto it = md->find(kRequestIdKey);
    if (it != md->end() && ValidRequestId(it->second)) {
      request_id_.assign(it->second.data(), it->second.size());
      return;
    }
    // Owned by this interceptor, which lives as long as the call.
    request_id_ = MakeRequestId();
    const grpc::string_ref value(request_id_.data(), request_id_.size());
    if (it != md->end()) {
      it->second = value;
    } else {
      md->emplace(grpc::string_ref(kRequestIdKey), value);
    }
  }

  void Done(const grpc::Status& status) {
    logged_ = true;
    const absl::Duration latency = absl::Now() - start_;
    const std::string reason = ReasonOf(status);
    const char* method = info_->method() != nullptr ? info_->method() : "";
    common::LogInfo(
        "rpc", {{"request_id", request_id_},
                {"method", method},
                {"code", std::string(GrpcCodeName(status.error_code()))},
                {"reason", reason},
                {"latency_ms", absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(latency))},
                {"peer", info_->server_context() != nullptr ? PeerKind(*info_->server_context())
                                                            : "unknown"}});
    if (observer_ != nullptr) observer_->OnRpcDone(method, status.error_code(), reason, latency);
  }

  grpc::experimental::ServerRpcInfo* const info_;
  RpcObserver* const observer_;
  const absl::Time start_;
  std::string request_id_;
  bool logged_ = false;
};

}  // namespace

grpc::experimental::Interceptor* RequestLogFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RequestLogInterceptor(info, observer_);
}

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace relais::observability
