// Retention (docs/retention.md): what is due, and erasing it.
#include "services/record/retention_sweeper.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "common/status_macros.h"
#include "services/common/rpc.h"
#include "services/record/gdpr_store.h"
#include "services/record/record_store.h"
#include "services/record/retention_store.h"
#include "storage/wal_checkpoint.h"

namespace relais::record {

using storage::Connection;
using storage::crypto::FieldCrypto;

namespace {

// Who the sweep's own events name: the server, as for other server-side events.
constexpr char kServerActor[] = "relaisd";

// What is due for one youth at `now`.
struct Due {
  absl::Time clock_start;
  bool whole = false;
  absl::Time due_since = absl::InfiniteFuture();
  std::vector<store::LiveEntry> entries;  // due entries; every live one if whole
};

// Whether the youth is closed, and if so what is due. nullopt: nothing.
absl::StatusOr<std::optional<Due>> Evaluate(Connection& c, const access::CareFacts& care,
                                            const RetentionPolicy& policy,
                                            const store::RetentionYouth& youth, absl::Time now) {
  ASSIGN_OR_RETURN(access::AccompanimentSpan span, care.GetAccompanimentSpan(c, youth.id));
  if (span.open) return std::nullopt;  // accompanied now or later: never swept
  Due due;
  due.clock_start = span.last_end.value_or(youth.created_at);
  ASSIGN_OR_RETURN(std::vector<store::LiveEntry> live, store::ListLiveEntries(c, youth.id));
  if (now >= due.clock_start + policy.MaxPeriod()) {
    due.whole = true;
    due.due_since = due.clock_start + policy.MaxPeriod();
    due.entries = std::move(live);
    return due;
  }
  for (store::LiveEntry& e : live) {
    auto period = policy.period.find(e.category);
    // A category without a period (a value newer than this build) is kept.
    if (period == policy.period.end()) continue;
    const absl::Time at = due.clock_start + period->second;
    if (now < at) continue;
    due.due_since = std::min(due.due_since, at);
    due.entries.push_back(std::move(e));
  }
  if (due.entries.empty()) return std::nullopt;
  return due;
}

v1::RetentionItem ItemFor(const store::RetentionYouth& youth, const Due& due) {
  v1::RetentionItem item;
  item.set_youth_id(youth.id);
  item.set_whole_youth(due.whole);
  std::map<v1::DataCategory, int> counts;
  for (const store::LiveEntry& e : due.entries) ++counts[e.category];
  for (const auto& [category, count] : counts) {
    v1::RetentionCategoryCount* c = item.add_entries();
    c->set_category(category);
    c->set_count(count);
  }
  *item.mutable_due_since() = common::ToProto(due.due_since);
  *item.mutable_clock_start() = common::ToProto(due.clock_start);
  if (youth.legal_hold) {
    item.set_skipped_reason("legal_hold");
  } else if (youth.restricted) {
    // Art. 18(1)(b)/(c): a restriction can be how the data subject keeps data
    // the controller no longer needs. A DPO decides, not the sweep.
    item.set_skipped_reason("restricted");
  }
  return item;
}

audit::EventInput EraseEvent(const audit::EventInput& sweep, absl::string_view youth_id,
                             absl::string_view entry_id) {
  audit::EventInput e;
  e.request_id = sweep.request_id;
  e.actor_member_id = kServerActor;
  e.action = v1::ACTION_RETENTION_ERASE;
  e.youth_id = std::string(youth_id);
  e.entry_id = std::string(entry_id);
  e.object_id = sweep.object_id;  // the sweep that erased it
  e.decision = v1::DECISION_ALLOW;
  e.reason = v1::ACCESS_REASON_ALLOWED;
  e.reason_code = "retention_due";
  return e;
}

// Counts `item` into `resp` (the totals the response reports).
void Tally(const v1::RetentionItem& item, v1::SweepRetentionResponse& resp) {
  if (!item.skipped_reason().empty()) {
    resp.set_youths_skipped(resp.youths_skipped() + 1);
  } else if (item.whole_youth()) {
    resp.set_youths_erased(resp.youths_erased() + 1);
  } else {
    for (const v1::RetentionCategoryCount& c : item.entries()) {
      resp.set_entries_erased(resp.entries_erased() + c.count());
    }
  }
}

}  // namespace

absl::StatusOr<v1::SweepRetentionResponse> RetentionSweeper::Sweep(
    bool dry_run, const audit::EventInput& sweep) const {
  if (deps_.care == nullptr) return absl::FailedPreconditionError("retention: no care service");
  RETURN_IF_ERROR(deps_.keys->Crypto().status());
  const absl::Time now = deps_.clock->Now();
  v1::SweepRetentionResponse resp;
  resp.set_dry_run(dry_run);
  *resp.mutable_as_of() = common::ToProto(now);
  std::vector<store::RetentionYouth> youths;
  RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(youths, store::ListLiveYouths(c));
    return absl::OkStatus();
  }));
  bool erased_any = false;
  for (const store::RetentionYouth& listed : youths) {
    std::optional<Due> due;
    RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(due, Evaluate(c, *deps_.care, deps_.policy, listed, now));
      return absl::OkStatus();
    }));
    if (!due.has_value()) continue;
    if (dry_run || listed.legal_hold || listed.restricted) {
      v1::RetentionItem item = ItemFor(listed, *due);
      if (!item.skipped_reason().empty()) {
        resp.set_youths_skipped(resp.youths_skipped() + 1);
      } else if (due->whole) {
        resp.set_youths_erased(resp.youths_erased() + 1);
      } else {
        resp.set_entries_erased(resp.entries_erased() + static_cast<int>(due->entries.size()));
      }
      *resp.add_items() = std::move(item);
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<v1::RetentionItem> done, EraseDue(listed.id, sweep, now));
    if (!done.has_value()) continue;
    Tally(*done, resp);
    if (done->skipped_reason().empty()) {
      if (done->whole_youth()) deps_.keys->Forget(listed.id);
      erased_any = true;
    }
    *resp.add_items() = *std::move(done);
  }
  if (erased_any) {
    // Old page images leave the WAL (secure_delete zeroes the freed pages).
    (void)storage::CheckpointAfterErasure(*deps_.db, "retention sweep",
                                          {"rec_data_keys", "rec_entries"});
  }
  return resp;
}

