#ifndef RELAIS_STORAGE_KEYED_HASH_H_
#define RELAIS_STORAGE_KEYED_HASH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::storage {

// Hex HMAC-SHA-256 of `data` under `key` (at least 32 bytes). Used to store an
// identifier (the national register number) only as a keyed hash: services can
// look a record up by it, but the stored value does not reveal it without the key.
absl::StatusOr<std::string> KeyedHash(absl::string_view key, absl::string_view data);

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_KEYED_HASH_H_
