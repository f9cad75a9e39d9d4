#include "services/inbox/inbox_store.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::inbox {
namespace {

using storage::Connection;
using storage::Statement;

// table: the schema, one migration per entry, never edited once released.
std::vector<storage::Migration> Migrations() {
  return {{1, R"sql(
CREATE TABLE inbox_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  youth_id TEXT NOT NULL DEFAULT '',
  handover_id TEXT NOT NULL DEFAULT '',
  accompaniment_id TEXT NOT NULL DEFAULT '',
  consent_id TEXT NOT NULL DEFAULT '',
  protocol_id TEXT NOT NULL DEFAULT '',
  protocol_version INTEGER NOT NULL DEFAULT 0,
  convention_id TEXT NOT NULL DEFAULT '',
  posted_at_us INTEGER NOT NULL,
  due_at_us INTEGER,
  notice_key TEXT NOT NULL,
  UNIQUE (member_id, notice_key)
);
CREATE INDEX inbox_items_by_member ON inbox_items(member_id, seq);
-- An inbox is a log: items are never rewritten.
CREATE TRIGGER inbox_items_append_only BEFORE UPDATE ON inbox_items
BEGIN SELECT RAISE(ABORT, 'inbox items are append-only'); END;
)sql"},
          // Concertation meetings (issue #14).
          {2, R"sql(
ALTER TABLE inbox_items ADD COLUMN concertation_id TEXT NOT NULL DEFAULT '';
)sql"},
          // Pruning items past InboxStore::kKeptFor.
          {3, R"sql(
CREATE INDEX inbox_items_by_posted ON inbox_items(posted_at_us);
)sql"}};
}

bool Holds(const directory::MemberInfo& m, const std::vector<v1::Role>& roles) {
  if (roles.empty()) {
    return std::any_of(m.roles.begin(), m.roles.end(), [](v1::Role r) {
      return r == v1::ROLE_CASEWORKER || r == v1::ROLE_COORDINATOR;
    });
  }
  return std::any_of(m.roles.begin(), m.roles.end(), [&](v1::Role r) {
    return std::find(roles.begin(), roles.end(), r) != roles.end();
  });
}

v1::InboxItem RowToItem(const Statement& s) {
  v1::InboxItem item;
  item.set_cursor(CursorOf(s.ColumnInt64(0)));
  item.set_kind(static_cast<v1::InboxItemKind>(s.ColumnInt64(1)));
  item.set_youth_id(s.ColumnText(2));
  item.set_handover_id(s.ColumnText(3));
  item.set_accompaniment_id(s.ColumnText(4));
  item.set_consent_id(s.ColumnText(5));
  item.set_protocol_id(s.ColumnText(6));
  item.set_protocol_version(static_cast<int32_t>(s.ColumnInt64(7)));
  item.set_convention_id(s.ColumnText(8));
  *item.mutable_posted_at() = common::ToProto(absl::FromUnixMicros(s.ColumnInt64(9)));
  if (!s.ColumnIsNull(10)) {
    *item.mutable_due_at() = common::ToProto(absl::FromUnixMicros(s.ColumnInt64(10)));
  }
  item.set_concertation_id(s.ColumnText(11));
  return item;
}

}  // namespace

std::string CursorOf(int64_t seq) { return absl::StrCat("c", seq); }

absl::StatusOr<int64_t> ParseCursor(absl::string_view field, absl::string_view cursor) {
  if (cursor.empty()) return 0;
  int64_t seq = 0;
  if (cursor.size() > 21 || cursor[0] != 'c' || !absl::SimpleAtoi(cursor.substr(1), &seq) ||
      seq < 0) {
    return common::InvalidField(field, "bad_cursor", "is not a cursor this server gave");
  }
  return seq;
}

absl::StatusOr<std::unique_ptr<InboxStore>> InboxStore::Create(
    storage::Database* db, const common::Clock* clock, const directory::MemberRoster* roster) {
  if (db == nullptr || clock == nullptr || roster == nullptr) {
    return absl::InvalidArgumentError("InboxStore needs a database, a clock and a roster");
  }
  RETURN_IF_ERROR(db->Migrate("inbox", Migrations(), InboxPostgresMigrations()));
  return std::unique_ptr<InboxStore>(new InboxStore(db, clock, roster));
}

