// relais-audit-export: saves an auditor's export of the access log
// (AuditService.ExportEvents) to a file that relais-audit-verify checks
// offline: the stream's ExportItem messages, each preceded by its size as a
// varint (protobuf's delimited format).
//
//   RELAIS_TOKEN=<auditor token> relais-audit-export --addr HOST:PORT
//       --tls_ca ca.pem --tls_cert me.pem --tls_key me.key --out log.export
//
// The bearer token is read from $RELAIS_TOKEN or --token_file, never from the
// command line, where other users could read it in the process list.
// --insecure talks plaintext, to a loopback address only (development).
//
// The file is written beside --out and renamed into place once the server
// has ended the stream with OK, so a failed export never leaves a file that
// looks complete. Exit status: 0 saved; 1 the server refused or failed;
// 2 usage or local I/O error.

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/audit.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "relaisd address");
ABSL_FLAG(std::string, out, "", "Export file to write (required)");
ABSL_FLAG(int64_t, from_sequence, 0, "First event to export (0: from the start)");
ABSL_FLAG(std::string, token_file, "", "File holding the auditor's bearer token");
ABSL_FLAG(std::string, tls_ca, "", "PEM: the CA that signed the server certificate");
ABSL_FLAG(std::string, tls_cert, "", "PEM: this client's certificate");
ABSL_FLAG(std::string, tls_key, "", "PEM: this client's private key");
ABSL_FLAG(bool, insecure, false, "Plaintext, loopback addresses only (development)");

namespace {

int Fail(int code, const std::string& why) {
  std::fprintf(stderr, "relais-audit-export: %s\n", why.c_str());
  return code;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Saves an audit export for relais-audit-verify.\n"
      "  RELAIS_TOKEN=... relais-audit-export --addr HOST:PORT --out FILE "
      "(--tls_ca/--tls_cert/--tls_key | --insecure)");
  absl::ParseCommandLine(argc, argv);
  ::umask(077);  // the export names youths and members by id
  const std::string out_path = absl::GetFlag(FLAGS_out);
  if (out_path.empty()) return Fail(2, "--out is required");
  const std::string addr = absl::GetFlag(FLAGS_addr);

  std::string token;
  if (const std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    if (!ReadFile(file, &token)) return Fail(2, absl::StrCat("cannot read ", file));
  } else if (const char* env = std::getenv("RELAIS_TOKEN"); env != nullptr) {
    token = env;
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) return Fail(2, "no token: set RELAIS_TOKEN or --token_file");

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (absl::GetFlag(FLAGS_insecure)) {
    if (!IsLoopback(addr)) return Fail(2, "--insecure is for loopback addresses only");
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    if (!ReadFile(absl::GetFlag(FLAGS_tls_ca), &tls.pem_root_certs) ||
        !ReadFile(absl::GetFlag(FLAGS_tls_cert), &tls.pem_cert_chain) ||
        !ReadFile(absl::GetFlag(FLAGS_tls_key), &tls.pem_private_key)) {
      return Fail(2, "mutual TLS needs readable --tls_ca, --tls_cert and --tls_key");
    }
    credentials = grpc::SslCredentials(tls);
  }

  const std::string temp = absl::StrCat(out_path, ".partial");
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(2, absl::StrCat("cannot write ", temp));

  auto stub = relais::v1::AuditService::NewStub(grpc::CreateChannel(addr, credentials));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  relais::v1::ExportEventsRequest req;
  req.set_from_sequence(absl::GetFlag(FLAGS_from_sequence));
  std::unique_ptr<grpc::ClientReader<relais::v1::ExportItem>> reader =
      stub->ExportEvents(&ctx, req);
  relais::v1::ExportItem item;
  int64_t items = 0, events = 0;
  while (reader->Read(&item)) {
    google::protobuf::util::SerializeDelimitedToOstream(item, &out);
    ++items;
    if (item.has_event()) ++events;
  }
  const grpc::Status status = reader->Finish();
  out.close();
  if (!status.ok()) {
    std::remove(temp.c_str());
    return Fail(1, absl::StrCat("export failed: ", status.error_message()));
  }
  if (!out || std::rename(temp.c_str(), out_path.c_str()) != 0) {
    std::remove(temp.c_str());
    return Fail(2, absl::StrCat("cannot write ", out_path));
  }
  std::fprintf(stderr, "relais-audit-export: %lld events (%lld items) saved to %s\n",
               static_cast<long long>(events), static_cast<long long>(items), out_path.c_str());
  return 0;
}
