#include "services/audit/audit_log.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "services/audit/checkpoint.h"
#include "services/audit/export_verifier.h"

namespace relais::audit {
namespace {

using storage::Connection;
using storage::Statement;

// The hash columns have no UNIQUE or CHECK constraints on purpose: the chain,
// not the schema, is what proves integrity, and tests tamper rows directly to
// show that Verify() catches it.
const std::vector<storage::Migration>& Migrations() {
  static const auto* const kMigrations = new std::vector<storage::Migration>{
      {1,
       "CREATE TABLE audit_events ("
       " sequence INTEGER PRIMARY KEY,"
       " time_us INTEGER NOT NULL,"
       " request_id TEXT,"
       " actor_member_id TEXT,"
       " actor_service_id TEXT,"
       " actor_roles TEXT,"
       " client_identity TEXT,"
       " action INTEGER,"
       " youth_id TEXT,"
       " entry_id TEXT,"
       " object_id TEXT,"
       " purpose INTEGER,"
       " decision INTEGER,"
       " reason INTEGER,"
       " reason_code TEXT,"
       " break_glass INTEGER,"
       " prev_hash TEXT NOT NULL,"
       " hash TEXT NOT NULL);"
       "CREATE INDEX audit_events_youth ON audit_events(youth_id);"
       "CREATE INDEX audit_events_actor_member ON audit_events(actor_member_id);"
       "CREATE INDEX audit_events_actor_service ON audit_events(actor_service_id);"
       "CREATE INDEX audit_events_time ON audit_events(time_us);"},
      // Signed checkpoints of the chain (checkpoint.h); at most one per event.
      {2,
       "CREATE TABLE audit_checkpoints ("
       " sequence INTEGER PRIMARY KEY,"
       " head_hash TEXT NOT NULL,"
       " time_us INTEGER NOT NULL,"
       " key_id TEXT NOT NULL,"
       " signature BLOB NOT NULL);"},
      // Who signs checkpoints now, among instances sharing the database.
      {3,
       "CREATE TABLE audit_signer_lease ("
       " id INTEGER PRIMARY KEY CHECK (id = 1),"
       " holder TEXT NOT NULL,"
       " expires_us INTEGER NOT NULL);"},
  };
  return *kMigrations;
}

// Column order shared by every SELECT and RowToEvent().
constexpr absl::string_view kColumns =
    "sequence, time_us, request_id, actor_member_id, actor_service_id, actor_roles,"
    " client_identity, action, youth_id, entry_id, object_id, purpose, decision, reason,"
    " reason_code, break_glass, prev_hash, hash";
constexpr int kPrevHashColumn = 16;

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF)
// without NUL bytes: proto3 strings must be UTF-8, and a NUL has no business in
// an id.
bool IsCleanUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3F);
    }
    if (extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    i += extra + 1;
  }
  return true;
}

