#include "services/care/care_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_store.h"
#include "services/common/commit.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

CareServiceImpl::CareServiceImpl(Options options, storage::Database* db, const common::Clock* clock,
                                 rpc::CallGate* gate, const directory::DirectoryApi* directory,
                                 const CareLedger* ledger, const record::RecordApi* records,
                                 const partnership::ConventionBook* conventions,
                                 const inbox::Postbox* postbox)
    : options_(options),
      db_(db),
      clock_(clock),
      gate_(gate),
      directory_(directory),
      ledger_(ledger),
      records_(records),
      accompaniments_(db),
      handovers_(options.max_overlap, db, clock, records),
      consents_(db, directory, options.self_consent_age),
      concertations_(db),
      conventions_(conventions),
      postbox_(postbox) {}

absl::Status CareServiceImpl::Migrate(storage::Database* db) {
  return db->Migrate("care", store::Migrations(), store::PostgresMigrations());
}

absl::Status CareServiceImpl::Commit(CallAudit& call,
                                     absl::FunctionRef<absl::Status(Connection&)> fn) {
  return rpc::CommitAllowed(*db_, *gate_->audit(), call, fn);
}

absl::Status CareServiceImpl::RequireWrite(const Caller& caller, absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(youth_id));
  ASSIGN_OR_RETURN(access::AccessFacts facts, ledger_->GatherFacts(caller.service_id(), youth_id));
  access::Verdict v = access::DecideRecordWrite(facts, {youth.restricted, youth.erased});
  if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
  return absl::OkStatus();
}

absl::Status CareServiceImpl::RequireChangeable(absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(youth_id));
  if (youth.erased) return rpc::Denied(v1::ACCESS_REASON_RECORD_ERASED, "record erased");
  if (youth.restricted) {
    return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED,
                       "processing of this record is restricted");
  }
  return absl::OkStatus();
}

absl::Status CareServiceImpl::RequireRead(const Caller& caller, absl::string_view youth_id,
                                          CallAudit* call) const {
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(youth_id));
  ASSIGN_OR_RETURN(access::AccessFacts facts,
                   ledger_->GatherFacts(caller.service_id(), youth_id, caller.member_id()));
  if (call != nullptr && facts.break_glass) call->event.break_glass = true;
  access::Verdict v = access::DecideRecordRead(facts, {youth.restricted, youth.erased});
  if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
  return absl::OkStatus();
}

absl::Status CareServiceImpl::RequireReferent(const Caller& caller,
                                              absl::string_view member_id) const {
  absl::StatusOr<directory::MemberInfo> referent = directory_->GetMember(member_id);
  if (!referent.ok() && !absl::IsNotFound(referent.status())) return referent.status();
  if (!referent.ok() || referent->service_id != caller.service_id() || !referent->active) {
    return common::InvalidField("referent_member_id", "referent_not_in_service",
                                "the referent must be an active member of your service");
  }
  return absl::OkStatus();
}

// --- Accompaniments -------------------------------------------------------

grpc::ServerUnaryReactor* CareServiceImpl::OpenAccompaniment(
    grpc::CallbackServerContext* ctx, const v1::OpenAccompanimentRequest* req,
    v1::Accompaniment* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_OPEN_ACCOMPANIMENT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.OpenAccompaniment"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(common::CheckId("referent_member_id", req->referent_member_id()));
        if (req->basis() == v1::ACCOMPANIMENT_BASIS_UNSPECIFIED ||
            !v1::AccompanimentBasis_IsValid(req->basis())) {
          return common::InvalidField("basis", "invalid_enum", "must be VOLUNTARY or MANDATE");
        }
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
        if (youth.erased) return rpc::Denied(v1::ACCESS_REASON_RECORD_ERASED, "record erased");
        if (youth.restricted) {
          return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED, "record restricted");
        }
        RETURN_IF_ERROR(RequireReferent(caller, req->referent_member_id()));
        const Accompaniments::Opening opening{req->youth_id(),    caller.service_id(),
                                              caller.member_id(), req->referent_member_id(),
                                              req->basis(),       youth.created_by_service_id};
        const absl::Time now = clock_->Now();
        return Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(*resp, accompaniments_.Open(c, opening, now));
          call.event.object_id = resp->id();
          return NoticePending(c, *resp, now);
        });
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::ReassignReferent(grpc::CallbackServerContext* ctx,
                                                            const v1::ReassignReferentRequest* req,
                                                            v1::Accompaniment* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_REASSIGN_REFERENT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ReassignReferent"));
        RETURN_IF_ERROR(common::CheckId("accompaniment_id", req->accompaniment_id()));
        RETURN_IF_ERROR(common::CheckId("referent_member_id", req->referent_member_id()));
        call.event.object_id = req->accompaniment_id();
        const absl::Time now = clock_->Now();
        // Another service's accompaniment is answered like an unknown one
        // (Reassign below), and says nothing of the youth.
        ASSIGN_OR_RETURN(const bool own,
                         RequireOwnUnrestricted(caller, call, req->accompaniment_id(), now));
        if (own) RETURN_IF_ERROR(RequireReferent(caller, req->referent_member_id()));
        return Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(
              *resp, accompaniments_.Reassign(c, caller.service_id(), req->accompaniment_id(),
                                              req->referent_member_id(), caller.member_id(), now));
          return absl::OkStatus();
        });
      });
}

