#include "services/common/rpc.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "access/roles.h"
#include "auth/authenticator.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "grpc/grpc_security_constants.h"
#include "services/common/commit.h"

namespace relais::rpc {
namespace {

std::string NewRequestId() {
  static absl::BitGen* gen = new absl::BitGen();
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  return absl::StrFormat("r%016x", absl::Uniform<uint64_t>(*gen));
}

std::string Metadata(const grpc::CallbackServerContext* ctx, absl::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return std::string();
  return std::string(it->second.data(), it->second.size());
}

v1::AccessReason AccessReasonFromCode(absl::string_view code) {
  if (code == "token_missing") return v1::ACCESS_REASON_TOKEN_MISSING;
  if (code == "token_expired") return v1::ACCESS_REASON_TOKEN_EXPIRED;
  if (code == "token_revoked") return v1::ACCESS_REASON_TOKEN_REVOKED;
  // Refresh past the absolute session cap: the session, not the token, expired.
  if (code == "session_expired") return v1::ACCESS_REASON_TOKEN_EXPIRED;
  if (absl::StartsWith(code, "token_")) return v1::ACCESS_REASON_TOKEN_INVALID;
  if (code == "erased") return v1::ACCESS_REASON_RECORD_ERASED;  // NOT_FOUND "erased"
  const auto* desc = v1::AccessReason_descriptor();
  for (int i = 0; i < desc->value_count(); ++i) {
    const auto r = static_cast<v1::AccessReason>(desc->value(i)->number());
    if (r != v1::ACCESS_REASON_UNSPECIFIED && ReasonCode(r) == code) return r;
  }
  return v1::ACCESS_REASON_UNSPECIFIED;
}

}  // namespace

std::string ReasonCode(v1::AccessReason reason) {
  std::string name = v1::AccessReason_Name(reason);
  constexpr absl::string_view kPrefix = "ACCESS_REASON_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  return absl::AsciiStrToLower(name);
}

absl::Status Denied(v1::AccessReason reason, absl::string_view explanation) {
  return common::WithReason(absl::StatusCode::kPermissionDenied, ReasonCode(reason), explanation);
}

absl::Status Exhausted(v1::AccessReason reason, absl::string_view explanation) {
  return common::WithReason(absl::StatusCode::kResourceExhausted, ReasonCode(reason), explanation);
}

absl::Status Unauthenticated(v1::AccessReason reason, absl::string_view explanation) {
  return common::Unauthenticated(ReasonCode(reason), explanation);
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      common::LogError("internal error", {{"status", status.ToString()}});
      message = "internal: the server could not complete the request";
      break;
    default:
      break;
  }
  v1::ErrorDetail detail;
  detail.set_reason(ReasonOf(status));
  detail.set_field(FieldOf(status));
  v1::RpcStatus rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  rpc_status.add_details()->PackFrom(detail);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc_status.SerializeAsString());
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

bool Caller::HasRole(v1::Role role) const { return principal.HasRole(RoleName(role)); }

std::string Caller::RolesString() const { return absl::StrJoin(principal.roles, ","); }

audit::EventInput EventFor(const Caller& caller, v1::Action action) {
  audit::EventInput e;
  e.request_id = caller.request_id;
  e.actor_member_id = caller.member_id();
  e.actor_service_id = caller.service_id();
  e.actor_roles = caller.RolesString();
  e.client_identity = caller.client_identity;
  e.action = action;
  return e;
}

PeerIdentity IdentifyPeer(const grpc::ServerContextBase& ctx) {
  PeerIdentity peer;
  const std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  const bool tls =
      auth != nullptr &&
      absl::c_any_of(auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME),
                     [](const grpc::string_ref& v) {
                       return absl::string_view(v.data(), v.size()) ==
                              GRPC_SSL_TRANSPORT_SECURITY_TYPE;
                     });
  if (!tls) {
    peer.client_identity = ctx.peer();
    return peer;
  }
  peer.tls = true;
  peer.client_identity = "cert=<none>";
  constexpr std::pair<const char*, const char*> kNames[] = {
      {GRPC_X509_CN_PROPERTY_NAME, "cn="},
      {GRPC_PEER_DNS_PROPERTY_NAME, "dns="},
      {GRPC_PEER_URI_PROPERTY_NAME, "uri="},
  };
  for (const auto& [property, label] : kNames) {
    const std::vector<grpc::string_ref> values = auth->FindPropertyValues(property);
    if (values.empty()) continue;
    peer.certificate_service_id.assign(values.front().data(), values.front().size());
    // Shown in audit listings: printable ASCII only, bounded.
    constexpr size_t kMaxShownBytes = 200;
    std::string shown = peer.certificate_service_id.substr(0, kMaxShownBytes);
    for (char& c : shown) {
      if (c < 0x21 || c > 0x7e) c = '?';
    }
    peer.client_identity = absl::StrCat(label, shown);
    break;
  }
  return peer;
}

namespace {

// The caller as far as the transport tells: request id and client identity.
Caller Anonymous(const grpc::CallbackServerContext& ctx, const PeerIdentity& peer) {
  Caller caller;
  caller.request_id = Metadata(&ctx, "x-request-id");
  if (caller.request_id.empty() || caller.request_id.size() > 64 ||
      !common::IsPrintableId(caller.request_id)) {
    caller.request_id = NewRequestId();
  }
  caller.client_identity = peer.client_identity;
  return caller;
}

}  // namespace

