#include "tools/relaisctl/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

constexpr const char* kConnectionFlags[] = {"server",          "ca",       "cert",   "key",
                                            "tls_server_name", "insecure", "timeout"};

constexpr char kExitStatusHelp[] =
    "exit status:\n"
    "  0  ok\n"
    "  1  audit verify: the export does not verify; admin backup: the copy fails its\n"
    "     size or SHA-256 check; or a local file cannot be written\n"
    "  2  usage error: bad command, flag or argument (nothing was sent)\n"
    "  3  unauthenticated: not logged in, token expired or refused, wrong password,\n"
    "     token file readable by others\n"
    "  4  permission denied: the access rule refused; the reason code says which rule\n"
    "  5  not found\n"
    "  6  invalid argument, failed precondition or already exists: fix the request\n"
    "  7  unavailable or another server error: the call may be retried\n"
    "Errors are printed on stderr as: error: <GRPC_CODE> <reason_code>: <message>\n";

constexpr char kShortExitStatus[] =
    "exit status: 0 ok, 1 check failed, 2 usage error, 3 unauthenticated,\n"
    "  4 permission denied, 5 not found, 6 invalid argument or failed precondition,\n"
    "  7 unavailable or other server error (relaisctl --help explains them)\n";

struct Parsed {
  std::vector<std::string> words;
  // Flags in command-line order: canonical name, value.
  std::vector<std::pair<std::string, std::string>> flags;
  bool help = false;
};

std::string Canonical(absl::string_view name) { return absl::StrReplaceAll(name, {{"-", "_"}}); }

absl::Status Tokenize(int argc, char** argv, Parsed* out) {
  bool only_words = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (only_words || arg == "-" || !absl::StartsWith(arg, "-")) {
      out->words.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_words = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      out->help = true;
      continue;
    }
    if (arg == "-q") {
      out->flags.emplace_back("quiet", "true");
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    }
    absl::string_view body = arg.substr(2);
    const size_t eq = body.find('=');
    std::string name = Canonical(body.substr(0, eq));
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && eq == absl::string_view::npos) {
      std::string positive = name.substr(name.size() > 2 && name[2] == '_' ? 3 : 2);
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(positive);
      if (negated != nullptr && negated->IsOfType<bool>()) {
        out->flags.emplace_back(std::move(positive), "false");
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", body.substr(0, eq)));
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    out->flags.emplace_back(std::move(name), std::move(value));
  }
  return absl::OkStatus();
}

// Appends `text` after a prefix `start` columns wide, wrapping its words
// before column 80 with continuation lines indented by `indent`. A '\n' in
// `text` is kept as a line break.
std::string Wrap(absl::string_view text, size_t start, size_t indent) {
  std::string out;
  bool first_line = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!first_line) absl::StrAppend(&out, "\n", std::string(indent, ' '));
    size_t column = first_line ? start : indent;
    first_line = false;
    bool empty = true;
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      if (!empty && column + 1 + word.size() > 79) {
        absl::StrAppend(&out, "\n", std::string(indent, ' '));
        column = indent;
        empty = true;
      }
      if (!empty) {
        out += ' ';
        ++column;
      }
      out.append(word.data(), word.size());
      column += word.size();
      empty = false;
    }
  }
  return out;
}

std::string FlagLine(const char* name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return std::string();
  std::string help = flag->Help();
  const std::string def = flag->DefaultValue();
  if (!def.empty() && def != "false" && def != "0" && !absl::StrContains(help, "default")) {
    absl::StrAppend(&help, " (default ", def, ")");
  }
  std::string head = absl::StrCat("  --", name);
  head.resize(std::max<size_t>(head.size() + 1, 20), ' ');
  return absl::StrCat(head, Wrap(help, head.size(), 20), "\n");
}

std::string CommandName(const CommandSpec& spec) {
  return *spec.name == '\0' ? spec.group : absl::StrCat(spec.group, " ", spec.name);
}

