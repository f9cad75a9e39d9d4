#include "storage/postgres_backup.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/backup_file.h"
#include "storage/postgres_connection.h"

extern char** environ;

namespace relais::storage {
namespace {

std::string FirstLineOf(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Runs `argv` with stdout and stderr into `err_path`; polls `keep_going` while
// it runs and kills it when told to stop. The exit code, or -1 if killed.
absl::StatusOr<int> Run(const std::vector<std::string>& argv, const std::string& err_path,
                        const std::function<bool()>& keep_going) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Of a multi-host URI, the primary: the one whose snapshot pg_dump imports.
  std::vector<std::string> env_s = {"PGTARGETSESSIONATTRS=read-write"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PGTARGETSESSIONATTRS=", 21) != 0) env_s.emplace_back(*e);
  }
  std::vector<char*> args, env;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (std::string& e : env_s) env.push_back(e.data());
  args.push_back(nullptr);
  env.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("start ", argv[0], ": ", std::strerror(rc)));
  }
  int status = 0;
  bool killed = false;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return FileError("wait for", argv[0]);
    if (!killed && keep_going && !keep_going()) {
      ::kill(pid, SIGTERM);
      killed = true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (killed || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

absl::StatusOr<std::string> OneValue(Connection& c, absl::string_view sql) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(sql));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return s.ColumnText(0);
}

// pg_dump of the snapshot `conn` holds open, into `tmp`.
absl::Status Dump(const std::string& uri, Connection& conn, const std::string& tmp,
                  const Database::BackupOptions& options) {
  ASSIGN_OR_RETURN(std::string snapshot, OneValue(conn, "SELECT pg_export_snapshot()"));
  ASSIGN_OR_RETURN(std::string schema, OneValue(conn, "SELECT current_schema()"));
  if (options.on_snapshot) RETURN_IF_ERROR(options.on_snapshot(conn));
  const std::string err = absl::StrCat(tmp, ".log");
  const std::string tool = PostgresToolPath("pg_dump");
  auto progress = [&]() {
    if (!options.progress) return true;
    struct stat st;
    return options.progress(::stat(tmp.c_str(), &st) == 0 ? st.st_size : 0, 0);
  };
  absl::StatusOr<int> dumped =
      Run({tool, "--format=custom", "--no-owner", "--no-privileges", "--snapshot=" + snapshot,
           "--schema=" + schema, "--file=" + tmp, "--dbname=" + uri},
          err, progress);
  const std::string said = FirstLineOf(err);
  ::unlink(err.c_str());
  if (!dumped.ok()) return dumped.status();
  if (*dumped == -1) return absl::CancelledError("backup cancelled");
  if (*dumped != 0) {
    common::LogError("pg_dump failed", {{"exit", absl::StrCat(*dumped)}, {"said", said}});
    return absl::UnavailableError(absl::StrCat("pg_dump failed: ", said));
  }
  // The archive reads back: its table of contents lists the schema's tables.
  ASSIGN_OR_RETURN(int listed, Run({PostgresToolPath("pg_restore"), "--list", tmp}, err, nullptr));
  const std::string listing_said = FirstLineOf(err);
  ::unlink(err.c_str());
  if (listed != 0) {
    return absl::DataLossError(absl::StrCat("the archive does not read back: ", listing_said));
  }
  return absl::OkStatus();
}

}  // namespace

// The newest installed client tool `name` (pg_dump must not be older than the
// server): /usr/lib/postgresql/<version>/bin first, then /usr/bin.
std::string PostgresToolPath(const std::string& name) {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = 0;
    const std::string v = e.path().filename().string();
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) continue;
    version = std::stoi(v);
    const std::string tool = absl::StrCat(e.path().string(), "/bin/", name);
    if (version > best_version && ::access(tool.c_str(), X_OK) == 0) {
      best = tool;
      best_version = version;
    }
  }
  if (best.empty()) best = absl::StrCat("/usr/bin/", name);
  return best;
}

absl::StatusOr<Database::BackupInfo> PostgresBackup(const std::string& uri,
                                                    const std::string& dest_path,
                                                    const Database::BackupOptions& options) {
  const absl::Time start = absl::Now();
  const std::string tmp = absl::StrCat(dest_path, ".tmp");
  ::unlink(tmp.c_str());
  // Created here so that the archive is 0600 from its first byte (pg_dump
  // truncates and keeps the mode).
  RETURN_IF_ERROR(CreatePrivateFile(tmp));
  Database::BackupInfo info;
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::unique_ptr<PostgresConnection> conn,
                     PostgresConnection::Open(uri, absl::Seconds(5)));
    // The snapshot lives as long as this transaction: pg_dump imports it.
    RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    absl::Status dumped = Dump(uri, *conn, tmp, options);
    (void)conn->Exec("COMMIT");
    RETURN_IF_ERROR(dumped);
    ASSIGN_OR_RETURN(info.bytes, PublishFile(tmp, dest_path));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  info.elapsed = absl::Now() - start;
  return info;
}

}  // namespace relais::storage
