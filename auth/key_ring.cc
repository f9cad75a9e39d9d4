#include "auth/key_ring.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace relais::auth {
namespace {

constexpr absl::string_view kFilePrefix = "signing-";
constexpr absl::string_view kFileSuffix = ".pem";
constexpr absl::string_view kKeyIdTimeFormat = "k%Y%m%dT%H%M%E6SZ";
constexpr size_t kKeyIdRandomBytes = 4;
constexpr off_t kMaxKeyFileBytes = 16 * 1024;

// Owns a file descriptor; closes it on destruction unless Release()d.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

absl::Status Errno(absl::string_view what, absl::string_view path) {
  const int error = errno;
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

// The creation time encoded in `key_id`, or nullopt unless `key_id` is
// exactly in the canonical form NewKeyId produces. Parsed by hand because
// absl::ParseTime's %Y is greedy and cannot read "%Y%m%d".
std::optional<absl::Time> KeyIdTime(absl::string_view key_id) {
  // Digits at '9', hex at 'h', everything else literal.
  constexpr absl::string_view kShape = "k99999999T999999.999999Z-hhhhhhhh";
  if (key_id.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const char c = key_id[i];
    const bool digit = c >= '0' && c <= '9';
    const bool ok = kShape[i] == '9'   ? digit
                    : kShape[i] == 'h' ? digit || (c >= 'a' && c <= 'f')
                                       : c == kShape[i];
    if (!ok) return std::nullopt;
  }
  auto number = [key_id](size_t pos, size_t len) {
    int64_t value = 0;
    for (char c : key_id.substr(pos, len)) value = value * 10 + (c - '0');
    return value;
  };
  const absl::CivilSecond civil(number(1, 4), number(5, 2), number(7, 2), number(10, 2),
                                number(12, 2), number(14, 2));
  const absl::Time time =
      absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Microseconds(number(17, 6));
  // CivilSecond normalises e.g. month 13; re-formatting rejects such ids.
  if (absl::FormatTime(kKeyIdTimeFormat, time, absl::UTCTimeZone()) !=
      key_id.substr(0, key_id.rfind('-'))) {
    return std::nullopt;
  }
  return time;
}

absl::StatusOr<std::string> NewKeyId(absl::Time created) {
  unsigned char random[kKeyIdRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return absl::StrCat(absl::FormatTime(kKeyIdTimeFormat, created, absl::UTCTimeZone()), "-",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(random), sizeof(random))));
}

std::string KeyPath(absl::string_view dir, absl::string_view key_id) {
  return absl::StrCat(dir, "/", kFilePrefix, key_id, kFileSuffix);
}

// Creates `dir` (0700) if absent; refuses a non-directory or a directory
// others can write to, since they could plant a key of their choosing.
absl::Status EnsureKeyDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Errno("cannot stat key directory", dir);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Errno("cannot create key directory", dir);
    }
    if (stat(dir.c_str(), &st) != 0) return Errno("cannot stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("key directory ", dir, " is not a directory"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "key directory %s is group/world writable (mode %04o)", dir, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

// Reads and parses one key file, refusing anything but an owner-only
// regular file. The PEM text is wiped after parsing.
absl::StatusOr<SigningKey> ReadKeyFile(const std::string& path, std::string key_id) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return Errno("cannot open key file", path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno("cannot stat key file", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("key file %s is group/world accessible (mode %04o); it must be 0600", path,
                        st.st_mode & 07777));
  }
  if (st.st_size > kMaxKeyFileBytes) {
    return absl::DataLossError(absl::StrCat("key file ", path, " too large"));
  }
  std::string pem(static_cast<size_t>(st.st_size), '\0');
  absl::Cleanup wipe = [&pem] { OPENSSL_cleanse(pem.data(), pem.size()); };
  size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = read(fd.get(), pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read key file", path);
    if (n == 0) break;  // truncated concurrently; parsing will say so
    done += static_cast<size_t>(n);
  }
  absl::StatusOr<SigningKey> key =
      SigningKey::FromPrivatePem(std::move(key_id), absl::string_view(pem).substr(0, done));
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat("key file ", path, " holds no Ed25519 private key"));
  }
  return key;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Writes `key` durably as dir/signing-<id>.pem, mode 0600: into a fresh
