#ifndef RELAIS_AUTH_AUTHENTICATOR_H_
#define RELAIS_AUTH_AUTHENTICATOR_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/string_ref.h>

#include <map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/token.h"

namespace relais::auth {

// gRPC metadata key carrying "Bearer <token>" (gRPC lowercases keys).
inline constexpr absl::string_view kAuthorizationMetadataKey = "authorization";

// Authenticates a call from its client metadata: exactly one
// "authorization: Bearer <token>" entry (scheme matched case-insensitively,
// one space), whose token `verifier` accepts. Returns the principal, or
// Unauthenticated with a token.h reason code:
//   token_missing    no authorization entry, or "Bearer" with no token
//   token_malformed  several entries, or a scheme other than Bearer
//   ...              anything TokenVerifier::Verify returns.
absl::StatusOr<Principal> AuthenticateMetadata(
    const TokenVerifier& verifier,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// AuthenticateMetadata over `context.client_metadata()`.
absl::StatusOr<Principal> AuthenticateContext(const TokenVerifier& verifier,
                                              const grpc::ServerContextBase& context);

}  // namespace relais::auth

#endif  // RELAIS_AUTH_AUTHENTICATOR_H_
