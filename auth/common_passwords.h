#ifndef RELAIS_AUTH_COMMON_PASSWORDS_H_
#define RELAIS_AUTH_COMMON_PASSWORDS_H_

#include <cstddef>

namespace relais::auth::internal {

// The text of auth/data/common-passwords.txt, embedded at build time by
// auth/embed_text.cmake (so relaisd needs no data file at run time). Not
// NUL-terminated by contract: use the size.
extern const char kCommonPasswordsText[];
extern const size_t kCommonPasswordsTextSize;

}  // namespace relais::auth::internal

#endif  // RELAIS_AUTH_COMMON_PASSWORDS_H_
