// audit query|report|export|verify: AuditService, and offline verification of
// an export with the audit-export verifier (services/audit/export_verifier.h).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "services/audit/export_verifier.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"
#include "tools/relaisctl/private_file.h"

namespace relais::ctl {
namespace {

std::string Enum(const google::protobuf::EnumDescriptor* type, int value) {
  return ShortName(type, value);
}

// How often progress is redrawn: every this many items.
constexpr int64_t kProgressEvery = 500;

// The events as `audit query` prints them: some columns in a table, every
// field in csv and json.
Table EventTable(const std::vector<v1::AuditEvent>& events, const v1::QueryEventsRequest& filter,
                 Format format) {
  Table t;
  if (format == Format::kTable) {
    // What fits 80 columns: columns a filter fixes are left out, and the
    // reason code says the decision ("allowed" or why not).
    const bool show_service = filter.actor_service_id().empty() && filter.actor_member_id().empty();
    const bool show_youth = filter.youth_id().empty();
    t.columns = {{"seq", Kind::kNumber}, {"time", Kind::kTime}};
    if (show_service) t.columns.push_back({"service", Kind::kId});
    t.columns.push_back({"action", Kind::kCode});
    if (show_youth) t.columns.push_back({"youth", Kind::kId});
    t.columns.push_back({"reason", Kind::kCode});
    for (const auto& e : events) {
      std::vector<std::string> row = {absl::StrCat(e.sequence()), TimeCell(e.time())};
      if (show_service) row.push_back(e.actor_service_id());
      row.push_back(Enum(v1::Action_descriptor(), e.action()));
      if (show_youth) row.push_back(e.youth_id());
      row.push_back(e.reason_code());
      t.rows.push_back(std::move(row));
    }
  } else {
    t.columns = {{"sequence", Kind::kNumber},
                 {"time", Kind::kTime},
                 {"request_id", Kind::kId},
                 {"actor_member_id", Kind::kId},
                 {"actor_service_id", Kind::kId},
                 {"actor_roles", Kind::kCode},
                 {"client_identity"},
                 {"action", Kind::kCode},
                 {"youth_id", Kind::kId},
                 {"entry_id", Kind::kId},
                 {"object_id", Kind::kId},
                 {"purpose", Kind::kCode},
                 {"decision", Kind::kCode},
                 {"reason_code", Kind::kCode},
                 {"break_glass", Kind::kBool},
                 {"prev_hash", Kind::kId},
                 {"hash", Kind::kId}};
    for (const auto& e : events) {
      t.rows.push_back({absl::StrCat(e.sequence()), TimeCell(e.time()), e.request_id(),
                        e.actor_member_id(), e.actor_service_id(), e.actor_roles(),
                        e.client_identity(), Enum(v1::Action_descriptor(), e.action()),
                        e.youth_id(), e.entry_id(), e.object_id(),
                        Enum(v1::Purpose_descriptor(), e.purpose()),
                        Enum(v1::Decision_descriptor(), e.decision()), e.reason_code(),
                        e.break_glass() ? "true" : "false", e.prev_hash(), e.hash()});
    }
  }
  return t;
}

int AuditQuery(Invocation& in) {
  v1::QueryEventsRequest base;
  base.set_youth_id(absl::GetFlag(FLAGS_youth));
  base.set_actor_member_id(absl::GetFlag(FLAGS_actor));
  base.set_actor_service_id(absl::GetFlag(FLAGS_service));
  if (const std::string since = absl::GetFlag(FLAGS_since); !since.empty()) {
    absl::StatusOr<absl::Time> t = DayStartFlag("since", since);
    if (!t.ok()) return in.Usage(t.status().message());
    *base.mutable_start_time() = common::ToProto(*t);
  }
  if (const std::string until = absl::GetFlag(FLAGS_until); !until.empty()) {
    absl::StatusOr<absl::Time> t = DayEndFlag("until", until);
    if (!t.ok()) return in.Usage(t.status().message());
    *base.mutable_end_time() = common::ToProto(*t);
  }
  absl::StatusOr<int> decision = EnumFlag(v1::Decision_descriptor(), "decision",
                                          absl::GetFlag(FLAGS_decision), /*required=*/false);
  if (!decision.ok()) return in.Usage(decision.status().message());
  base.set_decision(static_cast<v1::Decision>(*decision));
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 0) return in.Usage("--limit must not be negative");

  std::vector<v1::AuditEvent> events;
  std::string page_token;
  do {
    v1::QueryEventsRequest req = base;
    req.set_page_size(1000);
    req.set_page_token(page_token);
    v1::QueryEventsResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = in.client->audit().QueryEvents(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const auto& e : resp.events()) events.push_back(e);
    page_token = resp.next_page_token();
  } while (!page_token.empty() && (limit == 0 || static_cast<int>(events.size()) < limit));
  if (limit > 0 && static_cast<int>(events.size()) > limit) events.resize(limit);

