// service profile set|show|search and glossary list|define: DirectoryService's
// service profiles, their search and the sectors' shared definitions.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "relais/v1/directory.grpc.pb.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

std::unique_ptr<v1::DirectoryService::Stub> Directory(Invocation& in) {
  return v1::DirectoryService::NewStub(in.client->channel());
}

std::string Ages(const v1::ServiceProfile& p) {
  return absl::StrCat(p.min_age(), "-", p.max_age());
}

// One service with its profile, as a record.
Table ServiceRecord(const v1::Service& s) {
  const v1::ServiceProfile& p = s.profile();
  Table t{{{"id", Kind::kId},
           {"name"},
           {"sector_id", Kind::kId},
           {"kind", Kind::kCode},
           {"mission"},
           {"offer"},
           {"ages", Kind::kCode},
           {"needs"},
           {"communes"},
           {"languages"},
           {"contact"},
           {"opening_hours"},
           {"reviewed_by_member_id", Kind::kId},
           {"reviewed_at", Kind::kTime},
           {"review_overdue", Kind::kBool}},
          {}};
  if (!s.has_profile()) {
    t.rows.push_back({s.id(), s.name(), s.sector_id(), s.kind(), "", "", "", "", "", "", "", "", "",
                      "", "false"});
    return t;
  }
  t.rows.push_back({s.id(), s.name(), s.sector_id(), s.kind(), p.mission(), p.offer(), Ages(p),
                    absl::StrJoin(p.needs(), ","), absl::StrJoin(p.communes(), ","),
                    absl::StrJoin(p.languages(), ","), p.contact(), p.opening_hours(),
                    p.reviewed_by_member_id(), TimeCell(p.reviewed_at()),
                    p.review_overdue() ? "true" : "false"});
  return t;
}

// "12-18" -> (12, 18); a single "15" is 15-15.
bool ParseAges(absl::string_view text, int* min_age, int* max_age) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  if (parts.size() == 1) parts.push_back(parts[0]);
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], min_age) &&
         absl::SimpleAtoi(parts[1], max_age);
}

int ProfileSet(Invocation& in) {
  if (in.args[0] != "set") return in.Usage(absl::StrCat("unknown action \"", in.args[0], "\""));
  v1::UpdateServiceProfileRequest req;
  req.set_service_id(in.args[1]);
  v1::ServiceProfile* p = req.mutable_profile();
  p->set_mission(absl::GetFlag(FLAGS_mission));
  p->set_offer(absl::GetFlag(FLAGS_offer));
  int min_age = 0, max_age = 0;
  if (!ParseAges(absl::GetFlag(FLAGS_ages), &min_age, &max_age)) {
    return in.Usage("--ages must be like 12-18");
  }
  p->set_min_age(min_age);
  p->set_max_age(max_age);
  for (const std::string& n : absl::GetFlag(FLAGS_needs)) p->add_needs(n);
  for (const std::string& c : absl::GetFlag(FLAGS_communes)) p->add_communes(c);
  for (const std::string& l : absl::GetFlag(FLAGS_languages)) p->add_languages(l);
  p->set_contact(absl::GetFlag(FLAGS_contact));
  p->set_opening_hours(absl::GetFlag(FLAGS_hours));
  v1::Service resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = Directory(in)->UpdateServiceProfile(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, ServiceRecord(resp));
  return kExitOk;
}

