#ifndef RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_
#define RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_

// RecordService.ExportYouth (GDPR art. 15 and 20): the streamed export of
// everything held on one youth. See record.proto for the stream layout.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/record.pb.h"
#include "access/facts.h"
#include "services/common/rpc.h"
#include "services/record/record_api.h"
#include "services/record/gdpr_store.h"
#include "services/record/record_store.h"
#include "storage/crypto/field_crypto.h"
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

// What an export needs of the record service. Pointers are borrowed; `crypto`
// may be null (no master key: the export fails with FAILED_PRECONDITION).
struct ExportDeps {
  storage::Database* db = nullptr;
  const storage::crypto::FieldCrypto* crypto = nullptr;
  const common::Clock* clock = nullptr;
  rpc::CallGate* gate = nullptr;
  const access::CareFacts* care = nullptr;
  const RecordApi* records = nullptr;
};

// Starts one ExportYouth call: authorises and audits it (one
// ACTION_EXPORT_YOUTH event, allow or deny) before anything is written, then
// streams the items. The reactor deletes itself when the call is done.
grpc::ServerWriteReactor<v1::ExportYouthItem>* StartYouthExport(
    ExportDeps deps, grpc::CallbackServerContext* ctx, const v1::ExportYouthRequest& req);

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_
