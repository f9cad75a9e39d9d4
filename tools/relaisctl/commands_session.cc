// login, passwd and logout: the caseworker's token in the token file; member
// reset-password (a one-time password for a colleague).

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
#include "relais/v1/directory.grpc.pb.h"
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

// Reads one password: the next line of stdin with --password_stdin, else from
// the terminal without echo. Empty on failure, with the usage error in `*why`.
std::string ReadSecret(absl::string_view prompt, std::string* why) {
  if (absl::GetFlag(FLAGS_password_stdin)) return ReadPasswordFromStdin();
  absl::StatusOr<std::string> typed = ReadPasswordFromTerminal(prompt);
  if (!typed.ok()) {
    *why = std::string(typed.status().message());
    return "";
  }
  return *std::move(typed);
}

// The new password, typed twice at a terminal (once from stdin). Empty on
// failure, with the usage error in `*why`.
std::string ReadNewPassword(std::string* why) {
  std::string chosen = ReadSecret("New password (12 to 128 characters): ", why);
  if (chosen.empty()) {
    if (why->empty()) *why = "empty new password";
    return "";
  }
  if (!absl::GetFlag(FLAGS_password_stdin)) {
    std::string again = ReadSecret("New password again: ", why);
    const bool same = again == chosen;
    Wipe(again);
    if (!same) {
      Wipe(chosen);
      *why = "the two new passwords differ";
      return "";
    }
  }
  return chosen;
}

// Stores the token of a Login or ChangePassword answer and prints the session.
int SaveSession(Invocation& in, const std::string& user, const v1::LoginResponse& resp) {
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

// AuthService.ChangePassword; consumes (wipes) both passwords.
int ChangeAndSave(Invocation& in, const std::string& user, std::string& current,
                  std::string& chosen) {
  v1::ChangePasswordRequest req;
  req.set_login(user);
  req.set_current_password(current);
  req.set_new_password(chosen);
  Wipe(current);
  Wipe(chosen);
  v1::LoginResponse resp;
  auto ctx = in.client->NewContext();
  const grpc::Status status = in.client->auth().ChangePassword(ctx.get(), req, &resp);
  Wipe(*req.mutable_current_password());
  Wipe(*req.mutable_new_password());
  if (!status.ok()) return in.Fail(status);
  return SaveSession(in, user, resp);
}

int Login(Invocation& in) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) return in.Usage("--user is required");
  std::string why;
  std::string password = ReadSecret(absl::StrCat("Password for ", user, ": "), &why);
  if (!why.empty()) return in.Usage(why);
  if (password.empty()) return in.Usage("empty password");

  v1::LoginRequest req;
  req.set_login(user);
  req.set_password(password);
  v1::LoginResponse resp;
  auto ctx = in.client->NewContext();
  const grpc::Status status = in.client->auth().Login(ctx.get(), req, &resp);
  Wipe(*req.mutable_password());
  if (Describe(status).reason == "password_change_required") {
    // A one-time password (new member, reset): choose your own now.
    PrintErr("This is a one-time password: choose your own password.\n");
    std::string chosen = ReadNewPassword(&why);
    if (chosen.empty()) {
      Wipe(password);
      return in.Usage(why);
    }
    return ChangeAndSave(in, user, password, chosen);
  }
  Wipe(password);
  if (!status.ok()) return in.Fail(status);
  return SaveSession(in, user, resp);
}

int Passwd(Invocation& in) {
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) return in.Usage("--user is required");
  std::string why;
  std::string current =
      ReadSecret(absl::StrCat("Current (or one-time) password for ", user, ": "), &why);
  if (current.empty()) return in.Usage(why.empty() ? "empty current password" : why);
  std::string chosen = ReadNewPassword(&why);
  if (chosen.empty()) {
    Wipe(current);
    return in.Usage(why);
  }
  return ChangeAndSave(in, user, current, chosen);
}

int ResetPassword(Invocation& in) {
  v1::ResetPasswordRequest req;
  req.set_member_id(in.args[0]);
  v1::ResetPasswordResponse resp;
  auto stub = v1::DirectoryService::NewStub(in.client->channel());
  auto ctx = in.client->NewContext();
  const grpc::Status status = stub->ResetPassword(ctx.get(), req, &resp);
  if (!status.ok()) return in.Fail(status);
  Table t{{{"member_id", Kind::kId}, {"one_time_password"}, {"expires_at", Kind::kTime}},
          {{in.args[0], resp.one_time_password(), TimeCell(resp.one_time_password_expires_at())}}};
  PrintOne(in, t);
  PrintErr(
      "Give this one-time password to the member in person; it is shown only once. They "
      "choose their own with `relaisctl login` or `relaisctl passwd` before it expires.\n");
  return kExitOk;
}

