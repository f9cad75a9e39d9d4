#include "services/care/care_ledger.h"

#include <memory>
#include <optional>
#include <utility>

#include "access/consent_rule.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/care/consent_receipt.h"
#include "services/care/handover_text.h"
#include "services/record/record_api.h"

namespace relais::care {

using storage::Connection;
using storage::Statement;

void DecorateConsent(v1::Consent& k, absl::CivilDay date_of_birth, absl::Time now,
                     int self_consent_age) {
  if (k.has_withdrawn_at()) {
    k.set_state(v1::CONSENT_STATE_WITHDRAWN);
  } else if (common::FromProto(k.valid_from()) > now) {
    k.set_state(v1::CONSENT_STATE_NOT_YET_VALID);
  } else if (common::FromProto(k.valid_until()) <= now) {
    k.set_state(v1::CONSENT_STATE_EXPIRED);
  } else {
    k.set_state(v1::CONSENT_STATE_ACTIVE);
  }
  // Age is evaluated now: a guardian's consent for a child who has since
  // reached the self-consent age needs the youth's own confirmation.
  k.set_needs_youth_confirmation(
      k.state() == v1::CONSENT_STATE_ACTIVE &&
      access::NeedsYouthConfirmation(
          k.giver(), record::AgeOn(date_of_birth, absl::ToCivilDay(now, absl::UTCTimeZone())),
          self_consent_age));
}

CareLedger::CareLedger(storage::Database* db, const common::Clock* clock,
                       const directory::DirectoryApi* directory, int self_consent_age,
                       const partnership::ConventionBook* conventions)
    : db_(db),
      clock_(clock),
      directory_(directory),
      self_consent_age_(self_consent_age),
      conventions_(conventions) {}

struct CareLedger::SentFacts {
  std::string service_id;
  std::string sector_id;
  absl::Time now;
  Statement active;
  std::optional<Statement> grant;  // only for a member
  Statement consents;
};

class CareLedger::Pending final : public access::PendingFacts {
 public:
  Pending(const CareLedger& ledger, Connection& c, SentFacts sent)
      : ledger_(ledger), c_(c), sent_(std::move(sent)) {}
  absl::StatusOr<access::AccessFacts> Receive(absl::string_view youth_id) override {
    return ledger_.ReceiveFacts(c_, sent_, youth_id);
  }

 private:
  const CareLedger& ledger_;
  Connection& c_;
  SentFacts sent_;
};

absl::StatusOr<CareLedger::SentFacts> CareLedger::SendFacts(Connection& c,
                                                            absl::string_view service_id,
                                                            const store::YouthOf& youth,
                                                            absl::string_view member_id) const {
  const absl::Time now = clock_->Now();
  // The accompaniment, the grant, the consents and the service (whose read,
  // through the directory, joins them): one round trip on PostgreSQL.
  ASSIGN_OR_RETURN(Statement active, store::SendActiveAccompaniment(c, service_id, youth, now));
  std::optional<Statement> grant;
  if (!member_id.empty()) {
    ASSIGN_OR_RETURN(grant, store::SendActiveEmergencyGrant(c, member_id, service_id, youth, now));
  }
  ASSIGN_OR_RETURN(Statement consents, store::SendConsentsInForce(c, youth, service_id, now));
  ASSIGN_OR_RETURN(directory::ServiceInfo service, directory_->GetService(service_id));
  return SentFacts{std::string(service_id), service.sector_id, now,
                   std::move(active),       std::move(grant),  std::move(consents)};
}

absl::StatusOr<access::AccessFacts> CareLedger::ReceiveFacts(Connection& c, SentFacts& sent,
                                                             absl::string_view youth_id) const {
  access::AccessFacts facts;
  facts.service_id = sent.service_id;
  facts.sector_id = sent.sector_id;
  ASSIGN_OR_RETURN(auto active, store::ActiveAccompaniment(c, sent.active, sent.now, youth_id));
  const bool pending = active.has_value() && active->vouch() == v1::VOUCH_PENDING;
  facts.accompanying = active.has_value() && !pending;
  facts.pending = pending;
  if (sent.grant.has_value()) {
    ASSIGN_OR_RETURN(auto grant, store::ActiveEmergencyGrant(c, *sent.grant, youth_id));
    facts.break_glass = grant.has_value();
    if (grant.has_value()) facts.break_glass_grant_id = *grant;
  }
  ASSIGN_OR_RETURN(facts.consents, store::ConsentsInForce(c, sent.consents, facts.service_id,
                                                          facts.sector_id, youth_id));
  RETURN_IF_ERROR(conventions_.Limit(c, facts.service_id, sent.now, facts.consents));
  return facts;
}

absl::StatusOr<access::AccessFacts> CareLedger::GatherFacts(absl::string_view service_id,
                                                            absl::string_view youth_id,
                                                            absl::string_view member_id) const {
  access::AccessFacts facts;
  storage::Database::ReadTogether together(db_);
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SentFacts sent, SendFacts(c, service_id, store::YouthOf{youth_id}, member_id));
    ASSIGN_OR_RETURN(facts, ReceiveFacts(c, sent, youth_id));
    return absl::OkStatus();
  }));
  return facts;
}

