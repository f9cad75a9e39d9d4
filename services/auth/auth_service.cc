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
    directory::MemberInfo member, absl::Time authenticated_at) const {
  std::vector<std::string> roles;
  for (v1::Role r : member.roles) roles.push_back(rpc::RoleName(r));
  Issued issued;
  ASSIGN_OR_RETURN(issued.token, issuer_->Issue(member.id, member.service_id, roles, authenticated_at));
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

absl::StatusOr<directory::Credentials> AuthServiceImpl::CheckPassword(
    absl::string_view login, absl::string_view password) const {
  // Logins are stored lower-case; accept "Marie.Dupont" for "marie.dupont".
  absl::StatusOr<directory::Credentials> found =
      credentials_->FindCredentials(absl::AsciiStrToLower(login));
  if (!found.ok()) {
    if (!absl::IsNotFound(found.status())) return found.status();
    // Spend the same scrypt work as for a known login, so response time does
    // not tell whether the login exists.
    (void)auth::VerifyPassword(password, kDummyPasswordHash);
    return InvalidCredentials();
  }
  const bool password_ok = auth::VerifyPassword(password, found->password_hash);
  if (!password_ok || !found->member.active) return InvalidCredentials();
  // An expired one-time password is just a wrong password.
  if (found->must_change && clock_->Now() >= found->password_expires_at) {
    return InvalidCredentials();
  }
  return found;
}

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::CheckCredentials(
    const v1::LoginRequest& request) const {
  RETURN_IF_ERROR(rpc::CheckText("login", request.login(), kMaxLoginBytes));
  RETURN_IF_ERROR(rpc::CheckText("password", request.password(), kMaxPasswordBytes));
  ASSIGN_OR_RETURN(directory::Credentials found, CheckPassword(request.login(), request.password()));
  if (found.must_change) {
    return rpc::Precondition("password_change_required",
                             "this one-time password only serves to choose a password "
                             "(AuthService.ChangePassword)");
  }
  return IssueFor(std::move(found.member));
}

absl::Status AuthServiceImpl::CheckPeerService(const rpc::PeerIdentity& peer,
                                               const directory::MemberInfo& member,
                                               audit::EventInput& event) {
  if (!peer.tls || member.service_id == peer.certificate_service_id) return absl::OkStatus();
  // A member signs in only through their own service's client application.
  event.actor_member_id = member.id;
  event.actor_service_id = member.service_id;
  return rpc::Denied(v1::ACCESS_REASON_CERTIFICATE_SERVICE_MISMATCH,
                     "the client certificate names another service");
}

void AuthServiceImpl::FillReply(Issued issued, v1::LoginResponse* reply) {
  reply->set_token(std::move(issued.token));
  *reply->mutable_expires_at() = rpc::ToProto(issued.expires_at);
  reply->set_member_id(issued.member.id);
  reply->set_service_id(issued.member.service_id);
  for (v1::Role r : issued.member.roles) reply->add_roles(r);
}

grpc::ServerUnaryReactor* AuthServiceImpl::Login(grpc::CallbackServerContext* ctx,
                                                 const v1::LoginRequest* request,
                                                 v1::LoginResponse* reply) {
  audit::EventInput event;
  event.request_id = RequestId(ctx);
  const rpc::PeerIdentity peer = rpc::IdentifyPeer(*ctx);
  event.client_identity = peer.client_identity;
  event.action = v1::ACTION_LOGIN;

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
  if (absl::Status peer_ok = CheckPeerService(peer, issued->member, event); !peer_ok.ok()) {
    return rpc::Finish(ctx, gate_.AuditDenial(std::move(event), peer_ok));
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
  FillReply(*std::move(issued), reply);
  return rpc::Finish(ctx, absl::OkStatus());
}

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::ChangeCredentials(
    const v1::ChangePasswordRequest& request, const rpc::PeerIdentity& peer,
    audit::EventInput& event) {
  RETURN_IF_ERROR(rpc::CheckText("login", request.login(), kMaxLoginBytes));
  RETURN_IF_ERROR(
      rpc::CheckText("current_password", request.current_password(), kMaxPasswordBytes));
  RETURN_IF_ERROR(rpc::CheckText("new_password", request.new_password(), kMaxPasswordBytes));
  // Cheap refusals first (they reveal nothing about the account); the store
  // checks the policy again when it hashes.
  if (request.new_password() == request.current_password()) {
    return rpc::InvalidField("new_password", "password_unchanged",
                             "must differ from the current password");
  }
  if (const auth::PasswordVerdict verdict = auth::CheckNewPassword(request.new_password());
      !verdict.ok()) {
    return rpc::InvalidField("new_password", verdict.reason, verdict.explanation);
  }
  ASSIGN_OR_RETURN(directory::Credentials found,
                   CheckPassword(request.login(), request.current_password()));
  RETURN_IF_ERROR(CheckPeerService(peer, found.member, event));
  // The password proved who calls: from here on the events name them.
  event.actor_member_id = found.member.id;
  event.actor_service_id = found.member.service_id;
  event.actor_roles = RolesString(found.member.roles);
  event.object_id = found.member.id;
  ASSIGN_OR_RETURN(directory::PasswordUpdate update,
                   credentials_->PrepareNewPassword(request.new_password(), "new_password"));
  // Signed before the change commits, so a committed change always answers a token.
  ASSIGN_OR_RETURN(Issued issued, IssueFor(found.member));
  audit::EventInput allowed = event;
  allowed.decision = v1::DECISION_ALLOW;
  allowed.reason = v1::ACCESS_REASON_ALLOWED;
  allowed.reason_code = "allowed";
  absl::Status changed = credentials_->ReplacePassword(
      found.member.id, found.password_hash, update, [&](storage::Connection& txn) -> absl::Status {
        if (absl::StatusOr<int64_t> seq = gate_.audit()->Append(txn, allowed); !seq.ok()) {
          common::LogError("audit append failed; refusing the password change",
                           {{"status", seq.status().ToString()}});
          return absl::UnavailableError("audit_unavailable: the access log cannot be written");
        }
        return absl::OkStatus();
      });
  // Another call replaced this password first: what was offered is no longer it.
  if (absl::IsAborted(changed)) return InvalidCredentials();
  RETURN_IF_ERROR(changed);
  return issued;
}

grpc::ServerUnaryReactor* AuthServiceImpl::ChangePassword(
    grpc::CallbackServerContext* ctx, const v1::ChangePasswordRequest* request,
    v1::LoginResponse* reply) {
  audit::EventInput event;
  event.request_id = RequestId(ctx);
  const rpc::PeerIdentity peer = rpc::IdentifyPeer(*ctx);
  event.client_identity = peer.client_identity;
  event.action = v1::ACTION_CHANGE_PASSWORD;
  // The same throttle as Login: the current password is guessed the same way.
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
  absl::StatusOr<Issued> issued = ChangeCredentials(*request, peer, event);
  if (!issued.ok()) {
    if (absl::IsUnauthenticated(issued.status())) {
      throttle_.RecordFailure(account, peer_address, now);
    }
    return rpc::Finish(ctx, gate_.AuditDenial(std::move(event), issued.status()));
  }
  throttle_.RecordSuccess(account);
  common::LogInfo("password changed", {{"member_id", issued->member.id}});
  FillReply(*std::move(issued), reply);
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
        // A refreshed token is no fresher a login (step-up, rpc::CallGate).
        ASSIGN_OR_RETURN(Issued issued,
                         IssueFor(*std::move(member), caller.principal.authenticated_at));
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
        FillReply(std::move(issued), reply);
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