std::string UsageLine(const CommandSpec& spec) {
  std::vector<std::string> parts = {"relaisctl", CommandName(spec)};
  if (*spec.args != '\0') parts.push_back(spec.args);
  if (*spec.synopsis != '\0') parts.push_back(spec.synopsis);
  if (!spec.flags.empty() || spec.connects) parts.push_back("[flags]");
  return absl::StrJoin(parts, " ");
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string out = absl::StrCat("usage: ", Wrap(UsageLine(spec), 7, 10), "\n\n",
                                 Wrap(spec.summary, 0, 0), "\n\n", Wrap(spec.help, 0, 0), "\n");
  if (!spec.flags.empty()) {
    out += "\nflags:\n";
    for (const char* f : spec.flags) out += FlagLine(f);
  }
  if (spec.connects) {
    out +=
        "\nconnection flags (see relaisctl --help): --server --ca --cert --key\n"
        "  --tls_server_name --insecure --timeout\n";
  }
  absl::StrAppend(&out, "\n", kShortExitStatus);
  return out;
}

std::string GroupHelp(const std::vector<CommandSpec>& specs, absl::string_view group) {
  std::string out =
      absl::StrCat("usage: relaisctl ", group, " <subcommand> [arguments] [flags]\n\n");
  for (const CommandSpec& s : specs) {
    if (s.group != group) continue;
    std::string head = absl::StrCat("  ", s.name);
    if (head.size() < 14) head.resize(14, ' ');
    absl::StrAppend(&out, head, " ", Wrap(s.summary, head.size() + 1, head.size() + 1), "\n");
  }
  absl::StrAppend(&out, "\nrelaisctl ", group,
                  " <subcommand> --help shows a subcommand's flags.\n");
  return out;
}

std::string TopHelp(const std::vector<CommandSpec>& specs) {
  std::string out =
      "relaisctl: the command-line client of Relais, for caseworkers and auditors.\n\n"
      "usage: relaisctl <command> [subcommand] [arguments] [flags]\n"
      "       relaisctl <command> [subcommand] --help\n\ncommands:\n";
  for (const CommandSpec& s : specs) {
    std::string head = absl::StrCat("  ", CommandName(s));
    if (head.size() < 24) head.resize(24, ' ');
    absl::StrAppend(&out, head, " ", Wrap(s.summary, head.size() + 1, head.size() + 1), "\n");
  }
  out += "\nconnection:\n";
  for (const char* f : kConnectionFlags) out += FlagLine(f);
  out += "\n";
  out += Wrap(
      "relaisd serves mutual TLS: give the CA that signed its certificate and the certificate "
      "and key of your service's client application. --insecure talks plaintext to a "
      "development server on a loopback address only. `relaisctl login` stores your token in "
      "~/.config/relais/token (directory 0700, file 0600; $RELAIS_TOKEN_FILE chooses another "
      "file); a token file that group or others can read is refused. Every call sends the "
      "token as `authorization: Bearer ...` and a fresh x-request-id, which the audit log "
      "records.",
      0, 0);
  out += "\n\n";
  out += Wrap(
      "Dates are YYYY-MM-DD in the local time zone (--until includes the whole day); durations "
      "are like 30d, 2w or 12h. Flag names may be written with - or _ (--ending-within). "
      "Listings print a table of at most 80 columns with long ids cut by an ellipsis; use "
      "--format csv or --format json for complete values.",
      0, 0);
  absl::StrAppend(&out, "\n\n", kExitStatusHelp);
  return out;
}

int UsageError(absl::string_view why, absl::string_view usage_line, absl::string_view more) {
  PrintErr(absl::StrCat("error: usage: ", why, "\n"));
  if (!usage_line.empty()) PrintErr(absl::StrCat("usage: ", Wrap(usage_line, 7, 10), "\n"));
  PrintErr(absl::StrCat("run '", more, " --help' for more\n"));
  return kExitUsage;
}

}  // namespace

