// CareService: the consent handlers (the rules are Consents', consents.h) and
// CheckAccess, which explains a decision of the access rule.

#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/common/commit.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;

namespace {

// The validity window of a consent requested at `now`: from valid_from
// (default now) until valid_until (required), which must be in the future.
absl::Status ValidityWindow(const v1::Consent& in, absl::Time now, absl::Time* from,
                            absl::Time* until) {
  *from = now;
  if (in.has_valid_from()) {
    ASSIGN_OR_RETURN(*from, common::TimeFromRequest("consent.valid_from", in.valid_from()));
  }
  if (!in.has_valid_until()) {
    return common::InvalidField("consent.valid_until", "field_required", "is required");
  }
  ASSIGN_OR_RETURN(*until, common::TimeFromRequest("consent.valid_until", in.valid_until()));
  if (*until <= *from || *until <= now) {
    return common::InvalidField("consent.valid_until", "window_empty",
                                "must be after valid_from and in the future");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* CareServiceImpl::GrantConsent(grpc::CallbackServerContext* ctx,
                                                        const v1::GrantConsentRequest* req,
                                                        v1::Consent* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_GRANT_CONSENT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GrantConsent"));
        const v1::Consent& in = req->consent();
        RETURN_IF_ERROR(common::CheckId("consent.youth_id", in.youth_id()));
        call.event.youth_id = in.youth_id();
        if (in.giver() == v1::CONSENT_GIVER_UNSPECIFIED || !v1::ConsentGiver_IsValid(in.giver())) {
          return common::InvalidField("consent.giver", "invalid_enum", "must be YOUTH or GUARDIAN");
        }
        RETURN_IF_ERROR(consents_.CheckScope(in, caller.service_id()));
        const absl::Time now = clock_->Now();
        absl::Time from, until;
        RETURN_IF_ERROR(ValidityWindow(in, now, &from, &until));
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(in.youth_id()));
        RETURN_IF_ERROR(RequireWrite(caller, in.youth_id()));
        RETURN_IF_ERROR(consents_.CheckGiver(in, youth, now));
        v1::Consent k =
            Consents::Build(in, from, until, {caller.member_id(), caller.service_id()}, now);
        call.event.object_id = k.id();
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
          RETURN_IF_ERROR(conventions_.CheckConsent(c, k, now));
          return consents_.Record(c, k);
        }));
        consents_.Decorate(k, youth.date_of_birth, now);
        *k.mutable_receipt() = consents_.Receipt(k);
        *resp = std::move(k);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::WithdrawConsent(grpc::CallbackServerContext* ctx,
                                                           const v1::WithdrawConsentRequest* req,
                                                           v1::Consent* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_WITHDRAW_CONSENT,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.WithdrawConsent"));
        RETURN_IF_ERROR(common::CheckId("consent_id", req->consent_id()));
        call.event.object_id = req->consent_id();
        ASSIGN_OR_RETURN(std::optional<v1::Consent> found, consents_.Get(req->consent_id()));
        if (!found.has_value()) return common::NotFound("consent_not_found", "no such consent");
        call.event.youth_id = found->youth_id();
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(found->youth_id()));
        // Withdrawal is honoured even on a restricted record: it narrows sharing.
        ASSIGN_OR_RETURN(access::AccessFacts facts,
                         ledger_->GatherFacts(caller.service_id(), found->youth_id()));
        if (!facts.accompanying) {
          return rpc::Denied(v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
                             "your service does not accompany this youth");
        }
        const absl::Time now = clock_->Now();
        v1::Consent k;
        RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(k, consents_.Withdraw(c, req->consent_id(), caller.member_id(), now));
          return absl::OkStatus();
        }));
        consents_.Decorate(k, youth.date_of_birth, now);
        *k.mutable_receipt() = consents_.Receipt(k);
        *resp = std::move(k);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListConsents(grpc::CallbackServerContext* ctx,
                                                        const v1::ListConsentsRequest* req,
                                                        v1::ListConsentsResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListConsents"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
        RETURN_IF_ERROR(RequireRead(caller, req->youth_id(), &call));
        ASSIGN_OR_RETURN(std::vector<v1::Consent> list, consents_.List(req->youth_id()));
        ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                         rpc::TakePage(list, req->page_size(), req->page_token(),
                                       [](const v1::Consent& k) { return k.id(); }));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        const absl::Time now = clock_->Now();
        for (v1::Consent& k : list) {
          consents_.Decorate(k, youth.date_of_birth, now);
          *resp->add_consents() = std::move(k);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::CheckAccess(grpc::CallbackServerContext* ctx,
                                                       const v1::CheckAccessRequest* req,
                                                       v1::CheckAccessResponse* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_CHECK_ACCESS,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CheckAccess"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        if (req->purpose() == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(req->purpose())) {
          return common::InvalidField("purpose", "invalid_enum", "a purpose is required");
        }
        call.event.purpose = req->purpose();
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
        ASSIGN_OR_RETURN(
            access::AccessFacts facts,
            ledger_->GatherFacts(caller.service_id(), req->youth_id(), caller.member_id()));
        call.event.break_glass = facts.break_glass;
        access::Verdict v;
        v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
        if (req->entry_id().empty()) {
          v = access::DecideRecordRead(facts, {youth.restricted, youth.erased});
        } else {
          RETURN_IF_ERROR(common::CheckId("entry_id", req->entry_id()));
          call.event.entry_id = req->entry_id();
          absl::StatusOr<record::EntryFacts> entry = records_->GetEntryFacts(req->entry_id());
          if (!entry.ok() || entry->youth_id != req->youth_id()) {
            return common::NotFound("entry_not_found", "no such entry on this record");
          }
          category = static_cast<v1::DataCategory>(entry->category);
          v = access::DecideEntryRead(
              facts, {youth.restricted, youth.erased},
              {entry->author_service_id, static_cast<v1::Visibility>(entry->visibility), category},
              req->purpose());
          // Another service's private entries are not revealed, not even by category.
          if (v.reason == v1::ACCESS_REASON_ENTRY_PRIVATE) {
            return common::NotFound("entry_not_found", "no such entry on this record");
          }
        }
        // The event records the decision explained, not the permission to ask.
        call.event.decision = v.decision;
        call.event.reason = v.reason;
        call.event.reason_code = rpc::ReasonCode(v.reason);
        RETURN_IF_ERROR(rpc::AuditAppended(gate_->audit()->AppendStandalone(call.event).status()));
        call.recorded = true;
        resp->set_decision(v.decision);
        resp->set_reason(v.reason);
        resp->set_reason_code(rpc::ReasonCode(v.reason));
        resp->set_explanation(v.explanation);
        if (v.reason == v1::ACCESS_REASON_NO_CONSENT ||
            v.reason == v1::ACCESS_REASON_CONSENT_CATEGORY_NOT_COVERED ||
            v.reason == v1::ACCESS_REASON_CONSENT_PURPOSE_NOT_COVERED) {
          resp->mutable_suggested_recipient()->set_service_id(caller.service_id());
          resp->set_suggested_category(category);
          resp->set_suggested_purpose(req->purpose());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CareServiceImpl::GetConsentReceipt(
    grpc::CallbackServerContext* ctx, const v1::GetConsentReceiptRequest* req,
    v1::ConsentReceipt* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_CARE,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GetConsentReceipt"));
        RETURN_IF_ERROR(common::CheckId("consent_id", req->consent_id()));
        call.event.object_id = req->consent_id();
        ASSIGN_OR_RETURN(std::optional<v1::Consent> k, consents_.Get(req->consent_id()));
        if (!k.has_value()) return common::NotFound("consent_not_found", "no such consent");
        call.event.youth_id = k->youth_id();
        ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(k->youth_id()));
        RETURN_IF_ERROR(RequireRead(caller, k->youth_id(), &call));
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        consents_.Decorate(*k, youth.date_of_birth, clock_->Now());
        *resp = consents_.Receipt(*k);
        return absl::OkStatus();
      });
}

}  // namespace relais::care