absl::StatusOr<std::vector<std::string>> InboxStore::Recipients(const Notice& notice) const {
  ASSIGN_OR_RETURN(std::vector<directory::MemberInfo> members,
                   roster_->ActiveMembers(notice.service_id));
  std::set<std::string> out;
  for (const directory::MemberInfo& m : members) {
    // Named members receive it while they are active members of the service:
    // someone who left gets nothing more.
    const bool named = std::find(notice.member_ids.begin(), notice.member_ids.end(), m.id) !=
                       notice.member_ids.end();
    if (named || Holds(m, notice.roles)) out.insert(m.id);
  }
  return std::vector<std::string>(out.begin(), out.end());
}

absl::Status InboxStore::Post(Connection& txn, const Notice& notice) const {
  if (notice.key.empty() || notice.kind == v1::INBOX_ITEM_KIND_UNSPECIFIED) {
    return absl::InternalError("a notice needs a kind and a key");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> recipients, Recipients(notice));
  ASSIGN_OR_RETURN(
      Statement s,
      txn.Prepare("INSERT INTO inbox_items (member_id, kind, youth_id, handover_id, "
                  "accompaniment_id, consent_id, protocol_id, protocol_version, convention_id, "
                  "posted_at_us, due_at_us, notice_key, concertation_id) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                  "ON CONFLICT DO NOTHING"));
  const int64_t now = absl::ToUnixMicros(clock_->Now());
  for (const std::string& member : recipients) {
    s.Reset();
    s.Bind(1, member).Bind(2, int64_t{notice.kind}).Bind(3, notice.youth_id);
    s.Bind(4, notice.handover_id).Bind(5, notice.accompaniment_id).Bind(6, notice.consent_id);
    s.Bind(7, notice.protocol_id).Bind(8, int64_t{notice.protocol_version});
    s.Bind(9, notice.convention_id).Bind(10, now);
    if (notice.due_at.has_value()) {
      s.Bind(11, absl::ToUnixMicros(*notice.due_at));
    } else {
      s.BindNull(11);
    }
    s.Bind(12, notice.key).Bind(13, notice.concertation_id);
    RETURN_IF_ERROR(s.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::InboxItem>> InboxStore::List(absl::string_view member_id,
                                                            int64_t after, int limit) const {
  std::vector<v1::InboxItem> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement s,
        c.Prepare("SELECT seq, kind, youth_id, handover_id, accompaniment_id, consent_id, "
                  "protocol_id, protocol_version, convention_id, posted_at_us, due_at_us, "
                  "concertation_id FROM inbox_items WHERE member_id = ?1 AND seq > ?2 ORDER BY seq "
                  "LIMIT ?3"));
    s.Bind(1, member_id).Bind(2, after).Bind(3, int64_t{limit});
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(RowToItem(s));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int> InboxStore::Prune() const {
  int deleted = 0;
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("DELETE FROM inbox_items WHERE posted_at_us < ?1"));
    RETURN_IF_ERROR(s.Bind(1, absl::ToUnixMicros(clock_->Now() - kKeptFor)).Run());
    deleted = c.Changes();
    return absl::OkStatus();
  }));
  return deleted;
}

absl::StatusOr<int64_t> InboxStore::LastSequence() const {
  int64_t last = 0;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COALESCE(MAX(seq), 0) FROM inbox_items"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) last = s.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return last;
}

absl::StatusOr<InboxStore::Posted> InboxStore::PostedAfter(int64_t after) const {
  Posted posted;
  posted.last = after;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT member_id, MAX(seq) FROM inbox_items "
                                            "WHERE seq > ?1 GROUP BY member_id"));
    s.Bind(1, after);
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      posted.member_ids.insert(s.ColumnText(0));
      posted.last = std::max(posted.last, s.ColumnInt64(1));
    }
    return absl::OkStatus();
  }));
  return posted;
}

}  // namespace relais::inbox
