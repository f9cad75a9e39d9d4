#ifndef RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
#define RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/auth.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/auth/login_throttle.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"

namespace relais::auth_service {

// What a failed login answers, whatever failed (unknown login, wrong password,
// inactive member), so the answer does not reveal which logins exist.
inline constexpr absl::string_view kInvalidCredentialsMessage =
    "invalid_credentials: login or password is wrong";

// Request-size guards of Login (INVALID_ARGUMENT beyond them).
inline constexpr size_t kMaxLoginBytes = 64;
inline constexpr size_t kMaxPasswordBytes = 1024;

// A hash with the production scrypt cost that Login checks the offered password
// against when the login is unknown, so that an unknown login takes as long as
// a wrong password. Its password is kDummyPassword (public on purpose: the
// unknown-login path fails whatever the password).
inline constexpr absl::string_view kDummyPassword = "relais-unknown-login";
inline constexpr absl::string_view kDummyPasswordHash =
    "scrypt$15$8$1$bP6HTkiRLE30noAmdsOutw$gRU25DnaEn7RR_nD7-zK7yLzMQeFhkPlneTlLcpkWdg";

// Credentials and tokens.
//
//   Login       no token needed. Every attempt is audited (ACTION_LOGIN): an
//               ALLOW names the member and service; a DENY has no actor and
//               holds only the reason code, never the login or password.
//               UNAUTHENTICATED kInvalidCredentialsMessage on any credential
//               failure; UNAVAILABLE if the audit log cannot be written (no
//               token is then handed out).
//   Refresh     the bearer token in metadata, verified locally; the member is
//               re-read so removed or deactivated members get UNAUTHENTICATED
//               "member_inactive", and the new token carries current roles.
//               Audited as ACTION_LOGIN via rpc::Serve.
//   ChangePassword  no token needed: the current password proves who calls,
//               checked, throttled and timed exactly like Login. Audited
//               ACTION_CHANGE_PASSWORD (an ALLOW commits with the new hash);
//               answers a fresh token.
//   PublicKeys  no token needed, not audited (public data).
//
// A one-time password (AddMember, ResetPassword) opens no session: Login
// answers FAILED_PRECONDITION "password_change_required" while it is valid,
// kInvalidCredentialsMessage once it expired (by `clock`).
//
// Thread-safe. Nothing is owned; every pointer must outlive the service.
// `issuer` and `verifier` must use `key_ring` and the same audience.
class AuthServiceImpl final : public v1::AuthService::CallbackService {
 public:
  AuthServiceImpl(directory::CredentialSource* credentials, const auth::TokenIssuer* issuer,
                  const auth::TokenVerifier* verifier, const auth::KeyRing* key_ring,
                  audit::AuditLog* audit, const common::Clock* clock)
      : credentials_(credentials),
        clock_(clock),
        issuer_(issuer),
        verifier_(verifier),
        key_ring_(key_ring),
        gate_(verifier, audit, clock) {}

  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* ctx, const v1::LoginRequest* request,
                                  v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* ctx,
                                    const v1::RefreshRequest* request,
                                    v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* ctx,
                                           const v1::ChangePasswordRequest* request,
                                           v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* PublicKeys(grpc::CallbackServerContext* ctx,
                                       const v1::PublicKeysRequest* request,
                                       v1::PublicKeysResponse* reply) override;

 private:
  struct Issued {
    directory::MemberInfo member;
    std::string token;
    absl::Time expires_at;
  };

  // Checks a login and its password (same work and answer whether or not the
  // login exists): the stored credentials, or kInvalidCredentialsMessage. A
  // one-time password passes only before it expires; the caller decides what
  // it may do.
  absl::StatusOr<directory::Credentials> CheckPassword(absl::string_view login,
                                                       absl::string_view password) const;
  // Checks the credentials; the member and a fresh token, or the status to answer.
  absl::StatusOr<Issued> CheckCredentials(const v1::LoginRequest& request) const;
  // Everything ChangePassword does after the throttle.
  absl::StatusOr<Issued> ChangeCredentials(const v1::ChangePasswordRequest& request,
                                           const rpc::PeerIdentity& peer,
                                           audit::EventInput& event);
  // Refusal for a member who signs in through another service's client
  // certificate (with the actor filled into `event`), else OK.
  static absl::Status CheckPeerService(const rpc::PeerIdentity& peer,
                                       const directory::MemberInfo& member,
                                       audit::EventInput& event);
  // The reply of Login and ChangePassword.
  static void FillReply(Issued issued, v1::LoginResponse* reply);
  // A token for `member` with its current roles; `authenticated_at` as for
  // auth::TokenIssuer::Issue (InfinitePast: the member proved a password now).
  absl::StatusOr<Issued> IssueFor(directory::MemberInfo member,
                                  absl::Time authenticated_at = absl::InfinitePast()) const;

  directory::CredentialSource* const credentials_;
  const common::Clock* const clock_;
  const auth::TokenIssuer* const issuer_;
  const auth::TokenVerifier* const verifier_;
  const auth::KeyRing* const key_ring_;
  rpc::CallGate gate_;  // authenticates Refresh, audits denials
  LoginThrottle throttle_;
};

}  // namespace relais::auth_service

#endif  // RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
