#include "storage/keyed_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"

namespace relais::storage {

absl::StatusOr<std::string> KeyedHash(absl::string_view key, absl::string_view data) {
  if (key.size() < 32) return absl::FailedPreconditionError("keyed hash key shorter than 32 bytes");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &out_len) == nullptr) {
    return absl::InternalError("HMAC-SHA-256 failed");
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(out), out_len));
}

}  // namespace relais::storage