absl::Status CheckField(absl::string_view name, absl::string_view value, size_t max) {
  if (value.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit field ", name, " is longer than ", max, " bytes"));
  }
  if (!IsCleanUtf8(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit field ", name, " is not UTF-8 or holds a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status CheckContent(const EventInput& e) {
  constexpr size_t kId = AuditLog::kMaxIdLength;
  RETURN_IF_ERROR(CheckField("request_id", e.request_id, kId));
  RETURN_IF_ERROR(CheckField("actor_member_id", e.actor_member_id, kId));
  RETURN_IF_ERROR(CheckField("actor_service_id", e.actor_service_id, kId));
  RETURN_IF_ERROR(CheckField("actor_roles", e.actor_roles, kId));
  RETURN_IF_ERROR(
      CheckField("client_identity", e.client_identity, AuditLog::kMaxClientIdentityLength));
  RETURN_IF_ERROR(CheckField("youth_id", e.youth_id, kId));
  RETURN_IF_ERROR(CheckField("entry_id", e.entry_id, kId));
  RETURN_IF_ERROR(CheckField("object_id", e.object_id, kId));
  RETURN_IF_ERROR(CheckField("reason_code", e.reason_code, AuditLog::kMaxReasonCodeLength));
  return absl::OkStatus();
}

// Floor division, so times before 1970 keep 0 <= nanos < 1e9 and
// CanonicalEncoding() gives back exactly `micros`.
void SetTime(v1::AuditEvent& event, int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  event.mutable_time()->set_seconds(seconds);
  event.mutable_time()->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::StatusOr<int> EnumColumn(const Statement& row, int column, absl::string_view name) {
  const int64_t value = row.ColumnInt64(column);
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return absl::DataLossError(
        absl::StrCat("audit event ", row.ColumnInt64(0), ": ", name, " is out of range"));
  }
  return static_cast<int>(value);
}

// Reads a row selected with kColumns, borrowing its text until the next
// step. DataLoss for values no appended event can hold (they could otherwise
// hash like a different value).
absl::StatusOr<EventFields> RowToFields(const Statement& row) {
  EventFields f;
  f.sequence = row.ColumnInt64(0);
  f.time_micros = row.ColumnInt64(1);
  ASSIGN_OR_RETURN(f.action, EnumColumn(row, 7, "action"));
  ASSIGN_OR_RETURN(f.purpose, EnumColumn(row, 11, "purpose"));
  ASSIGN_OR_RETURN(f.decision, EnumColumn(row, 12, "decision"));
  ASSIGN_OR_RETURN(f.reason, EnumColumn(row, 13, "reason"));
  const int64_t break_glass = row.ColumnInt64(15);
  if (break_glass != 0 && break_glass != 1) {
    return absl::DataLossError(
        absl::StrCat("audit event ", f.sequence, ": break_glass is not 0 or 1"));
  }
  f.break_glass = break_glass == 1;
  f.request_id = row.ColumnView(2);
  f.actor_member_id = row.ColumnView(3);
  f.actor_service_id = row.ColumnView(4);
  f.actor_roles = row.ColumnView(5);
  f.client_identity = row.ColumnView(6);
  f.youth_id = row.ColumnView(8);
  f.entry_id = row.ColumnView(9);
  f.object_id = row.ColumnView(10);
  f.reason_code = row.ColumnView(14);
  f.prev_hash = row.ColumnView(kPrevHashColumn);
  f.hash = row.ColumnView(17);
  return f;
}

absl::StatusOr<v1::AuditEvent> RowToEvent(const Statement& row) {
  ASSIGN_OR_RETURN(const EventFields f, RowToFields(row));
  v1::AuditEvent e;
  e.set_sequence(f.sequence);
  SetTime(e, f.time_micros);
  e.set_request_id(f.request_id.data(), f.request_id.size());
  e.set_actor_member_id(f.actor_member_id.data(), f.actor_member_id.size());
  e.set_actor_service_id(f.actor_service_id.data(), f.actor_service_id.size());
  e.set_actor_roles(f.actor_roles.data(), f.actor_roles.size());
  e.set_client_identity(f.client_identity.data(), f.client_identity.size());
  e.set_action(static_cast<v1::Action>(f.action));
  e.set_youth_id(f.youth_id.data(), f.youth_id.size());
  e.set_entry_id(f.entry_id.data(), f.entry_id.size());
  e.set_object_id(f.object_id.data(), f.object_id.size());
  e.set_purpose(static_cast<v1::Purpose>(f.purpose));
  e.set_decision(static_cast<v1::Decision>(f.decision));
  e.set_reason(static_cast<v1::AccessReason>(f.reason));
  e.set_reason_code(f.reason_code.data(), f.reason_code.size());
  e.set_break_glass(f.break_glass);
  e.set_prev_hash(f.prev_hash.data(), f.prev_hash.size());
  e.set_hash(f.hash.data(), f.hash.size());
  return e;
}

// Feeds `verifier` the rows `s` selects (kColumns, in sequence order) until
// they end or it finds a problem.
absl::Status WalkChain(Statement& s, ChainVerifier& verifier) {
  while (!verifier.failed()) {
    ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) break;
    absl::StatusOr<EventFields> event = RowToFields(s);
    if (!event.ok()) {
      verifier.AddUndecodable(s.ColumnInt64(0), s.ColumnText(kPrevHashColumn));
      continue;
    }
    RETURN_IF_ERROR(verifier.Add(*event));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kCheckpointColumns = "sequence, head_hash, time_us, key_id, signature";

v1::Checkpoint RowToCheckpoint(const Statement& row) {
  v1::Checkpoint checkpoint;
  checkpoint.set_sequence(row.ColumnInt64(0));
  checkpoint.set_head_hash(row.ColumnText(1));
  SetTimestampMicros(checkpoint.mutable_time(), row.ColumnInt64(2));
  checkpoint.set_key_id(row.ColumnText(3));
  checkpoint.set_signature(row.ColumnBlob(4));
  return checkpoint;
}

absl::StatusOr<std::optional<v1::Checkpoint>> ReadLatestCheckpoint(Connection& c) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat(
                                    "SELECT ", kCheckpointColumns,
                                    " FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1")));
  ASSIGN_OR_RETURN(const bool row, s.Step());
  if (!row) return std::nullopt;
  return RowToCheckpoint(s);
}

absl::StatusOr<ChainHead> ReadHead(Connection& c) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT sequence, hash FROM audit_events"
                                          " ORDER BY sequence DESC LIMIT 1"));
  ASSIGN_OR_RETURN(const bool row, s.Step());
  ChainHead head;
  if (row) {
    head.sequence = s.ColumnInt64(0);
    head.hash = s.ColumnText(1);
  }
  return head;
}

