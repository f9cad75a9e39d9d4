#include "services/record/entry_reader.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;
using storage::Statement;
using storage::crypto::FieldCrypto;
using storage::crypto::YouthKey;

namespace {

// Entries read per database round trip while listing.
constexpr int kListBatch = 200;
// Versions followed each way along a correction chain.
constexpr int kMaxChain = 100;

audit::EventInput EntryEvent(const CallAudit& call, const v1::Entry& e, const access::Verdict& v) {
  audit::EventInput ev = call.event;
  ev.action = v1::ACTION_READ_ENTRY;
  ev.entry_id = e.id();
  ev.decision = v.decision;
  ev.reason = v.reason;
  ev.reason_code = rpc::ReasonCode(v.reason);
  ev.object_id = v.consent_id;
  return ev;
}

// An entry the rule allowed but retention erased: audited as not returned.
void MarkErased(audit::EventInput& ev) {
  ev.decision = v1::DECISION_DENY;
  ev.reason = v1::ACCESS_REASON_RECORD_ERASED;
  ev.reason_code = rpc::ReasonCode(ev.reason);
}

access::EntryFacts FactsOf(const v1::Entry& e) {
  return {e.author_service_id(), e.visibility(), e.category()};
}

}  // namespace

absl::StatusOr<EntryReader::Reading> EntryReader::Gather(const Caller& caller,
                                                         const ListQuery& query, CallAudit& call,
                                                         Batch& first) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, deps_.keys->Crypto());
  const std::string& youth_id = query.youth_id;
  Reading reading;
  std::optional<YouthFacts> youth;
  // One transaction; on PostgreSQL the youth's reads and the first batch are
  // sent first and the care facts' reads join them: one round trip for all.
  storage::Database::ReadTogether together(deps_.db);
  RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(store::YouthReads sent, store::SendYouthFacts(c, youth_id));
    ASSIGN_OR_RETURN(Statement batch,
                     store::SendListEntries(c, youth_id, {query.handover_id, query.concertation_id},
                                            query.before, kListBatch, query.include_superseded));
    ASSIGN_OR_RETURN(reading.facts,
                     deps_.care->GatherFacts(caller.service_id(), youth_id, caller.member_id()));
    ASSIGN_OR_RETURN(youth, store::GetYouthFacts(c, *crypto, youth_id, sent, &reading.key));
    first.positions.clear();
    ASSIGN_OR_RETURN(first.entries, store::ListEntries(batch, &first.positions));
    return absl::OkStatus();
  }));
  return Complete(std::move(reading), youth, call);
}

absl::StatusOr<EntryReader::Reading> EntryReader::Complete(Reading reading,
                                                           const std::optional<YouthFacts>& youth,
                                                           CallAudit& call) {
  if (!youth.has_value()) return common::NotFound("youth_not_found", "no such youth record");
  if (youth->erased) return common::NotFound("erased", "the record has been erased");
  reading.youth_id = youth->id;
  call.event.break_glass = reading.facts.break_glass;
  reading.state = {youth->restricted, youth->erased};
  return reading;
}

absl::StatusOr<EntryReader::Page> EntryReader::List(const Caller& caller, const ListQuery& query,
                                                    CallAudit& call,
                                                    absl::FunctionRef<absl::Status()> alive) const {
  Batch first;
  ASSIGN_OR_RETURN(Reading reading, Gather(caller, query, call, first));
  const access::Verdict record_verdict = access::DecideRecordRead(reading.facts, reading.state);
  if (!record_verdict.allowed()) {
    return rpc::Denied(record_verdict.reason, record_verdict.explanation);
  }
  Page page;
  Decided decided;
  RETURN_IF_ERROR(CollectPage(reading, query, std::move(first), call, alive, decided, page));
  // Only the entries the rule allowed are decrypted, under one unwrap of the
  // youth's data key. A body that does not open fails the whole call
  // (DATA_LOSS, logged): an entry is never returned altered or blank.
  std::vector<const store::SealedEntry*> allowed;
  for (const store::SealedEntry& e : decided.allowed) allowed.push_back(&e);
  ASSIGN_OR_RETURN(page.entries, Open(reading, allowed));
  // The whole listing is audited, the call then each entry's decision, in one
  // transaction, before anything is returned.
  RETURN_IF_ERROR(Audit(call, decided.events, CallEvent::kFirst));
  return page;
}

