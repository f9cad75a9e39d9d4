#ifndef RELAIS_SERVICES_RECORD_RECORD_TEST_UTIL_H_
#define RELAIS_SERVICES_RECORD_RECORD_TEST_UTIL_H_

// Test-only: what the record service's domain classes need, without a server:
// a fresh database with the record and audit tables, a master key, an audit
// log, a call gate without token verifier, and a care ledger whose facts the
// test sets.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "access/facts.h"
#include "common/clock.h"
#include "relais/v1/audit.pb.h"
#include "services/audit/audit_log.h"
#include "services/common/rpc.h"
#include "services/record/record_api.h"
#include "services/record/youth_keys.h"
#include "storage/database.h"
#include "storage/row_mac.h"

namespace relais::record::testing {

// The care records as a test wants them. Not thread-safe.
class FakeCare final : public access::CareFacts {
 public:
  // Facts by service id; a service not listed has no accompaniment.
  std::map<std::string, access::AccessFacts> facts;
  access::AccompanimentSpan span;  // of every youth
  bool mandate = false;
  mutable int care_text_erased = 0;

  // Makes `service_id` accompany every youth (vouched for).
  void Accompany(const std::string& service_id);

  absl::StatusOr<access::AccessFacts> GatherFacts(absl::string_view service_id,
                                                  absl::string_view youth_id,
                                                  absl::string_view member_id) const override;
  absl::StatusOr<access::HandoverFacts> GetHandoverFacts(
      absl::string_view handover_id) const override;
  absl::StatusOr<access::ConcertationFacts> GetConcertationFacts(
      absl::string_view concertation_id) const override;
  absl::StatusOr<bool> HasActiveMandate(absl::string_view youth_id) const override;
  absl::StatusOr<access::CareExport> ExportCare(absl::string_view youth_id,
                                                absl::CivilDay date_of_birth,
                                                const TextOpener& open_text) const override;
  absl::StatusOr<access::AccompanimentSpan> GetAccompanimentSpan(
      storage::Connection& c, absl::string_view youth_id) const override;
  absl::Status EraseCareText(storage::Connection& c, absl::string_view youth_id) const override;
};

// The youth's facts read from the store, as RecordServiceImpl answers them.
class StoreRecords final : public RecordApi {
 public:
  StoreRecords(storage::Database* db, const YouthKeys* keys) : db_(db), keys_(keys) {}
  absl::StatusOr<YouthFacts> GetYouthFacts(absl::string_view youth_id) const override;
  absl::StatusOr<EntryFacts> GetEntryFacts(absl::string_view entry_id) const override;
  absl::StatusOr<std::string> OpenForYouth(absl::string_view youth_id, absl::string_view field,
                                           absl::string_view row_id,
                                           absl::string_view sealed) const override;

 private:
  storage::Database* db_;
  const YouthKeys* keys_;
};

// One fresh database per fixture (removed when it goes). Aborts the test
// binary if set-up fails: there is nothing to test then.
class RecordFixture {
 public:
  RecordFixture();
  ~RecordFixture();

  storage::Database& db() { return *db_; }
  const YouthKeys& keys() const { return *keys_; }
  audit::AuditLog& audit() { return *audit_; }
  rpc::CallGate& gate() { return *gate_; }
  FakeCare& care() { return care_; }
  const RecordApi& records() const { return *records_; }
  common::FakeClock& clock() { return clock_; }

  // A caller of `service_id` with one role, who logged in just now.
  rpc::Caller CallerOf(absl::string_view member_id, absl::string_view service_id, v1::Role role);
  // Creates a youth (born 2012-05-01) on behalf of `service_id`.
  std::string AddYouth(absl::string_view service_id);
  // Appends an entry and returns its id; it supersedes `supersedes` if given.
  std::string AddEntry(absl::string_view youth_id, absl::string_view author_service_id,
                       v1::Visibility visibility, v1::DataCategory category, absl::string_view body,
                       absl::string_view supersedes = "");
  // Every audit event so far, oldest first.
  std::vector<v1::AuditEvent> Events() const;

 private:
  std::string path_;
  common::FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::RowMacBinding> binding_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<rpc::CallGate> gate_;
  std::unique_ptr<YouthKeys> keys_;
  std::unique_ptr<StoreRecords> records_;
  FakeCare care_;
  int next_id_ = 0;
};

}  // namespace relais::record::testing

#endif  // RELAIS_SERVICES_RECORD_RECORD_TEST_UTIL_H_
