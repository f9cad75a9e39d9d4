#ifndef RELAIS_SERVICES_CARE_CARE_SERVICE_H_
#define RELAIS_SERVICES_CARE_CARE_SERVICE_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "relais/v1/care.grpc.pb.h"
#include "services/care/accompaniments.h"
#include "services/care/care_api.h"
#include "services/care/care_ledger.h"
#include "services/care/cited_conventions.h"
#include "services/care/concertations.h"
#include "services/care/consents.h"
#include "services/care/handovers.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "services/inbox/inbox_api.h"
#include "services/record/record_api.h"
#include "storage/database.h"

namespace relais::care {

// CareService: accompaniments, handovers, consents, and the policy information
// the record service asks for. Thread-safe; every handler is audited.
// Handlers validate, call the domain classes (accompaniments.h, handovers.h,
// consents.h: the rules and transitions) and fill the reply; a write runs in
// Commit(), one transaction with its ALLOW event. Handlers live in
// care_service.cc (accompaniments, break-the-glass), care_vouching.cc,
// care_handovers.cc and care_consents.cc (with CheckAccess).
class CareServiceImpl final : public v1::CareService::CallbackService,
                              public CareApi,
                              public directory::Departures,
                              public inbox::CareDigest {
 public:
  struct Options {
    // Longest overlap window a handover may propose.
    absl::Duration max_overlap = absl::Hours(24 * 90);
    // Age from which the youth consents personally (2018 youth-aid Code: 12).
    int self_consent_age = 12;
    // How long a break-the-glass grant (OpenEmergencyAccess) lasts.
    absl::Duration emergency_access_duration = absl::Hours(24);
  };

  // All pointers are borrowed and must outlive this object. `conventions` may
  // be null (nothing can cite a convention); so may `postbox` (no notices).
  CareServiceImpl(Options options, storage::Database* db, const common::Clock* clock,
                  rpc::CallGate* gate, const directory::DirectoryApi* directory,
                  const CareLedger* ledger, const record::RecordApi* records,
                  const partnership::ConventionBook* conventions = nullptr,
                  const inbox::Postbox* postbox = nullptr);

  // Creates or upgrades the care_* tables.
  static absl::Status Migrate(storage::Database* db);

  // Ends the overlap of accepted handovers whose window has closed: marks them
  // completed (the proposer's accompaniment already ends at the window's end).
  // Audited as done by the server. Returns how many were completed.
  absl::StatusOr<int> CompleteDueHandovers();

  // Posts the inbox reminders due now (care_notices.cc): overlap windows
  // ending within 7 days and on their last day, consents expiring within 14
  // days; each once. Returns how many notices it considered.
  absl::StatusOr<int> PostReminders();

  // CareApi.
  absl::StatusOr<std::vector<v1::EmergencyAccess>> ListEmergencyGrants(
      bool pending_only) const override;
  absl::StatusOr<v1::EmergencyAccess> ReviewEmergencyGrant(absl::string_view grant_id,
                                                           v1::EmergencyVerdict verdict,
                                                           absl::string_view note,
                                                           absl::string_view reviewer_member_id,
                                                           audit::EventInput& event) const override;

  // directory::Departures: a referent's removal from the directory.
  absl::StatusOr<std::vector<Referral>> Referrals(storage::Connection& txn,
                                                  absl::string_view member_id) const override;
  absl::Status Reassign(storage::Connection& txn, absl::string_view member_id,
                        absl::string_view successor, absl::string_view by_member_id) const override;

  // inbox::CareDigest (care_notices.cc): a newcomer's first view.
  absl::StatusOr<std::vector<v1::Accompaniment>> ActiveAccompaniments(
      absl::string_view service_id) const override;
  absl::StatusOr<std::vector<v1::Handover>> OpenHandovers(
      absl::string_view service_id) const override;

  // CareService.
  grpc::ServerUnaryReactor* OpenAccompaniment(grpc::CallbackServerContext* ctx,
                                              const v1::OpenAccompanimentRequest* req,
                                              v1::Accompaniment* resp) override;
  grpc::ServerUnaryReactor* EndAccompaniment(grpc::CallbackServerContext* ctx,
                                             const v1::EndAccompanimentRequest* req,
                                             v1::Accompaniment* resp) override;
  grpc::ServerUnaryReactor* ListAccompaniments(grpc::CallbackServerContext* ctx,
                                               const v1::ListAccompanimentsRequest* req,
                                               v1::ListAccompanimentsResponse* resp) override;
  grpc::ServerUnaryReactor* ReassignReferent(grpc::CallbackServerContext* ctx,
                                             const v1::ReassignReferentRequest* req,
                                             v1::Accompaniment* resp) override;
  // care_vouching.cc.
  grpc::ServerUnaryReactor* ConfirmAccompaniment(grpc::CallbackServerContext* ctx,
                                                 const v1::ConfirmAccompanimentRequest* req,
                                                 v1::Accompaniment* resp) override;
  grpc::ServerUnaryReactor* DeclineAccompaniment(grpc::CallbackServerContext* ctx,
                                                 const v1::DeclineAccompanimentRequest* req,
                                                 v1::Accompaniment* resp) override;
  grpc::ServerUnaryReactor* ListPendingAccompaniments(
      grpc::CallbackServerContext* ctx, const v1::ListPendingAccompanimentsRequest* req,
      v1::ListPendingAccompanimentsResponse* resp) override;
  grpc::ServerUnaryReactor* ListServiceAccompaniments(
      grpc::CallbackServerContext* ctx, const v1::ListServiceAccompanimentsRequest* req,
      v1::ListServiceAccompanimentsResponse* resp) override;
  grpc::ServerUnaryReactor* ListExpiringConsents(grpc::CallbackServerContext* ctx,
                                                 const v1::ListExpiringConsentsRequest* req,
                                                 v1::ListExpiringConsentsResponse* resp) override;
  grpc::ServerUnaryReactor* ProposeHandover(grpc::CallbackServerContext* ctx,
                                            const v1::ProposeHandoverRequest* req,
                                            v1::Handover* resp) override;
  grpc::ServerUnaryReactor* AcceptHandover(grpc::CallbackServerContext* ctx,
                                           const v1::AcceptHandoverRequest* req,
                                           v1::Handover* resp) override;
  grpc::ServerUnaryReactor* DeclineHandover(grpc::CallbackServerContext* ctx,
                                            const v1::DeclineHandoverRequest* req,
                                            v1::Handover* resp) override;
  grpc::ServerUnaryReactor* CancelHandover(grpc::CallbackServerContext* ctx,
                                           const v1::CancelHandoverRequest* req,
                                           v1::Handover* resp) override;
  grpc::ServerUnaryReactor* CompleteHandover(grpc::CallbackServerContext* ctx,
                                             const v1::CompleteHandoverRequest* req,
                                             v1::Handover* resp) override;
  grpc::ServerUnaryReactor* GetHandover(grpc::CallbackServerContext* ctx,
                                        const v1::GetHandoverRequest* req,
                                        v1::Handover* resp) override;
  grpc::ServerUnaryReactor* ListHandovers(grpc::CallbackServerContext* ctx,
                                          const v1::ListHandoversRequest* req,
                                          v1::ListHandoversResponse* resp) override;
  // care_concertations.cc
  grpc::ServerUnaryReactor* ScheduleConcertation(grpc::CallbackServerContext* ctx,
                                                 const v1::ScheduleConcertationRequest* req,
                                                 v1::Concertation* resp) override;
  grpc::ServerUnaryReactor* RecordConcertation(grpc::CallbackServerContext* ctx,
                                               const v1::RecordConcertationRequest* req,
                                               v1::Concertation* resp) override;
  grpc::ServerUnaryReactor* ListConcertations(grpc::CallbackServerContext* ctx,
                                              const v1::ListConcertationsRequest* req,
                                              v1::ListConcertationsResponse* resp) override;
  grpc::ServerUnaryReactor* GrantConsent(grpc::CallbackServerContext* ctx,
                                         const v1::GrantConsentRequest* req,
                                         v1::Consent* resp) override;
  grpc::ServerUnaryReactor* WithdrawConsent(grpc::CallbackServerContext* ctx,
                                            const v1::WithdrawConsentRequest* req,
                                            v1::Consent* resp) override;
  grpc::ServerUnaryReactor* ListConsents(grpc::CallbackServerContext* ctx,
                                         const v1::ListConsentsRequest* req,
                                         v1::ListConsentsResponse* resp) override;
  grpc::ServerUnaryReactor* CheckAccess(grpc::CallbackServerContext* ctx,
                                        const v1::CheckAccessRequest* req,
                                        v1::CheckAccessResponse* resp) override;
  grpc::ServerUnaryReactor* OpenEmergencyAccess(grpc::CallbackServerContext* ctx,
                                                const v1::OpenEmergencyAccessRequest* req,
                                                v1::EmergencyAccess* resp) override;
  grpc::ServerUnaryReactor* GetConsentReceipt(grpc::CallbackServerContext* ctx,
                                              const v1::GetConsentReceiptRequest* req,
                                              v1::ConsentReceipt* resp) override;

 private:
  // Runs `move` on a handover the caller's service is party to on `side`, in
  // one transaction with its audit event; fills `resp` with reasons in clear.
  absl::Status Transition(const rpc::Caller& caller, rpc::CallAudit& call,
                          absl::string_view handover_id, Handovers::Side side,
                          const Handovers::Move& move, v1::Handover* resp);
  // INVALID_ARGUMENT "referent_not_in_service" unless an active member of the
  // caller's service.
  absl::Status RequireReferent(const rpc::Caller& caller, absl::string_view member_id) const;
  // Rule 4 for a change to one of the caller's service's accompaniments: its
  // youth into `call`, PERMISSION_DENIED "record_restricted" on a restricted
  // record (an erased one answers NOT_FOUND "erased"). False, with nothing
  // said of any youth, for another service's or an unknown id.
  absl::StatusOr<bool> RequireOwnUnrestricted(const rpc::Caller& caller, rpc::CallAudit& call,
                                              absl::string_view accompaniment_id,
                                              absl::Time now) const;
  // Rule 4 alone, for a change by a party already established (a handover's,
  // a meeting's organizer).
  absl::Status RequireChangeable(absl::string_view youth_id) const;
  // Rule 2 + 4 for a change to the youth's care by the caller's service.
  absl::Status RequireWrite(const rpc::Caller& caller, absl::string_view youth_id) const;
  // With `call`, flags its event break_glass when an emergency grant is in force.
  absl::Status RequireRead(const rpc::Caller& caller, absl::string_view youth_id,
                           rpc::CallAudit* call = nullptr) const;
  // Confirm (true) or decline a pending accompaniment of another service.
  absl::Status Vouch(const rpc::Caller& caller, rpc::CallAudit& call,
                     absl::string_view accompaniment_id, bool confirm, v1::Accompaniment* resp);
  // care_notices.cc: notices posted in the transaction `c` of their change.
  absl::Status Post(storage::Connection& c, inbox::Notice notice) const;
  absl::Status NoticeHandover(storage::Connection& c, const v1::Handover& h) const;
  absl::Status NoticePending(storage::Connection& c, const v1::Accompaniment& a,
                             absl::Time now) const;
  absl::Status NoticeWindow(storage::Connection& c, const v1::Handover& h, absl::Time now,
                            bool last_day) const;
  absl::Status NoticeConcertation(storage::Connection& c, const v1::Concertation& m,
                                  absl::Time now) const;
  absl::Status Commit(rpc::CallAudit& call,
                      absl::FunctionRef<absl::Status(storage::Connection&)> fn);

  const Options options_;
  storage::Database* const db_;
  const common::Clock* const clock_;
  rpc::CallGate* const gate_;
  const directory::DirectoryApi* const directory_;
  const CareLedger* const ledger_;
  const record::RecordApi* const records_;
  const Accompaniments accompaniments_;
  const Handovers handovers_;
  const Consents consents_;
  const Concertations concertations_;
  const CitedConventions conventions_;
  const inbox::Postbox* const postbox_;
};

}  // namespace relais::care

#endif  // RELAIS_SERVICES_CARE_CARE_SERVICE_H_