absl::Status EntryReader::CollectPage(const Reading& reading, const ListQuery& query, Batch first,
                                      const CallAudit& call,
                                      absl::FunctionRef<absl::Status()> alive, Decided& decided,
                                      Page& page) const {
  int64_t before = query.before;
  bool more = true;
  bool read_first = true;  // the first batch came with the facts
  while (more && static_cast<int>(decided.allowed.size()) < query.page_size) {
    RETURN_IF_ERROR(alive());
    std::vector<store::SealedEntry> batch;
    std::vector<int64_t> positions;
    if (read_first) {
      batch = std::move(first.entries);
      positions = std::move(first.positions);
      read_first = false;
    } else {
      RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(batch, store::ListEntries(
                                    c, reading.youth_id, {query.handover_id, query.concertation_id},
                                    before, kListBatch, &positions, query.include_superseded));
        return absl::OkStatus();
      }));
    }
    more = static_cast<int>(batch.size()) == kListBatch;
    for (size_t i = 0; i < batch.size(); ++i) {
      const v1::Entry& e = batch[i].entry;
      before = positions[i];
      const access::Verdict v =
          access::DecideEntryRead(reading.facts, reading.state, FactsOf(e), query.purpose);
      decided.events.push_back(EntryEvent(call, e, v));
      if (v.allowed() && batch[i].erased) {
        // Erased by retention: counted, like what the rule withholds.
        MarkErased(decided.events.back());
        ++page.withheld[v1::ACCESS_REASON_RECORD_ERASED];
      } else if (v.allowed()) {
        decided.allowed.push_back(std::move(batch[i]));
        if (static_cast<int>(decided.allowed.size()) == query.page_size) {
          if (i + 1 < batch.size() || more) page.next_page_token = absl::StrCat(before);
          break;
        }
      } else if (v.reason != v1::ACCESS_REASON_ENTRY_PRIVATE) {
        // Another service's private entries are neither shown nor counted.
        ++page.withheld[v.reason];
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Entry> EntryReader::Get(const Caller& caller, const GetQuery& query,
                                           CallAudit& call) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, deps_.keys->Crypto());
  std::optional<store::SealedEntry> sealed;
  std::optional<YouthFacts> youth;
  Reading gathered;
  // One transaction: the entry with its youth's facts, and the care facts of
  // the entry's youth, which find it themselves: on PostgreSQL one round trip,
  // shared with the token's revocation check.
  storage::Database::ReadTogether together(deps_.db);
  RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement entry_read, store::SendEntryAndYouth(c, query.entry_id));
    ASSIGN_OR_RETURN(
        std::unique_ptr<access::PendingFacts> care,
        deps_.care->SendFactsOfEntry(c, caller.service_id(), query.entry_id, caller.member_id()));
    ASSIGN_OR_RETURN(store::EntryAndYouth read,
                     store::GetEntryAndYouth(c, *crypto, entry_read, &gathered.key));
    if (!read.entry.has_value()) return absl::OkStatus();
    sealed = std::move(read.entry);
    call.event.youth_id = sealed->entry.youth_id();
    ASSIGN_OR_RETURN(youth, std::move(read.youth));
    ASSIGN_OR_RETURN(gathered.facts, care->Receive(sealed->entry.youth_id()));
    return absl::OkStatus();
  }));
  if (!sealed.has_value()) return common::NotFound("entry_not_found", "no such entry");
  const v1::Entry& e = sealed->entry;
  ASSIGN_OR_RETURN(Reading reading, Complete(std::move(gathered), youth, call));
  const access::Verdict v =
      access::DecideEntryRead(reading.facts, reading.state, FactsOf(e), query.purpose);
  if (!v.allowed()) {
    call.event.reason = v.reason;
    // Another service's private entry is not revealed to exist; the audit log
    // still records the real reason.
    if (v.reason == v1::ACCESS_REASON_ENTRY_PRIVATE) {
      absl::Status audited = deps_.gate->AuditDenial(call.event, rpc::Denied(v.reason, "private"));
      if (audited.code() == absl::StatusCode::kUnavailable) return audited;
      call.recorded = true;
      return common::NotFound("entry_not_found", "no such entry");
    }
    return rpc::Denied(v.reason, v.explanation);
  }
  call.event.object_id = v.consent_id;
  if (sealed->erased) return common::NotFound("erased", "the entry was erased (retention)");
  // The correction chain (include_history): each version is decided and
  // audited on its own, and only the allowed ones are opened.
  std::vector<store::SealedEntry> chain;
  if (query.include_history) {
    ASSIGN_OR_RETURN(chain, LoadChain(*sealed));
  }
  std::vector<const store::SealedEntry*> to_open{&*sealed};
  std::vector<audit::EventInput> events;
  for (const store::SealedEntry& version : chain) {
    if (version.entry.id() == e.id()) {
      to_open.push_back(&version);
      continue;
    }
    const access::Verdict vv = access::DecideEntryRead(reading.facts, reading.state,
                                                       FactsOf(version.entry), query.purpose);
    events.push_back(EntryEvent(call, version.entry, vv));
    if (vv.allowed() && version.erased) {
      MarkErased(events.back());
    } else if (vv.allowed()) {
      to_open.push_back(&version);
    }
  }
  // Decrypted only once allowed. A body that does not open on this row
  // (moved, altered, key destroyed) fails the call with its status.
  ASSIGN_OR_RETURN(std::vector<v1::Entry> opened, Open(reading, to_open));
  RETURN_IF_ERROR(Audit(call, events, CallEvent::kLast));
  v1::Entry out = std::move(opened.front());
  for (size_t i = 1; i < opened.size(); ++i) *out.add_history() = std::move(opened[i]);
  return out;
}