// O_EXCL temp file, fsync, rename, fsync the directory. A crash leaves either
// no key file or a complete one (plus at worst an ignored temp file).
absl::Status PersistKey(const std::string& dir, const SigningKey& key) {
  ASSIGN_OR_RETURN(std::string pem, key.PrivatePem());
  absl::Cleanup wipe = [&pem] { OPENSSL_cleanse(pem.data(), pem.size()); };
  const std::string path = KeyPath(dir, key.key_id());
  const std::string temp = absl::StrCat(dir, "/.", kFilePrefix, key.key_id(), kFileSuffix, ".tmp");
  ScopedFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Errno("cannot create key file", temp);
  absl::Cleanup remove_temp = [&temp] { unlink(temp.c_str()); };
  // Exact mode regardless of umask.
  if (fchmod(fd.get(), 0600) != 0) return Errno("cannot chmod", temp);
  RETURN_IF_ERROR(WriteAll(fd.get(), pem, temp));
  if (fsync(fd.get()) != 0) return Errno("cannot fsync", temp);
  if (close(fd.Release()) != 0) return Errno("cannot close", temp);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return Errno("cannot rename key file to", path);
  }
  std::move(remove_temp).Cancel();
  ScopedFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || fsync(dir_fd.get()) != 0) {
    return Errno("cannot fsync key directory", dir);
  }
  return absl::OkStatus();
}

// Ids of all signing-<id>.pem files in `dir`, sorted (= creation order).
absl::StatusOr<std::vector<std::string>> ListKeyIds(const std::string& dir) {
  std::unique_ptr<DIR, DirCloser> handle(opendir(dir.c_str()));
  if (handle == nullptr) return Errno("cannot list key directory", dir);
  std::vector<std::string> ids;
  errno = 0;
  while (const dirent* entry = readdir(handle.get())) {
    const absl::string_view name = entry->d_name;
    if (!absl::StartsWith(name, kFilePrefix) || !absl::EndsWith(name, kFileSuffix)) {
      continue;
    }
    const absl::string_view id =
        name.substr(kFilePrefix.size(), name.size() - kFilePrefix.size() - kFileSuffix.size());
    if (!KeyIdTime(id).has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("key file ", dir, "/", name, " does not carry a valid key id"));
    }
    ids.emplace_back(id);
  }
  if (errno != 0) return Errno("cannot list key directory", dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

KeyRing::KeyRing(std::string dir, SigningKey current,
                 std::map<std::string, VerifyingKey, std::less<>> verifying)
    : dir_(std::move(dir)), current_(std::move(current)), verifying_(std::move(verifying)) {}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::LoadOrCreate(absl::string_view dir) {
  if (dir.empty()) return absl::InvalidArgumentError("empty key directory");
  std::string root(dir);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  RETURN_IF_ERROR(EnsureKeyDir(root));
  ASSIGN_OR_RETURN(std::vector<std::string> ids, ListKeyIds(root));

  std::optional<SigningKey> newest;
  std::map<std::string, VerifyingKey, std::less<>> verifying;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(SigningKey key, ReadKeyFile(KeyPath(root, id), id));
    ASSIGN_OR_RETURN(VerifyingKey public_key, VerifyingKey::FromRaw(id, key.PublicKeyRaw()));
    verifying.emplace(id, std::move(public_key));
    newest.emplace(std::move(key));  // ids are sorted: the last one wins
  }
  if (!newest.has_value()) {
    ASSIGN_OR_RETURN(std::string id, NewKeyId(absl::Now()));
    ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate(id));
    RETURN_IF_ERROR(PersistKey(root, key));
    ASSIGN_OR_RETURN(VerifyingKey public_key, VerifyingKey::FromRaw(id, key.PublicKeyRaw()));
    verifying.emplace(id, std::move(public_key));
    newest.emplace(std::move(key));
  }
  return std::unique_ptr<KeyRing>(
      new KeyRing(std::move(root), *std::move(newest), std::move(verifying)));
}

