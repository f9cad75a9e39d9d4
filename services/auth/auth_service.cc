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
#include "access/roles.h"
#include "auth/password.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"

namespace relais::auth_service {
namespace {

absl::Status InvalidCredentials() {
  return common::Unauthenticated("invalid_credentials", "login or password is wrong");
}

absl::Status MemberInactive() {
  return common::Unauthenticated("member_inactive", "this member can no longer sign in");
}

bool IsRequestIdChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.'; }

// The client's x-request-id if it is a plausible id, else a fresh one (same
// rule as rpc::CallGate, which Login does not go through).
std::string RequestId(const grpc::CallbackServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  if (auto it = md.find("x-request-id"); it != md.end()) {
    const absl::string_view id(it->second.data(), it->second.size());
    if (!id.empty() && id.size() <= common::kMaxIdLength &&
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
  for (v1::Role r : roles) names.push_back(access::RoleName(r));
  return absl::StrJoin(names, ",");
}

}  // namespace

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::IssueFor(directory::MemberInfo member,
                                                                  absl::Time authenticated_at,
                                                                  int64_t generation) const {
  std::vector<std::string> roles;
  for (v1::Role r : member.roles) roles.push_back(access::RoleName(r));
  Issued issued;
  const absl::Time session_start =
      authenticated_at == absl::InfinitePast() ? sessions_.clock->Now() : authenticated_at;
  ASSIGN_OR_RETURN(issued.token,
                   issuer_->Issue(member.id, member.service_id, roles, authenticated_at, generation,
                                  session_start + options_.session_max_lifetime));
  // The issuer does not report the expiry it signed; reading it back from the
  // token keeps the reply exact (and proves the token verifies here).
  absl::StatusOr<auth::Principal> principal = verifier_->Verify(issued.token);
  if (!principal.ok()) {
    if (absl::IsUnavailable(principal.status())) return principal.status();
    return absl::InternalError(
        absl::StrCat("a freshly issued token does not verify: ", principal.status().ToString()));
  }
  issued.expires_at = principal->expires_at;
  issued.member = std::move(member);
  return issued;
}

AuthServiceImpl::Checked AuthServiceImpl::CheckCredentials(const std::string& login,
                                                           const std::string& password) const {
  Checked checked;
  absl::StatusOr<directory::Credentials> found = credentials_->FindCredentials(login);
  if (!found.ok() && !absl::IsNotFound(found.status())) {
    checked.status = found.status();
    return checked;
  }
  if (found.ok()) {
    // The generation is read before the member's state that the token will
    // carry: a revoke-all committed after this read revokes the token too.
    absl::StatusOr<int64_t> generation = sessions_.revocations->Generation(found->member.id);
    if (!generation.ok()) {
      checked.status = generation.status();
      return checked;
    }
    checked.generation = *generation;
    absl::StatusOr<directory::MemberInfo> current = credentials_->GetMember(found->member.id);
    if (!current.ok()) {
      checked.status = current.status();
      return checked;
    }
    checked.member = *std::move(current);
  }
  PasswordSlot slot(&password_slots_, options_.password_check_wait);
  if (!slot.held()) {
    checked.status = common::WithReason(absl::StatusCode::kResourceExhausted, "login_busy",
                                        "too many sign-ins are being checked; retry in a moment");
    return checked;
  }
  if (!checked.member.has_value()) {
    // Spend the same scrypt work as for a known login, so response time does
    // not tell whether the login exists.
    (void)auth::VerifyPassword(password, kDummyPasswordHash);
    checked.status = InvalidCredentials();
    return checked;
  }
  const bool password_ok = auth::VerifyPassword(password, found->password_hash);
  // An expired one-time password is just a wrong password.
  const bool expired = found->must_change && sessions_.clock->Now() >= found->password_expires_at;
  checked.status =
      password_ok && !expired && checked.member->active ? absl::OkStatus() : InvalidCredentials();
  checked.password_hash = found->password_hash;
  checked.must_change = found->must_change;
  return checked;
}

absl::Status AuthServiceImpl::AuditLock(const audit::EventInput& login_event,
                                        const std::optional<directory::MemberInfo>& member) {
  audit::EventInput lock;
  lock.request_id = login_event.request_id;
  lock.client_identity = login_event.client_identity;
  lock.action = v1::ACTION_LOCK_ACCOUNT;
  // The member locked out, if the login exists; never the login as typed.
  if (member.has_value()) lock.object_id = member->id;
  lock.decision = v1::DECISION_DENY;
  lock.reason = v1::ACCESS_REASON_ACCOUNT_LOCKED;
  lock.reason_code = rpc::ReasonCode(v1::ACCESS_REASON_ACCOUNT_LOCKED);
  return rpc::AuditAppended(gate_.audit()->AppendStandalone(lock).status());
}

void AuthServiceImpl::FillReply(Issued issued, v1::LoginResponse* reply) {
  reply->set_token(std::move(issued.token));
  *reply->mutable_expires_at() = common::ToProto(issued.expires_at);
  reply->set_member_id(issued.member.id);
  reply->set_service_id(issued.member.service_id);
  for (v1::Role r : issued.member.roles) reply->add_roles(r);
}

std::string AuthServiceImpl::ThrottleKey(const grpc::CallbackServerContext& ctx,
                                         const rpc::PeerIdentity& peer) const {
  if (peer.tls && !peer.certificate_service_id.empty() &&
      std::find(options_.login_gateways.begin(), options_.login_gateways.end(),
                peer.certificate_service_id) != options_.login_gateways.end()) {
    const auto& metadata = ctx.client_metadata();
    const auto it = metadata.find(kClientAddressHeader);
    if (it != metadata.end()) {
      const absl::string_view client(it->second.data(), it->second.size());
      // An address, nothing else: a malformed one counts against the gateway.
      const bool address =
          !client.empty() && client.size() <= 64 &&
          std::all_of(client.begin(), client.end(), [](char c) {
            return absl::ascii_isxdigit(c) || c == '.' || c == ':' || c == '[' || c == ']';
          });
      if (address) return auth_store::PeerThrottle::GatewayClientKey(ctx.peer(), client);
    }
  }
  return auth_store::PeerThrottle::PeerKey(ctx.peer());
}

absl::StatusOr<AuthServiceImpl::Checked> AuthServiceImpl::Attempt(const std::string& login,
                                                                  const std::string& password,
                                                                  const rpc::PeerIdentity& peer,
                                                                  const std::string& peer_key,
                                                                  audit::EventInput& event) {
  const absl::Time now = sessions_.clock->Now();
  absl::StatusOr<bool> blocked = throttle_.Blocked(peer_key, now);
  if (!blocked.ok()) return gate_.AuditDenial(event, blocked.status());
  if (*blocked) {
    return gate_.AuditDenial(
        event, common::WithReason(absl::StatusCode::kResourceExhausted, "too_many_attempts",
                                  "too many failed logins from this address; wait 15 minutes"));
  }
  // The attempt counts as failed from here until it succeeds: concurrent
  // attempts cannot check more passwords than the limit allows.
  const std::string account = auth_store::LoginLocks::AccountKey(login);
  absl::StatusOr<auth_store::LoginLocks::Reservation> reserved = locks_.Reserve(account, now);
  if (!reserved.ok()) return gate_.AuditDenial(event, reserved.status());
  if (!reserved->granted) {
    // The same answer whether or not the login exists, and no password check.
    return gate_.AuditDenial(
        event, rpc::Exhausted(v1::ACCESS_REASON_ACCOUNT_LOCKED,
                              "too many failed logins for this account; try again later or "
                              "ask a coordinator to unlock it"));
  }
  Checked checked = CheckCredentials(login, password);
  if (checked.status.ok() && peer.tls &&
      checked.member->service_id != peer.certificate_service_id) {
    // A member signs in only through their own service's client application;
    // the caller learns nothing more than from a wrong password.
    event.actor_member_id = checked.member->id;
    event.actor_service_id = checked.member->service_id;
    checked.status = rpc::Denied(v1::ACCESS_REASON_CERTIFICATE_SERVICE_MISMATCH,
                                 "the client certificate names another service");
  }
  if (!checked.status.ok()) {
    // A member row that fails its MAC (a hand edit of the database) is no
    // guess at a password: answered as it is, PERMISSION_DENIED
    // integrity_violation, and not counted against the account.
    const bool forged =
        common::ReasonOf(checked.status) == rpc::ReasonCode(v1::ACCESS_REASON_INTEGRITY_VIOLATION);
    const bool failed = !forged && (absl::IsUnauthenticated(checked.status) ||
                                    absl::IsPermissionDenied(checked.status));
    if (!failed) {
      // The password was not judged (busy, database): give the attempt back.
      if (absl::Status released = locks_.Release(account); !released.ok()) {
        common::LogWarning("login reservation not released", {{"status", released.ToString()}});
      }
      return gate_.AuditDenial(event, checked.status);
    }
    if (absl::Status counted = throttle_.RecordFailure(peer_key, now); !counted.ok()) {
      // The account's reservation still counts this failure.
      common::LogWarning("login failure not counted for its address",
                         {{"status", counted.ToString()}});
    }
    absl::StatusOr<auth_store::LoginLocks::Outcome> outcome = locks_.Failed(account, now);
    if (!outcome.ok()) return gate_.AuditDenial(event, outcome.status());
    if (outcome->locked) RETURN_IF_ERROR(AuditLock(event, checked.member));
    // No actor (unless the certificate mismatched): the login is not proof of
    // who called, and must not be stored.
    absl::Status answered = gate_.AuditDenial(event, checked.status);
    if (absl::IsUnavailable(answered)) return answered;
    return InvalidCredentials();
  }
  if (absl::Status cleared = locks_.Succeeded(account); !cleared.ok()) {
    return gate_.AuditDenial(event, cleared);
  }
  return checked;
}

grpc::ServerUnaryReactor* AuthServiceImpl::Login(grpc::CallbackServerContext* ctx,
                                                 const v1::LoginRequest* request,
                                                 v1::LoginResponse* reply) {
  audit::EventInput event;
  event.request_id = RequestId(ctx);
  const rpc::PeerIdentity peer = rpc::IdentifyPeer(*ctx);
  event.client_identity = peer.client_identity;
  event.action = v1::ACTION_LOGIN;
  auto deny = [&](const absl::Status& status) {
    return rpc::Finish(ctx, gate_.AuditDenial(event, status));
  };
  // A revoked client certificate is refused before any password is checked.
  if (absl::Status cert = gate_.CheckCertificate(*ctx); !cert.ok()) return deny(cert);
  if (absl::Status valid = common::CheckText("login", request->login(), kMaxLoginBytes);
      !valid.ok()) {
    return deny(valid);
  }
  if (absl::Status valid = common::CheckText("password", request->password(), kMaxPasswordBytes);
      !valid.ok()) {
    return deny(valid);
  }
  // Logins are stored lower-case; accept "Marie.Dupont" for "marie.dupont".
  const std::string login = absl::AsciiStrToLower(request->login());
  absl::StatusOr<Checked> checked =
      Attempt(login, request->password(), peer, ThrottleKey(*ctx, peer), event);
  if (!checked.ok()) return rpc::Finish(ctx, checked.status());
  if (checked->must_change) {
    return deny(common::Precondition("password_change_required",
                                     "this one-time password only serves to choose a password "
                                     "(AuthService.ChangePassword)"));
  }
  absl::StatusOr<Issued> issued =
      IssueFor(*std::move(checked->member), absl::InfinitePast(), checked->generation);
  if (!issued.ok()) return deny(issued.status());
  event.actor_member_id = issued->member.id;
  event.actor_service_id = issued->member.service_id;
  event.actor_roles = RolesString(issued->member.roles);
  if (absl::Status recorded =
          rpc::AuditAppended(gate_.audit()->AppendStandalone(rpc::Allowed(event)).status());
      !recorded.ok()) {
    return deny(recorded);  // the refusal is audited, as in every other service
  }
  FillReply(*std::move(issued), reply);
  return rpc::Finish(ctx, absl::OkStatus());
}

absl::StatusOr<AuthServiceImpl::Issued> AuthServiceImpl::ReplacePassword(
    const Checked& checked, const std::string& new_password, audit::EventInput& event) {
  const directory::MemberInfo& member = *checked.member;
  // The password proved who calls: from here on the events name them.
  event.actor_member_id = member.id;
  event.actor_service_id = member.service_id;
  event.actor_roles = RolesString(member.roles);
  event.object_id = member.id;
  ASSIGN_OR_RETURN(directory::PasswordUpdate update,
                   credentials_->PrepareNewPassword(new_password, "new_password"));
  const audit::EventInput allowed = rpc::Allowed(event);
  absl::Status changed = credentials_->ReplacePassword(
      member.id, checked.password_hash, update, [&](storage::Connection& txn) -> absl::Status {
        // Every session of the member ends with the old password.
        RETURN_IF_ERROR(sessions_.revocations->RevokeAllOf(txn, member.id));
        return rpc::AuditAppended(gate_.audit()->Append(txn, allowed).status());
      });
  // Another call replaced this password first: what was offered is no longer it.
  if (absl::IsAborted(changed)) return InvalidCredentials();
  RETURN_IF_ERROR(changed);
  // Issued after the revoke-all committed, so it carries the new generation.
  ASSIGN_OR_RETURN(int64_t generation, sessions_.revocations->Generation(member.id));
  return IssueFor(member, absl::InfinitePast(), generation);
}

grpc::ServerUnaryReactor* AuthServiceImpl::ChangePassword(grpc::CallbackServerContext* ctx,
                                                          const v1::ChangePasswordRequest* request,
                                                          v1::LoginResponse* reply) {
  audit::EventInput event;
  event.request_id = RequestId(ctx);
  const rpc::PeerIdentity peer = rpc::IdentifyPeer(*ctx);
  event.client_identity = peer.client_identity;
  event.action = v1::ACTION_CHANGE_PASSWORD;
  auto deny = [&](const absl::Status& status) {
    return rpc::Finish(ctx, gate_.AuditDenial(event, status));
  };
  if (absl::Status cert = gate_.CheckCertificate(*ctx); !cert.ok()) return deny(cert);
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"login", &request->login()},
        {"current_password", &request->current_password()},
        {"new_password", &request->new_password()}}) {
    const size_t max = absl::string_view(field) == "login" ? kMaxLoginBytes : kMaxPasswordBytes;
    if (absl::Status valid = common::CheckText(field, *value, max); !valid.ok()) return deny(valid);
  }
  // Cheap refusals first (they reveal nothing about the account); the store
  // checks the policy again when it hashes.
  if (request->new_password() == request->current_password()) {
    return deny(common::InvalidField("new_password", "password_unchanged",
                                     "must differ from the current password"));
  }
  if (const auth::PasswordVerdict verdict = auth::CheckNewPassword(request->new_password());
      !verdict.ok()) {
    return deny(common::InvalidField("new_password", verdict.reason, verdict.explanation));
  }
  const std::string login = absl::AsciiStrToLower(request->login());
  // The current password is guessed like a login's: the same throttle and locks.
  absl::StatusOr<Checked> checked =
      Attempt(login, request->current_password(), peer, ThrottleKey(*ctx, peer), event);
  if (!checked.ok()) return rpc::Finish(ctx, checked.status());
  absl::StatusOr<Issued> issued = ReplacePassword(*checked, request->new_password(), event);
  if (!issued.ok()) return deny(issued.status());
  common::LogInfo("password changed", {{"member_id", issued->member.id}});
  FillReply(*std::move(issued), reply);
  return rpc::Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AuthServiceImpl::Refresh(grpc::CallbackServerContext* ctx,
                                                   const v1::RefreshRequest*,
                                                   v1::LoginResponse* reply) {
  return rpc::Serve(
      gate_, ctx, v1::ACTION_LOGIN,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        const auth::Principal& presented = caller.principal;
        if (sessions_.clock->Now() >= presented.authenticated_at + options_.session_max_lifetime) {
          return common::Unauthenticated("session_expired",
                                         "the session reached its maximum lifetime; sign in again");
        }
        // Read before the member, so a revoke-all after that read revokes the new token too.
        ASSIGN_OR_RETURN(int64_t generation, sessions_.revocations->Generation(caller.member_id()));
        absl::StatusOr<directory::MemberInfo> member = credentials_->GetMember(caller.member_id());
        if (!member.ok()) {
          return absl::IsNotFound(member.status()) ? MemberInactive() : member.status();
        }
        if (!member->active) return MemberInactive();
        ASSIGN_OR_RETURN(Issued issued,
                         IssueFor(*std::move(member), presented.authenticated_at, generation));
        // The event names the member as the new token does.
        rpc::CallAudit refreshed{call.event};
        refreshed.event.actor_service_id = issued.member.service_id;
        refreshed.event.actor_roles = RolesString(issued.member.roles);
        // Rotation: the presented token ends with the event that replaced it.
        RETURN_IF_ERROR(rpc::CommitAllowed(*sessions_.db, *gate_.audit(), refreshed,
                                           [&](storage::Connection& txn) {
                                             return sessions_.revocations->RevokeToken(
                                                 txn, presented.token_id, presented.expires_at);
                                           }));
        call.recorded = true;
        FillReply(std::move(issued), reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AuthServiceImpl::Logout(grpc::CallbackServerContext* ctx,
                                                  const v1::LogoutRequest*, v1::LogoutResponse*) {
  return rpc::Serve(gate_, ctx, v1::ACTION_LOGOUT,
                    [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(gate_.RequireRole(caller, "AuthService.Logout"));
                      return rpc::CommitAllowed(
                          *sessions_.db, *gate_.audit(), call, [&](storage::Connection& txn) {
                            return sessions_.revocations->RevokeToken(
                                txn, caller.principal.token_id, caller.principal.expires_at);
                          });
                    });
}

grpc::ServerUnaryReactor* AuthServiceImpl::UnlockAccount(grpc::CallbackServerContext* ctx,
                                                         const v1::UnlockAccountRequest* request,
                                                         v1::UnlockAccountResponse* reply) {
  return rpc::Serve(
      gate_, ctx, v1::ACTION_UNLOCK_ACCOUNT,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_.RequireRole(caller, "AuthService.UnlockAccount"));
        RETURN_IF_ERROR(common::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        if (request->member_id() == caller.member_id()) {
          return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                             "nobody unlocks their own account");
        }
        ASSIGN_OR_RETURN(directory::MemberInfo member,
                         credentials_->GetMember(request->member_id()));
        if (!caller.HasRole(v1::ROLE_ADMIN)) {
          if (member.service_id != caller.service_id()) {
            return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                               "a coordinator unlocks members of their own service only");
          }
          for (v1::Role r : member.roles) {
            if (r == v1::ROLE_ADMIN || r == v1::ROLE_AUDITOR) {
              return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                                 "only an admin unlocks an admin or an auditor");
            }
          }
        }
        const std::string account = auth_store::LoginLocks::AccountKey(member.login);
        bool was_locked = false;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *sessions_.db, *gate_.audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(was_locked, locks_.Unlock(txn, account, sessions_.clock->Now()));
              return absl::OkStatus();
            }));
        reply->set_was_locked(was_locked);
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
