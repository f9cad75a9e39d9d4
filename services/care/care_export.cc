// CareService: what it holds on one youth, for RecordService.ExportYouth
// (GDPR art. 15/20). The record service decides and audits the access.

#include "common/status_macros.h"
#include "services/care/care_service.h"
#include "services/care/care_store.h"
#include "services/care/consent_receipt.h"

namespace relais::care {

absl::StatusOr<CareExport> CareServiceImpl::ExportCare(absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(record::YouthFacts youth, records_->GetYouthFacts(youth_id));
  const absl::Time now = clock_->Now();
  CareExport out;
  // One read transaction: the three lists describe the same instant.
  RETURN_IF_ERROR(db_->Read([&](storage::Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(out.accompaniments, store::ListAccompaniments(c, youth_id, now));
    ASSIGN_OR_RETURN(out.handovers, store::ListHandovers(c, "", youth_id));
    ASSIGN_OR_RETURN(out.consents, store::ListConsents(c, youth_id));
    return absl::OkStatus();
  }));
  // Withdrawal stays on the consent (withdrawn_at, withdrawn_by_member_id);
  // the receipt is the proof of consent the youth is entitled to (art. 7).
  for (v1::Consent& k : out.consents) {
    Decorate(k, youth, now);
    *k.mutable_receipt() = BuildConsentReceipt(k, *directory_);
  }
  return out;
}

}  // namespace relais::care
