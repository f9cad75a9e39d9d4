// libFuzzer target: the bearer token parser, auth::TokenVerifier::Verify.
//
// Byte 0 picks a mode (modulo 3), the rest is its data:
//   0  the data is the token text, verified as it is;
//   1  the data is the claims: signed with the verifier's own key (an empty
//      key_id is set to that key's id first), so the checks after the
//      signature (audience, times, empty fields) are reached;
//   2  the data is "member\0service\0role\0role...": issued, then verified.
// Checked: a rejection is UNAUTHENTICATED with a token reason code and never
// quotes the token; an accepted token's principal is exactly its claims, for
// our audience, issued at most 5 minutes ahead and not expired; whatever
// Issue() accepts, Verify() accepts with the same principal.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "auth/base64url.h"
#include "auth/claims.pb.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/clock.h"

namespace relais::fuzz {
namespace {

constexpr char kAudience[] = "relais";

[[noreturn]] void Finding(absl::string_view what, absl::string_view detail) {
  std::fprintf(stderr, "\n==== FUZZ FINDING: %.*s\n     %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

struct Fixture {
  common::FakeClock clock{
      absl::FromCivil(absl::CivilSecond(2026, 11, 25, 9, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<auth::KeyRing> keys = auth::KeyRing::InMemory();
  auth::TokenVerifier verifier{keys.get(), &clock, kAudience};
  auth::TokenIssuer issuer{keys.get(), &clock, kAudience};
};

Fixture& F() {
  static Fixture* const fixture = new Fixture();
  return *fixture;
}

// Verifies `token` and checks the verdict; `claims`, if known, must be what
// an accepted token yields.
void CheckVerify(const std::string& token, const auth::TokenClaims* claims) {
  absl::StatusOr<auth::Principal> principal = F().verifier.Verify(token);
  if (!principal.ok()) {
    if (auth::TokenRejectionReason(principal.status()).empty()) {
      Finding("a rejection without a token reason code", principal.status().ToString());
    }
    // Every rejection message is fixed text under 80 characters, so a longer
    // match can only be a quote (a real token is ~150). A shorter input can
    // spell the text itself: the fuzzer found "token_malformed: ".
    if (token.size() > 80 && absl::StrContains(principal.status().message(), token)) {
      Finding("a rejection quotes the token", principal.status().ToString());
    }
    return;
  }
  if (principal->member_id.empty() || principal->service_id.empty()) {
    Finding("an accepted token without member or service", token);
  }
  const absl::Time now = F().clock.Now();
  if (principal->expires_at <= now) Finding("an expired token was accepted", token);
  if (claims == nullptr) return;  // unsigned by us: acceptance would be a forgery
  if (claims->audience() != kAudience) Finding("a token for another audience was accepted", token);
  if (absl::FromUnixSeconds(claims->issued_at_unix()) > now + auth::kMaxIssuedAtSkew) {
    Finding("a token issued in the future was accepted", token);
  }
  if (principal->member_id != claims->member_id() ||
      principal->service_id != claims->service_id() || principal->token_id != claims->token_id() ||
      std::vector<std::string>(claims->roles().begin(), claims->roles().end()) !=
          principal->roles) {
    Finding("the principal differs from the signed claims", token);
  }
}

}  // namespace
}  // namespace relais::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relais;
  using namespace relais::fuzz;
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      absl::StatusOr<auth::Principal> principal = F().verifier.Verify(rest);
      // Random bytes cannot carry a valid signature of a fresh in-memory key.
      if (principal.ok()) Finding("an unsigned token was accepted", rest);
      CheckVerify(rest, nullptr);
      break;
    }
    case 1: {
      auth::TokenClaims claims;
      std::string payload = rest;
      const bool parsed = claims.ParseFromString(rest);
      if (parsed && claims.key_id().empty()) {
        claims.set_key_id(F().keys->CurrentKeyId());
        payload = claims.SerializeAsString();
      }
      absl::StatusOr<std::pair<std::string, std::string>> signed_by =
          F().keys->SignWithCurrent(absl::StrCat("relais-token-v1.", payload));
      if (!signed_by.ok()) Finding("signing failed", signed_by.status().ToString());
      const std::string token = absl::StrCat("v1.", auth::internal::EncodeBase64Url(payload), ".",
                                             auth::internal::EncodeBase64Url(signed_by->second));
      CheckVerify(token, parsed ? &claims : nullptr);
      break;
    }
    default: {
      std::vector<std::string> parts = absl::StrSplit(rest, absl::ByChar('\0'));
      while (parts.size() < 2) parts.emplace_back();
      const std::vector<std::string> roles(parts.begin() + 2, parts.end());
      absl::StatusOr<std::string> token = F().issuer.Issue(parts[0], parts[1], roles);
      if (!token.ok()) {
        if (!absl::IsInvalidArgument(token.status())) {
          Finding("Issue failed other than InvalidArgument", token.status().ToString());
        }
        break;
      }
      absl::StatusOr<auth::Principal> principal = F().verifier.Verify(*token);
      if (!principal.ok()) {
        Finding("a token Issue() made does not verify", principal.status().ToString());
      }
      if (principal->member_id != parts[0] || principal->service_id != parts[1] ||
          principal->roles != roles) {
        Finding("an issued token verifies to another principal", *token);
      }
      break;
    }
  }
  return 0;
}
