#ifndef RELAIS_TOOLS_RELAISCTL_PRIVATE_FILE_H_
#define RELAIS_TOOLS_RELAISCTL_PRIVATE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace relais::ctl {

// A file that will hold a youth's data, an audit export or a whole backup.
// It is written to "<path>.partial", created with O_EXCL | O_NOFOLLOW and mode
// 0600 (enforced with fchmod, whatever the umask), and linked into place by
// Commit() only once complete: an existing file or symbolic link at either
// name is never followed, truncated or replaced. A file not committed is
// removed when this object goes away.
class PrivateFile {
 public:
  // FailedPrecondition "<path> already exists" if either name is taken;
  // the errno text otherwise.
  static absl::StatusOr<PrivateFile> Create(const std::string& path);

  PrivateFile(PrivateFile&& other) noexcept;
  PrivateFile& operator=(PrivateFile&&) = delete;
  ~PrivateFile();

  int fd() const { return fd_; }
  const std::string& partial_path() const { return partial_; }

  // fsyncs and closes the file, links it at `path` and makes that durable.
  absl::Status Commit();

 private:
  PrivateFile(std::string path, std::string partial, int fd)
      : path_(std::move(path)), partial_(std::move(partial)), fd_(fd) {}

  std::string path_;
  std::string partial_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace relais::ctl

#endif  // RELAIS_TOOLS_RELAISCTL_PRIVATE_FILE_H_