  PrintList(in, EventTable(events, base, in.format));
  return kExitOk;
}

int AuditReport(Invocation& in) {
  v1::AccessReportRequest req;
  req.set_youth_id(in.args[0]);
  const bool text = absl::GetFlag(FLAGS_format) == "text";
  const std::string lang = absl::GetFlag(FLAGS_lang);
  if (lang != "fr" && lang != "en") return in.Usage("--lang must be fr or en");
  if (text) {
    req.set_format(v1::ACCESS_REPORT_FORMAT_TEXT);
    req.set_language(lang);
  }
  v1::AccessReportResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->audit().AccessReport(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  if (text) {  // the server's rendering, to hand to the young person
    Print(resp.text());
    return kExitOk;
  }
  // The table (what fits 80 columns) says allowed or denied; csv and json add
  // the reason code, purpose, entry and service ids.
  const bool table = in.format == Format::kTable;
  Table t;
  t.columns = {{"time", Kind::kTime},
               {"service_name"},
               {"role", Kind::kCode},
               {"action", Kind::kCode},
               {"decision", Kind::kCode}};
  if (table) {
    t.columns[1].name = "service";
  } else {
    t.columns.insert(t.columns.begin() + 1, {"service_id", Kind::kId});
    t.columns.insert(
        t.columns.end(),
        {{"reason_code", Kind::kCode}, {"purpose", Kind::kCode}, {"entry_id", Kind::kId}});
  }
  for (const auto& l : resp.lines()) {
    std::vector<std::string> row = {TimeCell(l.time())};
    if (!table) row.push_back(l.service_id());
    row.insert(row.end(), {l.service_name().empty() ? l.service_id() : l.service_name(), l.role(),
                           Enum(v1::Action_descriptor(), l.action()),
                           Enum(v1::Decision_descriptor(), l.decision())});
    if (!table) {
      row.insert(row.end(),
                 {l.reason_code(), Enum(v1::Purpose_descriptor(), l.purpose()), l.entry_id()});
    }
    t.rows.push_back(std::move(row));
  }
  Print(Render(t, in.format));
  return kExitOk;
}

int AuditExport(Invocation& in) {
  const std::string path = in.args[0];
  // The export names youths and members by id: private to the auditor.
  absl::StatusOr<PrivateFile> file = PrivateFile::Create(path);
  if (!file.ok()) {
    PrintErr(absl::StrCat("error: ", file.status().message(), "\n"));
    return kExitFailed;
  }
  google::protobuf::io::FileOutputStream out(file->fd());  // the PrivateFile closes it
  v1::ExportEventsRequest req;
  req.set_from_sequence(absl::GetFlag(FLAGS_from_sequence));
  auto ctx = in.client->NewContext(/*stream=*/true);
  std::unique_ptr<grpc::ClientReader<v1::ExportItem>> reader =
      in.client->audit().ExportEvents(ctx.get(), req);
  const bool progress = ProgressWanted();
  v1::ExportItem item;
  int64_t items = 0, events = 0;
  bool written = true;
  while (reader->Read(&item)) {
    written = written && google::protobuf::util::SerializeDelimitedToZeroCopyStream(item, &out);
    ++items;
    if (item.has_event()) ++events;
    if (progress && items % kProgressEvery == 0) {
      PrintErr(absl::StrCat("\rexporting: ", events, " events"));
    }
  }
  if (progress) PrintErr(absl::StrCat("\rexporting: ", events, " events\n"));
  const grpc::Status status = reader->Finish();
  written = out.Flush() && written;
  if (!status.ok()) return in.Fail(status);
  const absl::Status saved = written ? file->Commit() : absl::DataLossError("short write");
  if (!saved.ok()) {
    PrintErr(absl::StrCat("error: cannot write ", path, ": ", saved.message(), "\n"));
    return kExitFailed;
  }
  Print(absl::StrCat(events, " events (", items, " items) saved to ", path, "\n"));
  return kExitOk;
}

Table ReportTable(const audit::ExportReport& r) {
  return Table{
      {{"ok", Kind::kBool},
       {"problem", Kind::kCode},
       {"problem_sequence", Kind::kNumber},
       {"detail"},
       {"events", Kind::kNumber},
       {"first_sequence", Kind::kNumber},
       {"last_sequence", Kind::kNumber},
       {"head_hash", Kind::kId},
       {"checkpoints", Kind::kNumber},
       {"anchored_through", Kind::kNumber},
       {"anchored_time", Kind::kTime},
       {"unanchored", Kind::kNumber},
       {"keys_listed", Kind::kNumber},
       {"keys_trusted", Kind::kNumber}},
      {{r.ok ? "true" : "false", r.problem, absl::StrCat(r.problem_sequence), r.detail,
        absl::StrCat(r.events), absl::StrCat(r.first_sequence), absl::StrCat(r.last_sequence),
        r.head_hash, absl::StrCat(r.checkpoints), absl::StrCat(r.anchored_through),
        r.anchored_time.has_value() ? TimeCell(*r.anchored_time) : "", absl::StrCat(r.unanchored),
        absl::StrCat(r.keys_listed), absl::StrCat(r.keys_trusted)}}};
}

int AuditVerify(Invocation& in) {
  const std::string path = in.args[0], pubkey = absl::GetFlag(FLAGS_pubkey);
  if (pubkey.empty()) return in.Usage("--pubkey is required");
  std::ifstream key_in(pubkey, std::ios::binary);
  if (!key_in) return in.Usage(absl::StrCat("cannot read --pubkey ", pubkey));
  std::stringstream pem;
  pem << key_in.rdbuf();
  absl::StatusOr<std::vector<auth::VerifyingKey>> keys = audit::ParsePublicKeysPem(pem.str());
  if (!keys.ok()) return in.Usage(absl::StrCat("--pubkey ", pubkey, ": ", keys.status().message()));
  const int64_t from = std::max<int64_t>(1, absl::GetFlag(FLAGS_from_sequence));
  absl::StatusOr<audit::ExportVerifier> verifier =
      audit::ExportVerifier::Create(*std::move(keys), from);
  if (!verifier.ok()) return in.Usage(verifier.status().message());

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return in.Usage(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  struct stat st;
  const int64_t size = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  google::protobuf::io::FileInputStream input(fd);
  input.SetCloseOnDelete(true);
  // The loop of audit::VerifyExportFile, with progress on a terminal.
  const bool progress = ProgressWanted() && size > 0;
  v1::ExportItem item;
  int64_t items = 0;
  while (!verifier->failed()) {
    bool clean_eof = false;
    item.Clear();
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&item, &input, &clean_eof)) {
      if (!clean_eof) verifier->AddMalformed("bytes that do not parse as an ExportItem");
      break;
    }
    if (absl::Status s = verifier->Add(item); !s.ok()) return in.Fail(s);
    if (progress && ++items % kProgressEvery == 0) {
      PrintErr(absl::StrFormat("\rverifying: %d%%", input.ByteCount() * 100 / size));
    }
  }
  if (progress) PrintErr("\rverifying: done\n");
  if (input.GetErrno() != 0) {
    return in.Usage(absl::StrCat("cannot read ", path, ": ", std::strerror(input.GetErrno())));
  }
  const audit::ExportReport report = verifier->Finish();
  if (in.format == Format::kTable) {
    Print(audit::FormatReport(report));
  } else {
    Print(RenderRecord(ReportTable(report), in.format));
  }
  return report.ok ? kExitOk : kExitFailed;
}

}  // namespace

