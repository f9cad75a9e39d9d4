#ifndef RELAIS_TESTS_RELAISD_PROCESS_H_
#define RELAIS_TESTS_RELAISD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/auth.grpc.pb.h"

namespace relais::testing {

// A relaisd binary run as a child process, its stdout and stderr merged into
// one pipe that the test reads. Killed (SIGKILL) on destruction unless Exit()
// has reaped it.
class RelaisdProcess {
 public:
  RelaisdProcess(const std::string& binary, std::vector<std::string> args);
  ~RelaisdProcess();
  RelaisdProcess(const RelaisdProcess&) = delete;
  RelaisdProcess& operator=(const RelaisdProcess&) = delete;

  // Reads output until it contains `needle` (true), or the output ends or
  // `timeout` passes (false).
  bool WaitFor(absl::string_view needle, absl::Duration timeout = absl::Seconds(60));
  // Waits for the exit (after SIGTERM if `terminate`): the exit code, or -1 if
  // killed by a signal.
  int Exit(bool terminate = false);
  const std::string& output() const { return output_; }
  // The port of the "relaisd serving" log line; 0 before it.
  int ServingPort() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string output_;
};

// What a command run to completion printed, and how it ended.
struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs `binary` with exactly `env` as its environment (plus the sanitizer
// settings of the test run, deploy/test.sh's, unless `env` sets them) and
// `input` on stdin, and waits for it.
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env, const std::string& input);

// A client of a relaisd process: a context carrying `token` (none if empty)
// as a bearer token, with a deadline.
std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token,
                                                 absl::Duration deadline = absl::Seconds(60));

// A demo member logged in through `auth` with the demo password (a failure is
// a test failure, and leaves both fields empty).
struct DemoMember {
  std::string token, member_id;
};
DemoMember DemoLogin(v1::AuthService::Stub& auth, const std::string& login);

}  // namespace relais::testing

#endif  // RELAIS_TESTS_RELAISD_PROCESS_H_