// The head as this transaction's last append left it (Connection::Remember),
// else as stored.
constexpr char kHeadMemo[] = "audit.head";
absl::StatusOr<ChainHead> HeadOf(Connection& c) {
  if (const std::string* memo = c.Recall(kHeadMemo)) {
    const std::pair<std::string, std::string> parts =
        absl::StrSplit(*memo, absl::MaxSplits(' ', 1));
    ChainHead head;
    if (absl::SimpleAtoi(parts.first, &head.sequence)) {
      head.hash = parts.second;
      return head;
    }
  }
  return ReadHead(c);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(storage::Database* db,
                                                           const common::Clock* clock) {
  if (db == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("AuditLog needs a database and a clock");
  }
  RETURN_IF_ERROR(db->Migrate("audit", Migrations(), AuditPostgresMigrations()));
  return absl::WrapUnique(new AuditLog(db, clock));
}

absl::StatusOr<int64_t> AuditLog::Append(Connection& txn, const EventInput& input) {
  RETURN_IF_ERROR(CheckContent(input));
  ASSIGN_OR_RETURN(const ChainHead head, HeadOf(txn));
  if (head.sequence < 0 || head.sequence == std::numeric_limits<int64_t>::max()) {
    return absl::DataLossError("audit chain head has an impossible sequence number");
  }
  const int64_t time_us = absl::ToUnixMicros(clock_->Now());

  EventFields event;
  event.sequence = head.sequence + 1;
  event.time_micros = time_us;
  event.request_id = input.request_id;
  event.actor_member_id = input.actor_member_id;
  event.actor_service_id = input.actor_service_id;
  event.actor_roles = input.actor_roles;
  event.client_identity = input.client_identity;
  event.action = input.action;
  event.youth_id = input.youth_id;
  event.entry_id = input.entry_id;
  event.object_id = input.object_id;
  event.purpose = input.purpose;
  event.decision = input.decision;
  event.reason = input.reason;
  event.reason_code = input.reason_code;
  event.break_glass = input.break_glass;
  event.prev_hash = head.hash;
  absl::StatusOr<std::string> hash = ComputeEventHash(event);
  if (absl::IsInvalidArgument(hash.status())) {
    // The stored head's hash is not a hash: the table was altered. Refuse to
    // extend a chain nobody could verify.
    return absl::DataLossError(
        absl::StrCat("audit event ", head.sequence, " has a malformed hash"));
  }
  if (!hash.ok()) return hash.status();

  ASSIGN_OR_RETURN(
      Statement insert,
      txn.Prepare(absl::StrCat("INSERT INTO audit_events (", kColumns,
                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                               " ?13, ?14, ?15, ?16, ?17, ?18)")));
  insert.Bind(1, event.sequence)
      .Bind(2, time_us)
      .BindOptional(3, input.request_id)
      .BindOptional(4, input.actor_member_id)
      .BindOptional(5, input.actor_service_id)
      .BindOptional(6, input.actor_roles)
      .BindOptional(7, input.client_identity)
      .Bind(8, int64_t{input.action})
      .BindOptional(9, input.youth_id)
      .BindOptional(10, input.entry_id)
      .BindOptional(11, input.object_id)
      .Bind(12, int64_t{input.purpose})
      .Bind(13, int64_t{input.decision})
      .Bind(14, int64_t{input.reason})
      .BindOptional(15, input.reason_code)
      .Bind(16, int64_t{input.break_glass ? 1 : 0})
      .Bind(17, head.hash)
      .Bind(18, *hash);
  // Not waited for: on PostgreSQL it travels with the group's next
  // statements, and a failure fails the whole transaction (Database::Write).
  RETURN_IF_ERROR(insert.Post());
  txn.Remember(kHeadMemo, absl::StrCat(event.sequence, " ", *hash));
  if (AppendListener* listener = listener_.load(); listener != nullptr) {
    listener->Appended(event.sequence);
  }
  return event.sequence;
}

absl::StatusOr<int64_t> AuditLog::AppendStandalone(const EventInput& input) {
  int64_t sequence = 0;
  RETURN_IF_ERROR(db_->Write([&](Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(sequence, Append(txn, input));
    return absl::OkStatus();
  }));
  return sequence;
}

absl::StatusOr<std::vector<v1::AuditEvent>> AuditLog::Query(const EventFilter& filter,
                                                            int64_t after_sequence,
                                                            int limit) const {
  if (limit < 1 || limit > kMaxQueryLimit) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be between 1 and ", kMaxQueryLimit));
  }
  if (filter.start && filter.end && *filter.start > *filter.end) {
    return absl::InvalidArgumentError("start is after end");
  }
  // The WHERE clause is assembled from constant fragments only, one per filter
  // in use, so SQLite can pick the matching index; every value is a bound
  // parameter, numbered in the order used: PostgreSQL needs the type of every
  // number up to the last, so none may be left out.
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM audit_events WHERE sequence > ?1");
  int params = 1;
  const auto add = [&](absl::string_view condition) {
    absl::StrAppend(&sql, " AND ", condition, " ?", ++params);
  };
  if (!filter.youth_id.empty()) add("youth_id =");
  if (!filter.actor_member_id.empty()) add("actor_member_id =");
  if (!filter.actor_service_id.empty()) add("actor_service_id =");
  if (filter.start) add("time_us >=");
  if (filter.end) add("time_us <");
  if (filter.decision != v1::DECISION_UNSPECIFIED) add("decision =");
  absl::StrAppend(&sql, " ORDER BY sequence LIMIT ?", ++params);

  std::vector<v1::AuditEvent> events;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(sql));
    int param = 1;
    s.Bind(param, after_sequence);
    if (!filter.youth_id.empty()) s.Bind(++param, filter.youth_id);
    if (!filter.actor_member_id.empty()) s.Bind(++param, filter.actor_member_id);
    if (!filter.actor_service_id.empty()) s.Bind(++param, filter.actor_service_id);
    if (filter.start) s.Bind(++param, absl::ToUnixMicros(*filter.start));
    if (filter.end) s.Bind(++param, absl::ToUnixMicros(*filter.end));
    if (filter.decision != v1::DECISION_UNSPECIFIED) s.Bind(++param, int64_t{filter.decision});
    s.Bind(++param, int64_t{limit});
    while (true) {
      ASSIGN_OR_RETURN(const bool row, s.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(v1::AuditEvent event, RowToEvent(s));
      events.push_back(std::move(event));
    }
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<VerifyResult> AuditLog::Verify() const {
  ChainVerifier verifier;
  // One read transaction: the walk sees a single snapshot while appends go on.
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kColumns,
                                                         " FROM audit_events ORDER BY sequence")));
    RETURN_IF_ERROR(WalkChain(s, verifier));
    return absl::OkStatus();
  }));
  return verifier.result();
}

