#ifndef RELAIS_TOOLS_RELAISCTL_CLIENT_H_
#define RELAIS_TOOLS_RELAISCTL_CLIENT_H_

// relaisctl's side of the wire: the channel to relaisd (mutual TLS, or
// plaintext to a loopback development server), the token file, and the one
// mapping from errors to what the user sees and to exit statuses.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/inbox.grpc.pb.h"
#include "relais/v1/partnership.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"

namespace relais::ctl {

// Exit statuses scripts can rely on (listed by `relaisctl --help`).
inline constexpr int kExitOk = 0;
// The check ran and failed (audit verify), or a local file could not be written.
inline constexpr int kExitFailed = 1;
// Bad command, flag or argument, or a file named on the command line that
// cannot be read; nothing was sent.
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnauthenticated = 3;   // log in (again)
inline constexpr int kExitPermissionDenied = 4;  // the access rule said no
inline constexpr int kExitNotFound = 5;
// INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS: the
// request cannot succeed as it is; do not retry it unchanged.
inline constexpr int kExitInvalid = 6;
// UNAVAILABLE, DEADLINE_EXCEEDED and every other server error: may be retried.
inline constexpr int kExitServer = 7;

int ExitCodeFor(absl::StatusCode code);

// A failed call as relaisctl reports it.
struct ErrorReport {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string reason;   // stable snake_case code ("role_not_permitted")
  std::string message;  // the explanation, without the reason prefix
};
// From a relaisd error: the reason and field of its ErrorDetail (see
// services/common/rpc.h); a status without one (e.g. from the transport) gets
// its code's name in lower case as the reason.
ErrorReport Describe(const grpc::Status& status);
// From a local error whose message follows relaisd's "<reason>: <text>".
ErrorReport Describe(const absl::Status& status);
// "error: PERMISSION_DENIED role_not_permitted: this action needs the role auditor"
std::string ErrorLine(const ErrorReport& error);
// Prints ErrorLine (and for exit status 3 how to log in) to stderr; returns
// the exit status. `request_id`, when given, is printed too: it finds the
// call's audit event.
int Report(const ErrorReport& error, absl::string_view request_id = "");

struct ConnectionOptions {
  std::string server;
  bool insecure = false;
  std::string ca_file, cert_file, key_file;  // PEM paths (TLS)
  std::string server_name;                   // TLS name override; "" = the host of `server`
  absl::Duration timeout = absl::Seconds(30);
};

// From the connection flags, TLS paths defaulting to $RELAIS_CA, $RELAIS_CERT
// and $RELAIS_KEY. InvalidArgument (a usage error) when a TLS path is missing
// or --insecure is used with a server that is not a loopback address.
absl::StatusOr<ConnectionOptions> ConnectionFromFlags();
// 127.x.x.x, localhost, [::1] (with or without a port), or a unix: socket.
bool IsLoopback(absl::string_view server);
// InvalidArgument if a PEM file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& options);

// The token file: $RELAIS_TOKEN_FILE, else ~/.config/relais/token.
std::string TokenPath();
// Writes the token atomically with mode 0600, creating missing directories
// with mode 0700 (and tightening ~/.config/relais to 0700). Internal on I/O errors.
absl::Status SaveToken(const std::string& path, absl::string_view token);
// The token in `path`. UNAUTHENTICATED "token_missing" if there is none;
// "token_file_insecure" if the file is not a regular file owned by this user
// with no group or other permission bits: a token others could read is not used.
absl::StatusOr<std::string> LoadToken(const std::string& path);

// Stubs over one channel, and the per-call metadata. Not thread-safe.
class Client {
 public:
  Client(std::shared_ptr<grpc::Channel> channel, std::string token, absl::Duration timeout);

  // A context for one call: `authorization: Bearer <token>` (when there is a
  // token), a fresh `x-request-id`, and the deadline (none if `stream`).
  std::unique_ptr<grpc::ClientContext> NewContext(bool stream = false);
  // The x-request-id of the last context made.
  const std::string& request_id() const { return request_id_; }

  v1::AuthService::Stub& auth() { return *auth_; }
  v1::RecordService::Stub& record() { return *record_; }
  v1::CareService::Stub& care() { return *care_; }
  v1::AuditService::Stub& audit() { return *audit_; }
  v1::PartnershipService::Stub& partnership() { return *partnership_; }
  v1::InboxService::Stub& inbox() { return *inbox_; }
  // For services without a stub here (AdminService).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
  absl::Duration timeout_;
  std::string request_id_;
  std::unique_ptr<v1::AuthService::Stub> auth_;
  std::unique_ptr<v1::RecordService::Stub> record_;
  std::unique_ptr<v1::CareService::Stub> care_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<v1::PartnershipService::Stub> partnership_;
  std::unique_ptr<v1::InboxService::Stub> inbox_;
};

}  // namespace relais::ctl

#endif  // RELAIS_TOOLS_RELAISCTL_CLIENT_H_