absl::StatusOr<std::vector<store::SealedEntry>> EntryReader::LoadChain(
    const store::SealedEntry& entry) const {
  std::vector<store::SealedEntry> chain;
  RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
    // Walk to the current version, then back to the first.
    std::vector<store::SealedEntry> newer;
    std::string next = entry.entry.superseded_by_entry_id();
    while (!next.empty() && static_cast<int>(newer.size()) < kMaxChain) {
      ASSIGN_OR_RETURN(std::optional<store::SealedEntry> n, store::GetEntry(c, next));
      if (!n.has_value()) break;
      next = n->entry.superseded_by_entry_id();
      newer.push_back(*std::move(n));
    }
    for (auto it = newer.rbegin(); it != newer.rend(); ++it) chain.push_back(*it);
    chain.push_back(entry);
    std::string prev = entry.entry.supersedes_entry_id();
    while (!prev.empty() && static_cast<int>(chain.size()) < 2 * kMaxChain) {
      ASSIGN_OR_RETURN(std::optional<store::SealedEntry> p, store::GetEntry(c, prev));
      if (!p.has_value()) break;
      prev = p->entry.supersedes_entry_id();
      chain.push_back(*std::move(p));
    }
    return absl::OkStatus();
  }));
  return chain;
}

absl::StatusOr<std::vector<v1::Entry>> EntryReader::Open(
    const Reading& reading, const std::vector<const store::SealedEntry*>& sealed) const {
  std::vector<v1::Entry> opened;
  if (sealed.empty()) return opened;
  if (!reading.key.has_value()) return absl::InternalError("no key read with the facts");
  for (const store::SealedEntry* e : sealed) {
    ASSIGN_OR_RETURN(v1::Entry entry, store::OpenEntry(*reading.key, *e));
    opened.push_back(std::move(entry));
  }
  return opened;
}

absl::Status EntryReader::Audit(CallAudit& call, const std::vector<audit::EventInput>& events,
                                CallEvent order) const {
  call.event = rpc::Allowed(std::move(call.event));
  audit::AuditLog* log = deps_.gate->audit();
  auto append = [&](Connection& c, const audit::EventInput& ev) {
    return rpc::AuditAppended(log->Append(c, ev).status());
  };
  RETURN_IF_ERROR(deps_.db->Write([&](Connection& c) -> absl::Status {
    if (order == CallEvent::kFirst) RETURN_IF_ERROR(append(c, call.event));
    for (const audit::EventInput& ev : events) RETURN_IF_ERROR(append(c, ev));
    if (order == CallEvent::kLast) RETURN_IF_ERROR(append(c, call.event));
    return absl::OkStatus();
  }));
  call.recorded = true;
  return absl::OkStatus();
}

}  // namespace relais::record
