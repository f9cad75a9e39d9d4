#ifndef RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
#define RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/auth.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/auth/password_slots.h"
#include "services/auth_store/login_locks.h"
#include "services/auth_store/revocation_store.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "storage/database.h"

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
//               failure, including a right password sent through another
//               service's client certificate (audited as
//               certificate_service_mismatch); UNAVAILABLE if the audit log
//               cannot be written (no token is then handed out).
//               Per account (the login as typed, existing or not): each
//               attempt is reserved in the database before scrypt runs, so
//               at most `attempts_per_account` passwords are checked before
//               RESOURCE_EXHAUSTED "account_locked" (audited ACTION_LOCK_ACCOUNT
//               once, naming the member if the login exists). Per peer:
//               RESOURCE_EXHAUSTED "too_many_attempts" (in the database, shared
//               by every instance). At most
//               `max_concurrent_password_checks` scrypt runs at once; past
//               `password_check_wait` RESOURCE_EXHAUSTED "login_busy".
//   Refresh     the bearer token in metadata; refused "session_expired" once
//               `session_max_lifetime` has passed since authenticated_at; the
//               member is re-read so removed or deactivated members get
//               UNAUTHENTICATED "member_inactive", and the new token carries
//               current roles and the same authenticated_at, and expires at
//               authenticated_at + session_max_lifetime at the latest. The presented
//               token is revoked with the ALLOW event (ACTION_LOGIN).
//   ChangePassword  no token needed: the current password proves who calls,
//               checked, throttled, locked and timed exactly like Login.
//               Audited ACTION_CHANGE_PASSWORD (an ALLOW commits with the new
//               hash and the revocation of every earlier token of the member);
//               answers a fresh token.
//   Logout      revokes the presented token (ACTION_LOGOUT). A second Logout
//               with it answers "token_revoked", like any other call.
//   UnlockAccount  ends a member's lock (ACTION_UNLOCK_ACCOUNT): an admin, or
//               a coordinator of the member's service for a member holding
//               neither ADMIN nor AUDITOR; nobody for themselves.
//   PublicKeys  no token needed, not audited (public data).
//
// A one-time password (AddMember, ResetPassword) opens no session: Login
// answers FAILED_PRECONDITION "password_change_required" while it is valid,
// kInvalidCredentialsMessage once it expired.
//
// Thread-safe. Nothing is owned; every pointer must outlive the service.
// `issuer` and `verifier` must use `key_ring`, the same audience and
// `revocations`; `db` is the database of `audit` and `revocations`.
class AuthServiceImpl final : public v1::AuthService::CallbackService {
 public:
  struct Options {
    // Refresh refuses once this long has passed since the member last gave
    // their password (config auth.session_max_lifetime).
    absl::Duration session_max_lifetime = absl::Hours(12);
    // scrypt runs at once; < 1: 2 x cores (auth.max_concurrent_password_checks).
    int max_concurrent_password_checks = 0;
    absl::Duration password_check_wait = absl::Seconds(2);
    auth_store::LoginLocks::Limits locks;
    auth_store::PeerThrottle::Limits peers;
    // Services whose client certificate may name, in kClientAddressHeader,
    // the address of the person logging in through them (a console): the
    // throttle then counts that address behind the gateway, not the gateway.
    std::vector<std::string> login_gateways;
  };
  static constexpr char kClientAddressHeader[] = "x-relais-client-address";

  // What logins and sessions keep in the database.
  struct Sessions {
    storage::Database* db;
    const common::Clock* clock;
    auth_store::RevocationStore* revocations;
  };