std::unique_ptr<KeyRing> KeyRing::InMemory() {
  auto make = []() -> absl::StatusOr<std::unique_ptr<KeyRing>> {
    ASSIGN_OR_RETURN(std::string id, NewKeyId(absl::Now()));
    ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate(id));
    ASSIGN_OR_RETURN(VerifyingKey public_key, VerifyingKey::FromRaw(id, key.PublicKeyRaw()));
    std::map<std::string, VerifyingKey, std::less<>> verifying;
    verifying.emplace(id, std::move(public_key));
    return std::unique_ptr<KeyRing>(new KeyRing("", std::move(key), std::move(verifying)));
  };
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = make();
  if (!ring.ok()) {
    std::fprintf(stderr, "KeyRing::InMemory: %s\n", ring.status().ToString().c_str());
    std::abort();
  }
  return *std::move(ring);
}

absl::StatusOr<SigningKey> KeyRing::NewKey() const {
  absl::Time newest;
  {
    absl::ReaderMutexLock lock(&mu_);
    // Every id in the ring parses: we made it or ListKeyIds checked it.
    newest = KeyIdTime(verifying_.rbegin()->first).value_or(absl::InfinitePast());
  }
  // Whole microseconds, as the id records, and strictly after the newest key
  // even if the wall clock stepped back.
  absl::Time created = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  created = std::max(created, newest + absl::Microseconds(1));
  ASSIGN_OR_RETURN(std::string id, NewKeyId(created));
  return SigningKey::Generate(std::move(id));
}

absl::Status KeyRing::Rotate() {
  absl::MutexLock rotating(&rotate_mu_);
  ASSIGN_OR_RETURN(SigningKey key, NewKey());
  ASSIGN_OR_RETURN(VerifyingKey public_key,
                   VerifyingKey::FromRaw(key.key_id(), key.PublicKeyRaw()));
  if (!dir_.empty()) RETURN_IF_ERROR(PersistKey(dir_, key));
  absl::MutexLock lock(&mu_);
  verifying_.emplace(key.key_id(), std::move(public_key));
  current_.emplace(std::move(key));
  return absl::OkStatus();
}

std::string KeyRing::CurrentKeyId() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_->key_id();
}

absl::StatusOr<std::pair<std::string, std::string>> KeyRing::SignWithCurrent(
    absl::string_view data) const {
  absl::ReaderMutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::string signature, current_->Sign(data));
  return std::make_pair(current_->key_id(), std::move(signature));
}

bool KeyRing::HasKey(absl::string_view key_id) const {
  absl::ReaderMutexLock lock(&mu_);
  return verifying_.find(key_id) != verifying_.end();
}

bool KeyRing::Verify(absl::string_view key_id, absl::string_view data,
                     absl::string_view signature) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = verifying_.find(key_id);
  return it != verifying_.end() && it->second.Verify(data, signature);
}

absl::StatusOr<int> KeyRing::RetireExpired(absl::Time now, absl::Duration token_lifetime) {
  absl::MutexLock rotating(&rotate_mu_);
  std::vector<std::string> expired;
  {
    absl::ReaderMutexLock lock(&mu_);
    // Ids sort in creation order: a key's successor is the next id.
    for (auto it = verifying_.begin(); it != verifying_.end(); ++it) {
      const auto next = std::next(it);
      if (next == verifying_.end() || it->first == current_->key_id()) break;
      const std::optional<absl::Time> replaced = KeyIdTime(next->first);
      if (replaced.has_value() && *replaced + token_lifetime <= now) {
        expired.push_back(it->first);
      }
    }
  }
  int retired = 0;
  for (const std::string& id : expired) {
    if (!dir_.empty()) {
      const std::string path = KeyPath(dir_, id);
      if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Errno("cannot delete retired key file", path);
      }
    }
    absl::MutexLock lock(&mu_);
    verifying_.erase(id);
    ++retired;
  }
  if (retired > 0 && !dir_.empty()) {
    ScopedFd dir_fd(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0 || fsync(dir_fd.get()) != 0) {
      return Errno("cannot fsync key directory", dir_);
    }
  }
  return retired;
}

std::vector<std::pair<std::string, std::string>> KeyRing::PublicKeys() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::string>> keys;
  keys.reserve(verifying_.size());
  for (const auto& [id, key] : verifying_) keys.emplace_back(id, key.Raw());
  return keys;
}

}  // namespace relais::auth
