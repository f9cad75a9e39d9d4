#include "tools/relaisctl/client.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "relais/v1/common.pb.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

constexpr char kDefaultTokenDir[] = ".config/relais";
constexpr size_t kMaxTokenBytes = 16 * 1024;

// "role_not_permitted" from "role_not_permitted: ...": a reason code prefix.
std::string ReasonPrefix(absl::string_view message) {
  const size_t colon = message.find(':');
  if (colon == absl::string_view::npos || colon == 0 || colon > 64) return std::string();
  for (char c : message.substr(0, colon)) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return std::string();
  }
  return std::string(message.substr(0, colon));
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

absl::Status ReadFile(const std::string& path, absl::string_view what, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return absl::OkStatus();
}

std::string HomeDir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const struct passwd* pw = ::getpwuid(::getuid()); pw != nullptr) return pw->pw_dir;
  return ".";
}

std::string Errno(absl::string_view what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

}  // namespace

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kUnauthenticated:
      return kExitUnauthenticated;
    case absl::StatusCode::kPermissionDenied:
      return kExitPermissionDenied;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return kExitInvalid;
    default:
      return kExitServer;
  }
}

ErrorReport Describe(const grpc::Status& status) {
  ErrorReport report;
  report.code = static_cast<absl::StatusCode>(status.error_code());
  std::string field;
  v1::RpcStatus details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      v1::ErrorDetail detail;
      if (any.UnpackTo(&detail)) {
        report.reason = detail.reason();
        field = detail.field();
        break;
      }
    }
  }
  const std::string text = status.error_message();  // returned by value
  absl::string_view message = text;
  if (report.reason.empty()) report.reason = ReasonPrefix(message);
  if (report.reason.empty()) report.reason = absl::AsciiStrToLower(CodeName(report.code));
  absl::ConsumePrefix(&message, absl::StrCat(report.reason, ": "));
  // relaisd writes the field as "field=<name>: " after the reason.
  if (!field.empty() && absl::ConsumePrefix(&message, absl::StrCat("field=", field, ": "))) {
    report.message = absl::StrCat(field, ": ", message);
  } else {
    report.message = std::string(message);
  }
  return report;
}

ErrorReport Describe(const absl::Status& status) {
  ErrorReport report;
  report.code = status.code();
  absl::string_view message = status.message();
  report.reason = ReasonPrefix(message);
  if (report.reason.empty()) {
    report.reason = absl::AsciiStrToLower(CodeName(report.code));
  } else {
    absl::ConsumePrefix(&message, absl::StrCat(report.reason, ": "));
  }
  report.message = std::string(message);
  return report;
}

std::string ErrorLine(const ErrorReport& error) {
  return absl::StrCat("error: ", CodeName(error.code), " ", error.reason, ": ", error.message);
}

int Report(const ErrorReport& error, absl::string_view request_id) {
  std::string text = ErrorLine(error);
  if (!request_id.empty()) absl::StrAppend(&text, " (request id ", request_id, ")");
  text += "\n";
  if (error.code == absl::StatusCode::kUnauthenticated && error.reason != "invalid_credentials") {
    text += "hint: log in with: relaisctl login --user <your login>\n";
  }
  std::fputs(text.c_str(), stderr);
  return ExitCodeFor(error.code);
}

bool IsLoopback(absl::string_view server) {
  if (absl::StartsWith(server, "unix:")) return true;
  absl::ConsumePrefix(&server, "dns:///");
  absl::ConsumePrefix(&server, "ipv4:");
  absl::ConsumePrefix(&server, "ipv6:");
  absl::string_view host = server;
  if (absl::ConsumePrefix(&host, "[")) {
    host = host.substr(0, host.find(']'));
    return host == "::1";
  }
  if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host == "localhost") return true;
  if (!absl::ConsumePrefix(&host, "127.")) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 3) return false;
  for (absl::string_view p : parts) {
    int n = 0;
    if (p.empty() || !absl::SimpleAtoi(p, &n) || n < 0 || n > 255) return false;
  }
  return true;
}