absl::StatusOr<std::optional<v1::RetentionItem>> RetentionSweeper::EraseDue(
    absl::string_view youth_id, const audit::EventInput& sweep, absl::Time now) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, deps_.keys->Crypto());
  // Decided again inside the transaction: an accompaniment opened, a hold
  // or restriction set, or another sweep since the caller's read wins.
  std::optional<v1::RetentionItem> done;
  RETURN_IF_ERROR(deps_.db->Write([&](Connection& c) -> absl::Status {
    // Set afresh: the callback may run twice (Database::Write).
    done.reset();
    ASSIGN_OR_RETURN(std::optional<store::RetentionYouth> youth, store::GetLiveYouth(c, youth_id));
    if (!youth.has_value()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<Due> now_due,
                     Evaluate(c, *deps_.care, deps_.policy, *youth, now));
    if (!now_due.has_value()) return absl::OkStatus();
    done = ItemFor(*youth, *now_due);
    if (!done->skipped_reason().empty()) return absl::OkStatus();
    if (now_due->whole) {
      // The path of EraseYouth: crypto-shredding and its GDPR change row.
      RETURN_IF_ERROR(store::RecordGdprChange(
          c, *crypto, {common::NewId("gdpr"), youth->id, "erase", "", kServerActor, "", now}));
      RETURN_IF_ERROR(deps_.care->EraseCareText(c, youth->id));
      RETURN_IF_ERROR(store::EraseYouth(c, youth->id, now));
      return deps_.audit->Append(c, EraseEvent(sweep, youth->id, "")).status();
    }
    for (const store::LiveEntry& e : now_due->entries) {
      ASSIGN_OR_RETURN(bool erased, store::EraseEntry(c, e.id, now));
      if (!erased) continue;
      RETURN_IF_ERROR(deps_.audit->Append(c, EraseEvent(sweep, youth->id, e.id)).status());
    }
    return absl::OkStatus();
  }));
  return done;
}

absl::StatusOr<v1::SweepRetentionResponse> RetentionSweeper::RunScheduled() const {
  audit::EventInput sweep;
  sweep.actor_member_id = kServerActor;
  sweep.action = v1::ACTION_RETENTION_SWEEP;
  sweep.request_id = common::NewId("req");
  sweep.object_id = common::NewId("sweep");
  sweep.decision = v1::DECISION_ALLOW;
  sweep.reason = v1::ACCESS_REASON_ALLOWED;
  sweep.reason_code = "scheduled";
  RETURN_IF_ERROR(
      deps_.db->Write([&](Connection& c) { return deps_.audit->Append(c, sweep).status(); }));
  return Sweep(/*dry_run=*/false, sweep);
}

}  // namespace relais::record