absl::StatusOr<bool> CareServiceImpl::RequireOwnUnrestricted(const Caller& caller, CallAudit& call,
                                                             absl::string_view accompaniment_id,
                                                             absl::Time now) const {
  ASSIGN_OR_RETURN(std::optional<v1::Accompaniment> found,
                   accompaniments_.Get(accompaniment_id, now));
  if (!found.has_value() || found->service_id() != caller.service_id()) return false;
  call.event.youth_id = found->youth_id();
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(found->youth_id()));
  if (youth.restricted) {
    return rpc::Denied(v1::ACCESS_REASON_RECORD_RESTRICTED,
                       "processing of this record is restricted (GDPR art. 18)");
  }
  return true;
}

absl::StatusOr<std::vector<directory::Departures::Referral>> CareServiceImpl::Referrals(
    Connection& txn, absl::string_view member_id) const {
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> referred,
                   accompaniments_.ReferredBy(txn, member_id, clock_->Now()));
  std::vector<Referral> out;
  for (const v1::Accompaniment& a : referred) out.push_back({a.id(), a.youth_id()});
  return out;
}

absl::Status CareServiceImpl::Reassign(Connection& txn, absl::string_view member_id,
                                       absl::string_view successor,
                                       absl::string_view by_member_id) const {
  ASSIGN_OR_RETURN(directory::MemberInfo next, directory_->GetMember(successor));
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> referred,
                   accompaniments_.ReferredBy(txn, member_id, now));
  for (const v1::Accompaniment& a : referred) {
    if (!next.active || next.service_id != a.service_id()) {
      return common::Precondition("successor_not_in_service",
                                  "the new referent must be an active member of the service");
    }
    RETURN_IF_ERROR(
        accompaniments_.Reassign(txn, a.service_id(), a.id(), successor, by_member_id, now)
            .status());
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CareServiceImpl::EndAccompaniment(grpc::CallbackServerContext* ctx,
                                                            const v1::EndAccompanimentRequest* req,
                                                            v1::Accompaniment* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_END_ACCOMPANIMENT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.EndAccompaniment"));
        RETURN_IF_ERROR(common::CheckId("accompaniment_id", req->accompaniment_id()));
        call.event.object_id = req->accompaniment_id();
        const absl::Time now = clock_->Now();
        // CompleteHandover, which also ends an accompaniment, is refused the
        // same way on a restricted record.
        RETURN_IF_ERROR(
            RequireOwnUnrestricted(caller, call, req->accompaniment_id(), now).status());
        return Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(
              *resp, accompaniments_.End(c, caller.service_id(), req->accompaniment_id(), now));
          call.event.youth_id = resp->youth_id();
          return absl::OkStatus();
        });
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListAccompaniments(
    grpc::CallbackServerContext* ctx, const v1::ListAccompanimentsRequest* req,
    v1::ListAccompanimentsResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
                      call.event.youth_id = req->youth_id();
                      RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListAccompaniments"));
                      RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
                      RETURN_IF_ERROR(RequireRead(caller, req->youth_id(), &call));
                      ASSIGN_OR_RETURN(std::vector<v1::Accompaniment> list,
                                       accompaniments_.List(req->youth_id(), clock_->Now()));
                      ASSIGN_OR_RETURN(
                          *resp->mutable_next_page_token(),
                          rpc::TakePage(list, req->page_size(), req->page_token(),
                                        [](const v1::Accompaniment& a) { return a.id(); }));
                      RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
                      for (auto& a : list) *resp->add_accompaniments() = std::move(a);
                      return absl::OkStatus();
                    });
}

// --- Break-the-glass ---------------------------------------------------------

namespace {
// Field names in the AAD of the sealed grant texts. Never rename.
constexpr char kJustificationField[] = "care.emergency.justification";
constexpr char kReviewNoteField[] = "care.emergency.review_note";
constexpr size_t kMinJustification = 20;
}  // namespace

