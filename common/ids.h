#ifndef RELAIS_COMMON_IDS_H_
#define RELAIS_COMMON_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace relais::common {

// A fresh opaque id: `prefix` + "_" + 20 hex characters from the OpenSSL CSPRNG
// (80 bits: ids are not secrets, but must not be guessable or enumerable).
// Aborts if the CSPRNG fails, which only happens on a broken system.
std::string NewId(absl::string_view prefix);

}  // namespace relais::common

#endif  // RELAIS_COMMON_IDS_H_
