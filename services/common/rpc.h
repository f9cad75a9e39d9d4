#ifndef RELAIS_SERVICES_COMMON_RPC_H_
#define RELAIS_SERVICES_COMMON_RPC_H_

// What every gRPC service of relaisd shares: stable reason codes, the single
// absl -> gRPC status conversion, and authenticating a call (audited on failure).

#include <exception>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "access/roles.h"
#include "auth/token.h"
#include "common/clock.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/common.pb.h"
#include "services/audit/audit_log.h"
#include "services/common/call_executor.h"
#include "storage/database.h"

namespace relais::rpc {

// The status vocabulary of common/reason.h and common/proto_time.h, under the
// names handlers have used. Transitional: /work/wt/callpath-renames.sh moves
// callers to the common:: names; remove these once no caller is left.
using access::RoleFromName;
using access::RoleName;
using common::CheckId;
using common::CheckText;
using common::FieldOf;
using common::FromProto;
using common::InvalidField;
using common::kMaxIdLength;
using common::kMaxReasonLength;
using common::NotFound;
using common::Precondition;
using common::ReasonOf;
using common::TimeFromRequest;
using common::ToProto;

// "no_active_accompaniment" for ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT.
std::string ReasonCode(v1::AccessReason reason);

// Statuses carrying an access reason (common/reason.h: the reason travels as a
// payload, the message reads "<reason>: <explanation>"), audited as denials.
absl::Status Denied(v1::AccessReason reason, absl::string_view explanation);
// RESOURCE_EXHAUSTED with an access reason (e.g. rate_limited).
absl::Status Exhausted(v1::AccessReason reason, absl::string_view explanation);
// UNAUTHENTICATED with an access reason (e.g. certificate_revoked).
absl::Status Unauthenticated(v1::AccessReason reason, absl::string_view explanation);

// The one conversion to gRPC. INTERNAL/UNKNOWN/DATA_LOSS details are logged and
// replaced by a generic message; every error carries an ErrorDetail holding
// common::ReasonOf() and common::FieldOf().
grpc::Status ToGrpc(const absl::Status& status);

// Finishes a unary callback call with `status`.
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& status);

// Who is calling, once authenticated.
struct Caller {
  auth::Principal principal;
  std::string request_id;
  std::string client_identity;

  const std::string& member_id() const { return principal.member_id; }
  const std::string& service_id() const { return principal.service_id; }
  bool HasRole(v1::Role role) const;
  std::string RolesString() const;
};

// An audit event pre-filled with the caller and the action.
audit::EventInput EventFor(const Caller& caller, v1::Action action);

// Who is at the other end of the connection, as the transport says.
struct PeerIdentity {
  // True on a TLS connection. relaisd's TLS credentials require and verify a
  // client certificate (host::MutualTls13ServerCredentials), so the names
  // below come from a certificate the deployment's CA issued.
  bool tls = false;
  // The service the client certificate names: its Common Name, else its first
  // DNS, else its first URI subject alternative name. Empty if none or not TLS.
  std::string certificate_service_id;
  // For audit: "cn=<name>" ("dns=", "uri=", or "cert=<none>") over TLS, printable
  // ASCII and at most 200 bytes; the peer address ("ipv4:127.0.0.1:5678")
  // over plaintext or the in-process channel.
  std::string client_identity;
};
PeerIdentity IdentifyPeer(const grpc::ServerContextBase& ctx);

// The audit record of one call: handlers fill ids into `event`; a handler that
// appended the ALLOW event itself (inside its transaction) sets `recorded`
// after the transaction committed, so Serve() does not audit twice.
struct CallAudit {
  audit::EventInput event;
  bool recorded = false;
};

// How recent a login must be for an irreversible or bulk action (step-up).
inline constexpr absl::Duration kStepUpWindow = absl::Minutes(5);