int ServiceShow(Invocation& in) {
  v1::ListServicesRequest req;
  req.set_page_size(1000);
  do {
    v1::ListServicesResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = Directory(in)->ListServices(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::Service& s : resp.services()) {
      if (s.id() != in.args[0]) continue;
      PrintOne(in, ServiceRecord(s));
      return kExitOk;
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return in.Fail(absl::NotFoundError("service_not_found: no service has this id"));
}

Table SearchTable(bool table) {
  if (table) {
    return Table{{{"id", Kind::kId},
                  {"name"},
                  {"kind", Kind::kCode},
                  {"ages", Kind::kCode},
                  {"contact"},
                  {"overdue", Kind::kBool}},
                 {}};
  }
  Table t = ServiceRecord(v1::Service());
  t.rows.clear();
  return t;
}

int ServiceSearch(Invocation& in) {
  v1::SearchServicesRequest req;
  req.set_need(absl::GetFlag(FLAGS_need));
  req.set_commune(absl::GetFlag(FLAGS_commune));
  req.set_sector_id(absl::GetFlag(FLAGS_sector));
  req.set_kind(absl::GetFlag(FLAGS_kind));
  if (const std::string age = absl::GetFlag(FLAGS_age); !age.empty()) {
    int value = 0;
    if (!absl::SimpleAtoi(age, &value)) return in.Usage("--age must be a number of years");
    req.set_age(value);
  }
  req.set_page_size(1000);
  const bool table = in.format == Format::kTable;
  Table out = SearchTable(table);
  do {
    v1::SearchServicesResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = Directory(in)->SearchServices(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::Service& s : resp.services()) {
      if (!table) {
        out.rows.push_back(ServiceRecord(s).rows[0]);
        continue;
      }
      out.rows.push_back({s.id(), s.name(), s.kind(), Ages(s.profile()), s.profile().contact(),
                          s.profile().review_overdue() ? "true" : "false"});
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  PrintList(in, out);
  return kExitOk;
}

int GlossaryList(Invocation& in) {
  v1::GlossaryRequest req;
  req.set_sector_id(absl::GetFlag(FLAGS_sector));
  v1::GlossaryResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = Directory(in)->Glossary(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  Table t{{{"term"}, {"sector_id", Kind::kId}, {"type", Kind::kCode}, {"meaning"}}, {}};
  for (const v1::GlossaryTerm& g : resp.terms()) {
    t.rows.push_back({g.acronym(), g.sector_id(), "acronym",
                      absl::StrCat(g.expansion(), ": ", g.description())});
  }
  for (const v1::Definition& d : resp.definitions()) {
    t.rows.push_back({d.term(), d.sector_id(), "definition", d.text()});
  }
  PrintList(in, t);
  return kExitOk;
}

int GlossaryDefine(Invocation& in) {
  v1::DefineTermRequest req;
  v1::Definition* d = req.mutable_definition();
  d->set_term(absl::GetFlag(FLAGS_term));
  d->set_sector_id(absl::GetFlag(FLAGS_sector));
  d->set_text(absl::GetFlag(FLAGS_text));
  if (d->term().empty() || d->sector_id().empty() || d->text().empty()) {
    return in.Usage("--term, --sector and --text are required");
  }
  v1::Definition resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = Directory(in)->DefineTerm(ctx.get(), req, &resp); !s.ok()) {
    return in.Fail(s);
  }
  PrintOne(in, Table{{{"term"}, {"sector_id", Kind::kId}, {"text"}, {"updated_at", Kind::kTime}},
                     {{resp.term(), resp.sector_id(), resp.text(), TimeCell(resp.updated_at())}}});
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> DirectoryCommands() {
  return {
      {"service",
       "profile",
       "set <service-id>",
       2,
       2,
       {"mission", "offer", "ages", "needs", "communes", "languages", "contact", "hours", "format",
        "quiet"},
       "--mission M --offer O --ages 12-18 --needs a,b --communes X,Y --contact C",
       "Describe a service: who it helps, where, how to reach it (its coordinator, admins).",
       "Replaces the service's profile (DirectoryService.UpdateServiceProfile) and stamps it "
       "reviewed now by you. --needs are slugs of [a-z0-9_] (school_dropout, housing, ...); "
       "--communes are matched without regard to case; --languages are ISO 639-1 codes "
       "(fr,nl); --contact is a role address or the reception's number, never a person's own. "
       "Prints the service with its profile.",
       true,
       true,
       ProfileSet},
      {"service",
       "show",
       "<service-id>",
       1,
       1,
       {"format", "quiet"},
       "",
       "Show a service and its profile.",
       "Prints the service (from DirectoryService.ListServices) with its profile, when it has "
       "one: review_overdue is true when the profile was last reviewed more than a year ago.",
       true,
       true,
       ServiceShow},
      {"service",
       "search",
       "",
       0,
       0,
       {"need", "commune", "sector", "age", "kind", "format", "quiet"},
       "",
       "Find the services that can help (every criterion must match).",
       "Lists the services whose profile matches every criterion given "
       "(DirectoryService.SearchServices), by name: e.g. --need school_dropout --commune "
       "Charleroi --age 15. The OVERDUE column is true when a profile was last reviewed more "
       "than a year ago: it may no longer be true. CSV and JSON carry the whole profile.",
       true,
       true,
       ServiceSearch},
      {"glossary",
       "list",
       "",
       0,
       0,
       {"sector", "format", "quiet"},
       "",
       "The acronyms and the sectors' shared definitions.",
       "Lists every acronym (type acronym: its expansion and what it is) and every shared "
       "definition (type definition: what a word such as \"prévention\" means in one sector's "
       "practice), or only one sector's with --sector.",
       true,
       true,
       GlossaryList},
      {"glossary",
       "define",
       "",
       0,
       0,
       {"term", "sector", "text", "format", "quiet"},
       "--term T --sector S --text X",
       "Set what a term means in one sector (admins).",
       "Adds or replaces the sector's definition of the term (DirectoryService.DefineTerm; the "
       "same term written with other capitals replaces it).",
       true,
       true,
       GlossaryDefine},
  };
}

}  // namespace relais::ctl
