#include "auth/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "auth/base64url.h"
#include "auth/common_passwords.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kScheme = "scrypt";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// Bounds accepted when verifying, so stored hashes may later grow.
constexpr size_t kMinSaltBytes = 16;
constexpr size_t kMaxSaltBytes = 64;
constexpr size_t kMinHashBytes = 32;
constexpr size_t kMaxHashBytes = 64;
constexpr uint64_t kMaxLog2N = 20;
constexpr uint64_t kMaxR = 32;
constexpr uint64_t kMaxP = 16;

// Buffer that is wiped when it goes out of scope.
class SecretBuffer {
 public:
  explicit SecretBuffer(size_t size) : bytes_(size) {}
  ~SecretBuffer() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  unsigned char* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

// Parses a canonical decimal (digits only, no sign, no leading zero, at most
// 9 digits). Stricter than absl::SimpleAtoi, which allows '+' and spaces.
std::optional<uint64_t> ParseSmallDecimal(absl::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

int Log2(uint64_t power_of_two) {
  int log = 0;
  while (power_of_two > 1) {
    power_of_two >>= 1;
    ++log;
  }
  return log;
}

// Runs scrypt into `out`. `params` must have passed ValidateScryptParams.
absl::Status Scrypt(absl::string_view password, absl::string_view salt, const ScryptParams& params,
                    SecretBuffer& out) {
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), params.n,
                     params.r, params.p, kMaxScryptMemoryBytes, out.data(), out.size()) != 1) {
    return absl::InternalError("scrypt key derivation failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateScryptParams(const ScryptParams& params) {
  const uint64_t n = params.n;
  if (n < 2 || (n & (n - 1)) != 0 || static_cast<uint64_t>(Log2(n)) > kMaxLog2N) {
    return absl::InvalidArgumentError("scrypt n must be a power of two between 2 and 2^20");
  }
  if (params.r < 1 || params.r > kMaxR || params.p < 1 || params.p > kMaxP) {
    return absl::InvalidArgumentError("scrypt r must be in [1, 32] and p in [1, 16]");
  }
  // scrypt itself requires n < 2^(16 r).
  if (static_cast<uint64_t>(Log2(n)) >= 16 * params.r) {
    return absl::InvalidArgumentError("scrypt n too large for r");
  }
  // Same accounting as OpenSSL; no overflow given the bounds above.
  const uint64_t memory = 128 * params.r * (n + 2) + 128 * params.r * params.p;
  if (memory > kMaxScryptMemoryBytes) {
    return absl::InvalidArgumentError("scrypt parameters exceed memory budget");
  }
  return absl::OkStatus();
}

const ScryptParams& FastParamsForTests() {
  static constexpr ScryptParams kFast{.n = uint64_t{1} << 10, .r = 8, .p = 1};
  return kFast;
}

absl::StatusOr<std::string> HashPassword(absl::string_view password, const ScryptParams& params) {
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError("password too long");
  }
  RETURN_IF_ERROR(ValidateScryptParams(params));

  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof(salt)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  const absl::string_view salt_view(reinterpret_cast<const char*>(salt), sizeof(salt));
  SecretBuffer hash(kHashBytes);
  RETURN_IF_ERROR(Scrypt(password, salt_view, params, hash));
  return absl::StrCat(kScheme, "$", Log2(params.n), "$", params.r, "$", params.p, "$",
                      internal::EncodeBase64Url(salt_view), "$",
                      internal::EncodeBase64Url(absl::string_view(
                          reinterpret_cast<const char*>(hash.data()), hash.size())));
}

bool VerifyPassword(absl::string_view password, absl::string_view encoded) {
  if (password.size() > kMaxPasswordBytes) return false;
  const std::vector<absl::string_view> fields = absl::StrSplit(encoded, '$');
  if (fields.size() != 6 || fields[0] != kScheme) return false;

  const std::optional<uint64_t> log2n = ParseSmallDecimal(fields[1]);
  const std::optional<uint64_t> r = ParseSmallDecimal(fields[2]);
  const std::optional<uint64_t> p = ParseSmallDecimal(fields[3]);
  // Bound log2n before shifting so the shift itself is defined.
  if (!log2n || !r || !p || *log2n < 1 || *log2n > kMaxLog2N) return false;
  const ScryptParams params{.n = uint64_t{1} << *log2n, .r = *r, .p = *p};
  if (!ValidateScryptParams(params).ok()) return false;

  const std::optional<std::string> salt = internal::DecodeBase64Url(fields[4]);
  std::optional<std::string> expected = internal::DecodeBase64Url(fields[5]);
  if (!salt || salt->size() < kMinSaltBytes || salt->size() > kMaxSaltBytes || !expected ||
      expected->size() < kMinHashBytes || expected->size() > kMaxHashBytes) {
    return false;
  }

  SecretBuffer actual(expected->size());
  bool match = false;
  if (Scrypt(password, *salt, params, actual).ok()) {
    match = CRYPTO_memcmp(actual.data(), expected->data(), actual.size()) == 0;
  }
  OPENSSL_cleanse(expected->data(), expected->size());
  return match;
}

const absl::flat_hash_set<std::string>& CommonPasswords() {
  // Built once from the list embedded at build time (common_passwords.cmake).
  static const auto* const set = [] {
    auto* out = new absl::flat_hash_set<std::string>();
    const absl::string_view text(internal::kCommonPasswordsText,
                                 internal::kCommonPasswordsTextSize);
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (line.empty() || line[0] == '#') continue;
      out->insert(absl::AsciiStrToLower(line));
    }
    return out;
  }();
  return *set;
}

bool IsCommonPassword(absl::string_view password) {
  return CommonPasswords().contains(absl::AsciiStrToLower(password));
}

size_t CommonPasswordCount() { return CommonPasswords().size(); }

PasswordVerdict CheckNewPassword(absl::string_view password) {
  size_t code_points = 0;
  for (char c : password) {
    // Count every byte that does not continue a UTF-8 sequence.
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;
  }
  if (code_points < kMinPasswordChars) {
    return {"password_too_short", "must be at least 12 characters"};
  }
  if (code_points > kMaxPasswordChars || password.size() > kMaxPasswordBytes) {
    return {"password_too_long", "must be at most 128 characters"};
  }
  if (IsCommonPassword(password)) {
    return {"password_too_common",
            "is one of the most common passwords; choose another (a passphrase of "
            "several words is easy to remember)"};
  }
  return {};
}

absl::Status CheckPasswordStrength(absl::string_view password) {
  const PasswordVerdict verdict = CheckNewPassword(password);
  if (verdict.ok()) return absl::OkStatus();
  return common::WithReason(absl::StatusCode::kInvalidArgument, verdict.reason,
                            absl::StrCat("password ", verdict.explanation));
}

absl::StatusOr<std::string> GenerateOneTimePassword() {
  constexpr absl::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
  // 26 characters of 5 bits each: 130 bits, drawn from 17 random bytes.
  unsigned char bytes[17];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  std::string out;
  out.reserve(kOneTimePasswordChars);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5 && out.size() < kOneTimePasswordChars) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return out;
}

}  // namespace relais::auth