int Logout(Invocation& in) {
  const std::string path = TokenPath();
  // Revoke the token on the server first: a copy of it stops working too.
  grpc::Status revoked = grpc::Status::OK;
  bool had_token = false;
  if (absl::StatusOr<std::string> token = LoadToken(path); token.ok()) {
    had_token = true;
    auto ctx = in.client->NewContext();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
    v1::LogoutResponse resp;
    revoked = in.client->auth().Logout(ctx.get(), v1::LogoutRequest(), &resp);
    // Already unusable (revoked, expired, key retired): nothing left to revoke.
    if (revoked.error_code() == grpc::StatusCode::UNAUTHENTICATED) revoked = grpc::Status::OK;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return in.Fail(
        absl::InternalError(absl::StrCat("cannot remove ", path, ": ", std::strerror(errno))));
  }
  if (!revoked.ok()) {
    PrintErr(absl::StrCat(path, " removed, but the server did not revoke the token:\n"));
    return in.Fail(revoked);
  }
  Print(absl::StrCat("logged out: ", had_token ? "token revoked, " : "", path, " removed\n"));
  return kExitOk;
}

int MemberUnlock(Invocation& in) {
  v1::UnlockAccountRequest req;
  req.set_member_id(in.args[0]);
  v1::UnlockAccountResponse resp;
  auto ctx = in.client->NewContext();
  const grpc::Status status = in.client->auth().UnlockAccount(ctx.get(), req, &resp);
  if (!status.ok()) return in.Fail(status);
  Table t{{{"member_id", Kind::kId}, {"was_locked"}},
          {{in.args[0], resp.was_locked() ? "true" : "false"}}};
  PrintOne(in, t);
  return kExitOk;
}

}  // namespace

// table: the session commands, one CommandSpec each.
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
       "login or password exits with status 3 (invalid_credentials). With a one-time password "
       "(password_change_required) it asks for your new password (twice; with "
       "--password_stdin, the second line of standard input) and changes it first.",
       /*connects=*/true,
       /*needs_token=*/false,
       Login},
      {"passwd",
       "",
       "",
       0,
       0,
       {"user", "password_stdin", "format"},
       "--user <login>",
       "Change your password (or choose one with a one-time password).",
       "Asks for your current password (or the one-time password an admin or coordinator "
       "gave you) and twice for the new one, without echo; with --password_stdin reads the "
       "current and the new password from the first two lines of standard input. The new "
       "password needs 12 to 128 characters and must not be one of the most common "
       "passwords (password_too_short, password_too_long, password_too_common: exit 6). "
       "Calls AuthService.ChangePassword, which answers like login: the new token is stored "
       "and the session printed.",
       /*connects=*/true,
       /*needs_token=*/false,
       Passwd},
      {"member",
       "reset-password",
       "<member-id>",
       1,
       1,
       {"format"},
       "",
       "Give a colleague a one-time password.",
       "Admins, and coordinators for their own service's members: replaces the member's "
       "password with a random one-time password, printed once, which the member must "
       "replace at their next login (within 72 hours by default). Never for yourself (use "
       "passwd). Needs a login of the last 5 minutes (reauthentication_required: log in "
       "again).",
       /*connects=*/true,
       /*needs_token=*/true,
       ResetPassword},
      {"logout",
       "",
       "",
       0,
       0,
       {},
       "",
       "Revoke your token and delete it.",
       "Calls AuthService.Logout with the stored token, so that it (and any copy of it) "
       "answers token_revoked from then on, then removes the token file. A token that no "
       "longer works is just removed. If the server cannot be reached the file is removed "
       "anyway and the exit status says the token was not revoked.",
       /*connects=*/true,
       /*needs_token=*/false,
       Logout},
      {"member",
       "unlock",
       "<member-id>",
       1,
       1,
       {"format", "quiet"},
       "",
       "Unlock a member's account after failed logins (admins, the member's coordinator).",
       "Calls AuthService.UnlockAccount: the member may try their password again at once "
       "(a lock also ends on its own: 15 minutes, doubled for each further lock in a row, at "
       "most 8 hours). Prints whether the account was locked. A coordinator unlocks members "
       "of their own service only, never an admin or an auditor, and nobody their own account.",
       /*connects=*/true,
       /*needs_token=*/true,
       MemberUnlock},
  };
}

}  // namespace relais::ctl
