#include "tools/relaisctl/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace relais::ctl {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path, int err) {
  if (err == EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " already exists; choose another name"));
  }
  if (err == ELOOP) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is a symbolic link; refused"));
  }
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<PrivateFile> PrivateFile::Create(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return Errno("cannot write", path, EEXIST);
  std::string partial = absl::StrCat(path, ".partial");
  const int fd =
      ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot write", partial, errno);
  if (::fchmod(fd, 0600) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(partial.c_str());
    return Errno("cannot restrict", partial, err);
  }
  return PrivateFile(path, std::move(partial), fd);
}

PrivateFile::PrivateFile(PrivateFile&& other) noexcept
    : path_(std::move(other.path_)),
      partial_(std::move(other.partial_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(std::exchange(other.committed_, true)) {}

PrivateFile::~PrivateFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(partial_.c_str());
}

absl::Status PrivateFile::Commit() {
  const bool synced = ::fsync(fd_) == 0;
  const int sync_err = errno;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) return Errno("cannot save", partial_, synced ? errno : sync_err);
  // link() never replaces: a file created at `path_` meanwhile stays as it was.
  if (::link(partial_.c_str(), path_.c_str()) != 0) return Errno("cannot save", path_, errno);
  committed_ = true;
  ::unlink(partial_.c_str());
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace relais::ctl
