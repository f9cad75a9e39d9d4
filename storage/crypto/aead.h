#ifndef RELAIS_STORAGE_CRYPTO_AEAD_H_
#define RELAIS_STORAGE_CRYPTO_AEAD_H_

// AES-256-GCM with OpenSSL EVP, and the 32-byte key type that holds its keys.
// Everything above this file (data keys, master keys) is built from these two
// calls; no other file of the project touches EVP ciphers.

#include <array>
#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::storage::crypto {

inline constexpr size_t kKeyBytes = 32;    // AES-256
inline constexpr size_t kNonceBytes = 12;  // GCM's native nonce size
inline constexpr size_t kTagBytes = 16;    // full-length GCM tag

// 32 bytes of key material. Move-only; wiped (OPENSSL_cleanse) when destroyed
// or moved from, so a key never outlives its owner in memory. Never log it.
class SecretKey {
 public:
  // Fresh bytes from the OpenSSL CSPRNG. INTERNAL if RAND_bytes fails.
  static absl::StatusOr<SecretKey> Generate();
  // INVALID_ARGUMENT unless `bytes` is exactly kKeyBytes long.
  static absl::StatusOr<SecretKey> FromBytes(absl::string_view bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  // An explicit copy (a second owner, wiped independently).
  SecretKey Clone() const;
  // The key bytes; the view is valid while this object lives and is not moved.
  absl::string_view bytes() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }
  // Constant-time (CRYPTO_memcmp) equality of the key bytes.
  bool Equals(const SecretKey& other) const;

 private:
  SecretKey();
  std::array<unsigned char, kKeyBytes> bytes_;
};

// Encrypts `plaintext` under `key`, authenticating `aad` too, with a fresh
// random nonce. Returns nonce || ciphertext || tag (plaintext size + 28 bytes).
// INTERNAL if OpenSSL fails; INVALID_ARGUMENT for inputs over 1 GiB.
absl::StatusOr<std::string> SealAesGcm(const SecretKey& key, absl::string_view plaintext,
                                       absl::string_view aad);

// The inverse of SealAesGcm. DATA_LOSS "ciphertext_mismatch" when `sealed` is
// truncated, was altered, or was sealed under another key or another `aad`
// (the three cannot be told apart, by design). INTERNAL if OpenSSL fails.
absl::StatusOr<std::string> OpenAesGcm(const SecretKey& key, absl::string_view sealed,
                                       absl::string_view aad);

// The status OpenAesGcm returns when authentication fails; one place so that
// callers can recognise it (code DATA_LOSS, message starting "ciphertext_mismatch").
absl::Status CiphertextMismatch();

}  // namespace relais::storage::crypto

#endif  // RELAIS_STORAGE_CRYPTO_AEAD_H_
