#ifndef RELAIS_SERVICES_RECORD_RECORD_SERVICE_H_
#define RELAIS_SERVICES_RECORD_RECORD_SERVICE_H_

#include <memory>
#include <string>

#include "access/facts.h"
#include "common/clock.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "services/record/entry_reader.h"
#include "services/record/lookup_limiter.h"
#include "services/record/record_api.h"
#include "services/record/retention_policy.h"
#include "services/record/retention_sweeper.h"
#include "services/record/youth_keys.h"
#include "storage/crypto/field_crypto.h"
#include "storage/crypto/master_key.h"
#include "storage/database.h"

namespace relais::record {

// RecordService: youth records and append-only entries, each read and write
// decided by the access rule (access/policy.h) and audited in the same transaction
// (writes) or before data is returned (reads). Thread-safe. The handlers
// validate and fill the reply; the domain steps are their own classes: reading
// entries (EntryReader), the keys (YouthKeys), retention (RetentionSweeper) and
// the export (YouthExporter).
class RecordServiceImpl final : public v1::RecordService::CallbackService, public RecordApi {
 public:
  struct Options {
    // Key of the national-number keyed hash (>= 32 bytes). Secret.
    std::string national_number_key;
    size_t max_body_bytes = 64 * 1024;
    // The master keys that wrap the youths' data keys (see LoadMasterKeys).
    // Without them every call touching a sealed field fails with
    // FAILED_PRECONDITION: nothing is ever stored in plaintext.
    std::unique_ptr<storage::crypto::MasterKeyRing> master_keys = nullptr;
    storage::crypto::FieldCryptoOptions key_cache = {};
    // Per-category retention periods (docs/retention.md); must Validate().
    RetentionPolicy retention = RetentionPolicy::Defaults();
    // FindYouth look-ups, and CreateYouth calls naming a national number, per
    // member in any sliding hour, found or not (the national number is an existence
    // oracle); the next is RESOURCE_EXHAUSTED "rate_limited", before the database.
    int find_youth_per_hour = 20;
    // Four-eyes erasure: time between an approval and the erasure, during
    // which the request can be cancelled (config record.erasure_grace_period).
    absl::Duration erasure_grace_period = absl::Hours(24 * 7);
    // Borrowed: tells which service is the platform's (its auditors are the
    // DPO). Null: nobody is a platform auditor.
    const directory::DirectoryApi* directory = nullptr;
  };

  // Pointers are borrowed and must outlive this object. `care` answers the
  // access rule's facts (care::CareLedger in relaisd).
  RecordServiceImpl(Options options, storage::Database* db, const common::Clock* clock,
                    rpc::CallGate* gate, const access::CareFacts* care);

  // Applies the record tables' migrations; FAILED_PRECONDITION if the database
  // holds records written in plaintext by a build without encryption at rest.
  static absl::Status Migrate(storage::Database* db);

  // YouthKeys::LoadMasterKeys (after Migrate).
  static absl::StatusOr<storage::crypto::MasterKeyRing> LoadMasterKeys(
      storage::Database* db, storage::crypto::MasterKeySources sources) {
    return YouthKeys::LoadMasterKeys(db, std::move(sources));
  }

  // Drops unwrapped data keys cached past their TTL. Call periodically.
  void PurgeExpiredKeys() const { keys_.PurgeExpired(); }

  // RecordApi. GetYouthFacts answers NOT_FOUND "erased" for an erased youth
  // (EraseYouth, or a destroyed data key), so every call about it does too.
  absl::StatusOr<YouthFacts> GetYouthFacts(absl::string_view youth_id) const override;
  absl::StatusOr<EntryFacts> GetEntryFacts(absl::string_view entry_id) const override;
  absl::StatusOr<std::string> SealForYouth(absl::string_view youth_id, absl::string_view field,
                                           absl::string_view row_id,
                                           absl::string_view plaintext) const override;
  absl::StatusOr<std::string> OpenForYouth(absl::string_view youth_id, absl::string_view field,
                                           absl::string_view row_id,
                                           absl::string_view sealed) const override;

