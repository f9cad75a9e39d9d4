// login and logout: the caseworker's token in the token file.

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

// The terminal's settings while echo is off, restored by a signal handler if
// the user interrupts the prompt (a terminal left without echo is unusable).
int g_tty_fd = -1;
struct termios g_tty_saved;

void RestoreTerminal(int sig) {
  if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSANOW, &g_tty_saved);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void Wipe(std::string& secret) {
  if (!secret.empty()) ::explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

// Reads one line from /dev/tty with echo off. FailedPrecondition if there is
// no terminal.
absl::StatusOr<std::string> ReadPasswordFromTerminal(absl::string_view prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        "no terminal to read the password from: use --password_stdin");
  }
  struct termios quiet;
  if (::tcgetattr(fd, &g_tty_saved) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        "no terminal to read the password from: use --password_stdin");
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  g_tty_fd = fd;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) std::signal(sig, RestoreTerminal);
  quiet = g_tty_saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  ::tcsetattr(fd, TCSAFLUSH, &quiet);
  std::string password;
  char c;
  while (true) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || c == '\r') break;
    password.push_back(c);
  }
  ::tcsetattr(fd, TCSAFLUSH, &g_tty_saved);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) std::signal(sig, SIG_DFL);
  g_tty_fd = -1;
  ::explicit_bzero(&c, sizeof(c));
  ::close(fd);
  return password;
}

// The first line of stdin, without its line end.
std::string ReadPasswordFromStdin() {
  std::string password;
  int c;
  while ((c = std::fgetc(stdin)) != EOF && c != '\n') password.push_back(static_cast<char>(c));
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

int Login(Invocation& in) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) return in.Usage("--user is required");
  std::string password;
  if (absl::GetFlag(FLAGS_password_stdin)) {
    password = ReadPasswordFromStdin();
  } else {
    absl::StatusOr<std::string> typed =
        ReadPasswordFromTerminal(absl::StrCat("Password for ", user, ": "));
    if (!typed.ok()) return in.Usage(typed.status().message());
    password = *std::move(typed);
  }
  if (password.empty()) return in.Usage("empty password");

  v1::LoginRequest req;
  req.set_login(user);
  req.set_password(password);
  Wipe(password);
  v1::LoginResponse resp;
  auto ctx = in.client->NewContext();
  const grpc::Status status = in.client->auth().Login(ctx.get(), req, &resp);
  Wipe(*req.mutable_password());
  if (!status.ok()) return in.Fail(status);

  const std::string path = TokenPath();
  if (absl::Status s = SaveToken(path, resp.token()); !s.ok()) {
    Report(Describe(s));
    return kExitFailed;
  }
  std::vector<std::string> roles;
  for (int r : resp.roles()) roles.push_back(ShortName(v1::Role_descriptor(), r));
  Table t{{{"login"},
           {"member_id", Kind::kId},
           {"service_id", Kind::kId},
           {"roles", Kind::kCode},
           {"expires_at", Kind::kTime},
           {"token_file"}},
          {{user, resp.member_id(), resp.service_id(), absl::StrJoin(roles, ","),
            TimeCell(resp.expires_at()), path}}};
  PrintOne(in, t);
  return kExitOk;
}

int Logout(Invocation& in) {
  const std::string path = TokenPath();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return in.Fail(
        absl::InternalError(absl::StrCat("cannot remove ", path, ": ", std::strerror(errno))));
  }
  Print(absl::StrCat("logged out: ", path, " removed\n"));
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> SessionCommands() {
  return {
      {"login",
       "",
       "",
       0,
       0,
       {"user", "password_stdin", "format"},
       "--user <login>",
       "Log in and store your token.",
       "Asks for your password without echo (or reads the first line of standard input with "
       "--password_stdin), calls AuthService.Login and writes the token to "
       "~/.config/relais/token, or to $RELAIS_TOKEN_FILE (directory 0700, file 0600). Prints "
       "your member id, service, roles and when the token expires (log in again then). A wrong "
       "login or password exits with status 3 (invalid_credentials).",
       /*connects=*/true,
       /*needs_token=*/false,
       Login},
      {"logout",
       "",
       "",
       0,
       0,
       {},
       "",
       "Delete the stored token.",
       "Removes the token file. Tokens are short-lived; relaisd keeps no session to end.",
       /*connects=*/false,
       /*needs_token=*/false,
       Logout},
  };
}

}  // namespace relais::ctl
