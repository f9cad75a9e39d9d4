#ifndef RELAIS_TOOLS_RELAISCTL_CLI_H_
#define RELAIS_TOOLS_RELAISCTL_CLI_H_

// The command table and the command line: `relaisctl <command> [subcommand]
// [args] [flags]`. Flags are absl flags (flags.h), parsed here rather than by
// absl::ParseCommandLine so that each command accepts only its own flags,
// `--help` prints that command's usage, a usage error exits with status 2
// (absl exits with 1), and names may be written with '-' or '_'
// (--ending-within = --ending_within).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "tools/relaisctl/client.h"
#include "tools/relaisctl/format.h"

namespace relais::ctl {

struct Invocation;

struct CommandSpec {
  const char* group;  // "youth"; the command itself for one-word commands ("login")
  const char* name;   // "create"; "" for one-word commands
  const char* args;   // positional arguments for the usage line, e.g. "<youth-id>"
  int min_args = 0;
  int max_args = 0;
  // The command's flags, in the order the usage lists them. Required ones are
  // named in `synopsis`.
  std::vector<const char*> flags;
  const char* synopsis;  // required flags and alternatives for the usage line
  const char* summary;   // one line
  const char* help;      // a paragraph: what it does, what it prints
  // Talks to relaisd (the connection flags apply) with the token of `login`.
  bool connects = true;
  bool needs_token = true;
  int (*run)(Invocation& in) = nullptr;
};

// One run of a command. For connecting commands `client` is set.
struct Invocation {
  const CommandSpec* spec = nullptr;
  std::vector<std::string> args;
  std::unique_ptr<Client> client;
  Format format = Format::kTable;

  // Prints `error` (see client.h) and returns its exit status; the request id
  // of the last call is included for server errors.
  int Fail(const grpc::Status& status) const;
  int Fail(const absl::Status& status) const;
  // A usage error: prints the reason and the usage line; returns 2.
  int Usage(absl::string_view why) const;
};

// The commands of each area (commands_*.cc).
std::vector<CommandSpec> SessionCommands();       // login, logout
std::vector<CommandSpec> RecordCommands();        // youth, entry
std::vector<CommandSpec> CareCommands();          // accompaniment, consent, handover
std::vector<CommandSpec> AuditCommands();         // audit
std::vector<CommandSpec> AdminCommands();         // admin backup
std::vector<CommandSpec> RetentionCommands();     // admin retention sweep
std::vector<CommandSpec> PartnershipCommands();   // convention, protocol
std::vector<CommandSpec> InboxCommands();         // inbox, orientation
std::vector<CommandSpec> ConcertationCommands();  // concertation schedule|record|list
std::vector<CommandSpec> DirectoryCommands();     // service profile|show|search, glossary

// relaisctl's main: parses, connects, runs one command; returns the exit status.
int RunCli(int argc, char** argv);

// Output helpers for commands.
void Print(absl::string_view text);     // stdout
void PrintErr(absl::string_view text);  // stderr
// True when stderr is a terminal: long work reports progress there.
bool ProgressWanted();
// A listing in the invocation's format; with --quiet only the first column
// (the ids), one per line.
void PrintList(const Invocation& in, const Table& table);
// One record (the first row) in the invocation's format; with --quiet its id.
void PrintOne(const Invocation& in, const Table& table);

// Values of command-line flags, InvalidArgument naming the flag when malformed.
// An enum by its short name ("health"); "" -> UNSPECIFIED when !required.
absl::StatusOr<int> EnumFlag(const google::protobuf::EnumDescriptor* type, absl::string_view flag,
                             absl::string_view value, bool required = true);
// "YYYY-MM-DD": the start of that day, or the start of the next (the end of
// the day, for --until), in the local time zone.
absl::StatusOr<absl::Time> DayStartFlag(absl::string_view flag, absl::string_view value);
absl::StatusOr<absl::Time> DayEndFlag(absl::string_view flag, absl::string_view value);
absl::StatusOr<absl::Duration> DurationFlag(absl::string_view flag, absl::string_view value);

}  // namespace relais::ctl

#endif  // RELAIS_TOOLS_RELAISCTL_CLI_H_
