#include "services/admin/admin_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/common/ids.h"

namespace relais::admin {
namespace {

using rpc::Caller;
using rpc::CallAudit;

constexpr char kCopyPrefix[] = "backup_";

// One BackupDatabase call. Authorises, audits and makes the copy in its
// constructor, then writes the header, the file a chunk at a time, and the
// trailer. Deletes the copy and itself in OnDone(), which gRPC calls however
// the call ended.
class BackupReactor final : public grpc::ServerWriteReactor<v1::BackupDatabaseChunk> {
 public:
  BackupReactor(storage::Database* db, rpc::CallGate* gate, const common::Clock* clock,
                const std::string& dir, grpc::CallbackServerContext* ctx)
      : ctx_(ctx), sha_(EVP_MD_CTX_new()) {
    absl::Status status = Begin(db, gate, clock, dir);
    if (!status.ok()) {
      Finish(rpc::ToGrpc(status));
      return;
    }
    StartWrite(&current_);  // the header
  }

  void OnWriteDone(bool ok) override {
    // Not ok: the client went away or the deadline passed.
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "backup interrupted"));
      return;
    }
    WriteNext();
  }

  void OnDone() override {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
    EVP_MD_CTX_free(sha_);
    delete this;
  }

 private:
  absl::Status Begin(storage::Database* db, rpc::CallGate* gate, const common::Clock* clock,
                     const std::string& dir) {
    absl::StatusOr<Caller> caller = gate->Authenticate(ctx_, v1::ACTION_BACKUP);
    if (!caller.ok()) return caller.status();  // audited by Authenticate
    CallAudit call{rpc::EventFor(*caller, v1::ACTION_BACKUP)};
    absl::Status status = Authorise(db, gate, clock, dir, *caller, call);
    if (!status.ok() && !call.recorded) status = gate->AuditDenial(call.event, status);
    return status;
  }

  absl::Status Authorise(storage::Database* db, rpc::CallGate* gate, const common::Clock* clock,
                         const std::string& dir, const Caller& caller, CallAudit& call) {
    RETURN_IF_ERROR(gate->RequireRole(caller, "AdminService.BackupDatabase"));
    RETURN_IF_ERROR(gate->RequireRecentLogin(caller));  // the whole database: step-up
    RETURN_IF_ERROR(rpc::CheckCallAlive(ctx_));
    // Audited before the copy is made, so the copy holds its own backup event.
    call.event.decision = v1::DECISION_ALLOW;
    call.event.reason = v1::ACCESS_REASON_ALLOWED;
    call.event.reason_code = "allowed";
    RETURN_IF_ERROR(gate->audit()->AppendStandalone(call.event).status());
    call.recorded = true;

    path_ = absl::StrCat(dir, "/", rpc::NewId("backup"), ".db");
    v1::BackupHeader& header = *current_.mutable_header();
    audit::ChainHead head;
    storage::Database::BackupOptions options;
    options.on_snapshot = [&](storage::Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(head, audit::AuditLog::HeadIn(c));
      *header.mutable_created_time() = rpc::ToProto(clock->Now());
      return absl::OkStatus();
    };
    options.progress = [this](int64_t, int64_t) { return rpc::CheckCallAlive(ctx_).ok(); };
    absl::StatusOr<storage::Database::BackupInfo> info = db->Backup(path_, options);
    if (!info.ok()) {
      // The call's own problem, or the server's (logged, not shown).
      RETURN_IF_ERROR(rpc::CheckCallAlive(ctx_));
      common::LogError("backup failed", {{"status", info.status().ToString()}});
      return absl::UnavailableError("backup_failed: the database could not be copied");
    }
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0 || EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr) != 1) {
      common::LogError("backup copy unreadable", {{"errno", std::strerror(errno)}});
      return absl::UnavailableError("backup_failed: the copy could not be read");
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

  void WriteNext() {
    if (done_) {
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status alive = rpc::CheckCallAlive(ctx_);
    if (!alive.ok()) {
      Finish(rpc::ToGrpc(alive));
      return;
    }
    current_.Clear();
    if (sent_ >= size_) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      EVP_DigestFinal_ex(sha_, digest, &length);
      v1::BackupTrailer& trailer = *current_.mutable_trailer();
      trailer.set_sha256(
          absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length)));
      trailer.set_size_bytes(sent_);
      done_ = true;
      StartWrite(&current_);
      return;
    }
    std::string& data = *current_.mutable_data();
    data.resize(std::min<int64_t>(AdminServiceImpl::kChunkBytes, size_ - sent_));
    const ssize_t n = ::pread(fd_, data.data(), data.size(), sent_);
    if (n != static_cast<ssize_t>(data.size())) {
      common::LogError("backup copy read failed", {{"errno", std::strerror(errno)}});
      Finish(rpc::ToGrpc(absl::UnavailableError("backup_failed: the copy could not be read")));
      return;
    }
    EVP_DigestUpdate(sha_, data.data(), data.size());
    sent_ += n;
    StartWrite(&current_);
  }

  grpc::CallbackServerContext* const ctx_;  // valid until OnDone()
  EVP_MD_CTX* const sha_;
  std::string path_;  // the server-side copy; removed in OnDone()
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t sent_ = 0;
  bool done_ = false;
  v1::BackupDatabaseChunk current_;  // being written; must stay put until OnWriteDone
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
  return new BackupReactor(db_, gate_, clock_, backup_dir_, ctx);
}

}  // namespace relais::admin