absl::StatusOr<int64_t> AuditLog::Length() const {
  int64_t length = 0;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM audit_events"));
    ASSIGN_OR_RETURN(const bool row, s.Step());
    if (row) length = s.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return length;
}

absl::StatusOr<ChainHead> AuditLog::HeadIn(Connection& c) { return ReadHead(c); }

absl::StatusOr<ChainHead> AuditLog::Head() const {
  ChainHead head;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(head, ReadHead(c));
    return absl::OkStatus();
  }));
  return head;
}

}  // namespace relais::audit

namespace relais::audit {

absl::StatusOr<CheckpointCandidate> AuditLog::PrepareCheckpoint(int64_t pinned_sequence) const {
  CheckpointCandidate candidate;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    if (pinned_sequence > 0) {
      ASSIGN_OR_RETURN(Statement pinned,
                       c.Prepare("SELECT hash FROM audit_events WHERE sequence = ?1"));
      pinned.Bind(1, pinned_sequence);
      ASSIGN_OR_RETURN(const bool row, pinned.Step());
      if (row) candidate.pinned_hash = pinned.ColumnText(0);
    }
    ASSIGN_OR_RETURN(const std::optional<v1::Checkpoint> latest, ReadLatestCheckpoint(c));
    ChainHead anchor;
    if (latest.has_value()) {
      anchor.sequence = latest->sequence();
      anchor.hash = latest->head_hash();
      candidate.last_checkpoint = *latest;
    }
    ASSIGN_OR_RETURN(const ChainHead head, ReadHead(c));
    if (head.sequence < anchor.sequence) {
      return absl::DataLossError(absl::StrCat("audit log ends at ", head.sequence,
                                              " but a checkpoint covers ", anchor.sequence));
    }
    ChainVerifier verifier(anchor.sequence, anchor.hash);
    ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kColumns,
                                                         " FROM audit_events WHERE sequence > ?1"
                                                         " AND sequence <= ?2 ORDER BY sequence")));
    s.Bind(1, anchor.sequence).Bind(2, head.sequence);
    RETURN_IF_ERROR(WalkChain(s, verifier));
    const VerifyResult& result = verifier.result();
    if (!result.ok) {
      return absl::DataLossError(absl::StrCat("audit chain fails verification after checkpoint ",
                                              anchor.sequence, ": ", result.problem, " at ",
                                              result.first_bad_sequence));
    }
    if (anchor.sequence + result.events_checked != head.sequence) {
      // Rows past the head read above cannot exist in this snapshot; fewer
      // rows than numbers means a gap the verifier reports, so this is only
      // reached if the table changed shape under us.
      return absl::DataLossError("audit chain head does not match its rows");
    }
    candidate.head.sequence = head.sequence;
    candidate.head.hash = result.head_hash;
    return absl::OkStatus();
  }));
  return candidate;
}