void Print(absl::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void PrintErr(absl::string_view text) { std::fwrite(text.data(), 1, text.size(), stderr); }

bool ProgressWanted() { return ::isatty(STDERR_FILENO) == 1; }

void PrintList(const Invocation& in, const Table& table) {
  if (absl::GetFlag(FLAGS_quiet)) {
    std::string out;
    for (const auto& row : table.rows) absl::StrAppend(&out, row.empty() ? "" : row[0], "\n");
    Print(out);
    return;
  }
  Print(Render(table, in.format));
}

void PrintOne(const Invocation& in, const Table& table) {
  if (absl::GetFlag(FLAGS_quiet)) {
    if (!table.rows.empty() && !table.rows[0].empty()) Print(absl::StrCat(table.rows[0][0], "\n"));
    return;
  }
  Print(RenderRecord(table, in.format));
}

absl::StatusOr<int> EnumFlag(const google::protobuf::EnumDescriptor* type, absl::string_view flag,
                             absl::string_view value, bool required) {
  if (value.empty() && !required) return 0;
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
  absl::StatusOr<int> parsed = ParseShortName(type, value);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", parsed.status().message()));
  }
  return parsed;
}

absl::StatusOr<absl::Time> DayStartFlag(absl::string_view flag, absl::string_view value) {
  absl::StatusOr<absl::Time> t = ParseDate(value, absl::LocalTimeZone());
  if (!t.ok())
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", t.status().message()));
  return t;
}

absl::StatusOr<absl::Time> DayEndFlag(absl::string_view flag, absl::string_view value) {
  absl::StatusOr<absl::Time> start = DayStartFlag(flag, value);
  if (!start.ok()) return start;
  const absl::TimeZone zone = absl::LocalTimeZone();
  return absl::FromCivil(absl::ToCivilDay(*start, zone) + 1, zone);
}

absl::StatusOr<absl::Duration> DurationFlag(absl::string_view flag, absl::string_view value) {
  absl::StatusOr<absl::Duration> d = ParseDuration(value);
  if (!d.ok())
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", d.status().message()));
  return d;
}

int Invocation::Fail(const grpc::Status& status) const {
  return Report(Describe(status), client != nullptr ? client->request_id() : "");
}

int Invocation::Fail(const absl::Status& status) const { return Report(Describe(status)); }

int Invocation::Usage(absl::string_view why) const {
  return UsageError(why, UsageLine(*spec), absl::StrCat("relaisctl ", CommandName(*spec)));
}

namespace {

// Each step of RunCli returns the exit status when the run ends there (help
// printed, usage error reported), nothing when it goes on.
using Outcome = std::optional<int>;

std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> specs;
  for (auto list : {SessionCommands(), RecordCommands(), CareCommands(), AuditCommands(),
                    RetentionCommands(), AdminCommands(), PartnershipCommands(), InboxCommands(),
                    DirectoryCommands(), ConcertationCommands()}) {
    for (CommandSpec& s : list) specs.push_back(std::move(s));
  }
  return specs;
}

// The command the words name, in *spec; help for a group or the whole tool.
Outcome FindCommand(const std::vector<CommandSpec>& specs, const Parsed& parsed,
                    const CommandSpec** spec) {
  const std::vector<std::string>& words = parsed.words;
  if (words.empty()) {
    if (parsed.help) {
      Print(TopHelp(specs));
      return kExitOk;
    }
    return UsageError("missing command", "relaisctl <command> [subcommand] [flags]", "relaisctl");
  }
  bool group_known = false;
  for (const CommandSpec& s : specs) {
    if (s.group != words[0]) continue;
    group_known = true;
    if (*s.name == '\0' || (words.size() > 1 && s.name == words[1])) *spec = &s;
  }
  if (!group_known) {
    return UsageError(absl::StrCat("unknown command \"", words[0], "\""), "", "relaisctl");
  }
  if (*spec == nullptr) {
    if (parsed.help && words.size() == 1) {
      Print(GroupHelp(specs, words[0]));
      return kExitOk;
    }
    PrintErr(absl::StrCat("error: usage: ",
                          words.size() == 1 ? "missing subcommand"
                                            : absl::StrCat("unknown subcommand \"", words[1], "\""),
                          "\n"));
    PrintErr(GroupHelp(specs, words[0]));
    return kExitUsage;
  }
  if (parsed.help) {
    Print(CommandHelp(**spec));
    return kExitOk;
  }
  return std::nullopt;
}

