#ifndef RELAIS_AUTH_BASE64URL_H_
#define RELAIS_AUTH_BASE64URL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace relais::auth::internal {

// base64url (RFC 4648 §5) without padding.
std::string EncodeBase64Url(absl::string_view bytes);

// Decodes unpadded base64url, accepting only the canonical encoding (the one
// EncodeBase64Url produces), so every byte string has exactly one textual
// form. Returns nullopt on padding, foreign characters, impossible lengths or
// non-zero trailing bits.
std::optional<std::string> DecodeBase64Url(absl::string_view text);

}  // namespace relais::auth::internal

#endif  // RELAIS_AUTH_BASE64URL_H_
