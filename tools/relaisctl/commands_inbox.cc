// inbox list|watch and orientation: InboxService.

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/relaisctl/cli.h"
#include "tools/relaisctl/flags.h"

namespace relais::ctl {
namespace {

// What an item points to, as "kind:id" (the ids that apply).
std::string About(const v1::InboxItem& i) {
  std::vector<std::string> parts;
  auto add = [&](const char* what, const std::string& id) {
    if (!id.empty()) parts.push_back(absl::StrCat(what, ":", id));
  };
  add("handover", i.handover_id());
  add("accompaniment", i.accompaniment_id());
  add("consent", i.consent_id());
  add("convention", i.convention_id());
  add("concertation", i.concertation_id());
  if (!i.protocol_id().empty()) {
    parts.push_back(absl::StrCat("protocol:", i.protocol_id(), "@v", i.protocol_version()));
  }
  return absl::StrJoin(parts, " ");
}

Table ItemTable() {
  return Table{{{"cursor", Kind::kId},
                {"kind", Kind::kCode},
                {"youth_id", Kind::kId},
                {"about", Kind::kText},
                {"due", Kind::kTime},
                {"posted", Kind::kTime}},
               {}};
}

std::vector<std::string> ItemRow(const v1::InboxItem& i) {
  return {i.cursor(),           ShortName(v1::InboxItemKind_descriptor(), i.kind()),
          i.youth_id(),         About(i),
          TimeCell(i.due_at()), TimeCell(i.posted_at())};
}

int InboxList(Invocation& in) {
  v1::ListInboxRequest req;
  req.set_after_cursor(absl::GetFlag(FLAGS_after));
  Table t = ItemTable();
  // Every page, so that "list" shows the whole inbox after the cursor.
  for (;;) {
    v1::ListInboxResponse resp;
    auto ctx = in.client->NewContext();
    if (grpc::Status s = in.client->inbox().ListInbox(ctx.get(), req, &resp); !s.ok()) {
      return in.Fail(s);
    }
    for (const v1::InboxItem& i : resp.items()) t.rows.push_back(ItemRow(i));
    if (!resp.more() || resp.items().empty()) break;
    req.set_after_cursor(resp.items(resp.items_size() - 1).cursor());
  }
  PrintList(in, t);
  return kExitOk;
}

// One line per item as it arrives, in the chosen format without a header
// after the first; ends when the server ends the stream (or with --until_caught_up).
int InboxWatch(Invocation& in) {
  v1::WatchRequest req;
  req.set_after_cursor(absl::GetFlag(FLAGS_after));
  req.set_until_caught_up(absl::GetFlag(FLAGS_until_caught_up));
  auto ctx = in.client->NewContext(/*stream=*/true);
  auto stream = in.client->inbox().Watch(ctx.get(), req);
  v1::InboxItem item;
  bool first = true;
  while (stream->Read(&item)) {
    Table t = ItemTable();
    t.rows.push_back(ItemRow(item));
    std::string text = Render(t, in.format == Format::kTable ? Format::kCsv : in.format);
    if (!first && in.format != Format::kJson) text = text.substr(text.find('\n') + 1);
    Print(text);
    first = false;
  }
  if (grpc::Status s = stream->Finish(); !s.ok()) return in.Fail(s);
  return kExitOk;
}

int Orientation(Invocation& in) {
  v1::OrientationResponse resp;
  auto ctx = in.client->NewContext();
  if (grpc::Status s = in.client->inbox().Orientation(ctx.get(), v1::OrientationRequest(), &resp);
      !s.ok()) {
    return in.Fail(s);
  }
  Table t{{{"what", Kind::kCode}, {"id", Kind::kId}, {"detail", Kind::kText}}, {}};
  for (const v1::Accompaniment& a : resp.accompaniments()) {
    t.rows.push_back({"youth", a.youth_id(),
                      absl::StrCat("referent ", a.referent_member_id(), ", ",
                                   ShortName(v1::Vouch_descriptor(), a.vouch()))});
  }
  for (const v1::Handover& h : resp.open_handovers()) {
    t.rows.push_back({"handover", h.id(),
                      absl::StrCat(ShortName(v1::HandoverState_descriptor(), h.state()), " ",
                                   h.from_service_id(), " -> ", h.to_service_id(), " until ",
                                   TimeCell(h.overlap_end()))});
  }
  for (const v1::Convention& c : resp.conventions()) {
    t.rows.push_back({"convention", c.id(),
                      absl::StrCat(ShortName(v1::ConventionState_descriptor(), c.state()),
                                   c.review_due() ? " REVIEW DUE " : " ", c.title())});
  }
  for (const v1::Protocol& p : resp.protocols_to_acknowledge()) {
    t.rows.push_back({"protocol", p.id(),
                      absl::StrCat(p.lapsed() ? "LAPSED " : "to acknowledge ", "v",
                                   p.current_version().number(), " ", p.title())});
  }
  PrintList(in, t);
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> InboxCommands() {
  const std::vector<const char*> out = {"format", "quiet"};
  auto with = [&out](std::vector<const char*> extra) {
    extra.insert(extra.end(), out.begin(), out.end());
    return extra;
  };
  return {
      {"inbox", "list", "", 0, 0, with({"after"}), "",
       "What needs you: handovers, windows ending, consents expiring, protocols...",
       "Your items after --after <cursor> (all of them without it), oldest first. Items name "
       "ids only; reading what one points to follows the access rule.",
       true, true, InboxList},
      {"inbox", "watch", "", 0, 0, with({"after", "until_caught_up"}), "",
       "Follow your inbox: one line per item as it arrives.",
       "Prints the items after --after <cursor>, then each new one, until interrupted (or, "
       "with --until_caught_up, once every posted item is printed). After a disconnection, "
       "run again with --after set to the last cursor printed: nothing is missed.",
       true, true, InboxWatch},
      {"orientation", "", "", 0, 0, out, "", "A newcomer's view of their service, in one call.",
       "The youths your service accompanies (ids and referents), its open handovers, its "
       "conventions and the protocols you have to acknowledge.",
       true, true, Orientation},
  };
}

}  // namespace relais::ctl