absl::Status AuditLog::FeedVerifier(int64_t up_to, ExportVerifier& verifier) const {
  return db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement events,
                     c.Prepare(absl::StrCat("SELECT ", kColumns,
                                            " FROM audit_events WHERE sequence <= ?1"
                                            " ORDER BY sequence")));
    events.Bind(1, up_to);
    ASSIGN_OR_RETURN(Statement checkpoints,
                     c.Prepare(absl::StrCat("SELECT ", kCheckpointColumns,
                                            " FROM audit_checkpoints WHERE sequence <= ?1"
                                            " ORDER BY sequence")));
    checkpoints.Bind(1, up_to);
    ASSIGN_OR_RETURN(bool checkpoint_row, checkpoints.Step());
    v1::ExportItem item;
    while (!verifier.failed()) {
      ASSIGN_OR_RETURN(const bool row, events.Step());
      if (!row) break;
      const int64_t sequence = events.ColumnInt64(0);
      absl::StatusOr<v1::AuditEvent> event = RowToEvent(events);
      if (event.ok()) {
        item.Clear();
        item.mutable_event()->Swap(&*event);
        RETURN_IF_ERROR(verifier.Add(item));
      } else {
        verifier.AddUndecodableEvent(sequence, events.ColumnText(kPrevHashColumn));
      }
      // Checkpoints of missing events (a gap) surface as out of place.
      while (checkpoint_row && checkpoints.ColumnInt64(0) <= sequence && !verifier.failed()) {
        item.Clear();
        *item.mutable_checkpoint() = RowToCheckpoint(checkpoints);
        RETURN_IF_ERROR(verifier.Add(item));
        ASSIGN_OR_RETURN(checkpoint_row, checkpoints.Step());
      }
    }
    return absl::OkStatus();
  });
}

