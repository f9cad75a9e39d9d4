// youth find|create|show|export and entry add|list|show: RecordService.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"
#include "tools/relaisctl/private_file.h"

ABSL_FLAG(std::string, full_export_request, "",
          "an approved full-export request id (admins: export every body, once)");

namespace relais::ctl {
namespace {

std::string Enum(const google::protobuf::EnumDescriptor* type, int value) {
  return ShortName(type, value);
}

Table YouthTable(const v1::Youth& y) {
  std::vector<std::string> guardians, guardian_ids;
  for (const v1::Guardian& g : y.guardians()) {
    guardians.push_back(g.relationship().empty()
                            ? g.display_name()
                            : absl::StrCat(g.display_name(), " (", g.relationship(), ")"));
    guardian_ids.push_back(g.id());
  }
  return Table{{{"id", Kind::kId},
                {"display_name"},
                {"date_of_birth", Kind::kCode},
                {"guardians"},
                {"guardian_ids", Kind::kId},
                {"created_at", Kind::kTime},
                {"restricted", Kind::kBool}},
               {{y.id(), y.display_name(), y.date_of_birth(), absl::StrJoin(guardians, "; "),
                 absl::StrJoin(guardian_ids, " "), TimeCell(y.created_at()),
                 y.restricted() ? "true" : "false"}}};
}

Table EntryRecord(const v1::Entry& e) {
  return Table{{{"id", Kind::kId},
                {"youth_id", Kind::kId},
                {"created_at", Kind::kTime},
                {"author_member_id", Kind::kId},
                {"author_service_id", Kind::kId},
                {"kind", Kind::kCode},
                {"category", Kind::kCode},
                {"visibility", Kind::kCode},
                {"supersedes_entry_id", Kind::kId},
                {"handover_id", Kind::kId},
                {"body"}},
               {{e.id(), e.youth_id(), TimeCell(e.created_at()), e.author_member_id(),
                 e.author_service_id(), Enum(v1::EntryKind_descriptor(), e.kind()),
                 Enum(v1::DataCategory_descriptor(), e.category()),
                 Enum(v1::Visibility_descriptor(), e.visibility()), e.supersedes_entry_id(),
                 e.handover_id(), e.body()}}};
}

absl::StatusOr<v1::Purpose> PurposeFlag() {
  absl::StatusOr<int> p =
      EnumFlag(v1::Purpose_descriptor(), "purpose", absl::GetFlag(FLAGS_purpose));
  if (!p.ok()) return p.status();
  return static_cast<v1::Purpose>(*p);
}

int YouthCreate(Invocation& in) {
  v1::CreateYouthRequest req;
  v1::Youth* y = req.mutable_youth();
  y->set_display_name(absl::GetFlag(FLAGS_name));
  y->set_date_of_birth(absl::GetFlag(FLAGS_dob));
  if (y->display_name().empty()) return in.Usage("--name is required");
  if (y->date_of_birth().empty()) return in.Usage("--dob is required");
  if (absl::Status s = ParseDate(y->date_of_birth(), absl::UTCTimeZone()).status(); !s.ok()) {
    return in.Usage(absl::StrCat("--dob: ", s.message()));
  }
  for (const std::string& g : absl::GetFlag(FLAGS_guardian)) {
    v1::Guardian* guardian = y->add_guardians();
    const size_t slash = g.find('/');
    guardian->set_display_name(g.substr(0, slash));
    if (slash != std::string::npos) guardian->set_relationship(g.substr(slash + 1));
  }
  req.set_national_number(absl::GetFlag(FLAGS_national_number));
  v1::Youth resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().CreateYouth(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, YouthTable(resp));
  return kExitOk;
}

int YouthFind(Invocation& in) {
  v1::FindYouthRequest req;
  req.set_national_number(absl::GetFlag(FLAGS_national_number));
  if (req.national_number().empty()) return in.Usage("--national_number is required");
  v1::FindYouthResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().FindYouth(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, Table{{{"youth_id", Kind::kId}}, {{resp.youth_id()}}});
  return kExitOk;
}

int YouthShow(Invocation& in) {
  v1::GetYouthRequest req;
  req.set_youth_id(in.args[0]);
  absl::StatusOr<v1::Purpose> purpose = PurposeFlag();
  if (!purpose.ok()) return in.Usage(purpose.status().message());
  req.set_purpose(*purpose);
  v1::Youth resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().GetYouth(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, YouthTable(resp));
  return kExitOk;
}

int EntryAdd(Invocation& in) {
  v1::AddEntryRequest req;
  v1::Entry* e = req.mutable_entry();
  e->set_youth_id(in.args[0]);
  absl::StatusOr<int> category =
      EnumFlag(v1::DataCategory_descriptor(), "category", absl::GetFlag(FLAGS_category));
  absl::StatusOr<int> visibility =
      EnumFlag(v1::Visibility_descriptor(), "visibility", absl::GetFlag(FLAGS_visibility));
  // A meeting's minutes are of kind concertation unless told otherwise.
  std::string kind_name = absl::GetFlag(FLAGS_kind);
  if (kind_name.empty())
    kind_name = absl::GetFlag(FLAGS_concertation).empty() ? "note" : "concertation";
  absl::StatusOr<int> kind = EnumFlag(v1::EntryKind_descriptor(), "kind", kind_name);
  for (const auto* v : {&category, &visibility, &kind}) {
    if (!v->ok()) return in.Usage(v->status().message());
  }
  e->set_category(static_cast<v1::DataCategory>(*category));
  e->set_visibility(static_cast<v1::Visibility>(*visibility));
  e->set_kind(static_cast<v1::EntryKind>(*kind));
  const std::string body = absl::GetFlag(FLAGS_body), body_file = absl::GetFlag(FLAGS_body_file);
  if (body.empty() == body_file.empty()) return in.Usage("give exactly one of --body, --body_file");
  if (!body.empty()) {
    e->set_body(body);
  } else if (body_file == "-") {
    e->set_body(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  } else {
    std::ifstream file(body_file, std::ios::binary);
    if (!file) return in.Usage(absl::StrCat("cannot read --body_file ", body_file));
    e->set_body(std::string(std::istreambuf_iterator<char>(file), {}));
  }
  e->set_handover_id(absl::GetFlag(FLAGS_handover));
  e->set_concertation_id(absl::GetFlag(FLAGS_concertation));
  e->set_supersedes_entry_id(absl::GetFlag(FLAGS_supersedes));
  v1::Entry resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().AddEntry(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, EntryRecord(resp));
  return kExitOk;
}

int EntryList(Invocation& in) {
  absl::StatusOr<v1::Purpose> purpose = PurposeFlag();
  if (!purpose.ok()) return in.Usage(purpose.status().message());
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 0) return in.Usage("--limit must not be negative");
  std::vector<v1::Entry> entries;
  std::map<std::string, int64_t> withheld;  // by reason code, summed over pages
  v1::ListEntriesRequest req;
  req.set_youth_id(in.args[0]);
  req.set_purpose(*purpose);
  req.set_handover_id(absl::GetFlag(FLAGS_handover));
  req.set_concertation_id(absl::GetFlag(FLAGS_concertation));
  req.set_page_size(200);
  do {
    v1::ListEntriesResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = in.client->record().ListEntries(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::Entry& e : resp.entries()) entries.push_back(e);
    for (const v1::WithheldCount& w : resp.withheld()) withheld[w.reason_code()] += w.count();
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && (limit == 0 || static_cast<int>(entries.size()) < limit));
  if (limit > 0 && static_cast<int>(entries.size()) > limit) entries.resize(limit);

  const bool table = in.format == Format::kTable;
  Table t{{{"id", Kind::kId},
           {"created_at", Kind::kTime},
           {"author_service_id", Kind::kId},
           {"category", Kind::kCode},
           {"visibility", Kind::kCode}},
          {}};
  if (!table) {
    t.columns.insert(t.columns.end(), {{"kind", Kind::kCode},
                                       {"author_member_id", Kind::kId},
                                       {"handover_id", Kind::kId},
                                       {"supersedes_entry_id", Kind::kId}});
  }
  t.columns.push_back({"body"});
  if (table) {  // narrower headers leave room for the text
    t.columns[1].name = "created";
    t.columns[2].name = "service";
    t.columns[4].name = "scope";
  }
  for (const v1::Entry& e : entries) {
    std::string visibility = Enum(v1::Visibility_descriptor(), e.visibility());
    if (table && e.visibility() == v1::VISIBILITY_SERVICE_PRIVATE) visibility = "private";
    std::vector<std::string> row = {e.id(), TimeCell(e.created_at()), e.author_service_id(),
                                    Enum(v1::DataCategory_descriptor(), e.category()), visibility};
    if (!table) {
      row.insert(row.end(), {Enum(v1::EntryKind_descriptor(), e.kind()), e.author_member_id(),
                             e.handover_id(), e.supersedes_entry_id()});
    }
    row.push_back(e.body());
    t.rows.push_back(std::move(row));
  }
  Table w{{{"reason_code", Kind::kCode}, {"count", Kind::kNumber}}, {}};
  std::string summary;
  for (const auto& [reason, count] : withheld) {
    w.rows.push_back({reason, absl::StrCat(count)});
    absl::StrAppend(&summary, "withheld: ", count, " (", reason, ")\n");
  }
  if (summary.empty()) summary = "withheld: none\n";
  if (in.format == Format::kJson && !absl::GetFlag(FLAGS_quiet)) {
    std::string entries_json = RenderJson(t), withheld_json = RenderJson(w);
    entries_json.pop_back();
    withheld_json.pop_back();
    Print(absl::StrCat("{\"entries\": ", entries_json, ",\n\"withheld\": ", withheld_json, "}\n"));
    return kExitOk;
  }
  PrintList(in, t);
  // Withheld counts never mix into CSV or id lists: they go to stderr there.
  if (table && !absl::GetFlag(FLAGS_quiet)) {
    Print(summary);
  } else {
    PrintErr(summary);
  }
  return kExitOk;
}

int EntryShow(Invocation& in) {
  v1::GetEntryRequest req;
  req.set_entry_id(in.args[0]);
  absl::StatusOr<v1::Purpose> purpose = PurposeFlag();
  if (!purpose.ok()) return in.Usage(purpose.status().message());
  req.set_purpose(*purpose);
  v1::Entry resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().GetEntry(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, EntryRecord(resp));
  return kExitOk;
}

// Streams RecordService.ExportYouth into <file> (a PrivateFile: it holds the
// youth's data), put in place only once the server ended the stream with its
// trailer.
int YouthExport(Invocation& in) {
  const std::string path = in.args[1];
  absl::StatusOr<PrivateFile> file = PrivateFile::Create(path);
  if (!file.ok()) {
    PrintErr(absl::StrCat("error: ", file.status().message(), "\n"));
    return kExitFailed;
  }
  google::protobuf::io::FileOutputStream out(file->fd());  // the PrivateFile closes it
  v1::ExportYouthRequest req;
  req.set_youth_id(in.args[0]);
  req.set_full_export_request_id(absl::GetFlag(FLAGS_full_export_request));
  auto ctx = in.client->NewContext(/*stream=*/true);
  std::unique_ptr<grpc::ClientReader<v1::ExportYouthItem>> reader =
      in.client->record().ExportYouth(ctx.get(), req);
  const bool progress = ProgressWanted();
  v1::ExportYouthItem item;
  int64_t entries = 0, withheld = 0;
  bool written = true, trailer = false;
  while (reader->Read(&item)) {
    written = written && google::protobuf::util::SerializeDelimitedToZeroCopyStream(item, &out);
    trailer = item.has_trailer();
    if (item.has_entry()) {
      ++entries;
      withheld += item.entry().withheld();
      if (progress && entries % 100 == 0) {
        PrintErr(absl::StrCat("\rexporting: ", entries, " entries"));
      }
    }
  }
  if (progress) PrintErr(absl::StrCat("\rexporting: ", entries, " entries\n"));
  const grpc::Status status = reader->Finish();
  written = out.Flush() && written;
  if (!status.ok()) return in.Fail(status);
  if (!trailer) {  // never put a copy cut short into place
    PrintErr("error: the export ended without its trailer; nothing saved\n");
    return kExitFailed;
  }
  const absl::Status saved = written ? file->Commit() : absl::DataLossError("short write");
  if (!saved.ok()) {
    PrintErr(absl::StrCat("error: cannot write ", path, ": ", saved.message(), "\n"));
    return kExitFailed;
  }
  Print(absl::StrCat(entries, " entries (", withheld, " withheld) saved to ", path, "\n"));
  return kExitOk;
}

// Four-eyes erasure (GDPR art. 17): ids, states and times, never a reason.
Table ErasureTable(const std::vector<const v1::ErasureRequest*>& requests) {
  Table t{{{"id", Kind::kId},
           {"youth_id", Kind::kId},
           {"state", Kind::kCode},
           {"requested_by_member_id", Kind::kId},
           {"requested_by_service_id", Kind::kId},
           {"requested_at", Kind::kTime},
           {"approved_by_member_id", Kind::kId},
           {"execute_after", Kind::kTime},
           {"cancel_reason_code", Kind::kCode}},
          {}};
  for (const v1::ErasureRequest* r : requests) {
    t.rows.push_back({r->id(), r->youth_id(), ShortName(v1::ErasureState_descriptor(), r->state()),
                      r->requested_by_member_id(), r->requested_by_service_id(),
                      TimeCell(r->requested_at()), r->approved_by_member_id(),
                      r->has_execute_after() ? TimeCell(r->execute_after()) : "",
                      r->cancel_reason_code()});
  }
  return t;
}

int YouthErase(Invocation& in) {
  v1::EraseYouthRequest req;
  req.set_youth_id(in.args[0]);
  req.set_reason(absl::GetFlag(FLAGS_reason));
  if (req.reason().empty()) return in.Usage("--reason is required");
  v1::ErasureRequest resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->record().EraseYouth(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, ErasureTable({&resp}));
  return kExitOk;
}

int YouthErasure(Invocation& in) {
  const std::string& verb = in.args[0];
  const std::string& id = in.args[1];
  v1::ErasureRequest one;
  grpc::Status s;
  auto ctx = in.client->NewContext();
  if (verb == "approve") {
    v1::ApproveErasureRequest req;
    req.set_request_id(id);
    s = in.client->record().ApproveErasure(ctx.get(), req, &one);
  } else if (verb == "cancel") {
    v1::CancelErasureRequest req;
    req.set_request_id(id);
    req.set_reason(absl::GetFlag(FLAGS_reason));
    if (req.reason().empty()) return in.Usage("--reason is required");
    s = in.client->record().CancelErasure(ctx.get(), req, &one);
  } else if (verb == "show") {
    v1::GetErasureRequestRequest req;
    req.set_request_id(id);
    s = in.client->record().GetErasureRequest(ctx.get(), req, &one);
  } else if (verb == "list") {
    v1::ListErasureRequestsRequest req;
    req.set_youth_id(id);
    v1::ListErasureRequestsResponse resp;
    s = in.client->record().ListErasureRequests(ctx.get(), req, &resp);
    if (!s.ok()) return in.Fail(s);
    std::vector<const v1::ErasureRequest*> all;
    for (const v1::ErasureRequest& r : resp.erasure_requests()) all.push_back(&r);
    PrintList(in, ErasureTable(all));
    return kExitOk;
  } else {
    return in.Usage(absl::StrCat("unknown erasure command \"", verb, "\""));
  }
  if (!s.ok()) return in.Fail(s);
  PrintOne(in, ErasureTable({&one}));
  return kExitOk;
}

}  // namespace

// table: the youth and entry commands, one CommandSpec each.
std::vector<CommandSpec> RecordCommands() {
  return {
      {"youth",
       "find",
       "",
       0,
       0,
       {"national_number", "format", "quiet"},
       "--national_number <11 digits>",
       "Find a youth record by national register number.",
       "Prints the youth id of the record registered with this number (compared as a keyed "
       "hash), or exits with status 5 if there is none.",
       true,
       true,
       YouthFind},
      {"youth",
       "create",
       "",
       0,
       0,
       {"name", "dob", "guardian", "national_number", "format", "quiet"},
       "--name <text> --dob <YYYY-MM-DD>",
       "Create a youth record.",
       "Creates the record and prints it (--quiet: only its id). Your service sees it once a "
       "coordinator opens an accompaniment: relaisctl accompaniment open <youth-id>.",
       true,
       true,
       YouthCreate},
      {"youth",
       "show",
       "<youth-id>",
       1,
       1,
       {"purpose", "format", "quiet"},
       "",
       "Show a youth's identity and guardians.",
       "Needs an active accompaniment of your service. Guardian ids are what consent grant "
       "--guardian_id takes.",
       true,
       true,
       YouthShow},
      {"youth",
       "export",
       "<youth-id> <file>",
       2,
       2,
       {"full_export_request"},
       "",
       "Export everything held on a youth (GDPR art. 15/20).",
       "Streams RecordService.ExportYouth into <file> (mode 0600): identity, accompaniments, "
       "handovers, consents with their history, and every entry version, as length-delimited "
       "relais.v1.ExportYouthItem messages, header first and trailer (counts) last. Written to "
       "<file>.tmp and renamed into place only once complete. A coordinator of an accompanying "
       "service gets the bodies your service may read and the others as metadata with the "
       "reason they are withheld; an admin gets metadata only (no identity, no body, no "
       "free text), unless --full_export_request names a full-export request a platform "
       "auditor approved (every body, once, within 24 hours). The export is audited. Shows "
       "progress on stderr when it is a terminal.",
       true,
       true,
       YouthExport},
      {"youth",
       "erase",
       "<youth-id>",
       1,
       1,
       {"reason", "format", "quiet"},
       "--reason <text>",
       "Request the erasure of a youth record (GDPR art. 17, four eyes).",
       "Records an erasure request (a coordinator of an accompanying service, or an admin) and "
       "restricts the record at once. A second person outside your service approves it "
       "(relaisctl youth erasure approve <request-id>); the server erases the record once the "
       "grace period has passed. Prints the request (--quiet: its id). The reason is stored "
       "sealed and never shown.",
       true,
       true,
       YouthErase},
      {"youth",
       "erasure",
       "<approve|cancel|show|list> <request-id | youth-id for list>",
       2,
       2,
       {"reason", "format", "quiet"},
       "",
       "Approve, cancel, show or list erasure requests.",
       "approve: a coordinator of another service accompanying the youth, or the platform's "
       "DPO, approves (never the requester's service). cancel --reason <text>: the requester's "
       "service or the DPO cancels until the erasure is executed. show <request-id>, list "
       "<youth-id>: the requests, with their state and when they execute.",
       true,
       true,
       YouthErasure},
      {"entry",
       "add",
       "<youth-id>",
       1,
       1,
       {"category", "visibility", "kind", "body", "body_file", "handover", "concertation",
        "supersedes", "format", "quiet"},
       "--category <c> --visibility <shared|service_private> (--body <text> | --body_file <f>)",
       "Add a follow-up entry.",
       "Appends an entry to the youth's record (entries are never edited: a correction is a new "
       "entry with --supersedes). --handover puts it in that handover's concertation thread; "
       "--concertation <id> files it in a meeting's minutes (kind concertation).",
       true,
       true,
       EntryAdd},
      {"entry",
       "list",
       "<youth-id>",
       1,
       1,
       {"purpose", "handover", "concertation", "limit", "format", "quiet"},
       "",
       "List the entries you may read, newest first.",
       "Lists what the access rule lets your service read, then how many entries were "
       "withheld and why (e.g. \"withheld: 1 (consent_category_not_covered)\"); another "
       "service's private entries are neither shown nor counted. In csv and --quiet output "
       "the withheld counts go to stderr; json has them under \"withheld\".",
       true,
       true,
       EntryList},
      {"entry",
       "show",
       "<entry-id>",
       1,
       1,
       {"purpose", "format", "quiet"},
       "",
       "Show one entry with its full text.",
       "Refused with the access rule's reason code.",
       true,
       true,
       EntryShow},
  };
}

}  // namespace relais::ctl
