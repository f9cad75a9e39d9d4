#include "services/care/consent_receipt.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/proto_time.h"

namespace relais::care {
namespace {

struct Names {
  const char* fr;
  const char* en;
};

Names SectorName(absl::string_view id) {
  if (id == "aide_jeunesse") return {"Aide à la jeunesse", "Youth aid"};
  if (id == "enseignement") return {"Enseignement", "Education"};
  if (id == "sante_mentale") return {"Santé mentale", "Mental health"};
  if (id == "action_sociale") return {"Action sociale", "Social action"};
  if (id == "prevention") return {"Prévention", "Prevention"};
  return {nullptr, nullptr};
}

Names CategoryName(int c) {
  switch (c) {
    case v1::DATA_CATEGORY_GENERAL:
      return {"informations générales", "general information"};
    case v1::DATA_CATEGORY_EDUCATION:
      return {"scolarité", "education"};
    case v1::DATA_CATEGORY_FAMILY:
      return {"situation familiale", "family situation"};
    case v1::DATA_CATEGORY_SOCIAL:
      return {"situation sociale", "social situation"};
    case v1::DATA_CATEGORY_HEALTH:
      return {"santé", "health"};
    case v1::DATA_CATEGORY_JUDICIAL:
      return {"données judiciaires", "judicial data"};
    default:
      return {"?", "?"};
  }
}

Names PurposeName(int p) {
  switch (p) {
    case v1::PURPOSE_COORDINATION:
      return {"la concertation entre les services qui t'accompagnent",
              "coordination between the services that accompany you"};
    case v1::PURPOSE_HANDOVER:
      return {"le passage de relais vers un autre service", "the handover to another service"};
    default:
      return {"?", "?"};
  }
}

std::string Day(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d", common::FromProto(ts), absl::UTCTimeZone());
}

// The receipt's recipients, named, and how the text names them.
struct Named {
  std::vector<std::string> fr, en;
};

Named AddRecipients(const v1::Consent& k, const directory::DirectoryApi& directory,
                    v1::ConsentReceipt& r) {
  Named to;
  for (const v1::Recipient& in : k.recipients()) {
    v1::ReceiptRecipient* out = r.add_recipients();
    if (in.has_service_id()) {
      out->set_service_id(in.service_id());
      absl::StatusOr<directory::ServiceInfo> s = directory.GetService(in.service_id());
      out->set_name(s.ok() ? s->name : in.service_id());
      if (s.ok()) out->set_service_sector_id(s->sector_id);
      to.fr.push_back(absl::StrCat("le service « ", out->name(), " »"));
      to.en.push_back(absl::StrCat("the service \"", out->name(), "\""));
    } else {
      out->set_sector_id(in.sector_id());
      const Names n = SectorName(in.sector_id());
      out->set_name(n.fr != nullptr ? n.fr : in.sector_id());
      to.fr.push_back(absl::StrCat("les services du secteur « ", out->name(), " »"));
      to.en.push_back(absl::StrCat("the services of the sector \"",
                                   n.en != nullptr ? n.en : in.sector_id(), "\""));
    }
  }
  return to;
}

// The French then English text a youth or guardian reads.
std::string ReceiptText(const v1::Consent& k, const v1::ConsentReceipt& r, const Named& to) {
  std::vector<std::string> cat_fr, cat_en;
  if (k.all_non_special_categories()) {
    cat_fr.push_back("toutes les informations sauf santé et judiciaire");
    cat_en.push_back("all information except health and judicial data");
  }
  for (int c : k.categories()) {
    cat_fr.push_back(CategoryName(c).fr);
    cat_en.push_back(CategoryName(c).en);
  }
  std::vector<std::string> pur_fr, pur_en;
  for (int p : k.purposes()) {
    pur_fr.push_back(PurposeName(p).fr);
    pur_en.push_back(PurposeName(p).en);
  }
  const bool guardian = k.giver() == v1::CONSENT_GIVER_GUARDIAN;
  return absl::StrCat(
      "Reçu de consentement ", k.id(), "\n",
      guardian ? "Donné par un de tes responsables légaux (" : "Donné par toi-même",
      guardian ? absl::StrCat(k.guardian_id(), "), ton avis a été noté") : "", ".\n",
      "Tu acceptes que le service « ", r.recorded_by_service_name(), " » partage avec ",
      absl::StrJoin(to.fr, ", "), " ce qu'il a écrit sur ", absl::StrJoin(cat_fr, ", "), ", pour ",
      absl::StrJoin(pur_fr, " et "), ". Ce que d'autres services ont écrit n'est pas concerné.\n",
      "Valable du ", Day(k.valid_from()), " au ", Day(k.valid_until()), ".\n", "Enregistré le ",
      Day(k.recorded_at()), " par le service « ", r.recorded_by_service_name(), " ».\n",
      k.has_withdrawn_at()
          ? absl::StrCat("Retiré le ", Day(k.withdrawn_at()),
                         " : plus rien n'est partagé sur cette base depuis ce moment.\n")
          : "Tu peux le retirer à tout moment auprès d'un service qui t'accompagne.\n",
      "\n", "Consent receipt ", k.id(), "\n",
      guardian ? "Given by one of your legal guardians (" : "Given by you",
      guardian ? absl::StrCat(k.guardian_id(), "); your opinion was recorded") : "", ".\n",
      "You agree that the service \"", r.recorded_by_service_name(), "\" shares with ",
      absl::StrJoin(to.en, ", "), " what it wrote about ", absl::StrJoin(cat_en, ", "), ", for ",
      absl::StrJoin(pur_en, " and "), ". What other services wrote is not covered.\n",
      "Valid from ", Day(k.valid_from()), " to ", Day(k.valid_until()), ".\n", "Recorded on ",
      Day(k.recorded_at()), " by the service \"", r.recorded_by_service_name(), "\".\n",
      k.has_withdrawn_at()
          ? absl::StrCat("Withdrawn on ", Day(k.withdrawn_at()),
                         ": nothing is shared on this basis since then.\n")
          : "You can withdraw it at any time through a service that accompanies you.\n");
}

}  // namespace

v1::ConsentReceipt BuildConsentReceipt(const v1::Consent& k,
                                       const directory::DirectoryApi& directory) {
  v1::ConsentReceipt r;
  r.set_consent_id(k.id());
  r.set_youth_id(k.youth_id());
  *r.mutable_categories() = k.categories();
  r.set_all_non_special_categories(k.all_non_special_categories());
  *r.mutable_purposes() = k.purposes();
  *r.mutable_valid_from() = k.valid_from();
  *r.mutable_valid_until() = k.valid_until();
  r.set_giver(k.giver());
  r.set_guardian_id(k.guardian_id());
  r.set_youth_opinion(k.youth_opinion());
  r.set_recorded_by_service_id(k.recorded_by_service_id());
  r.set_recorded_by_member_id(k.recorded_by_member_id());
  *r.mutable_recorded_at() = k.recorded_at();
  if (k.has_withdrawn_at()) *r.mutable_withdrawn_at() = k.withdrawn_at();
  r.set_withdrawn_by_member_id(k.withdrawn_by_member_id());
  r.set_state(k.state());
  absl::StatusOr<directory::ServiceInfo> recorder =
      directory.GetService(k.recorded_by_service_id());
  r.set_recorded_by_service_name(recorder.ok() ? recorder->name : k.recorded_by_service_id());
  const Named to = AddRecipients(k, directory, r);
  r.set_text(ReceiptText(k, r, to));
  return r;
}

}  // namespace relais::care
