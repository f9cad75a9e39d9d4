#include "services/auth/auth_service.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "auth/password.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace relais::auth_service {
namespace {

absl::Status InvalidCredentials() { return absl::UnauthenticatedError(kInvalidCredentialsMessage); }

absl::Status MemberInactive() {
  return absl::UnauthenticatedError("member_inactive: this member can no longer sign in");
}

bool IsRequestIdChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.'; }

// The client's x-request-id if it is a plausible id, else a fresh one (same
// rule as rpc::CallGate, which Login does not go through).
std::string RequestId(const grpc::CallbackServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  if (auto it = md.find("x-request-id"); it != md.end()) {
    const absl::string_view id(it->second.data(), it->second.size());
    if (!id.empty() && id.size() <= rpc::kMaxIdLength &&
        std::all_of(id.begin(), id.end(), IsRequestIdChar)) {
      return std::string(id);
    }
  }
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("r%016x", absl::Uniform<uint64_t>(*gen));
}

std::string RolesString(const std::vector<v1::Role>& roles) {
  std::vector<std::string> names;
  for (v1::Role r : roles) names.push_back(rpc::RoleName(r));
  return absl::StrJoin(names, ",");
}

}  // namespace

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::IssueFor(
    directory::MemberInfo member) const {
  std::vector<std::string> roles;
  for (v1::Role r : member.roles) roles.push_back(rpc::RoleName(r));
  Issued issued;
  ASSIGN_OR_RETURN(issued.token, issuer_->Issue(member.id, member.service_id, roles));
  // The issuer does not report the expiry it signed; reading it back from the
  // token keeps the reply exact (and proves the token verifies here).
  absl::StatusOr<auth::Principal> principal = verifier_->Verify(issued.token);
  if (!principal.ok()) {
    return absl::InternalError(
        absl::StrCat("a freshly issued token does not verify: ", principal.status().ToString()));
  }
  issued.expires_at = principal->expires_at;
  issued.member = std::move(member);
  return issued;
}

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::CheckCredentials(
    const v1::LoginRequest& request) const {
  RETURN_IF_ERROR(rpc::CheckText("login", request.login(), kMaxLoginBytes));
  RETURN_IF_ERROR(rpc::CheckText("password", request.password(), kMaxPasswordBytes));
  // Logins are stored lower-case; accept "Marie.Dupont" for "marie.dupont".
  const std::string login = absl::AsciiStrToLower(request.login());
  absl::StatusOr<std::pair<directory::MemberInfo, std::string>> found =
      credentials_->FindCredentials(login);
  if (!found.ok()) {
    if (!absl::IsNotFound(found.status())) return found.status();
    // Spend the same scrypt work as for a known login, so response time does
    // not tell whether the login exists.
    (void)auth::VerifyPassword(request.password(), kDummyPasswordHash);
    return InvalidCredentials();
  }
  auto& [member, password_hash] = *found;
  const bool password_ok = auth::VerifyPassword(request.password(), password_hash);
  if (!password_ok || !member.active) return InvalidCredentials();
  return IssueFor(std::move(member));
}

