#ifndef RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
#define RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/token.h"
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
//   PublicKeys  no token needed, not audited (public data).
//
// Thread-safe. Nothing is owned; every pointer must outlive the service.
// `issuer` and `verifier` must use `key_ring` and the same audience.
class AuthServiceImpl final : public v1::AuthService::CallbackService {
 public:
  AuthServiceImpl(const directory::CredentialSource* credentials, const auth::TokenIssuer* issuer,
                  const auth::TokenVerifier* verifier, const auth::KeyRing* key_ring,
                  audit::AuditLog* audit,
                  const rpc::PeerCertificateCheck* certificates = nullptr)
      : credentials_(credentials),
        issuer_(issuer),
        verifier_(verifier),
        key_ring_(key_ring),
        gate_(verifier, audit, certificates) {}

  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* ctx, const v1::LoginRequest* request,
                                  v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* ctx,
                                    const v1::RefreshRequest* request,
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

  // Checks the credentials; the member and a fresh token, or the status to answer.
  absl::StatusOr<Issued> CheckCredentials(const v1::LoginRequest& request) const;
  // A token for `member` with its current roles.
  absl::StatusOr<Issued> IssueFor(directory::MemberInfo member) const;

  const directory::CredentialSource* const credentials_;
  const auth::TokenIssuer* const issuer_;
  const auth::TokenVerifier* const verifier_;
  const auth::KeyRing* const key_ring_;
  rpc::CallGate gate_;  // authenticates Refresh, audits denials
  LoginThrottle throttle_;
};

}  // namespace relais::auth_service

#endif  // RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