std::vector<CommandSpec> AuditCommands() {
  return {
      {"audit",
       "query",
       "",
       0,
       0,
       {"youth", "actor", "service", "since", "until", "decision", "limit", "format", "quiet"},
       "",
       "Query the access log (auditors).",
       "Events matching every filter given, oldest first: --youth <youth-id>, --actor "
       "<member-id>, --service <service-id>, --since/--until <YYYY-MM-DD>, --decision "
       "<allow|deny>. The table shows sequence, time, service, action, youth and reason code "
       "(\"allowed\" or why not), leaving out what a filter fixes; csv and json show every "
       "field, hashes included. --quiet prints sequence numbers.",
       true,
       true,
       AuditQuery},
      {"audit",
       "report",
       "<youth-id>",
       1,
       1,
       {"format", "lang"},
       "",
       "Who accessed a youth's record (access report).",
       "Every access to the record, allowed or denied, by service and role (caseworkers are "
       "not named unless relaisd runs with --access_report_names_members): the answer to the "
       "young person's \"who saw my file?\". The table shows time, service, role, action and "
       "decision; csv and json add the reason code, purpose and entry. --format text prints "
       "the server's plain-words report to hand to the young person, in --lang fr (default) "
       "or en. Auditors, or a coordinator of a service that accompanies the youth.",
       true,
       true,
       AuditReport},
      {"audit",
       "export",
       "<file>",
       1,
       1,
       {"from_sequence"},
       "",
       "Save the signed access log for offline verification (auditors).",
       "Streams AuditService.ExportEvents into <file> (mode 0600), written beside it and "
       "renamed into place only once the server has ended the stream successfully. Shows "
       "progress on stderr when it is a terminal. Check the file with relaisctl audit verify.",
       true,
       true,
       AuditExport},
      {"audit",
       "verify",
       "<export-file>",
       1,
       1,
       {"pubkey", "from_sequence", "format"},
       "--pubkey <audit-public-key.pem>",
       "Verify an audit export offline.",
       "Checks the hash chain and the signed checkpoints of an export with nothing but "
       "relaisd's audit public key, obtained out of band (e.g. openssl pkey -pubout on the "
       "server's audit signing key); needs no server and no login. Prints \"ok\" or the first "
       "problem and the sequence concerned; exit status 0 if the export verifies, 1 if not. "
       "Shows progress on stderr when it is a terminal.",
       /*connects=*/false,
       /*needs_token=*/false,
       AuditVerify},
  };
}

}  // namespace relais::ctl
