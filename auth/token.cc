#include "auth/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "auth/base64url.h"
#include "auth/claims.pb.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kTokenPrefix = "v1.";
constexpr absl::string_view kSignatureContext = "relais-token-v1.";
constexpr size_t kTokenIdBytes = 16;
constexpr int kIssueAttempts = 3;

absl::Status Reject(absl::string_view reason, absl::string_view explanation) {
  return common::Unauthenticated(reason, explanation);
}

// Fetched once: an implicit fetch per digest costs a provider look-up.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// proto3 string fields must hold UTF-8; protobuf would log and the verifier
// would fail to parse, so Issue refuses such input up front.
bool IsValidUtf8(absl::string_view s) {
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char lead = static_cast<unsigned char>(s[i]);
    size_t length;
    uint32_t code_point;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code_point = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

absl::string_view TokenRejectionReason(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) return "";
  const std::string carried = common::ReasonOf(status);
  for (absl::string_view reason :
       {kTokenMissing, kTokenMalformed, kTokenUnknownKey, kTokenSignatureInvalid, kTokenExpired,
        kTokenWrongAudience, kTokenRevoked}) {
    if (carried == reason) return reason;
  }
  return "";
}

bool Principal::HasRole(absl::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

TokenIssuer::TokenIssuer(const KeyRing* key_ring, const common::Clock* clock, std::string audience,
                         absl::Duration lifetime, const RevocationList* revocations)
    : key_ring_(key_ring),
      clock_(clock),
      audience_(std::move(audience)),
      lifetime_(lifetime),
      revocations_(revocations) {}

absl::StatusOr<std::string> TokenIssuer::Issue(absl::string_view member_id,
                                               absl::string_view service_id,
                                               const std::vector<std::string>& roles,
                                               absl::Time authenticated_at,
                                               std::optional<int64_t> generation,
                                               absl::Time not_after) const {
  if (member_id.empty() || service_id.empty()) {
    return absl::InvalidArgumentError("member_id and service_id are required");
  }
  bool utf8 = IsValidUtf8(member_id) && IsValidUtf8(service_id) && IsValidUtf8(audience_);
  for (const std::string& role : roles) utf8 = utf8 && IsValidUtf8(role);
  if (!utf8) return absl::InvalidArgumentError("token fields must be UTF-8");
  const int64_t lifetime_seconds = absl::ToInt64Seconds(lifetime_);
  if (lifetime_seconds < 1) {
    return absl::InvalidArgumentError("token lifetime must be >= 1 second");
  }

  if (!generation.has_value() && revocations_ != nullptr) {
    ASSIGN_OR_RETURN(generation, revocations_->Generation(member_id));
  }

  unsigned char token_id[kTokenIdBytes];
  if (RAND_bytes(token_id, sizeof(token_id)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  TokenClaims claims;
  claims.set_member_id(std::string(member_id));
  claims.set_service_id(std::string(service_id));
  for (const std::string& role : roles) claims.add_roles(role);
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  claims.set_issued_at_unix(now);
  claims.set_authenticated_at_unix(
      authenticated_at == absl::InfinitePast() ? now : absl::ToUnixSeconds(authenticated_at));
  int64_t expires_at = now + lifetime_seconds;
  if (not_after != absl::InfiniteFuture()) {
    expires_at = std::min(expires_at, absl::ToUnixSeconds(not_after));
  }
  if (expires_at <= now) {
    return absl::InvalidArgumentError("the token would expire as it is issued");
  }
  claims.set_expires_at_unix(expires_at);
  claims.set_audience(audience_);
  claims.set_generation(generation.value_or(0));
  claims.set_token_id(absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(token_id), sizeof(token_id))));

  // The key id is part of the signed claims, so it must be chosen before
  // signing; if a rotation slips in between, sign again with the new key.
  for (int attempt = 0; attempt < kIssueAttempts; ++attempt) {
    claims.set_key_id(key_ring_->CurrentKeyId());
    std::string payload;
    if (!claims.SerializeToString(&payload)) {
      return absl::InternalError("cannot serialize token claims");
    }
    ASSIGN_OR_RETURN(auto signed_by,
                     key_ring_->SignWithCurrent(absl::StrCat(kSignatureContext, payload)));
    if (signed_by.first != claims.key_id()) continue;
    std::string token = absl::StrCat(kTokenPrefix, internal::EncodeBase64Url(payload), ".",
                                     internal::EncodeBase64Url(signed_by.second));
    if (token.size() > kMaxTokenBytes) {
      return absl::InvalidArgumentError("token would exceed 4 KiB");
    }
    return token;
  }
  return absl::UnavailableError("signing key kept rotating; retry");
}

TokenVerifier::TokenVerifier(const KeyRing* key_ring, const common::Clock* clock,
                             std::string audience, const RevocationList* revocations,
                             size_t max_cached)
    : key_ring_(key_ring),
      clock_(clock),
      audience_(std::move(audience)),
      revocations_(revocations),
      max_per_shard_((max_cached + kShards - 1) / kShards),
      shards_(std::make_unique<Shard[]>(kShards)) {}

absl::StatusOr<Principal> TokenVerifier::Verify(absl::string_view token) const {
  if (token.empty()) return Reject(kTokenMissing, "no bearer token presented");
  if (token.size() > kMaxTokenBytes) {
    return Reject(kTokenMalformed, "token is longer than 4 KiB");
  }
  Digest digest;
  const bool hashed =
      max_per_shard_ > 0 && Sha256() != nullptr &&
      EVP_Digest(token.data(), token.size(), digest.data(), nullptr, Sha256(), nullptr) == 1;
  if (hashed) {
    Shard& shard = shards_[digest[0] % kShards];
    std::optional<Remembered> remembered;
    {
      absl::MutexLock lock(&shard.mu);
      auto it = shard.tokens.find(digest);
      if (it != shard.tokens.end()) remembered = it->second;
    }
    if (remembered.has_value()) {
      const absl::Status valid = CheckStillValid(remembered->principal, remembered->key_id);
      if (!valid.ok()) {
        absl::MutexLock lock(&shard.mu);
        shard.tokens.erase(digest);
        return valid;
      }
      return std::move(remembered->principal);
    }
  }
  std::string key_id;
  ASSIGN_OR_RETURN(Principal principal, VerifySignedToken(token, &key_id));
  RETURN_IF_ERROR(CheckStillValid(principal, key_id));
  if (hashed) Remember(digest, principal, std::move(key_id));
  return principal;
}

absl::StatusOr<Principal> TokenVerifier::VerifySignedToken(absl::string_view token,
                                                           std::string* key_id) const {
  if (!absl::ConsumePrefix(&token, kTokenPrefix)) {
    return Reject(kTokenMalformed, "unknown token version");
  }
  const size_t dot = token.find('.');
  if (dot == absl::string_view::npos) {
    return Reject(kTokenMalformed, "token has no signature part");
  }
  const std::optional<std::string> payload = internal::DecodeBase64Url(token.substr(0, dot));
  const std::optional<std::string> signature = internal::DecodeBase64Url(token.substr(dot + 1));
  if (!payload || payload->empty() || !signature) {
    return Reject(kTokenMalformed, "token is not valid base64url");
  }
  if (signature->size() != kEd25519SignatureBytes) {
    return Reject(kTokenMalformed, "signature has the wrong length");
  }
  TokenClaims claims;
  if (!claims.ParseFromString(*payload)) {
    return Reject(kTokenMalformed, "token claims do not parse");
  }
  if (claims.member_id().empty() || claims.service_id().empty() || claims.key_id().empty()) {
    return Reject(kTokenMalformed, "token lacks member, service or key id");
  }
  if (!key_ring_->HasKey(claims.key_id())) {
    return Reject(kTokenUnknownKey, "token was signed by an unknown key");
  }
  if (!key_ring_->Verify(claims.key_id(), absl::StrCat(kSignatureContext, *payload), *signature)) {
    return Reject(kTokenSignatureInvalid, "token signature does not verify");
  }
  // Claims are authentic from here on.
  if (claims.audience() != audience_) {
    return Reject(kTokenWrongAudience, "token was issued for another audience");
  }
  *key_id = std::move(*claims.mutable_key_id());
  Principal principal;
  principal.member_id = std::move(*claims.mutable_member_id());
  principal.service_id = std::move(*claims.mutable_service_id());
  principal.roles.assign(claims.roles().begin(), claims.roles().end());
  principal.issued_at = absl::FromUnixSeconds(claims.issued_at_unix());
  principal.expires_at = absl::FromUnixSeconds(claims.expires_at_unix());
  principal.authenticated_at = claims.authenticated_at_unix() == 0
                                   ? principal.issued_at
                                   : absl::FromUnixSeconds(claims.authenticated_at_unix());
  principal.token_id = std::move(*claims.mutable_token_id());
  principal.generation = claims.generation();
  return principal;
}

absl::Status TokenVerifier::CheckStillValid(const Principal& principal,
                                            absl::string_view key_id) const {
  // A key retired since the token was remembered no longer vouches for it.
  if (!key_ring_->HasKey(key_id)) {
    return Reject(kTokenUnknownKey, "token was signed by an unknown key");
  }
  const absl::Time now = clock_->Now();
  if (principal.issued_at > now + kMaxIssuedAtSkew) {
    return Reject(kTokenMalformed, "token is issued in the future");
  }
  if (now >= principal.expires_at) return Reject(kTokenExpired, "token has expired");
  if (revocations_ != nullptr) {
    RETURN_IF_ERROR(revocations_->CheckNotRevoked(principal.member_id, principal.token_id,
                                                  principal.generation));
  }
  return absl::OkStatus();
}

void TokenVerifier::Remember(const Digest& digest, const Principal& principal,
                             std::string key_id) const {
  Shard& shard = shards_[digest[0] % kShards];
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&shard.mu);
  if (shard.tokens.size() >= max_per_shard_) {
    absl::erase_if(shard.tokens,
                   [now](const auto& entry) { return now >= entry.second.principal.expires_at; });
  }
  // Still full of live tokens: forget any one; it verifies again next time.
  if (shard.tokens.size() >= max_per_shard_) shard.tokens.erase(shard.tokens.begin());
  shard.tokens.insert_or_assign(digest, Remembered{principal, std::move(key_id)});
}

size_t TokenVerifier::cached() const {
  size_t total = 0;
  for (size_t i = 0; i < kShards; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].tokens.size();
  }
  return total;
}

}  // namespace relais::auth
