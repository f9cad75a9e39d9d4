#ifndef RELAIS_AUTH_SIGNING_KEY_H_
#define RELAIS_AUTH_SIGNING_KEY_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// OpenSSL's EVP_PKEY, forward-declared so this header stays OpenSSL-free.
struct evp_pkey_st;

namespace relais::auth {

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

namespace internal {
struct PkeyDeleter {
  void operator()(evp_pkey_st* key) const;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyDeleter>;
}  // namespace internal

// An Ed25519 private key with a caller-chosen id. Move-only. Const methods
// are safe to call from several threads at once.
class SigningKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. Internal if OpenSSL fails.
  static absl::StatusOr<SigningKey> Generate(std::string key_id);

  // Parses an unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY") holding an Ed25519
  // key. InvalidArgument if it does not parse or is another key type. `pem`
  // is not retained; the caller should wipe it.
  static absl::StatusOr<SigningKey> FromPrivatePem(std::string key_id, absl::string_view pem);

  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = default;

  // The private key as unencrypted PKCS#8 PEM. The result is a secret: the
  // caller must store it with owner-only permissions and wipe it after use.
  absl::StatusOr<std::string> PrivatePem() const;

  // The 32-byte raw Ed25519 public key.
  std::string PublicKeyRaw() const;

  // A 64-byte Ed25519 signature over `data` (pure Ed25519, no pre-hash).
  // Internal if OpenSSL fails.
  absl::StatusOr<std::string> Sign(absl::string_view data) const;

  const std::string& key_id() const { return key_id_; }

 private:
  SigningKey(std::string key_id, internal::PkeyPtr key);

  std::string key_id_;
  internal::PkeyPtr key_;  // never null
};

// An Ed25519 public key with its id. Move-only; const methods thread-safe.
class VerifyingKey {
 public:
  // InvalidArgument unless `raw32` is exactly 32 bytes of a valid key.
  static absl::StatusOr<VerifyingKey> FromRaw(std::string key_id, absl::string_view raw32);

  VerifyingKey(VerifyingKey&&) = default;
  VerifyingKey& operator=(VerifyingKey&&) = default;

  // True iff `signature` is a valid Ed25519 signature of `data` under this
  // key. Any error (wrong length, OpenSSL failure) is false.
  bool Verify(absl::string_view data, absl::string_view signature) const;

  // The 32-byte raw public key.
  std::string Raw() const;

  const std::string& key_id() const { return key_id_; }

 private:
  VerifyingKey(std::string key_id, internal::PkeyPtr key);

  std::string key_id_;
  internal::PkeyPtr key_;  // never null
};

}  // namespace relais::auth

#endif  // RELAIS_AUTH_SIGNING_KEY_H_
