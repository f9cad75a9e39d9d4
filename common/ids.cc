#include "common/ids.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace relais::common {

std::string NewId(absl::string_view prefix) {
  unsigned char bytes[10];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  return absl::StrCat(prefix, "_",
                      absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

}  // namespace relais::common
