#ifndef RELAIS_STORAGE_BACKUP_FILE_H_
#define RELAIS_STORAGE_BACKUP_FILE_H_

// The file a backup writes, on either back end: made as a temporary file that
// is private from its first byte, and published only once complete and on
// disk, so that a crash or a failure never leaves a partial copy at the
// destination. Internal to relais_storage.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::storage {

// UNAVAILABLE naming `what` was done to `path`, with errno's text.
absl::Status FileError(absl::string_view what, const std::string& path);

// Creates `path` empty, 0600, refusing to follow or reuse an existing one.
absl::Status CreatePrivateFile(const std::string& path);

// fsyncs `tmp`, renames it to `dest` and fsyncs dest's directory; its size in
// bytes. If the directory cannot be synced, `dest` is removed again.
absl::StatusOr<int64_t> PublishFile(const std::string& tmp, const std::string& dest);

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_BACKUP_FILE_H_
