// admin backup: AdminService.BackupDatabase into a local file (docs/operations.md
// "Backup and restore").

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "relais/v1/admin.grpc.pb.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/private_file.h"

namespace relais::ctl {
namespace {

// Redraw progress about every 4 MiB.
constexpr int64_t kProgressBytes = 4 << 20;

std::string Mib(int64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

// Receives the stream into `fd`, checking the layout, sizes and SHA-256.
// Returns "" when all is well, else what went wrong (the server's status
// comes from Finish()).
std::string Receive(grpc::ClientReader<v1::BackupDatabaseChunk>& reader, int fd,
                    v1::BackupHeader* header) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  const bool progress = ProgressWanted();
  v1::BackupDatabaseChunk chunk;
  bool have_header = false, have_trailer = false;
  int64_t received = 0, shown = 0;
  std::string problem;
  while (reader.Read(&chunk)) {
    if (!problem.empty()) continue;  // drain; Finish() needs the stream read out
    if (chunk.has_header()) {
      if (have_header) problem = "two headers";
      *header = chunk.header();
      have_header = true;
    } else if (chunk.has_trailer()) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      EVP_DigestFinal_ex(sha.get(), digest, &length);
      const std::string hex =
          absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length));
      if (!have_header || have_trailer)
        problem = "trailer out of place";
      else if (chunk.trailer().size_bytes() != received || received != header->size_bytes()) {
        problem =
            absl::StrCat("size mismatch: received ", received, " bytes, header says ",
                         header->size_bytes(), ", trailer says ", chunk.trailer().size_bytes());
      } else if (chunk.trailer().sha256() != hex) {
        problem = "SHA-256 mismatch: the copy was damaged in transit";
      }
      have_trailer = true;
    } else if (!have_header || have_trailer) {
      problem = "data outside header and trailer";
    } else {
      const std::string& data = chunk.data();
      EVP_DigestUpdate(sha.get(), data.data(), data.size());
      if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
        problem = absl::StrCat("cannot write: ", std::strerror(errno));
      }
      received += static_cast<int64_t>(data.size());
      if (progress && received - shown >= kProgressBytes) {
        shown = received;
        const int64_t total = std::max<int64_t>(1, header->size_bytes());
        PrintErr(absl::StrCat("\rbackup: ", Mib(received), " of ", Mib(total), " (",
                              received * 100 / total, "%)"));
      }
    }
  }
  if (progress && have_header) {
    PrintErr(
        absl::StrCat("\rbackup: ", Mib(received), " of ", Mib(header->size_bytes()), " (100%)\n"));
  }
  if (problem.empty() && !have_trailer) problem = "the stream ended before its trailer";
  return problem;
}

int AdminBackup(Invocation& in) {
  const std::string path = in.args[0];
  // The whole database: private to the admin.
  absl::StatusOr<PrivateFile> file = PrivateFile::Create(path);
  if (!file.ok()) {
    PrintErr(absl::StrCat("error: ", file.status().message(), "\n"));
    return kExitFailed;
  }
  const int fd = file->fd();
  auto ctx = in.client->NewContext(/*stream=*/true);
  std::unique_ptr<v1::AdminService::Stub> stub = v1::AdminService::NewStub(in.client->channel());
  std::unique_ptr<grpc::ClientReader<v1::BackupDatabaseChunk>> reader =
      stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupHeader header;
  const std::string problem = Receive(*reader, fd, &header);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return in.Fail(status);
  if (!problem.empty()) {
    PrintErr(absl::StrCat("error: backup not saved: ", problem, "\n"));
    return kExitFailed;
  }
  if (absl::Status saved = file->Commit(); !saved.ok()) {
    PrintErr(absl::StrCat("error: ", saved.message(), "\n"));
    return kExitFailed;
  }
  Print(absl::StrCat("backup saved to ", path, ": ", header.size_bytes(), " bytes, ",
                     header.page_count(), " pages, audit head ", header.audit_head_sequence(), " ",
                     header.audit_head_hash(), "\n"));
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> AdminCommands() {
  return {
      {"admin",
       "backup",
       "<file>",
       1,
       1,
       {},
       "",
       "Save an online copy of the whole database (admins).",
       "Streams AdminService.BackupDatabase into <file> (mode 0600): one consistent snapshot "
       "taken while relaisd keeps serving. The copy is written beside <file>, its size and "
       "SHA-256 checked against the server's, synced, and renamed into place only then. "
       "Prints the size and the audit chain head inside the copy (a restored server's "
       "VerifyLog must end there). Shows progress on stderr when it is a terminal. Restoring "
       "needs the same master key: see docs/operations.md, \"Backup and restore\". Exit "
       "status 1 if the copy cannot be written or fails its checks.",
       true,
       true,
       AdminBackup},
  };
}

}  // namespace relais::ctl