  // `certificates` may be null (plaintext, tests).
  AuthServiceImpl(directory::CredentialSource* credentials, const auth::TokenIssuer* issuer,
                  const auth::TokenVerifier* verifier, const auth::KeyRing* key_ring,
                  audit::AuditLog* audit, Sessions sessions, Options options,
                  const rpc::PeerCertificateCheck* certificates = nullptr)
      : credentials_(credentials),
        issuer_(issuer),
        verifier_(verifier),
        key_ring_(key_ring),
        gate_(verifier, audit, sessions.clock, certificates),
        sessions_(sessions),
        options_(options),
        locks_(sessions.db, options.locks),
        throttle_(sessions.db, options.peers),
        password_slots_(options.max_concurrent_password_checks) {}

  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* ctx, const v1::LoginRequest* request,
                                  v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* ctx,
                                    const v1::RefreshRequest* request,
                                    v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* PublicKeys(grpc::CallbackServerContext* ctx,
                                       const v1::PublicKeysRequest* request,
                                       v1::PublicKeysResponse* reply) override;
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* ctx,
                                           const v1::ChangePasswordRequest* request,
                                           v1::LoginResponse* reply) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* ctx,
                                   const v1::LogoutRequest* request,
                                   v1::LogoutResponse* reply) override;
  grpc::ServerUnaryReactor* UnlockAccount(grpc::CallbackServerContext* ctx,
                                          const v1::UnlockAccountRequest* request,
                                          v1::UnlockAccountResponse* reply) override;

  // The scrypt limiter, for tests that hold its slots.
  PasswordSlots& password_slots() { return password_slots_; }

 private:
  struct Issued {
    directory::MemberInfo member;
    std::string token;
    absl::Time expires_at;
  };

  // What checking one login's credentials found.
  struct Checked {
    absl::Status status;                          // OK, or what to answer
    std::optional<directory::MemberInfo> member;  // set when the login exists
    int64_t generation = 0;                       // the member's, read before `member`
    std::string password_hash;                    // what the password was checked against
    bool must_change = false;                     // a one-time password, still valid
  };
  // Looks the login up and checks the password (scrypt, also for an unknown
  // login), holding a password slot.
  Checked CheckCredentials(const std::string& login, const std::string& password) const;
  // The throttle's key for this call: the client address a trusted gateway
  // names (Options::login_gateways), else the peer's address.
  std::string ThrottleKey(const grpc::CallbackServerContext& ctx,
                          const rpc::PeerIdentity& peer) const;
  // What Login and ChangePassword share: the peer throttle, the account's
  // reservation, the password check and the certificate's service. The member
  // whose password it is, or the answer to give, already audited on `event`.
  absl::StatusOr<Checked> Attempt(const std::string& login, const std::string& password,
                                  const rpc::PeerIdentity& peer, const std::string& peer_key,
                                  audit::EventInput& event);
  // Everything ChangePassword does once the current password checked out.
  absl::StatusOr<Issued> ReplacePassword(const Checked& checked, const std::string& new_password,
                                         audit::EventInput& event);
  // The reply of Login, ChangePassword and Refresh.
  static void FillReply(Issued issued, v1::LoginResponse* reply);
  // A token for `member` with its current roles, stamped with `generation`
  // (read before the member was), expiring at the session cap at the latest.
  absl::StatusOr<Issued> IssueFor(directory::MemberInfo member, absl::Time authenticated_at,
                                  int64_t generation) const;
  // Audits the lock a failed login just caused (ACTION_LOCK_ACCOUNT).
  absl::Status AuditLock(const audit::EventInput& login_event,
                         const std::optional<directory::MemberInfo>& member);

  directory::CredentialSource* const credentials_;
  const auth::TokenIssuer* const issuer_;
  const auth::TokenVerifier* const verifier_;
  const auth::KeyRing* const key_ring_;
  rpc::CallGate gate_;  // authenticates Refresh, audits denials
  const Sessions sessions_;
  const Options options_;
  auth_store::LoginLocks locks_;
  auth_store::PeerThrottle throttle_;
  mutable PasswordSlots password_slots_;
};

}  // namespace relais::auth_service

#endif  // RELAIS_SERVICES_AUTH_AUTH_SERVICE_H_
