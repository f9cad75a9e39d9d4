#ifndef RELAIS_COMMON_TRUSTED_FILE_H_
#define RELAIS_COMMON_TRUSTED_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace relais::common {

// Reads a file relaisd trusts: a key, a certificate, a CRL. It is opened with
// O_NOFOLLOW and checked on the open descriptor (no stat-then-open gap): a
// regular file of at most `max_bytes`, and with `owner_only` not accessible by
// group or others. The content is read into one buffer of the file's size, so a
// caller that wipes the result wipes the only copy.
// NotFound if missing; FailedPrecondition naming the path (never the content)
// for a link, another kind of file, a wider mode or an oversized file.
absl::StatusOr<std::string> ReadTrustedFile(const std::string& path, size_t max_bytes,
                                            bool owner_only);

}  // namespace relais::common

#endif  // RELAIS_COMMON_TRUSTED_FILE_H_