absl::StatusOr<ConnectionOptions> ConnectionFromFlags() {
  ConnectionOptions options;
  options.server = absl::GetFlag(FLAGS_server);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  auto from_env = [](std::string flag, const char* env) {
    if (flag.empty()) {
      if (const char* value = std::getenv(env); value != nullptr) flag = value;
    }
    return flag;
  };
  options.ca_file = from_env(absl::GetFlag(FLAGS_ca), "RELAIS_CA");
  options.cert_file = from_env(absl::GetFlag(FLAGS_cert), "RELAIS_CERT");
  options.key_file = from_env(absl::GetFlag(FLAGS_key), "RELAIS_KEY");
  if (options.insecure) {
    if (!IsLoopback(options.server)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--insecure is for a development server on a loopback address, not ", options.server));
    }
    return options;
  }
  if (options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs --ca, --cert and --key (or $RELAIS_CA, $RELAIS_CERT, $RELAIS_KEY); "
        "--insecure talks plaintext to a loopback development server");
  }
  return options;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& options) {
  grpc::ChannelArguments args;
  if (options.insecure) {
    return grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions tls;
  if (absl::Status s = ReadFile(options.ca_file, "--ca", &tls.pem_root_certs); !s.ok()) return s;
  if (absl::Status s = ReadFile(options.cert_file, "--cert", &tls.pem_cert_chain); !s.ok()) {
    return s;
  }
  struct stat st;
  if (::stat(options.key_file.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    std::fprintf(stderr, "warning: %s can be read by group or others; chmod 600 it\n",
                 options.key_file.c_str());
  }
  if (absl::Status s = ReadFile(options.key_file, "--key", &tls.pem_private_key); !s.ok()) {
    return s;
  }
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  auto channel = grpc::CreateCustomChannel(options.server, grpc::SslCredentials(tls), args);
  std::fill(tls.pem_private_key.begin(), tls.pem_private_key.end(), '\0');
  return channel;
}

std::string TokenPath() {
  if (const char* path = std::getenv("RELAIS_TOKEN_FILE"); path != nullptr && *path != '\0') {
    return path;
  }
  return absl::StrCat(HomeDir(), "/", kDefaultTokenDir, "/token");
}

absl::Status SaveToken(const std::string& path, absl::string_view token) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty()) {
    // Missing directories are made private; ~/.config/relais is kept private.
    std::error_code ec;
    fs::path partial;
    for (const fs::path& part : dir) {
      partial /= part;
      if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::InternalError(Errno("cannot create", partial.string()));
      }
    }
    const fs::path default_dir = fs::path(HomeDir()) / kDefaultTokenDir;
    if (fs::equivalent(dir, default_dir, ec)) {
      struct stat st;
      if (::stat(dir.c_str(), &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 0077) != 0 &&
          ::chmod(dir.c_str(), 0700) != 0) {
        return absl::InternalError(Errno("cannot chmod", dir.string()));
      }
    }
  }
  std::string temp = absl::StrCat(path, ".XXXXXX");
  const int fd = ::mkstemp(temp.data());  // mode 0600
  if (fd < 0) return absl::InternalError(Errno("cannot create a file beside", path));
  const std::string content = absl::StrCat(token, "\n");
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = Errno("cannot write", path);
    ::unlink(temp.c_str());
    return absl::InternalError(why);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadToken(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::UnauthenticatedError(
          absl::StrCat("token_missing: not logged in (no token file ", path, ")"));
    }
    return absl::UnauthenticatedError(absl::StrCat("token_missing: ", Errno("cannot read", path)));
  }
  struct stat st;
  std::string problem;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = "is not a regular file";
  } else if (st.st_uid != ::geteuid()) {
    problem = "belongs to another user";
  } else if ((st.st_mode & 0077) != 0) {
    problem = absl::StrFormat(
        "can be accessed by group or others (mode %04o); the token is not used: delete the "
        "file and log in again",
        st.st_mode & 07777);
  }
  std::string token;
  if (problem.empty()) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || token.size() + static_cast<size_t>(n) > kMaxTokenBytes) {
        problem = "cannot be read as a token";
        break;
      }
      token.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!problem.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("token_file_insecure: the token file ", path, " ", problem));
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("token_missing: ", path, " is empty"));
  }
  return token;
}

Client::Client(std::shared_ptr<grpc::Channel> channel, std::string token, absl::Duration timeout)
    : channel_(channel),
      token_(std::move(token)),
      timeout_(timeout),
      auth_(v1::AuthService::NewStub(channel)),
      record_(v1::RecordService::NewStub(channel)),
      care_(v1::CareService::NewStub(channel)),
      audit_(v1::AuditService::NewStub(channel)),
      partnership_(v1::PartnershipService::NewStub(channel)),
      inbox_(v1::InboxService::NewStub(channel)) {}

std::unique_ptr<grpc::ClientContext> Client::NewContext(bool stream) {
  static absl::BitGen* gen = new absl::BitGen();
  request_id_ = absl::StrFormat("ctl-%016x", absl::Uniform<uint64_t>(*gen));
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  ctx->AddMetadata("x-request-id", request_id_);
  if (!stream) ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  return ctx;
}

}  // namespace relais::ctl