// Sets the flags given, which must be among `allowed` (the command's own); list
// flags accumulate, others are given once.
Outcome SetFlags(const Invocation& in, const Parsed& parsed, const std::set<std::string>& allowed) {
  std::map<std::string, std::string> values;
  for (const auto& [name, value] : parsed.flags) {
    if (allowed.count(name) == 0) {
      return in.Usage(absl::StrCat("--", name, " does not apply to this command"));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    auto [it, inserted] = values.emplace(name, value);
    if (inserted) continue;
    if (!flag->IsOfType<std::vector<std::string>>()) {
      return in.Usage(absl::StrCat("--", name, " is given more than once"));
    }
    absl::StrAppend(&it->second, ",", value);
  }
  for (const auto& [name, value] : values) {
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(value, &error)) {
      return in.Usage(absl::StrCat("--", name, ": ", error));
    }
  }
  return std::nullopt;
}

// The argument count, then the output format into in->format.
Outcome CheckArgsAndFormat(Invocation* in, const std::set<std::string>& allowed) {
  const CommandSpec& spec = *in->spec;
  const int n = static_cast<int>(in->args.size());
  if (n < spec.min_args) return in->Usage("missing argument");
  if (n > spec.max_args) {
    return in->Usage(absl::StrCat("unexpected argument \"", in->args[spec.max_args], "\""));
  }
  // A command taking --lang also takes --format text: the server's rendering,
  // printed as is (the command reads the flag itself).
  if (allowed.count("format") != 0 &&
      !(allowed.count("lang") != 0 && absl::GetFlag(FLAGS_format) == "text")) {
    absl::StatusOr<Format> format = ParseFormat(absl::GetFlag(FLAGS_format));
    if (!format.ok()) return in->Usage(format.status().message());
    in->format = *format;
  }
  return std::nullopt;
}

// The client, with the saved token when the command needs one.
Outcome Connect(Invocation* in) {
  absl::StatusOr<ConnectionOptions> options = ConnectionFromFlags();
  if (!options.ok()) return in->Usage(options.status().message());
  std::string token;
  if (in->spec->needs_token) {
    absl::StatusOr<std::string> loaded = LoadToken(TokenPath());
    if (!loaded.ok()) return in->Fail(loaded.status());
    token = *std::move(loaded);
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(*options);
  if (!channel.ok()) return in->Usage(channel.status().message());
  in->client = std::make_unique<Client>(*std::move(channel), std::move(token), options->timeout);
  return std::nullopt;
}

}  // namespace

int RunCli(int argc, char** argv) {
  const std::vector<CommandSpec> specs = AllCommands();
  Parsed parsed;
  if (absl::Status s = Tokenize(argc, argv, &parsed); !s.ok()) {
    return UsageError(s.message(), "", "relaisctl");
  }
  if (!parsed.words.empty() && parsed.words.front() == "help") {
    parsed.help = true;
    parsed.words.erase(parsed.words.begin());
  }
  const CommandSpec* spec = nullptr;
  if (Outcome done = FindCommand(specs, parsed, &spec)) return *done;

  Invocation in;
  in.spec = spec;
  in.args.assign(parsed.words.begin() + (*spec->name == '\0' ? 1 : 2), parsed.words.end());
  std::set<std::string> allowed(spec->flags.begin(), spec->flags.end());
  if (spec->connects) allowed.insert(std::begin(kConnectionFlags), std::end(kConnectionFlags));
  if (Outcome done = SetFlags(in, parsed, allowed)) return *done;
  if (Outcome done = CheckArgsAndFormat(&in, allowed)) return *done;
  if (spec->connects) {
    if (Outcome done = Connect(&in)) return *done;
  }
  return spec->run(in);
}

}  // namespace relais::ctl