  // RecordService.
  grpc::ServerUnaryReactor* CreateYouth(grpc::CallbackServerContext* ctx,
                                        const v1::CreateYouthRequest* req,
                                        v1::Youth* resp) override;
  grpc::ServerUnaryReactor* FindYouth(grpc::CallbackServerContext* ctx,
                                      const v1::FindYouthRequest* req,
                                      v1::FindYouthResponse* resp) override;
  grpc::ServerUnaryReactor* GetYouth(grpc::CallbackServerContext* ctx,
                                     const v1::GetYouthRequest* req, v1::Youth* resp) override;
  grpc::ServerUnaryReactor* AddEntry(grpc::CallbackServerContext* ctx,
                                     const v1::AddEntryRequest* req, v1::Entry* resp) override;
  grpc::ServerUnaryReactor* ListEntries(grpc::CallbackServerContext* ctx,
                                        const v1::ListEntriesRequest* req,
                                        v1::ListEntriesResponse* resp) override;
  grpc::ServerUnaryReactor* GetEntry(grpc::CallbackServerContext* ctx,
                                     const v1::GetEntryRequest* req, v1::Entry* resp) override;
  grpc::ServerUnaryReactor* RestrictYouth(grpc::CallbackServerContext* ctx,
                                          const v1::RestrictYouthRequest* req,
                                          v1::RecordState* resp) override;
  grpc::ServerUnaryReactor* LiftRestriction(grpc::CallbackServerContext* ctx,
                                            const v1::LiftRestrictionRequest* req,
                                            v1::RecordState* resp) override;
  grpc::ServerUnaryReactor* SetLegalHold(grpc::CallbackServerContext* ctx,
                                         const v1::SetLegalHoldRequest* req,
                                         v1::RecordState* resp) override;
  grpc::ServerUnaryReactor* LiftLegalHold(grpc::CallbackServerContext* ctx,
                                          const v1::LiftLegalHoldRequest* req,
                                          v1::RecordState* resp) override;
  // erasure_requests.cc: four-eyes erasure and two-person full export.
  grpc::ServerUnaryReactor* EraseYouth(grpc::CallbackServerContext* ctx,
                                       const v1::EraseYouthRequest* req,
                                       v1::ErasureRequest* resp) override;
  grpc::ServerUnaryReactor* ApproveErasure(grpc::CallbackServerContext* ctx,
                                           const v1::ApproveErasureRequest* req,
                                           v1::ErasureRequest* resp) override;
  grpc::ServerUnaryReactor* CancelErasure(grpc::CallbackServerContext* ctx,
                                          const v1::CancelErasureRequest* req,
                                          v1::ErasureRequest* resp) override;
  grpc::ServerUnaryReactor* GetErasureRequest(grpc::CallbackServerContext* ctx,
                                              const v1::GetErasureRequestRequest* req,
                                              v1::ErasureRequest* resp) override;
  grpc::ServerUnaryReactor* ListErasureRequests(grpc::CallbackServerContext* ctx,
                                                const v1::ListErasureRequestsRequest* req,
                                                v1::ListErasureRequestsResponse* resp) override;
  grpc::ServerUnaryReactor* RequestFullExport(grpc::CallbackServerContext* ctx,
                                              const v1::RequestFullExportRequest* req,
                                              v1::FullExportRequest* resp) override;
  grpc::ServerUnaryReactor* ApproveFullExport(grpc::CallbackServerContext* ctx,
                                              const v1::ApproveFullExportRequest* req,
                                              v1::FullExportRequest* resp) override;
  // Executes the approved erasure requests whose grace period has passed (the
  // crypto-shredding, audited ACTION_ERASE_YOUTH by "relaisd"); one refused by
  // a legal hold or an active mandate is cancelled by the server instead.
  // relaisd runs it on the handover sweep's schedule, and ApproveErasure right
  // after an approval when the grace period is zero. Returns how many erased.
  absl::StatusOr<int> ExecuteDueErasures();
  // youth_export.cc: streamed a page of entries at a time.
  grpc::ServerWriteReactor<v1::ExportYouthItem>* ExportYouth(
      grpc::CallbackServerContext* ctx, const v1::ExportYouthRequest* req) override;
  // record_retention.cc (docs/retention.md; the sweep is RetentionSweeper's). Admin only.
  grpc::ServerUnaryReactor* SweepRetention(grpc::CallbackServerContext* ctx,
                                           const v1::SweepRetentionRequest* req,
                                           v1::SweepRetentionResponse* resp) override;
  // The scheduled sweep (relaisd): RetentionSweeper::RunScheduled.
  absl::StatusOr<v1::SweepRetentionResponse> RunScheduledRetentionSweep();

