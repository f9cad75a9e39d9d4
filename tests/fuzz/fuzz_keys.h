#ifndef RELAIS_TESTS_FUZZ_FUZZ_KEYS_H_
#define RELAIS_TESTS_FUZZ_FUZZ_KEYS_H_

// A fixed Ed25519 audit key for the export verifier's fuzz target and its
// seed corpus: the committed exports are signed with it, so the target can
// trust it and mutations start from exports that verify. Published on
// purpose; it signs nothing real and no deployment may use it.

namespace relais::fuzz {

inline constexpr char kFuzzAuditKeyId[] = "k20260101T000000.000000Z-f0220000";

inline constexpr char kFuzzAuditPrivateKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEILBqrah4eVdul53oAcQ2r8qG5FpPkXm3INPTUOTw4XeG\n"
    "-----END PRIVATE KEY-----\n";

inline constexpr char kFuzzAuditPublicKeyPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAtqASwtowW85Ut1nD5ThZodNKgvtz87l04i45hehgfmw=\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace relais::fuzz

#endif  // RELAIS_TESTS_FUZZ_FUZZ_KEYS_H_
