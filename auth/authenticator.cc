#include "auth/authenticator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/reason.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kBearerScheme = "Bearer";

absl::Status Reject(absl::string_view reason, absl::string_view explanation) {
  return common::Unauthenticated(reason, explanation);
}

}  // namespace

absl::StatusOr<Principal> AuthenticateMetadata(
    const TokenVerifier& verifier,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  const grpc::string_ref key(kAuthorizationMetadataKey.data(), kAuthorizationMetadataKey.size());
  const auto [first, last] = metadata.equal_range(key);
  if (first == last) {
    return Reject(kTokenMissing, "no authorization metadata");
  }
  if (std::next(first) != last) {
    return Reject(kTokenMalformed, "more than one authorization entry");
  }
  const absl::string_view value(first->second.data(), first->second.size());
  const absl::string_view scheme = value.substr(0, kBearerScheme.size());
  if (!absl::EqualsIgnoreCase(scheme, kBearerScheme)) {
    return Reject(kTokenMalformed, "authorization scheme is not Bearer");
  }
  absl::string_view rest = value.substr(kBearerScheme.size());
  if (rest.empty()) return Reject(kTokenMissing, "Bearer without a token");
  if (!absl::ConsumePrefix(&rest, " ")) {
    return Reject(kTokenMalformed, "authorization scheme is not Bearer");
  }
  // Empty rest falls through to Verify, which reports token_missing.
  return verifier.Verify(rest);
}

absl::StatusOr<Principal> AuthenticateContext(const TokenVerifier& verifier,
                                              const grpc::ServerContextBase& context) {
  return AuthenticateMetadata(verifier, context.client_metadata());
}

}  // namespace relais::auth