// Says whether the client certificate of a call may still be used (relaisd:
// host::TlsMaterial, against the deployment's CRL). Thread-safe.
class PeerCertificateCheck {
 public:
  virtual ~PeerCertificateCheck() = default;
  // OK, or UNAUTHENTICATED "certificate_revoked".
  virtual absl::Status Check(const grpc::ServerContextBase& ctx) const = 0;
};

// Authenticates calls and audits every refusal. Thread-safe. Nothing is owned;
// `clock` (null: the wall clock) must be the token verifier's; `certificates`
// may be null (plaintext, tests).
class CallGate {
 public:
  CallGate(const auth::TokenVerifier* verifier, audit::AuditLog* audit,
           const common::Clock* clock = nullptr, const PeerCertificateCheck* certificates = nullptr)
      : verifier_(verifier),
        audit_(audit),
        clock_(clock != nullptr ? clock : &common::RealClock()),
        certificates_(certificates) {}

  // A revoked client certificate (see PeerCertificateCheck) is refused first,
  // UNAUTHENTICATED "certificate_revoked", audited with the token's actor if
  // the token verifies. Then verifies the bearer token. On failure appends a DENY event for
  // `action` and returns UNAUTHENTICATED with the token's reason code. Over mutual TLS the client
  // certificate must name the token's service: otherwise PERMISSION_DENIED
  // "certificate_service_mismatch", audited with the token's actor. The caller's
  // client_identity is IdentifyPeer()'s. If a denial cannot be audited the call
  // fails with UNAVAILABLE (the audit path fails closed).
  absl::StatusOr<Caller> Authenticate(grpc::CallbackServerContext* ctx, v1::Action action,
                                      absl::string_view youth_id = "");
  // The same checks, in the same order, with the refusal returned but not
  // audited: only for calls that read and write nothing
  // (DiagnosticsService.Echo).
  absl::StatusOr<Caller> AuthenticateUnaudited(const grpc::CallbackServerContext& ctx) const;

  // Rule 1 (role): ok if the caller holds a role that the role table
  // (access/roles.h) admits for `method` ("Service.Method"); otherwise
  // PERMISSION_DENIED role_not_permitted, which Serve() audits like any denial.
  absl::Status RequireRole(const Caller& caller, absl::string_view method);

  // The certificate check alone, for calls that take no token (Login): OK or
  // "certificate_revoked", not audited here.
  absl::Status CheckCertificate(const grpc::ServerContextBase& ctx) const;
  // Step-up for irreversible or bulk actions (erasure approval, full export,
  // backup, role changes, password resets): ok if the caller proved their
  // password (Login or ChangePassword, not Refresh) within kStepUpWindow;
  // otherwise PERMISSION_DENIED reauthentication_required, which Serve()
  // audits like any denial. The client logs in again and retries.
  absl::Status RequireRecentLogin(const Caller& caller) const;

  // A refusal of the caller's credentials found after Authenticate() (a
  // revocation check completed late, see ServeNow): audited as Authenticate()
  // audits one, without the principal. Returns `refusal`, or UNAVAILABLE.
  absl::Status AuditLateRefusal(const grpc::CallbackServerContext& ctx,
                                const absl::StatusOr<Caller>& caller, v1::Action action,
                                const absl::Status& refusal);

  // Appends a DENY event for `status` (its reason code) in its own transaction.
  // Returns `status`, or UNAVAILABLE if it could not be audited.
  absl::Status AuditDenial(audit::EventInput event, const absl::Status& status);

  audit::AuditLog* audit() const { return audit_; }

  // Where Serve() runs handler bodies (not owned; must outlive every call);
  // null, the default: on the calling thread.
  void set_executor(CallExecutor* executor) { executor_ = executor; }
  CallExecutor* executor() const { return executor_; }

 private:
  struct Checked {
    Caller caller;  // as far as it is known
    absl::Status refusal;
  };
  Checked CheckCall(const grpc::CallbackServerContext& ctx) const;

