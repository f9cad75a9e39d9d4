#include "services/audit/witness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/audit/checkpoint.h"

namespace relais::audit {
namespace {

constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%E6SZ";
// Largest file read whole; a witness line is about 250 bytes, so this is
// millions of checkpoints (years at one a minute).
constexpr off_t kMaxWitnessBytes = off_t{1} << 30;

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may carry (NFS, quotas).
  absl::Status Close(absl::string_view what) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("close ", what));
    return absl::OkStatus();
  }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(errno, absl::StrCat("write ", what));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(int fd, const std::string& what) {
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", what));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<off_t>(out.size()) > kMaxWitnessBytes) {
      return absl::ResourceExhaustedError(absl::StrCat(what, " is larger than 1 GiB"));
    }
  }
}

std::string Dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string FormatWitnessLine(const v1::Checkpoint& c) {
  const absl::Time time = absl::FromUnixMicros(TimestampMicros(c.time()));
  return absl::StrCat("{\"sequence\":", c.sequence(), ",\"head\":\"",
                      common::JsonEscape(c.head_hash()), "\",\"signed_at\":\"",
                      absl::FormatTime(kTimeFormat, time, absl::UTCTimeZone()), "\",\"key_id\":\"",
                      common::JsonEscape(c.key_id()), "\",\"signature\":\"",
                      absl::Base64Escape(c.signature()), "\"}\n");
}

absl::StatusOr<v1::Checkpoint> ParseWitnessLine(absl::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  const auto& fields = object.fields();
  auto text = [&](const char* name) -> const std::string* {
    auto it = fields.find(name);
    if (it == fields.end() || !it->second.has_string_value()) return nullptr;
    return &it->second.string_value();
  };
  auto sequence = fields.find("sequence");
  const std::string* head = text("head");
  const std::string* signed_at = text("signed_at");
  const std::string* key_id = text("key_id");
  const std::string* signature = text("signature");
  if (fields.size() != 5 || sequence == fields.end() || !sequence->second.has_number_value() ||
      head == nullptr || signed_at == nullptr || key_id == nullptr || signature == nullptr) {
    return absl::InvalidArgumentError(
        "expected exactly sequence, head, signed_at, key_id and signature");
  }
  // A double holds every integer up to 2^53 exactly: far beyond any log.
  const double number = sequence->second.number_value();
  if (!(number >= 1 && number <= 9007199254740992.0) || std::floor(number) != number) {
    return absl::InvalidArgumentError("sequence is not a positive integer");
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *signed_at, &time, &error)) {
    return absl::InvalidArgumentError("signed_at is not an RFC 3339 time");
  }
  std::string raw_signature;
  if (!absl::Base64Unescape(*signature, &raw_signature)) {
    return absl::InvalidArgumentError("signature is not base64");
  }
  v1::Checkpoint c;
  c.set_sequence(static_cast<int64_t>(number));
  c.set_head_hash(*head);
  SetTimestampMicros(c.mutable_time(), absl::ToUnixMicros(time));
  c.set_key_id(*key_id);
  c.set_signature(std::move(raw_signature));
  // One spelling per checkpoint: what we would write, byte for byte.
  if (FormatWitnessLine(c) != absl::StrCat(line, "\n")) {
    return absl::InvalidArgumentError("not in the canonical witness format");
  }
  return c;
}

absl::StatusOr<Witness> ReadWitnessFile(const std::string& path,
                                        const std::vector<auth::VerifyingKey>& trusted) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Witness{};
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  absl::StatusOr<std::string> bytes = ReadAll(fd.get(), path);
  if (!bytes.ok()) return bytes.status();
  Witness witness;
  int64_t line_number = 0;
  int64_t last = 0;
  for (absl::string_view line : absl::StrSplit(*bytes, '\n', absl::SkipEmpty())) {
    ++line_number;
    absl::StatusOr<v1::Checkpoint> c = ParseWitnessLine(line);
    if (!c.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, " line ", line_number, ": ", c.status().message()));
    }
    if (!VerifyCheckpointSignature(*c, trusted)) {
      return absl::DataLossError(
          absl::StrCat(path, " line ", line_number, ": not signed by a trusted audit key"));
    }
    if (c->sequence() <= last) {
      return absl::DataLossError(
          absl::StrCat(path, " line ", line_number, ": sequence does not increase"));
    }
    last = c->sequence();
    witness.emplace(c->sequence(), *std::move(c));
  }
  return witness;
}

absl::Status AppendWitnessLine(const std::string& path, const v1::Checkpoint& checkpoint) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  if (absl::Status s = WriteAll(fd.get(), FormatWitnessLine(checkpoint), path); !s.ok()) return s;
  if (::fsync(fd.get()) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", path));
  return fd.Close(path);
}

absl::Status WriteStateFile(const std::string& path, const v1::Checkpoint& checkpoint) {
  const std::string tmp = path + ".tmp";
  // A temporary file left by a crash is ours to replace; a link there is not
  // followed (unlink removes the link itself).
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return absl::ErrnoToStatus(errno, absl::StrCat("unlink ", tmp));
  }
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", tmp));
    if (absl::Status s = WriteAll(fd.get(), FormatWitnessLine(checkpoint), tmp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", tmp));
    if (absl::Status s = fd.Close(tmp); !s.ok()) return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("rename ", tmp));
  }
  // The rename itself must survive a crash too.
  const std::string dir = Dir(path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", dir));
  if (::fsync(dir_fd.get()) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Checkpoint>> ReadStateFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(absl::StrCat(path, " is a symbolic link"));
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is writable by group or others; chmod 600 it"));
  }
  absl::StatusOr<std::string> bytes = ReadAll(fd.get(), path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<v1::Checkpoint> c = ParseWitnessLine(*bytes);
  if (!c.ok()) return absl::DataLossError(absl::StrCat(path, ": ", c.status().message()));
  return *std::move(c);
}

}  // namespace relais::audit
