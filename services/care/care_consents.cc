// CareService: consents (who agreed to share what with whom) and CheckAccess.

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "access/consent_rule.h"
#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/care_store.h"
#include "services/care/consent_receipt.h"
#include "services/common/ids.h"
#include "services/common/paging.h"

namespace relais::care {

using rpc::Caller;
using rpc::CallAudit;
using storage::Connection;

namespace {

constexpr int kMaxRecipients = 32;

absl::CivilDay DayOf(absl::Time t) {
  return absl::ToCivilDay(t, absl::UTCTimeZone());
}

bool IsSlug(absl::string_view s) {
  if (s.empty() || s.size() > rpc::kMaxIdLength) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

}  // namespace


grpc::ServerUnaryReactor* CareServiceImpl::GrantConsent(grpc::CallbackServerContext* ctx,
                                                        const v1::GrantConsentRequest* req,
                                                        v1::Consent* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_GRANT_CONSENT,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GrantConsent"));
    const v1::Consent& in = req->consent();
    RETURN_IF_ERROR(rpc::CheckId("consent.youth_id", in.youth_id()));
    call.event.youth_id = in.youth_id();
    if (in.giver() == v1::CONSENT_GIVER_UNSPECIFIED || !v1::ConsentGiver_IsValid(in.giver())) {
      return rpc::InvalidField("consent.giver", "invalid_enum", "must be YOUTH or GUARDIAN");
    }
    if (in.recipients().empty() || in.recipients_size() > kMaxRecipients) {
      return rpc::InvalidField("consent.recipients", "field_required",
                               absl::StrCat("needs 1 to ", kMaxRecipients, " recipients"));
    }
    for (const v1::Recipient& r : in.recipients()) {
      if (r.has_service_id()) {
        RETURN_IF_ERROR(rpc::CheckId("consent.recipients.service_id", r.service_id()));
        absl::StatusOr<directory::ServiceInfo> recipient = directory_->GetService(r.service_id());
        // A stored row that fails its MAC answers integrity_violation.
        if (!recipient.ok() && !absl::IsNotFound(recipient.status())) return recipient.status();
        if (!recipient.ok()) {
          return rpc::InvalidField("consent.recipients.service_id", "unknown_recipient",
                                   "no such service");
        }
        // The caller's service is the holder: it shares its own entries with
        // others, and a consent never lets it read another service's.
        if (r.service_id() == caller.service_id()) {
          return rpc::InvalidField("consent.recipients.service_id", "recipient_is_holder",
                                   "a consent shares your service's entries with others");
        }
      } else if (r.has_sector_id()) {
        if (!IsSlug(r.sector_id())) {
          return rpc::InvalidField("consent.recipients.sector_id", "malformed_id",
                                   "is not a valid sector id");
        }
      } else {
        return rpc::InvalidField("consent.recipients", "field_required",
                                 "each recipient names a sector or a service");
      }
    }
    if (in.categories().empty() && !in.all_non_special_categories()) {
      return rpc::InvalidField("consent.categories", "field_required",
                               "name categories or all_non_special_categories");
    }
    for (int c : in.categories()) {
      if (c == v1::DATA_CATEGORY_UNSPECIFIED || !v1::DataCategory_IsValid(c)) {
        return rpc::InvalidField("consent.categories", "invalid_enum", "unknown category");
      }
    }
    if (in.purposes().empty()) {
      return rpc::InvalidField("consent.purposes", "field_required", "at least one purpose");
    }
    for (int p : in.purposes()) {
      if (p == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(p)) {
        return rpc::InvalidField("consent.purposes", "invalid_enum", "unknown purpose");
      }
    }
    const absl::Time now = clock_->Now();
    absl::Time from = now;
    if (in.has_valid_from()) {
      ASSIGN_OR_RETURN(from, rpc::TimeFromRequest("consent.valid_from", in.valid_from()));
    }
    if (!in.has_valid_until()) {
      return rpc::InvalidField("consent.valid_until", "field_required", "is required");
    }
    ASSIGN_OR_RETURN(const absl::Time until,
                     rpc::TimeFromRequest("consent.valid_until", in.valid_until()));
    if (until <= from || until <= now) {
      return rpc::InvalidField("consent.valid_until", "window_empty",
                               "must be after valid_from and in the future");
    }
    ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(in.youth_id()));
    RETURN_IF_ERROR(RequireWrite(caller, in.youth_id()));
    // The age rule, evaluated at the moment of the decision.
    const int age = record::AgeOn(youth.date_of_birth, DayOf(now));
    const access::ConsentGiverVerdict giver =
        access::DecideConsentGiver(in.giver(), age, options_.self_consent_age);
    if (!giver.allowed) return rpc::Precondition(giver.reason_code, giver.explanation);
    if (in.giver() == v1::CONSENT_GIVER_GUARDIAN) {
      if (std::find(youth.guardian_ids.begin(), youth.guardian_ids.end(), in.guardian_id()) ==
          youth.guardian_ids.end()) {
        return rpc::InvalidField("consent.guardian_id", "unknown_guardian",
                                 "is not a guardian on the youth's record");
      }
      if (in.youth_opinion() == v1::YOUTH_OPINION_UNSPECIFIED ||
          !v1::YouthOpinion_IsValid(in.youth_opinion())) {
        return rpc::InvalidField("consent.youth_opinion", "youth_opinion_required",
                                 "record the youth's opinion");
      }
    }
    v1::Consent k;
    k.set_id(rpc::NewId("cst"));
    k.set_youth_id(in.youth_id());
    k.set_giver(in.giver());
    if (in.giver() == v1::CONSENT_GIVER_GUARDIAN) {
      k.set_guardian_id(in.guardian_id());
      k.set_youth_opinion(in.youth_opinion());
    }
    *k.mutable_recipients() = in.recipients();
    std::set<int> cats(in.categories().begin(), in.categories().end());
    for (int c : cats) k.add_categories(static_cast<v1::DataCategory>(c));
    k.set_all_non_special_categories(in.all_non_special_categories());
    std::set<int> purposes(in.purposes().begin(), in.purposes().end());
    for (int p : purposes) k.add_purposes(static_cast<v1::Purpose>(p));
    *k.mutable_valid_from() = rpc::ToProto(from);
    *k.mutable_valid_until() = rpc::ToProto(until);
    k.set_recorded_by_member_id(caller.member_id());
    k.set_recorded_by_service_id(caller.service_id());
    *k.mutable_recorded_at() = rpc::ToProto(now);
    call.event.object_id = k.id();
    RETURN_IF_ERROR(Commit(call, [&](Connection& c) { return store::InsertConsent(c, k); }));
    DecorateConsent(k, youth.date_of_birth, now, options_.self_consent_age);
    *k.mutable_receipt() = BuildConsentReceipt(k, *directory_);
    *resp = std::move(k);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::WithdrawConsent(grpc::CallbackServerContext* ctx,
                                                           const v1::WithdrawConsentRequest* req,
                                                           v1::Consent* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_WITHDRAW_CONSENT,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.WithdrawConsent"));
    RETURN_IF_ERROR(rpc::CheckId("consent_id", req->consent_id()));
    call.event.object_id = req->consent_id();
    std::optional<v1::Consent> k;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(k, store::GetConsent(c, req->consent_id()));
      return absl::OkStatus();
    }));
    if (!k.has_value()) return rpc::NotFound("consent_not_found", "no such consent");
    call.event.youth_id = k->youth_id();
    ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(k->youth_id()));
    // Withdrawal is honoured even on a restricted record: it narrows sharing.
    ASSIGN_OR_RETURN(access::AccessFacts facts,
                     ledger_->GatherFacts(caller.service_id(), k->youth_id()));
    if (!facts.accompanying) {
      return rpc::Denied(v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT,
                         "your service does not accompany this youth");
    }
    const absl::Time now = clock_->Now();
    RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(k, store::GetConsent(c, req->consent_id()));
      if (!k.has_value()) return absl::InternalError("consent vanished");
      if (k->has_withdrawn_at()) return absl::OkStatus();  // idempotent
      RETURN_IF_ERROR(store::MarkConsentWithdrawn(c, k->id(), caller.member_id(), now));
      *k->mutable_withdrawn_at() = rpc::ToProto(now);
      k->set_withdrawn_by_member_id(caller.member_id());
      return absl::OkStatus();
    }));
    DecorateConsent(*k, youth.date_of_birth, now, options_.self_consent_age);
    *k->mutable_receipt() = BuildConsentReceipt(*k, *directory_);
    *resp = *std::move(k);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::ListConsents(grpc::CallbackServerContext* ctx,
                                                        const v1::ListConsentsRequest* req,
                                                        v1::ListConsentsResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    call.event.youth_id = req->youth_id();
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.ListConsents"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
    RETURN_IF_ERROR(RequireRead(caller, req->youth_id(), &call));
    std::vector<v1::Consent> list;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(list, store::ListConsents(c, req->youth_id()));
      return absl::OkStatus();
    }));
    ASSIGN_OR_RETURN(*resp->mutable_next_page_token(),
                     rpc::TakePage(list, req->page_size(), req->page_token(),
                                   [](const v1::Consent& k) { return k.id(); }));
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
    const absl::Time now = clock_->Now();
    for (v1::Consent& k : list) {
      DecorateConsent(k, youth.date_of_birth, now, options_.self_consent_age);
      *resp->add_consents() = std::move(k);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CareServiceImpl::CheckAccess(grpc::CallbackServerContext* ctx,
                                                       const v1::CheckAccessRequest* req,
                                                       v1::CheckAccessResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_CHECK_ACCESS,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    call.event.youth_id = req->youth_id();
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.CheckAccess"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    if (req->purpose() == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(req->purpose())) {
      return rpc::InvalidField("purpose", "invalid_enum", "a purpose is required");
    }
    call.event.purpose = req->purpose();
    ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(req->youth_id()));
    ASSIGN_OR_RETURN(access::AccessFacts facts, ledger_->GatherFacts(caller.service_id(),
                                                                     req->youth_id(),
                                                                     caller.member_id()));
    call.event.break_glass = facts.break_glass;
    access::Verdict v;
    v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
    if (req->entry_id().empty()) {
      v = access::DecideRecordRead(facts, {youth.restricted, youth.erased});
    } else {
      RETURN_IF_ERROR(rpc::CheckId("entry_id", req->entry_id()));
      call.event.entry_id = req->entry_id();
      absl::StatusOr<record::EntryFacts> entry = records_->GetEntryFacts(req->entry_id());
      if (!entry.ok() || entry->youth_id != req->youth_id()) {
        return rpc::NotFound("entry_not_found", "no such entry on this record");
      }
      category = static_cast<v1::DataCategory>(entry->category);
      v = access::DecideEntryRead(facts, {youth.restricted, youth.erased},
                          {entry->author_service_id, static_cast<v1::Visibility>(entry->visibility),
                           category},
                          req->purpose());
      // Another service's private entries are not revealed, not even by category.
      if (v.reason == v1::ACCESS_REASON_ENTRY_PRIVATE) {
        return rpc::NotFound("entry_not_found", "no such entry on this record");
      }
    }
    // The event records the decision explained, not the permission to ask.
    call.event.decision = v.decision;
    call.event.reason = v.reason;
    call.event.reason_code = rpc::ReasonCode(v.reason);
    RETURN_IF_ERROR(gate_->audit()->AppendStandalone(call.event).status());
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
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_CARE,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "CareService.GetConsentReceipt"));
    RETURN_IF_ERROR(rpc::CheckId("consent_id", req->consent_id()));
    call.event.object_id = req->consent_id();
    std::optional<v1::Consent> k;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(k, store::GetConsent(c, req->consent_id()));
      return absl::OkStatus();
    }));
    if (!k.has_value()) return rpc::NotFound("consent_not_found", "no such consent");
    call.event.youth_id = k->youth_id();
    ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(k->youth_id()));
    RETURN_IF_ERROR(RequireRead(caller, k->youth_id(), &call));
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
    DecorateConsent(*k, youth.date_of_birth, clock_->Now(), options_.self_consent_age);
    *resp = BuildConsentReceipt(*k, *directory_);
    return absl::OkStatus();
  });
}

}  // namespace relais::care
