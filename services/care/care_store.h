#ifndef RELAIS_SERVICES_CARE_CARE_STORE_H_
#define RELAIS_SERVICES_CARE_CARE_STORE_H_

// The care service's tables (care_*) and the only SQL that touches them. Every
// function runs on the Connection of a transaction the caller holds. Defined
// per table: care_store_accompaniments.cc, care_store_handovers.cc,
// care_store_consents.cc, care_store_concertations.cc; the schema and the break-the-glass grants in
// care_store.cc.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "access/policy.h"
#include "relais/v1/care.pb.h"
#include "storage/database.h"

namespace relais::care::store {

std::vector<storage::Migration> Migrations();
// The same tables on PostgreSQL (care_schema_postgres.cc): one baseline step
// numbered like the last SQLite step, building what all of them build. Append
// each new step to both lists.
std::vector<storage::Migration> PostgresMigrations();
// MACs the rows written before migration 4 (once), or re-MACs them after a
// master key rotation; needs the row MAC key bound (storage/row_mac.h). Reads
// of these tables fail closed with PERMISSION_DENIED "integrity_violation" on a
// row whose MAC is missing or wrong.
absl::Status SealExistingRows(storage::Database& db);

// Accompaniments. `active` in returned messages is evaluated at `now`.
absl::Status InsertAccompaniment(storage::Connection& c, const v1::Accompaniment& a);
absl::StatusOr<std::optional<v1::Accompaniment>> GetAccompaniment(storage::Connection& c,
                                                                  absl::string_view id,
                                                                  absl::Time now);
absl::StatusOr<std::vector<v1::Accompaniment>> ListAccompaniments(storage::Connection& c,
                                                                  absl::string_view youth_id,
                                                                  absl::Time now);
// The service's accompaniments active at `now` (vouched or not), by youth.
absl::StatusOr<std::vector<v1::Accompaniment>> ActiveAccompanimentsOf(storage::Connection& c,
                                                                      absl::string_view service_id,
                                                                      absl::Time now);
// The service's accompaniments not ended at `now` (active, pending, or
// starting later), oldest first.
absl::StatusOr<std::vector<v1::Accompaniment>> OpenAccompanimentsOf(storage::Connection& c,
                                                                    absl::string_view service_id,
                                                                    absl::Time now);
// The service's accompaniment of the youth active at `now`, if any.
absl::StatusOr<std::optional<v1::Accompaniment>> ActiveAccompaniment(storage::Connection& c,
                                                                     absl::string_view service_id,
                                                                     absl::string_view youth_id,
                                                                     absl::Time now);
// Whose care facts a read selects: the youth `id`, or (`by_entry`) the youth
// the entry `id` belongs to, found by the read itself so that it need not wait
// for the entry's. The receiving half then checks each row it returns is of
// the youth the caller read (INTERNAL otherwise).
struct YouthOf {
  absl::string_view id;
  bool by_entry = false;
};
// In two halves, for a caller that sends it with other reads (Statement::Send):
// the read, sent; then the accompaniment it found.
absl::StatusOr<storage::Statement> SendActiveAccompaniment(storage::Connection& c,
                                                           absl::string_view service_id,
                                                           const YouthOf& youth, absl::Time now);
absl::StatusOr<std::optional<v1::Accompaniment>> ActiveAccompaniment(storage::Connection& c,
                                                                     storage::Statement& sent,
                                                                     absl::Time now,
                                                                     absl::string_view youth_id);
// An accompaniment of the service that starts after `now` (an accepted handover
// whose window has not opened yet).
absl::StatusOr<bool> HasFutureAccompaniment(storage::Connection& c, absl::string_view service_id,
                                            absl::string_view youth_id, absl::Time now);
absl::Status SetAccompanimentEnd(storage::Connection& c, absl::string_view id, absl::Time end);
// Makes `to` the referent of accompaniment `id` (whose referent is `from`) and
// appends the change to its history, by `by` at `when`.
absl::Status SetAccompanimentReferent(storage::Connection& c, absl::string_view id,
                                      absl::string_view from, absl::string_view to,
                                      absl::string_view by, absl::Time when);
// The referent history of every accompaniment of the youth, oldest first:
// (accompaniment id, change).
absl::StatusOr<std::vector<std::pair<std::string, v1::ReferentChange>>> ReferentChanges(
    storage::Connection& c, absl::string_view youth_id);
// Accompaniments not ended at `now` whose referent is `member_id`, oldest first.
absl::StatusOr<std::vector<v1::Accompaniment>> ReferredBy(storage::Connection& c,
                                                          absl::string_view member_id,
                                                          absl::Time now);
// Vouches for (or declines) a pending accompaniment; FAILED_PRECONDITION
// "not_pending" if it is not pending any more.
absl::Status SetAccompanimentVouch(storage::Connection& c, absl::string_view id, v1::Vouch vouch,
                                   absl::string_view member_id, absl::Time when);
// Whether a service other than `service_id` accompanies or accompanied the
// youth with a vouched accompaniment (pending and declined ones do not count).
absl::StatusOr<bool> EverVouchedOther(storage::Connection& c, absl::string_view youth_id,
                                      absl::string_view service_id);
// Open pending accompaniments of other services on the youths that
// `service_id` accompanies now (vouched), oldest first.
absl::StatusOr<std::vector<v1::Accompaniment>> PendingForService(storage::Connection& c,
                                                                 absl::string_view service_id,
                                                                 absl::Time now);

// Handovers. `reason` and `closing_reason` are stored and read as given:
// sealed with the youth's key by the caller (care/handover_text.h); empty
// stays empty (a closing reason: NULL).
absl::Status InsertHandover(storage::Connection& c, const v1::Handover& h,
                            absl::string_view from_accompaniment_id);
absl::Status UpdateHandover(storage::Connection& c, const v1::Handover& h);
absl::StatusOr<std::optional<v1::Handover>> GetHandover(storage::Connection& c,
                                                        absl::string_view id);
// The proposer's accompaniment recorded when the handover was proposed.
absl::StatusOr<std::string> HandoverFromAccompaniment(storage::Connection& c,
                                                      absl::string_view handover_id);
// An accepted handover, or a proposed one whose window has not ended at `now`,
// of the youth between these services.
absl::StatusOr<std::optional<v1::Handover>> FindOpenHandover(storage::Connection& c,
                                                             absl::string_view youth_id,
                                                             absl::string_view from_service_id,
                                                             absl::string_view to_service_id,
                                                             absl::Time now);
// Blanks every handover reason and closing reason of the youth (erasure).
absl::Status EraseHandoverText(storage::Connection& c, absl::string_view youth_id);
// Rows written before reasons were sealed (care migration 5), MAC checked.
struct UnsealedHandoverText {
  std::string id;
  std::string youth_id;
  std::string reason;
  std::string closing_reason;
};
absl::StatusOr<std::vector<UnsealedHandoverText>> ListUnsealedHandoverText(storage::Connection& c);
// Stores the sealed reasons of such a row, marks it sealed and re-MACs it.
absl::Status StoreSealedHandoverText(storage::Connection& c, absl::string_view id,
                                     absl::string_view sealed_reason,
                                     absl::string_view sealed_closing_reason);
// Handovers involving the service (any service if empty), optionally of one youth.
absl::StatusOr<std::vector<v1::Handover>> ListHandovers(storage::Connection& c,
                                                        absl::string_view service_id,
                                                        absl::string_view youth_id);
// Accepted handovers whose window ended at or before `now`.
absl::StatusOr<std::vector<v1::Handover>> DueHandovers(storage::Connection& c, absl::Time now);
// Accepted handovers whose window ends in (now, before]: the inbox's reminders.
absl::StatusOr<std::vector<v1::Handover>> HandoversEndingBefore(storage::Connection& c,
                                                                absl::Time now, absl::Time before);

// Concertation meetings (care_store_concertations.cc). Who, about whom and
// for whom never change (triggers); only the outcome is recorded, once.
absl::Status InsertConcertation(storage::Connection& c, const v1::Concertation& m);
// Stores state, youth_participation, recorded_by_member_id and updated_at.
absl::Status UpdateConcertationOutcome(storage::Connection& c, const v1::Concertation& m);
absl::StatusOr<std::optional<v1::Concertation>> GetConcertation(storage::Connection& c,
                                                                absl::string_view id);
// The youth's meetings to which `service_id` was invited (every one if
// empty), the latest scheduled first.
absl::StatusOr<std::vector<v1::Concertation>> ListConcertations(storage::Connection& c,
                                                                absl::string_view youth_id,
                                                                absl::string_view service_id);
// A scheduled meeting of the youth by that service at that time, if any.
absl::StatusOr<std::optional<v1::Concertation>> FindScheduledConcertation(
    storage::Connection& c, absl::string_view youth_id, absl::string_view organizer_service_id,
    absl::Time scheduled_at);

// Consents. `state` and `needs_youth_confirmation` are left for the caller.
absl::Status InsertConsent(storage::Connection& c, const v1::Consent& consent);
absl::StatusOr<std::optional<v1::Consent>> GetConsent(storage::Connection& c, absl::string_view id);
absl::StatusOr<std::vector<v1::Consent>> ListConsents(storage::Connection& c,
                                                      absl::string_view youth_id);
absl::Status MarkConsentWithdrawn(storage::Connection& c, absl::string_view id,
                                  absl::string_view member_id, absl::Time when);
// Consents `service_id` holds, in force at `now`, whose validity ends by
// `before`, on youths it accompanies at `now` (vouched), soonest end first.
absl::StatusOr<std::vector<v1::Consent>> HeldConsentsExpiringBefore(storage::Connection& c,
                                                                    absl::string_view service_id,
                                                                    absl::Time now,
                                                                    absl::Time before);
// Consents in force at `now` whose validity ends by `before`: the inbox's reminders.
absl::StatusOr<std::vector<v1::Consent>> ConsentsExpiringBefore(storage::Connection& c,
                                                                absl::Time now, absl::Time before);
// Consents of the youth in force at `now` naming the service or its sector, in
// two halves so that the reads travel with others (Statement::Send): the
// sector is only needed to receive them.
absl::StatusOr<storage::Statement> SendConsentsInForce(storage::Connection& c, const YouthOf& youth,
                                                       absl::string_view service_id,
                                                       absl::Time now);
absl::StatusOr<std::vector<access::ConsentGrant>> ConsentsInForce(storage::Connection& c,
                                                                  storage::Statement& sent,
                                                                  absl::string_view service_id,
                                                                  absl::string_view sector_id,
                                                                  absl::string_view youth_id);

// Break-the-glass grants. Justification and review note are stored as given
// (already sealed by the record service for the grant's youth).
struct SealedGrant {
  v1::EmergencyAccess grant;  // justification and review_note empty
  std::string sealed_justification;
  std::string sealed_note;  // empty until reviewed
};
absl::Status InsertEmergencyGrant(storage::Connection& c, const v1::EmergencyAccess& grant,
                                  absl::string_view sealed_justification);
// The id of the newest grant the member opened (for the service) for the
// youth, in force at `now`. A grant covers its opener only.
absl::StatusOr<std::optional<std::string>> ActiveEmergencyGrant(storage::Connection& c,
                                                                absl::string_view member_id,
                                                                absl::string_view service_id,
                                                                absl::string_view youth_id,
                                                                absl::Time now);
// In two halves, for a caller that sends it with other reads (Statement::Send):
// the read, sent; then the grant it found.
absl::StatusOr<storage::Statement> SendActiveEmergencyGrant(storage::Connection& c,
                                                            absl::string_view member_id,
                                                            absl::string_view service_id,
                                                            const YouthOf& youth, absl::Time now);
absl::StatusOr<std::optional<std::string>> ActiveEmergencyGrant(storage::Connection& c,
                                                                storage::Statement& sent,
                                                                absl::string_view youth_id);
absl::StatusOr<std::vector<SealedGrant>> ListEmergencyGrants(storage::Connection& c,
                                                             bool pending_only);
absl::StatusOr<std::optional<SealedGrant>> GetEmergencyGrant(storage::Connection& c,
                                                             absl::string_view id);
// FAILED_PRECONDITION "already_reviewed" if the grant has a verdict (or is unknown).
// An UNJUSTIFIED verdict also ends the grant at `now`.
absl::Status ReviewEmergencyGrant(storage::Connection& c, absl::string_view id,
                                  v1::EmergencyVerdict verdict, absl::string_view sealed_note,
                                  absl::string_view reviewer, absl::Time now);

}  // namespace relais::care::store

#endif  // RELAIS_SERVICES_CARE_CARE_STORE_H_
