#ifndef RELAIS_SERVICES_RECORD_YOUTH_EXPORTER_H_
#define RELAIS_SERVICES_RECORD_YOUTH_EXPORTER_H_

// The domain side of RecordService.ExportYouth (GDPR art. 15 and 20): who may
// export what of one youth, and the items of the stream in order (see
// record.proto for the layout). The gRPC side is youth_export.h.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "access/facts.h"
#include "common/clock.h"
#include "relais/v1/record.pb.h"
#include "services/common/rpc.h"
#include "services/record/record_api.h"
#include "services/record/record_store.h"
#include "services/record/youth_keys.h"
#include "storage/database.h"

namespace relais::record {

// Entries read per database round trip while exporting: a large record is
// streamed, never held in memory whole.
inline constexpr int kExportEntryPageSize = 100;

// Reads one youth's entries (every version) in position order, `page_size`
// at a time, keyset-paged on the position. Not thread-safe.
class EntryPager {
 public:
  EntryPager(const storage::Database* db, std::string youth_id,
             int page_size = kExportEntryPageSize)
      : db_(db), youth_id_(std::move(youth_id)), page_size_(page_size) {}

  // The next page; empty once every entry was returned.
  absl::StatusOr<std::vector<store::SealedEntry>> Next();
  // Database reads made so far (the last, short or empty, page included).
  int pages_read() const { return pages_read_; }
  int page_size() const { return page_size_; }

 private:
  const storage::Database* db_;
  std::string youth_id_;
  int page_size_;
  int64_t after_ = 0;
  int pages_read_ = 0;
  bool done_ = false;
};

// What an export needs of the record service. Pointers are borrowed and must
// outlive the export; `keys` without a master key fails it with
// FAILED_PRECONDITION "no_master_key".
struct ExportDeps {
  storage::Database* db = nullptr;
  const YouthKeys* keys = nullptr;
  const common::Clock* clock = nullptr;
  rpc::CallGate* gate = nullptr;
  const access::CareFacts* care = nullptr;
  const RecordApi* records = nullptr;
};

// One export. Scope: a coordinator gets what the access rule lets their
// service read for coordination (no emergency grant); an admin gets metadata
// only, or every body once a platform auditor approved a full export (two
// persons). Not thread-safe: one call drives it.
class YouthExporter {
 public:
  explicit YouthExporter(ExportDeps deps) : deps_(deps) {}

  // Authorises `caller` (the role, rule 2 unless admin, the full-export
  // request and step-up) and audits the ALLOW event (`call`, then marked
  // recorded; a full export uses its request in the same transaction, once)
  // before anything is produced. On error nothing was recorded as allowed:
  // PERMISSION_DENIED, NOT_FOUND ("erased", "youth_not_found",
  // "export_request_not_found"), FAILED_PRECONDITION (no master key, a
  // full-export request not approved, used or expired).
  // On success appends the first items to `out`: the header, the identity
  // (unless metadata only) and the care parts.
  absl::Status Begin(const rpc::Caller& caller, rpc::CallAudit& call,
                     const v1::ExportYouthRequest& req, std::deque<v1::ExportYouthItem>& out);

  // After a successful Begin(): appends the next page of entries to `out`,
  // then (once they are all out) the trailer, then nothing. An error ends the
  // export without its trailer (e.g. NOT_FOUND: erased meanwhile), so the
  // client sees it is incomplete.
  absl::Status Fill(std::deque<v1::ExportYouthItem>& out);

  v1::ExportScope scope() const { return scope_; }

 private:
  // Rules 1 and 2, the scope, and the full-export request's form.
  absl::Status Authorise(const rpc::Caller& caller, rpc::CallAudit& call,
                         const v1::ExportYouthRequest& req, const YouthFacts& youth);
  // The ALLOW event (and the full-export request's use) in one transaction.
  absl::Status Record(const rpc::Caller& caller, rpc::CallAudit& call, absl::string_view full_id,
                      absl::string_view youth_id);
  // Appends the header, identity and care parts to `out`.
  void QueueHead(const rpc::Caller& caller, const YouthFacts& youth,
                 std::optional<v1::Youth> identity, access::CareExport care,
                 std::deque<v1::ExportYouthItem>& out);
  // Why an entry of the page is withheld ("" if it is opened).
  std::string WithheldReason(const store::SealedEntry& sealed) const;

  struct Counts {
    int identities = 0;
    int accompaniments = 0;
    int handovers = 0;
    int consents = 0;
    int concertations = 0;
    int entries = 0;
    int withheld = 0;
  };

  const ExportDeps deps_;
  bool admin_ = false;
  v1::ExportScope scope_ = v1::EXPORT_SCOPE_UNSPECIFIED;
  access::AccessFacts facts_;  // the caller's service, without emergency grant
  std::string youth_id_;
  std::optional<EntryPager> pager_;
  bool finished_ = false;  // trailer queued
  Counts trailer_;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_YOUTH_EXPORTER_H_
