#ifndef RELAIS_SERVICES_RECORD_ENTRY_READER_H_
#define RELAIS_SERVICES_RECORD_ENTRY_READER_H_

// The read path of entries (GetEntry, ListEntries): gather the caller's access
// facts, decide each entry with the access rule (access/policy.h), open only
// what it allowed, and audit every decision before anything is returned.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "access/facts.h"
#include "access/policy.h"
#include "relais/v1/record.pb.h"
#include "services/common/rpc.h"
#include "services/record/record_api.h"
#include "services/record/record_store.h"
#include "services/record/youth_keys.h"
#include "storage/database.h"

namespace relais::record {

// Thread-safe. Requests are validated by the caller (ids, purpose, page size).
class EntryReader {
 public:
  // All borrowed; they must outlive the reader. `care` answers the service's
  // facts; the youth's are read from `db` with its key.
  struct Deps {
    storage::Database* db = nullptr;
    const YouthKeys* keys = nullptr;
    const access::CareFacts* care = nullptr;
    rpc::CallGate* gate = nullptr;  // its audit log, and denials it records
  };
  explicit EntryReader(Deps deps) : deps_(deps) {}

  struct ListQuery {
    std::string youth_id;
    std::string handover_id;      // empty: every entry
    std::string concertation_id;  // empty: every entry
    v1::Purpose purpose = v1::PURPOSE_UNSPECIFIED;
    int page_size = 0;   // > 0
    int64_t before = 0;  // the page token's position; 0: from the newest
    bool include_superseded = false;
  };
  struct Page {
    std::vector<v1::Entry> entries;  // opened, newest first
    // What the rule withheld, by reason (another service's private entries
    // are neither shown nor counted; retention-erased ones count as erased).
    std::map<v1::AccessReason, int> withheld;
    std::string next_page_token;
  };
  // The youth's entries the caller may read for the query's purpose. The
  // record-level decision (rules 2 and 4) comes first and is returned as
  // PERMISSION_DENIED with its reason; then entries are decided one by one.
  // Audits, in one transaction and in this order, the call's ALLOW event
  // (`call`, which is marked recorded) and one ACTION_READ_ENTRY event per
  // entry decided. `alive` is asked before each batch of reads (the client may
  // have gone). A body that does not open fails the call (DATA_LOSS).
  absl::StatusOr<Page> List(const rpc::Caller& caller, const ListQuery& query, rpc::CallAudit& call,
                            absl::FunctionRef<absl::Status()> alive) const;

  struct GetQuery {
    std::string entry_id;
    v1::Purpose purpose = v1::PURPOSE_UNSPECIFIED;
    // Also the entry's correction chain, each version decided on its own.
    bool include_history = false;
  };
  // One entry, opened, with the readable versions of its chain in `history`.
  // NOT_FOUND "entry_not_found" if unknown, and also for another service's
  // private entry (its denial is audited with the real reason); NOT_FOUND
  // "erased" if retention erased it; PERMISSION_DENIED with the reason
  // otherwise. Audits the chain's decisions then the call's ALLOW in one
  // transaction, after the bodies opened.
  absl::StatusOr<v1::Entry> Get(const rpc::Caller& caller, const GetQuery& query,
                                rpc::CallAudit& call) const;

 private:
  // The caller's facts about one youth, as the rule reads them.
  struct Reading {
    std::string youth_id;
    access::AccessFacts facts;
    access::YouthState state;
    // The youth's data key, read with the facts (one snapshot): what Open uses.
    std::optional<storage::crypto::YouthKey> key;
  };
  // A batch of a youth's entries, still sealed, with their positions.
  struct Batch {
    std::vector<store::SealedEntry> entries;
    std::vector<int64_t> positions;
  };
  // Gathers the facts (flags `call` break_glass when an emergency grant is in
  // force) and, read with them (one round trip on PostgreSQL), the listing's
  // first batch, which nothing opens before the rule allowed it.
  absl::StatusOr<Reading> Gather(const rpc::Caller& caller, const ListQuery& query,
                                 rpc::CallAudit& call, Batch& first) const;
  // Gather's end, once the youth's facts and the care facts are read.
  static absl::StatusOr<Reading> Complete(Reading reading, const std::optional<YouthFacts>& youth,
                                          rpc::CallAudit& call);
  // Entries allowed (still sealed) and the decisions to audit.
  struct Decided {
    std::vector<store::SealedEntry> allowed;
    std::vector<audit::EventInput> events;
  };
  absl::Status CollectPage(const Reading& reading, const ListQuery& query, Batch first,
                           const rpc::CallAudit& call, absl::FunctionRef<absl::Status()> alive,
                           Decided& decided, Page& page) const;
  // The correction chain of `entry`: newest version first, the entry itself
  // included; at most 100 versions each way.
  absl::StatusOr<std::vector<store::SealedEntry>> LoadChain(const store::SealedEntry& entry) const;
  // Opens `sealed` (all of `reading`'s youth) under its key.
  absl::StatusOr<std::vector<v1::Entry>> Open(
      const Reading& reading, const std::vector<const store::SealedEntry*>& sealed) const;
  // Appends the call's ALLOW event and `events` in one transaction (the call's
  // first or last) and marks `call` recorded.
  enum class CallEvent { kFirst, kLast };
  absl::Status Audit(rpc::CallAudit& call, const std::vector<audit::EventInput>& events,
                     CallEvent order) const;

  const Deps deps_;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_ENTRY_READER_H_
