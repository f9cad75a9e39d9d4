#include "services/care/consents.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "access/consent_rule.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/care/care_ledger.h"
#include "services/care/care_store.h"
#include "services/care/consent_receipt.h"

namespace relais::care {

using storage::Connection;

namespace {

constexpr int kMaxRecipients = 32;

bool IsSlug(absl::string_view s) {
  if (s.empty() || s.size() > common::kMaxIdLength) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::Status Consents::CheckRecipient(const v1::Recipient& r,
                                      absl::string_view holder_service_id) const {
  if (r.has_service_id()) {
    RETURN_IF_ERROR(common::CheckId("consent.recipients.service_id", r.service_id()));
    absl::StatusOr<directory::ServiceInfo> recipient = directory_->GetService(r.service_id());
    // A stored row that fails its MAC answers integrity_violation.
    if (!recipient.ok() && !absl::IsNotFound(recipient.status())) return recipient.status();
    if (!recipient.ok()) {
      return common::InvalidField("consent.recipients.service_id", "unknown_recipient",
                                  "no such service");
    }
    // The caller's service is the holder: it shares its own entries with
    // others, and a consent never lets it read another service's.
    if (r.service_id() == holder_service_id) {
      return common::InvalidField("consent.recipients.service_id", "recipient_is_holder",
                                  "a consent shares your service's entries with others");
    }
    return absl::OkStatus();
  }
  if (r.has_sector_id()) {
    if (!IsSlug(r.sector_id())) {
      return common::InvalidField("consent.recipients.sector_id", "malformed_id",
                                  "is not a valid sector id");
    }
    return absl::OkStatus();
  }
  return common::InvalidField("consent.recipients", "field_required",
                              "each recipient names a sector or a service");
}

absl::Status Consents::CheckScope(const v1::Consent& in,
                                  absl::string_view holder_service_id) const {
  if (in.recipients().empty() || in.recipients_size() > kMaxRecipients) {
    return common::InvalidField("consent.recipients", "field_required",
                                absl::StrCat("needs 1 to ", kMaxRecipients, " recipients"));
  }
  for (const v1::Recipient& r : in.recipients()) {
    RETURN_IF_ERROR(CheckRecipient(r, holder_service_id));
  }
  if (in.categories().empty() && !in.all_non_special_categories()) {
    return common::InvalidField("consent.categories", "field_required",
                                "name categories or all_non_special_categories");
  }
  for (int c : in.categories()) {
    if (c == v1::DATA_CATEGORY_UNSPECIFIED || !v1::DataCategory_IsValid(c)) {
      return common::InvalidField("consent.categories", "invalid_enum", "unknown category");
    }
  }
  if (in.purposes().empty()) {
    return common::InvalidField("consent.purposes", "field_required", "at least one purpose");
  }
  for (int p : in.purposes()) {
    if (p == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(p)) {
      return common::InvalidField("consent.purposes", "invalid_enum", "unknown purpose");
    }
  }
  return absl::OkStatus();
}

absl::Status Consents::CheckGiver(const v1::Consent& in, const record::YouthFacts& youth,
                                  absl::Time now) const {
  // The age rule, evaluated at the moment of the decision.
  const int age = record::AgeOn(youth.date_of_birth, absl::ToCivilDay(now, absl::UTCTimeZone()));
  const access::ConsentGiverVerdict giver =
      access::DecideConsentGiver(in.giver(), age, self_consent_age_);
  if (!giver.allowed) return common::Precondition(giver.reason_code, giver.explanation);
  if (in.giver() != v1::CONSENT_GIVER_GUARDIAN) return absl::OkStatus();
  if (std::find(youth.guardian_ids.begin(), youth.guardian_ids.end(), in.guardian_id()) ==
      youth.guardian_ids.end()) {
    return common::InvalidField("consent.guardian_id", "unknown_guardian",
                                "is not a guardian on the youth's record");
  }
  if (in.youth_opinion() == v1::YOUTH_OPINION_UNSPECIFIED ||
      !v1::YouthOpinion_IsValid(in.youth_opinion())) {
    return common::InvalidField("consent.youth_opinion", "youth_opinion_required",
                                "record the youth's opinion");
  }
  return absl::OkStatus();
}

v1::Consent Consents::Build(const v1::Consent& in, absl::Time valid_from, absl::Time valid_until,
                            const Recorder& by, absl::Time now) {
  v1::Consent k;
  k.set_id(common::NewId("cst"));
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
  *k.mutable_valid_from() = common::ToProto(valid_from);
  *k.mutable_valid_until() = common::ToProto(valid_until);
  k.set_recorded_by_member_id(by.member_id);
  k.set_recorded_by_service_id(by.service_id);
  *k.mutable_recorded_at() = common::ToProto(now);
  k.set_convention_id(in.convention_id());
  return k;
}

absl::Status Consents::Record(Connection& c, const v1::Consent& consent) const {
  return store::InsertConsent(c, consent);
}

absl::StatusOr<v1::Consent> Consents::Withdraw(Connection& c, absl::string_view id,
                                               absl::string_view member_id, absl::Time now) const {
  ASSIGN_OR_RETURN(std::optional<v1::Consent> k, store::GetConsent(c, id));
  if (!k.has_value()) return absl::InternalError("consent vanished");
  if (k->has_withdrawn_at()) return *std::move(k);  // idempotent
  RETURN_IF_ERROR(store::MarkConsentWithdrawn(c, k->id(), member_id, now));
  *k->mutable_withdrawn_at() = common::ToProto(now);
  k->set_withdrawn_by_member_id(std::string(member_id));
  return *std::move(k);
}

absl::StatusOr<std::optional<v1::Consent>> Consents::Get(absl::string_view id) const {
  std::optional<v1::Consent> k;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(k, store::GetConsent(c, id));
    return absl::OkStatus();
  }));
  return k;
}

absl::StatusOr<std::vector<v1::Consent>> Consents::List(absl::string_view youth_id) const {
  std::vector<v1::Consent> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::ListConsents(c, youth_id));
    return absl::OkStatus();
  }));
  return list;
}

absl::StatusOr<std::vector<v1::Consent>> Consents::HeldExpiring(absl::string_view service_id,
                                                                absl::Time now,
                                                                absl::Time before) const {
  std::vector<v1::Consent> list;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(list, store::HeldConsentsExpiringBefore(c, service_id, now, before));
    return absl::OkStatus();
  }));
  return list;
}

void Consents::Decorate(v1::Consent& consent, absl::CivilDay date_of_birth, absl::Time now) const {
  DecorateConsent(consent, date_of_birth, now, self_consent_age_);
}

v1::ConsentReceipt Consents::Receipt(const v1::Consent& consent) const {
  return BuildConsentReceipt(consent, *directory_);
}

}  // namespace relais::care
