#include "storage/backup_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace relais::storage {
namespace {

absl::Status Fsync(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return FileError("open", path);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? absl::OkStatus() : FileError("fsync", path);
}

}  // namespace

absl::Status FileError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status CreatePrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return FileError("create", path);
  ::close(fd);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PublishFile(const std::string& tmp, const std::string& dest) {
  RETURN_IF_ERROR(Fsync(tmp, false));
  struct stat st;
  if (::stat(tmp.c_str(), &st) != 0) return FileError("stat", tmp);
  if (::rename(tmp.c_str(), dest.c_str()) != 0) return FileError("rename", tmp);
  const size_t slash = dest.rfind('/');
  if (absl::Status synced =
          Fsync(slash == std::string::npos ? "." : dest.substr(0, slash + 1), true);
      !synced.ok()) {
    ::unlink(dest.c_str());
    return synced;
  }
  return static_cast<int64_t>(st.st_size);
}

}  // namespace relais::storage
