#include "services/care/cited_conventions.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::care {
namespace {

absl::Status Outside(absl::string_view convention_id, absl::string_view why) {
  return common::Precondition("outside_convention",
                              absl::StrCat("convention ", convention_id, ": ", why));
}

}  // namespace

absl::StatusOr<partnership::ConventionTerms> CitedConventions::InForce(
    storage::Connection& c, absl::string_view convention_id, absl::Time now) const {
  RETURN_IF_ERROR(common::CheckId("convention_id", convention_id));
  if (book_ == nullptr) return Outside(convention_id, "no partnership conventions here");
  ASSIGN_OR_RETURN(partnership::ConventionTerms terms, book_->GetTerms(c, convention_id));
  if (!terms.InForceAt(now)) {
    return Outside(convention_id, "not in force (unsigned, not started, ended or terminated)");
  }
  return terms;
}

absl::Status CitedConventions::CheckConsent(storage::Connection& c, const v1::Consent& k,
                                            absl::Time now) const {
  const std::string& id = k.convention_id();
  if (id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(partnership::ConventionTerms terms, InForce(c, id, now));
  if (!terms.HasParty(k.recorded_by_service_id())) {
    return Outside(id, "your service is not a party");
  }
  for (const v1::Recipient& r : k.recipients()) {
    if (r.has_service_id() && !terms.HasParty(r.service_id())) {
      return Outside(id, absl::StrCat("service ", r.service_id(), " is not a party"));
    }
  }
  for (int category : k.categories()) {
    if (terms.categories.count(category) == 0) {
      return Outside(id,
                     absl::StrCat("the category ",
                                  v1::DataCategory_Name(static_cast<v1::DataCategory>(category)),
                                  " is outside its scope"));
    }
  }
  for (int purpose : k.purposes()) {
    if (terms.purposes.count(purpose) == 0) {
      return Outside(
          id, absl::StrCat("the purpose ", v1::Purpose_Name(static_cast<v1::Purpose>(purpose)),
                           " is outside its scope"));
    }
  }
  if (common::FromProto(k.valid_until()) > terms.end) {
    return Outside(id, "the consent would outlast the convention");
  }
  return absl::OkStatus();
}

absl::Status CitedConventions::CheckHandover(storage::Connection& c,
                                             absl::string_view convention_id,
                                             absl::string_view from, absl::string_view to,
                                             absl::Time start, absl::Time end,
                                             absl::Time now) const {
  if (convention_id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(partnership::ConventionTerms terms, InForce(c, convention_id, now));
  if (!terms.HasParty(from) || !terms.HasParty(to)) {
    return Outside(convention_id, "both services must be parties");
  }
  if (terms.purposes.count(v1::PURPOSE_HANDOVER) == 0) {
    return Outside(convention_id, "handovers are outside its scope");
  }
  if (end - start > absl::Hours(24) * terms.max_overlap_days) {
    return Outside(convention_id,
                   absl::StrCat("the overlap exceeds its ", terms.max_overlap_days, " days"));
  }
  if (end > terms.end) return Outside(convention_id, "the overlap would outlast the convention");
  return absl::OkStatus();
}

absl::Status CitedConventions::Limit(storage::Connection& c, absl::string_view reader_service_id,
                                     absl::Time now,
                                     std::vector<access::ConsentGrant>& grants) const {
  std::map<std::string, std::optional<partnership::ConventionTerms>> seen;
  for (access::ConsentGrant& g : grants) {
    if (!g.convention.has_value()) continue;
    access::ConsentGrant::ConventionLimit& limit = *g.convention;
    auto [it, fresh] = seen.try_emplace(limit.id);
    if (fresh && book_ != nullptr) {
      absl::StatusOr<partnership::ConventionTerms> terms = book_->GetTerms(c, limit.id);
      if (!terms.ok() && !absl::IsNotFound(terms.status())) return terms.status();
      if (terms.ok()) it->second = *std::move(terms);
    }
    if (!it->second.has_value()) continue;  // unknown: shares nothing
    const partnership::ConventionTerms& terms = *it->second;
    limit.in_force_for_parties = terms.InForceAt(now) && terms.HasParty(g.holder_service_id) &&
                                 terms.HasParty(reader_service_id);
    limit.categories = terms.categories;
    limit.purposes = terms.purposes;
  }
  return absl::OkStatus();
}

}  // namespace relais::care