  const auth::TokenVerifier* verifier_;
  audit::AuditLog* audit_;
  const common::Clock* clock_;
  const PeerCertificateCheck* certificates_;
  CallExecutor* executor_ = nullptr;
};

// INTERNAL for an exception a handler let escape; logs its description (which
// never holds request content in this code base).
absl::Status UncaughtException(absl::string_view what);

// RESOURCE_EXHAUSTED "server_busy": the executor's queue is full.
absl::Status ServerBusy();

// OK while a call is still worth working on; CANCELLED once the client went
// away, DEADLINE_EXCEEDED ("deadline_exceeded: ...") once its deadline has
// passed. Long handlers call it before each expensive step (a batch of reads,
// a page of an export) so that abandoned work stops early.
absl::Status CheckCallAlive(grpc::CallbackServerContext* ctx);

// Serve()'s work on the thread that runs it: authenticates, runs the body and
// audits its failure.
template <typename Body>
absl::Status ServeNow(CallGate& gate, grpc::CallbackServerContext* ctx, v1::Action action,
                      Body& body) {
  absl::StatusOr<Caller> caller = absl::UnknownError("not authenticated");
  std::optional<CallAudit> call;
  absl::Status status;
  absl::Status late;
  {
    // The token's revocation check and the body's reads share one snapshot
    // and one read transaction, up to the call's first write (its audit
    // event). The check's answer is read with the body's first reads and
    // guards what the call does: every write waits for it, and so does the
    // answer (storage::Database::ReadDeferred).
    storage::Database::ReadTogether reads(gate.audit() != nullptr ? gate.audit()->database()
                                                                  : nullptr);
    caller = gate.Authenticate(ctx, action);
    status = caller.status();
    if (caller.ok()) {
      call.emplace(CallAudit{EventFor(*caller, action)});
      // The last resort: an exception (e.g. bad_alloc) unwinds the body's
      // transaction and answers a generic INTERNAL, audited, never a crash.
      try {
        status = body(*caller, *call);
      } catch (const std::exception& e) {
        status = UncaughtException(e.what());
      } catch (...) {
        status = UncaughtException("not a std::exception");
      }
    }
    late = reads.Settle();
  }
  // A token refused late (revoked) is answered and audited as if refused at
  // the door: whatever the body did is not the caller's answer, and it wrote
  // nothing (its writes waited for this verdict).
  if (!late.ok()) return gate.AuditLateRefusal(*ctx, caller, action, late);
  if (call.has_value() && !status.ok() && !call->recorded) {
    status = gate.AuditDenial(call->event, status);
  }
  return status;
}

// Runs one audited unary call: authenticates, runs `body(const Caller&,
// CallAudit&) -> absl::Status`, and if it failed without recording an event,
// audits the denial with its reason code. Every call thus leaves exactly one
// event for the call itself (listings may add one per entry).
//
// With the gate's executor the body runs there, after Serve() returned: it
// must capture by value (the handler's parameters are gone by then). A call
// still queued when its deadline passes or its client leaves is answered
// without being started, and one the full queue cannot take is answered
// RESOURCE_EXHAUSTED "server_busy"; neither touched any data, so neither is an
// access decision to audit.
template <typename Body>
grpc::ServerUnaryReactor* Serve(CallGate& gate, grpc::CallbackServerContext* ctx, v1::Action action,
                                Body&& body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  CallExecutor* executor = gate.executor();
  if (executor == nullptr) {
    reactor->Finish(ToGrpc(ServeNow(gate, ctx, action, body)));
    return reactor;
  }
  const bool queued =
      executor->TrySubmit([&gate, ctx, action, reactor, body = std::forward<Body>(body)]() mutable {
        absl::Status status = CheckCallAlive(ctx);
        if (status.ok()) status = ServeNow(gate, ctx, action, body);
        reactor->Finish(ToGrpc(status));
      });
  if (!queued) reactor->Finish(ToGrpc(ServerBusy()));
  return reactor;
}

}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_RPC_H_