absl::StatusOr<std::unique_ptr<access::PendingFacts>> CareLedger::SendFactsOfEntry(
    Connection& c, absl::string_view service_id, absl::string_view entry_id,
    absl::string_view member_id) const {
  ASSIGN_OR_RETURN(
      SentFacts sent,
      SendFacts(c, service_id, store::YouthOf{entry_id, /*by_entry=*/true}, member_id));
  return std::make_unique<Pending>(*this, c, std::move(sent));
}

absl::StatusOr<access::HandoverFacts> CareLedger::GetHandoverFacts(
    absl::string_view handover_id) const {
  std::optional<v1::Handover> h;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(h, store::GetHandover(c, handover_id));
    return absl::OkStatus();
  }));
  if (!h.has_value()) return common::NotFound("handover_not_found", "no such handover");
  return access::HandoverFacts{h->id(), h->youth_id(), h->from_service_id(), h->to_service_id()};
}

absl::StatusOr<access::ConcertationFacts> CareLedger::GetConcertationFacts(
    absl::string_view concertation_id) const {
  std::optional<v1::Concertation> m;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(m, store::GetConcertation(c, concertation_id));
    return absl::OkStatus();
  }));
  if (!m.has_value()) return common::NotFound("concertation_not_found", "no such concertation");
  return access::ConcertationFacts{
      m->id(), m->youth_id(), m->handover_id(),
      std::vector<std::string>(m->invited_service_ids().begin(), m->invited_service_ids().end()),
      m->state() == v1::CONCERTATION_STATE_CANCELLED};
}

absl::StatusOr<bool> CareLedger::HasActiveMandate(absl::string_view youth_id) const {
  const absl::Time now = clock_->Now();
  bool mandate = false;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> list,
                     store::ListAccompaniments(c, youth_id, now));
    for (const v1::Accompaniment& a : list) {
      if (a.active() && a.basis() == v1::ACCOMPANIMENT_BASIS_MANDATE &&
          a.vouch() != v1::VOUCH_PENDING) {
        mandate = true;
      }
    }
    return absl::OkStatus();
  }));
  return mandate;
}

absl::StatusOr<access::CareExport> CareLedger::ExportCare(absl::string_view youth_id,
                                                          absl::CivilDay date_of_birth,
                                                          const TextOpener& open_text) const {
  const absl::Time now = clock_->Now();
  access::CareExport out;
  // One read transaction: the lists describe the same instant.
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out.accompaniments, store::ListAccompaniments(c, youth_id, now));
    ASSIGN_OR_RETURN(out.handovers, store::ListHandovers(c, "", youth_id));
    ASSIGN_OR_RETURN(out.consents, store::ListConsents(c, youth_id));
    ASSIGN_OR_RETURN(out.concertations, store::ListConcertations(c, youth_id, ""));
    return absl::OkStatus();
  }));
  // What a metadata-only export drops is never opened (nor built).
  for (v1::Handover& h : out.handovers) {
    if (open_text) {
      RETURN_IF_ERROR(OpenHandoverText(open_text, h));
    } else {
      h.clear_reason();
      h.clear_closing_reason();
    }
  }
  // Withdrawal stays on the consent (withdrawn_at, withdrawn_by_member_id);
  // the receipt is the proof of consent the youth is entitled to (art. 7).
  for (v1::Consent& k : out.consents) {
    DecorateConsent(k, date_of_birth, now, self_consent_age_);
    if (open_text) *k.mutable_receipt() = BuildConsentReceipt(k, *directory_);
  }
  return out;
}

absl::StatusOr<access::AccompanimentSpan> CareLedger::GetAccompanimentSpan(
    Connection& c, absl::string_view youth_id) const {
  const absl::Time now = clock_->Now();
  access::AccompanimentSpan span;
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> list,
                   store::ListAccompaniments(c, youth_id, now));
  for (const v1::Accompaniment& a : list) {
    // A request nobody vouched for is no care: it cannot hold a record back
    // from the retention sweep.
    if (a.vouch() == v1::VOUCH_PENDING || a.vouch() == v1::VOUCH_DECLINED) continue;
    if (!a.has_end_time() || common::FromProto(a.end_time()) > now) {
      span.open = true;  // active, or accepted to start later
      continue;
    }
    const absl::Time end = common::FromProto(a.end_time());
    if (!span.last_end.has_value() || end > *span.last_end) span.last_end = end;
  }
  return span;
}

absl::Status CareLedger::EraseCareText(Connection& c, absl::string_view youth_id) const {
  return store::EraseHandoverText(c, youth_id);
}

}  // namespace relais::care