  // The field crypto, or FAILED_PRECONDITION if no master key was given. Public
  // for host-side writers through the record store (relais-datagen).
  absl::StatusOr<const storage::crypto::FieldCrypto*> Crypto() const { return keys_.Crypto(); }

 private:
  // Which thread a new entry joins: a concertation meeting's minutes (the
  // caller's service invited; on a handover's meeting, its thread) or a
  // handover's thread (the caller's service a party). May set handover_id.
  absl::Status CheckThread(const rpc::Caller& caller, v1::Entry& e) const;
  // Which GDPR flag a call sets or lifts.
  enum class GdprOp { kRestrict, kLiftRestriction, kSetLegalHold, kLiftLegalHold };
  // Restriction and legal hold: validates, checks who may (RequireGdprActor, or
  // admin only for holds), then records the change, its flag and its ALLOW event
  // in one transaction. A call that changes nothing is still audited.
  absl::Status ChangeGdprFlag(const rpc::Caller& caller, rpc::CallAudit& call,
                              absl::string_view youth_id, absl::string_view reason, GdprOp op,
                              v1::RecordState* resp);
  // Admin, or a coordinator whose service accompanies the youth now (an
  // emergency grant does not count): else PERMISSION_DENIED no_active_accompaniment.
  // Flags `call`'s event break_glass when an emergency grant is in force.
  absl::Status RequireGdprActor(const rpc::Caller& caller, absl::string_view youth_id,
                                rpc::CallAudit& call) const;

  // directory::IsPlatformAuditor (false without a directory).
  absl::StatusOr<bool> IsPlatformAuditor(const rpc::Caller& caller) const;
  // NOT_FOUND "erasure_request_not_found".
  absl::StatusOr<v1::ErasureRequest> LoadErasureRequest(absl::string_view id) const;
  // Who may see a youth's erasure requests: an admin, a platform auditor, or a
  // coordinator of a service accompanying the youth; `method` for the role table.
  absl::Status RequireErasureViewer(const rpc::Caller& caller, absl::string_view method,
                                    absl::string_view youth_id, rpc::CallAudit& call) const;

  absl::Status Commit(rpc::CallAudit& call,
                      absl::FunctionRef<absl::Status(storage::Connection&)> fn);
  // Erasure steps of ExecuteDueErasures (erasure_requests.cc): one due
  // request in one transaction; true if it erased the youth.
  absl::StatusOr<bool> ExecuteErasure(absl::string_view request_id, absl::Time now);

  // Declared before options_: built from options.master_keys, which it takes.
  const YouthKeys keys_;
  const Options options_;
  storage::Database* const db_;
  const common::Clock* const clock_;
  rpc::CallGate* const gate_;
  const access::CareFacts* const care_;
  LookupLimiter find_youth_limiter_;
  // Declared after options_, which they start from.
  const directory::DirectoryApi* const directory_ = options_.directory;
  const EntryReader reader_;
  const RetentionSweeper retention_;
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_RECORD_SERVICE_H_
