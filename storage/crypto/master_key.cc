#include "storage/crypto/master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace relais::storage::crypto {
namespace {

constexpr char kIdLabel[] = "relais-master-key-id-v1";
// A key file is 32 bytes or 44 characters of base64 plus a newline; anything
// much larger is not a key file.
constexpr size_t kMaxKeyFileBytes = 256;

absl::StatusOr<std::string> DeriveId(const SecretKey& key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()),
           reinterpret_cast<const unsigned char*>(kIdLabel), sizeof(kIdLabel) - 1, mac,
           &mac_len) == nullptr ||
      mac_len < 8) {
    return absl::InternalError("HMAC-SHA-256 failed");
  }
  return absl::StrCat(
      "mk_", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), 8)));
}

// Wipes a std::string that held key bytes before it is freed.
void Wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

}  // namespace

absl::StatusOr<MasterKey> MasterKey::FromKey(SecretKey key) {
  ASSIGN_OR_RETURN(std::string id, DeriveId(key));
  return MasterKey(std::move(id), std::move(key));
}

absl::StatusOr<MasterKey> MasterKey::FromBytes(absl::string_view raw) {
  ASSIGN_OR_RETURN(SecretKey key, SecretKey::FromBytes(raw));
  return FromKey(std::move(key));
}

absl::StatusOr<MasterKey> MasterKey::FromBase64(absl::string_view text) {
  std::string raw;
  absl::Cleanup wipe = [&raw] { Wipe(raw); };
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(text), &raw) || raw.size() != kKeyBytes) {
    return absl::InvalidArgumentError("not the base64 encoding of a 32-byte key");
  }
  return FromBytes(raw);
}

absl::StatusOr<MasterKey> MasterKey::Generate() {
  ASSIGN_OR_RETURN(SecretKey key, SecretKey::Generate());
  return FromKey(std::move(key));
}

absl::StatusOr<MasterKey> MasterKey::ReadFile(const std::string& path) {
  // O_NOFOLLOW: a link planted at the key's path is refused, not followed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return absl::NotFoundError(absl::StrCat("master key file ", path, " does not exist"));
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open master key file ", path, ": ", std::strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  // Checked on the open descriptor, so the file read is the file checked.
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("master key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("master key file ", path, " is accessible by group or others; chmod 600 it"));
  }
  std::string content(kMaxKeyFileBytes + 1, '\0');
  absl::Cleanup wipe = [&content] { Wipe(content); };
  size_t size = 0;
  while (size < content.size()) {
    const ssize_t n = ::read(fd, content.data() + size, content.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read master key file ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  const absl::string_view data(content.data(), size);
  absl::StatusOr<MasterKey> key = data.size() == kKeyBytes ? FromBytes(data) : FromBase64(data);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("master key file ", path, " does not hold a 32-byte key (raw or base64)"));
  }
  return key;
}

absl::Status MasterKey::WriteNewFile(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
    return absl::UnavailableError(absl::StrCat("create ", path, ": ", std::strerror(errno)));
  }
  const absl::string_view bytes = key_.bytes();
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat("write ", path));
  }
  // Not `dir = "."` on an empty string: GCC 12 at -O2 reports a bogus
  // -Wrestrict there (GCC PR 105651), which -Werror turns into a failed
  // RelWithDebInfo build (deploy/run-demo.sh's).
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    if (dir_fd >= 0) ::close(dir_fd);
    return absl::UnavailableError(absl::StrCat("fsync directory of ", path));
  }
  ::close(dir_fd);
  return absl::OkStatus();
}

MasterKeyRing::MasterKeyRing(MasterKey current, std::string origin) : origin_(std::move(origin)) {
  keys_.push_back(std::move(current));
}

absl::Status MasterKeyRing::AddPrevious(MasterKey previous) {
  if (Find(previous.id()) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("master key ", previous.id(), " is already in the ring"));
  }
  keys_.push_back(std::move(previous));
  return absl::OkStatus();
}

const MasterKey* MasterKeyRing::Find(absl::string_view id) const {
  for (const MasterKey& k : keys_) {
    if (k.id() == id) return &k;
  }
  return nullptr;
}

std::vector<std::string> MasterKeyRing::previous_ids() const {
  std::vector<std::string> ids;
  for (size_t i = 1; i < keys_.size(); ++i) ids.push_back(keys_[i].id());
  return ids;
}

namespace {

// The variable's value, then gone from the process: its bytes overwritten in
// place (so /proc/<pid>/environ no longer shows them) and the variable unset,
// so no child process or crash dump inherits the key.
std::string TakeFromEnvironment(const char* name) {
  char* value = std::getenv(name);
  if (value == nullptr) return std::string();
  std::string copy(value);
  OPENSSL_cleanse(value, copy.size());
  ::unsetenv(name);
  return copy;
}

}  // namespace

absl::StatusOr<MasterKeyRing> MasterKeyRing::Load(const MasterKeySources& sources) {
  std::string env = TakeFromEnvironment(kMasterKeyEnv);
  absl::Cleanup wipe_env = [&env] { Wipe(env); };
  const bool env_set = !env.empty();
  std::optional<MasterKeyRing> ring;
  if (!sources.file.empty()) {
    if (env_set) {
      common::LogWarning("master key file given: ignoring the environment variable",
                         {{"variable", kMasterKeyEnv}});
    }
    ASSIGN_OR_RETURN(MasterKey key, MasterKey::ReadFile(sources.file));
    ring.emplace(std::move(key), "file");
  } else if (env_set) {
    absl::StatusOr<MasterKey> key = MasterKey::FromBase64(env);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kMasterKeyEnv, " must hold the base64 encoding of 32 bytes"));
    }
    ring.emplace(*std::move(key), "env");
  } else if (!sources.keys_dir.empty()) {
    const std::string path = absl::StrCat(sources.keys_dir, "/", kMasterKeyFileName);
    absl::StatusOr<MasterKey> key = MasterKey::ReadFile(path);
    if (key.ok()) {
      ring.emplace(*std::move(key), "keys_dir");
    } else if (key.status().code() != absl::StatusCode::kNotFound) {
      return key.status();
    } else if (!sources.allow_generate) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no master key: ", path, " does not exist, and neither --master_key_file nor ",
          kMasterKeyEnv, " is set, while the database holds data keys"));
    } else {
      ASSIGN_OR_RETURN(MasterKey fresh, MasterKey::Generate());
      ::mkdir(sources.keys_dir.c_str(), 0700);  // EEXIST is fine; the write reports the rest
      RETURN_IF_ERROR(fresh.WriteNewFile(path));
      common::LogWarning("created a development master key; production sets --master_key_file",
                         {{"path", path}, {"master_key_id", fresh.id()}});
      ring.emplace(std::move(fresh), "generated");
    }
  } else if (sources.allow_generate) {
    ASSIGN_OR_RETURN(MasterKey fresh, MasterKey::Generate());
    ring.emplace(std::move(fresh), "memory");
  } else {
    return absl::FailedPreconditionError(absl::StrCat("no master key given (--master_key_file or ",
                                                      kMasterKeyEnv,
                                                      ") while the database holds data keys"));
  }
  if (!sources.previous_file.empty()) {
    ASSIGN_OR_RETURN(MasterKey previous, MasterKey::ReadFile(sources.previous_file));
    if (previous.id() == ring->current().id()) {
      return absl::InvalidArgumentError(
          "the previous master key file holds the current master key");
    }
    RETURN_IF_ERROR(ring->AddPrevious(std::move(previous)));
  }
  return *std::move(ring);
}

}  // namespace relais::storage::crypto