grpc::ServerUnaryReactor* CareServiceImpl::OpenEmergencyAccess(
    grpc::CallbackServerContext* ctx, const v1::OpenEmergencyAccessRequest* req,
    v1::EmergencyAccess* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_OPEN_EMERGENCY_ACCESS,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        call.event.break_glass = true;
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.OpenEmergencyAccess"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(
            common::CheckText("justification", req->justification(), common::kMaxReasonLength));
        if (req->justification().size() < kMinJustification) {
          return common::InvalidField("justification", "justification_too_short",
                                      "at least 20 characters");
        }
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
        // An emergency lifts the consent, never the need to know: the caller's
        // service must accompany the youth (vouched), so no one opens access to a
        // youth alone. A restricted record is not shared further, not even then.
        RETURN_IF_ERROR(RequireWrite(caller, youth.id));
        const absl::Time now = clock_->Now();
        v1::EmergencyAccess grant;
        grant.set_id(common::NewId("brk"));
        grant.set_youth_id(youth.id);
        grant.set_service_id(caller.service_id());
        grant.set_member_id(caller.member_id());
        *grant.mutable_opened_at() = common::ToProto(now);
        *grant.mutable_expires_at() = common::ToProto(now + options_.emergency_access_duration);
        ASSIGN_OR_RETURN(std::string sealed,
                         records_->SealForYouth(youth.id, kJustificationField, grant.id(),
                                                req->justification()));
        call.event.object_id = grant.id();
        RETURN_IF_ERROR(Commit(
            call, [&](Connection& c) { return store::InsertEmergencyGrant(c, grant, sealed); }));
        *resp = std::move(grant);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<v1::EmergencyAccess>> CareServiceImpl::ListEmergencyGrants(
    bool pending_only) const {
  std::vector<store::SealedGrant> sealed;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(sealed, store::ListEmergencyGrants(c, pending_only));
    return absl::OkStatus();
  }));
  std::vector<v1::EmergencyAccess> out;
  for (store::SealedGrant& g : sealed) {
    v1::EmergencyAccess a = std::move(g.grant);
    absl::StatusOr<std::string> text =
        records_->OpenForYouth(a.youth_id(), kJustificationField, a.id(), g.sealed_justification);
    if (text.ok()) {
      a.set_justification(*std::move(text));
    } else if (text.status().code() != absl::StatusCode::kNotFound) {  // erased: stays empty
      return text.status();
    }
    if (!g.sealed_note.empty()) {
      absl::StatusOr<std::string> note =
          records_->OpenForYouth(a.youth_id(), kReviewNoteField, a.id(), g.sealed_note);
      if (note.ok()) {
        a.set_review_note(*std::move(note));
      } else if (note.status().code() != absl::StatusCode::kNotFound) {
        return note.status();
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<v1::EmergencyAccess> CareServiceImpl::ReviewEmergencyGrant(
    absl::string_view grant_id, v1::EmergencyVerdict verdict, absl::string_view note,
    absl::string_view reviewer_member_id, audit::EventInput& event) const {
  std::optional<store::SealedGrant> found;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(found, store::GetEmergencyGrant(c, grant_id));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return common::NotFound("grant_not_found", "no such emergency grant");
  v1::EmergencyAccess a = found->grant;
  event.youth_id = a.youth_id();
  event.object_id = a.id();
  event.break_glass = true;
  // Reviewed by someone outside the opener's service, never by the opener.
  absl::StatusOr<directory::MemberInfo> reviewer = directory_->GetMember(reviewer_member_id);
  if (!reviewer.ok() && !absl::IsNotFound(reviewer.status())) return reviewer.status();
  if (reviewer_member_id == a.member_id() || !reviewer.ok() ||
      reviewer->service_id == a.service_id()) {
    return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                       "a grant is reviewed by someone outside its opener's service");
  }
  if (a.verdict() != v1::EMERGENCY_VERDICT_UNSPECIFIED) {
    return common::Precondition("already_reviewed", "this grant was reviewed already");
  }
  ASSIGN_OR_RETURN(std::string sealed,
                   records_->SealForYouth(a.youth_id(), kReviewNoteField, a.id(), note));
  const absl::Time now = clock_->Now();
  event = rpc::Allowed(std::move(event));
  RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
    absl::Status s =
        store::ReviewEmergencyGrant(c, a.id(), verdict, sealed, reviewer_member_id, now);
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      return common::Precondition("already_reviewed", "this grant was reviewed already");
    }
    RETURN_IF_ERROR(s);
    return rpc::AuditAppended(gate_->audit()->Append(c, event).status());
  }));
  a.set_verdict(verdict);
  if (verdict == v1::EMERGENCY_VERDICT_UNJUSTIFIED && common::FromProto(a.expires_at()) > now) {
    *a.mutable_expires_at() = common::ToProto(now);
  }
  a.set_review_note(std::string(note));
  a.set_reviewed_by_member_id(std::string(reviewer_member_id));
  *a.mutable_reviewed_at() = common::ToProto(now);
  return a;
}

}  // namespace relais::care