grpc::ServerUnaryReactor* AuthServiceImpl::Login(grpc::CallbackServerContext* ctx,
                                                 const v1::LoginRequest* request,
                                                 v1::LoginResponse* reply) {
  audit::EventInput event;
  event.request_id = RequestId(ctx);
  const rpc::PeerIdentity peer = rpc::IdentifyPeer(*ctx);
  event.client_identity = peer.client_identity;
  event.action = v1::ACTION_LOGIN;
  // A revoked client certificate is refused before any password is checked.
  if (absl::Status cert = gate_.CheckCertificate(*ctx); !cert.ok()) {
    return rpc::Finish(ctx, gate_.AuditDenial(std::move(event), cert));
  }

  // Throttled per account (as typed, existing or not) and per peer address, so
  // guessing is slow and the answer still says nothing about existence.
  const std::string account = absl::AsciiStrToLower(
      absl::string_view(request->login()).substr(0, kMaxLoginBytes));
  const std::string peer_address = PeerAddress(ctx->peer());
  const absl::Time now = absl::Now();
  if (throttle_.Blocked(account, peer_address, now)) {
    return rpc::Finish(
        ctx, gate_.AuditDenial(std::move(event),
                               absl::ResourceExhaustedError(
                                   "too_many_attempts: too many failed logins; wait 15 minutes")));
  }
  absl::StatusOr<Issued> issued = CheckCredentials(*request);
  if (!issued.ok()) {
    if (absl::IsUnauthenticated(issued.status())) {
      throttle_.RecordFailure(account, peer_address, now);
    }
    // No actor: the login is not proof of who called, and must not be stored.
    return rpc::Finish(ctx, gate_.AuditDenial(std::move(event), issued.status()));
  }
  if (peer.tls && issued->member.service_id != peer.certificate_service_id) {
    // A member signs in only through their own service's client application.
    event.actor_member_id = issued->member.id;
    event.actor_service_id = issued->member.service_id;
    return rpc::Finish(
        ctx, gate_.AuditDenial(std::move(event),
                               rpc::Denied(v1::ACCESS_REASON_CERTIFICATE_SERVICE_MISMATCH,
                                           "the client certificate names another service")));
  }
  throttle_.RecordSuccess(account);
  event.actor_member_id = issued->member.id;
  event.actor_service_id = issued->member.service_id;
  event.actor_roles = RolesString(issued->member.roles);
  event.decision = v1::DECISION_ALLOW;
  event.reason = v1::ACCESS_REASON_ALLOWED;
  event.reason_code = "allowed";
  if (absl::StatusOr<int64_t> seq = gate_.audit()->AppendStandalone(event); !seq.ok()) {
    common::LogError("audit append failed; refusing the login",
                     {{"status", seq.status().ToString()}});
    return rpc::Finish(
        ctx, absl::UnavailableError("audit_unavailable: the access log cannot be written"));
  }
  reply->set_token(std::move(issued->token));
  *reply->mutable_expires_at() = rpc::ToProto(issued->expires_at);
  reply->set_member_id(issued->member.id);
  reply->set_service_id(issued->member.service_id);
  for (v1::Role r : issued->member.roles) reply->add_roles(r);
  return rpc::Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AuthServiceImpl::Refresh(grpc::CallbackServerContext* ctx,
                                                   const v1::RefreshRequest*,
                                                   v1::LoginResponse* reply) {
  return rpc::Serve(
      gate_, ctx, v1::ACTION_LOGIN,
      [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        absl::StatusOr<directory::MemberInfo> member = credentials_->GetMember(caller.member_id());
        if (!member.ok()) {
          return absl::IsNotFound(member.status()) ? MemberInactive() : member.status();
        }
        if (!member->active) return MemberInactive();
        ASSIGN_OR_RETURN(Issued issued, IssueFor(*std::move(member)));
        audit::EventInput allowed = call.event;
        allowed.actor_service_id = issued.member.service_id;
        allowed.actor_roles = RolesString(issued.member.roles);
        allowed.decision = v1::DECISION_ALLOW;
        allowed.reason = v1::ACCESS_REASON_ALLOWED;
        allowed.reason_code = "allowed";
        if (absl::StatusOr<int64_t> seq = gate_.audit()->AppendStandalone(allowed); !seq.ok()) {
          common::LogError("audit append failed; refusing the refresh",
                           {{"status", seq.status().ToString()}});
          return absl::UnavailableError("audit_unavailable: the access log cannot be written");
        }
        call.recorded = true;
        reply->set_token(std::move(issued.token));
        *reply->mutable_expires_at() = rpc::ToProto(issued.expires_at);
        reply->set_member_id(issued.member.id);
        reply->set_service_id(issued.member.service_id);
        for (v1::Role r : issued.member.roles) reply->add_roles(r);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AuthServiceImpl::PublicKeys(grpc::CallbackServerContext* ctx,
                                                      const v1::PublicKeysRequest*,
                                                      v1::PublicKeysResponse* reply) {
  for (const auto& [key_id, public_key] : key_ring_->PublicKeys()) {
    v1::PublicKey* key = reply->add_keys();
    key->set_key_id(key_id);
    key->set_algorithm("Ed25519");
    key->set_public_key(public_key);
  }
  return rpc::Finish(ctx, absl::OkStatus());
}

}  // namespace relais::auth_service