CallGate::Checked CallGate::CheckCall(const grpc::CallbackServerContext& ctx) const {
  Checked checked;
  const PeerIdentity peer = IdentifyPeer(ctx);
  checked.caller = Anonymous(ctx, peer);
  Caller& caller = checked.caller;
  absl::StatusOr<auth::Principal> principal =
      auth::AuthenticateMetadata(*verifier_, ctx.client_metadata());
  if (absl::Status cert = CheckCertificate(ctx); !cert.ok()) {
    if (principal.ok()) caller.principal = *std::move(principal);
    checked.refusal = std::move(cert);
    return checked;
  }
  if (!principal.ok()) {
    checked.refusal = principal.status();
    return checked;
  }
  caller.principal = *std::move(principal);
  // A token is a caseworker's; the certificate is their service's client app.
  // Both must agree, so a token that leaks cannot be used from another
  // service's software.
  if (peer.tls && peer.certificate_service_id != caller.service_id()) {
    checked.refusal = Denied(v1::ACCESS_REASON_CERTIFICATE_SERVICE_MISMATCH,
                             "the client certificate does not name the token's service");
  }
  return checked;
}

absl::StatusOr<Caller> CallGate::Authenticate(grpc::CallbackServerContext* ctx, v1::Action action,
                                              absl::string_view youth_id) {
  Checked checked = CheckCall(*ctx);
  if (!checked.refusal.ok()) {
    audit::EventInput e = EventFor(checked.caller, action);
    e.youth_id = std::string(youth_id);
    return AuditDenial(std::move(e), checked.refusal);
  }
  return std::move(checked.caller);
}

absl::Status CallGate::AuditLateRefusal(const grpc::CallbackServerContext& ctx,
                                        const absl::StatusOr<Caller>& caller, v1::Action action,
                                        const absl::Status& refusal) {
  Caller anonymous = Anonymous(ctx, IdentifyPeer(ctx));
  if (caller.ok()) anonymous.request_id = caller->request_id;
  return AuditDenial(EventFor(anonymous, action), refusal);
}

absl::StatusOr<Caller> CallGate::AuthenticateUnaudited(
    const grpc::CallbackServerContext& ctx) const {
  Checked checked = CheckCall(ctx);
  if (!checked.refusal.ok()) return checked.refusal;
  return std::move(checked.caller);
}

absl::Status CallGate::RequireRole(const Caller& caller, absl::string_view method) {
  const std::vector<v1::Role>& allowed = access::RolesFor(method);
  for (v1::Role r : allowed) {
    if (caller.HasRole(r)) return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (v1::Role r : allowed) names.push_back(RoleName(r));
  return Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                names.empty()
                    ? std::string("no role may make this call")
                    : absl::StrCat("this call needs the role ", absl::StrJoin(names, " or ")));
}

absl::Status UncaughtException(absl::string_view what) {
  common::LogError("a handler let an exception escape", {{"what", std::string(what)}});
  return absl::InternalError("uncaught exception");
}

absl::Status CallGate::CheckCertificate(const grpc::ServerContextBase& ctx) const {
  return certificates_ != nullptr ? certificates_->Check(ctx) : absl::OkStatus();
}

absl::Status CallGate::RequireRecentLogin(const Caller& caller) const {
  if (clock_->Now() - caller.principal.authenticated_at <= kStepUpWindow) {
    return absl::OkStatus();
  }
  return Denied(v1::ACCESS_REASON_REAUTHENTICATION_REQUIRED,
                "this action needs a login of the last 5 minutes; log in again");
}

absl::Status CallGate::AuditDenial(audit::EventInput event, const absl::Status& status) {
  event.decision = v1::DECISION_DENY;
  event.reason_code = ReasonOf(status);
  // A handler may have pre-filled the event as allowed before failing: a
  // denial never carries the allowed reason.
  if (event.reason == v1::ACCESS_REASON_UNSPECIFIED || event.reason == v1::ACCESS_REASON_ALLOWED) {
    event.reason = AccessReasonFromCode(event.reason_code);
  }
  // Ids that fail validation are not stored verbatim: they may hold anything.
  for (std::string* id : {&event.youth_id, &event.entry_id, &event.object_id}) {
    if (id->size() > kMaxIdLength || !common::IsPrintableId(*id)) *id = "<invalid>";
  }
  RETURN_IF_ERROR(AuditAppended(audit_->AppendStandalone(event).status()));
  return status;
}

absl::Status ServerBusy() {
  return common::WithReason(absl::StatusCode::kResourceExhausted, "server_busy",
                            "too many calls in progress: retry after a pause");
}

absl::Status CheckCallAlive(grpc::CallbackServerContext* ctx) {
  if (ctx->IsCancelled()) {
    return common::WithReason(absl::StatusCode::kCancelled, "cancelled", "the client went away");
  }
  if (ctx->deadline() <= std::chrono::system_clock::now()) {
    return common::WithReason(absl::StatusCode::kDeadlineExceeded, "deadline_exceeded",
                              "the call's deadline has passed");
  }
  return absl::OkStatus();
}

}  // namespace relais::rpc