absl::Status AuditLog::StoreCheckpoint(const v1::Checkpoint& checkpoint) {
  return db_->Write([&](Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement event,
                     txn.Prepare("SELECT hash FROM audit_events WHERE sequence = ?1"));
    event.Bind(1, checkpoint.sequence());
    ASSIGN_OR_RETURN(const bool row, event.Step());
    if (!row || event.ColumnText(0) != checkpoint.head_hash()) {
      return absl::DataLossError(
          absl::StrCat("audit event ", checkpoint.sequence(), " changed before its checkpoint"));
    }
    ASSIGN_OR_RETURN(Statement insert,
                     txn.Prepare(absl::StrCat("INSERT INTO audit_checkpoints (", kCheckpointColumns,
                                              ") VALUES (?1, ?2, ?3, ?4, ?5)")));
    insert.Bind(1, checkpoint.sequence())
        .Bind(2, checkpoint.head_hash())
        .Bind(3, TimestampMicros(checkpoint.time()))
        .Bind(4, checkpoint.key_id())
        .BindBlob(5, checkpoint.signature());
    return insert.Run();
  });
}

absl::Status AuditLog::AwaitPendingAppends() {
  return db_->Write([](Connection&) { return absl::OkStatus(); });
}

absl::StatusOr<std::optional<v1::Checkpoint>> AuditLog::LatestCheckpoint() const {
  std::optional<v1::Checkpoint> latest;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(latest, ReadLatestCheckpoint(c));
    return absl::OkStatus();
  }));
  return latest;
}

absl::StatusOr<std::vector<v1::Checkpoint>> AuditLog::Checkpoints(int64_t after_sequence,
                                                                  int64_t up_to_sequence,
                                                                  int limit) const {
  if (limit < 1 || limit > kMaxQueryLimit) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be between 1 and ", kMaxQueryLimit));
  }
  std::vector<v1::Checkpoint> out;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare(absl::StrCat("SELECT ", kCheckpointColumns,
                                                         " FROM audit_checkpoints"
                                                         " WHERE sequence > ?1 AND sequence <= ?2"
                                                         " ORDER BY sequence LIMIT ?3")));
    s.Bind(1, after_sequence).Bind(2, up_to_sequence).Bind(3, int64_t{limit});
    while (true) {
      ASSIGN_OR_RETURN(const bool row, s.Step());
      if (!row) break;
      out.push_back(RowToCheckpoint(s));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace relais::audit
