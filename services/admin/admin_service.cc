#include "services/admin/admin_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/stream_reactor.h"

namespace relais::admin {
namespace {

using rpc::CallAudit;
using rpc::Caller;

constexpr char kCopyPrefix[] = "backup_";

// One BackupDatabase call (streamed by rpc::StreamReactor). Authorises,
// audits and makes the copy first, then sends the header, the file a chunk
// at a time, and the trailer. Deletes the copy when the call is done, however
// it ended.
class BackupSource final : public rpc::StreamSource<v1::BackupDatabaseChunk> {
 public:
  BackupSource(storage::Database* db, rpc::CallGate* gate, const common::Clock* clock,
               std::string dir)
      : db_(db), gate_(gate), clock_(clock), dir_(std::move(dir)), sha_(EVP_MD_CTX_new()) {}

  ~BackupSource() override {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
    EVP_MD_CTX_free(sha_);
  }

  absl::Status Begin(grpc::CallbackServerContext* ctx,
                     std::deque<v1::BackupDatabaseChunk>& out) override {
    ctx_ = ctx;
    return rpc::BeginStream(*gate_, ctx, v1::ACTION_BACKUP, "",
                            [&](const Caller& caller, CallAudit& call) {
                              return Authorise(caller, call, *out.emplace_back().mutable_header());
                            });
  }

  // The next chunk, then the trailer; nothing once the trailer is queued.
  absl::Status Fill(std::deque<v1::BackupDatabaseChunk>& out) override {
    if (done_) return absl::OkStatus();
    v1::BackupDatabaseChunk& chunk = out.emplace_back();
    if (sent_ >= size_) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      EVP_DigestFinal_ex(sha_, digest, &length);
      v1::BackupTrailer& trailer = *chunk.mutable_trailer();
      trailer.set_sha256(
          absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length)));
      trailer.set_size_bytes(sent_);
      done_ = true;
      return absl::OkStatus();
    }
    std::string& data = *chunk.mutable_data();
    data.resize(std::min<int64_t>(AdminServiceImpl::kChunkBytes, size_ - sent_));
    const ssize_t n = ::pread(fd_, data.data(), data.size(), sent_);
    if (n != static_cast<ssize_t>(data.size())) {
      common::LogError("backup copy read failed", {{"errno", std::strerror(errno)}});
      return common::Unavailable("backup_failed", "the copy could not be read");
    }
    EVP_DigestUpdate(sha_, data.data(), data.size());
    sent_ += n;
    return absl::OkStatus();
  }

 private:
  absl::Status Authorise(const Caller& caller, CallAudit& call, v1::BackupHeader& header) {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "AdminService.BackupDatabase"));
    RETURN_IF_ERROR(gate_->RequireRecentLogin(caller));  // the whole database: step-up
    RETURN_IF_ERROR(rpc::CheckCallAlive(ctx_));
    // Audited before the copy is made, so the copy holds its own backup event.
    RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));

    path_ = absl::StrCat(dir_, "/", common::NewId("backup"), ".db");
    audit::ChainHead head;
    storage::Database::BackupOptions options;
    options.on_snapshot = [&](storage::Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(head, audit::AuditLog::HeadIn(c));
      *header.mutable_created_time() = common::ToProto(clock_->Now());
      return absl::OkStatus();
    };
    options.progress = [this](int64_t, int64_t) { return rpc::CheckCallAlive(ctx_).ok(); };
    absl::StatusOr<storage::Database::BackupInfo> info = db_->Backup(path_, options);
    if (!info.ok()) {
      // The call's own problem, or the server's (logged, not shown).
      RETURN_IF_ERROR(rpc::CheckCallAlive(ctx_));
      common::LogError("backup failed", {{"status", info.status().ToString()}});
      return common::Unavailable("backup_failed", "the database could not be copied");
    }
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    // The open descriptor is all the stream needs: the copy of every record
    // leaves the file system now, not when the call is torn down (or never,
    // if the server stops first).
    if (fd_ >= 0 && ::unlink(path_.c_str()) == 0) path_.clear();
    if (fd_ < 0 || EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr) != 1) {
      common::LogError("backup copy unreadable", {{"errno", std::strerror(errno)}});
      return common::Unavailable("backup_failed", "the copy could not be read");
    }
    header.set_size_bytes(info->bytes);
    header.set_page_count(info->pages);
    header.set_audit_head_sequence(head.sequence);
    header.set_audit_head_hash(head.hash);
    size_ = info->bytes;
    common::LogInfo("backup made",
                    {{"bytes", absl::StrCat(info->bytes)},
                     {"ms", absl::StrCat(absl::ToInt64Milliseconds(info->elapsed))}});
    return absl::OkStatus();
  }

  storage::Database* const db_;
  rpc::CallGate* const gate_;
  const common::Clock* const clock_;
  const std::string dir_;
  EVP_MD_CTX* const sha_;
  grpc::CallbackServerContext* ctx_ = nullptr;  // set by Begin(), valid until done
  std::string path_;                            // the server-side copy until opened
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t sent_ = 0;
  bool done_ = false;  // trailer queued
};

}  // namespace

std::string AdminServiceImpl::BackupDirFor(const std::string& db_path) {
  return absl::StrCat(db_path, ".backup.d");
}

absl::Status AdminServiceImpl::PrepareBackupDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("create ", dir, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is open to group or others; chmod 700 it"));
  }
  // Copies a crashed relaisd left behind: nobody will fetch them.
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), ::closedir);
  if (listing == nullptr) return absl::UnavailableError(absl::StrCat("list ", dir));
  while (const dirent* e = ::readdir(listing.get())) {
    if (absl::StartsWith(e->d_name, kCopyPrefix)) {
      ::unlink(absl::StrCat(dir, "/", e->d_name).c_str());
    }
  }
  return absl::OkStatus();
}

grpc::ServerWriteReactor<v1::BackupDatabaseChunk>* AdminServiceImpl::BackupDatabase(
    grpc::CallbackServerContext* ctx, const v1::BackupDatabaseRequest*) {
  return rpc::StartStream<v1::BackupDatabaseChunk>(
      ctx, std::make_unique<BackupSource>(db_, gate_, clock_, backup_dir_), "backup interrupted");
}

}  // namespace relais::admin
