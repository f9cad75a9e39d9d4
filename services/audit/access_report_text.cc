#include "services/audit/access_report_text.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "relais/v1/common.pb.h"

namespace relais::audit {
namespace {

// A phrase in both languages.
struct Words {
  const char* fr;
  const char* en;
};

const char* Pick(const Words& w, bool en) { return en ? w.en : w.fr; }

// Sectors are data; the ones every deployment has get words, others keep their id.
std::string SectorWords(absl::string_view id, bool en) {
  if (id == "aide_jeunesse") return en ? "youth aid" : "aide à la jeunesse";
  if (id == "enseignement") return en ? "education" : "enseignement";
  if (id == "sante_mentale") return en ? "mental health" : "santé mentale";
  if (id == "action_sociale") return en ? "social action" : "action sociale";
  if (id == "prevention") return en ? "prevention" : "prévention";
  return std::string(id);
}

std::string RoleWords(absl::string_view roles, bool en) {
  std::vector<std::string> out;
  for (absl::string_view r : absl::StrSplit(roles, ',', absl::SkipEmpty())) {
    if (r == "caseworker") {
      out.push_back(en ? "caseworker" : "intervenant");
    } else if (r == "coordinator") {
      out.push_back(en ? "coordinator" : "coordination");
    } else if (r == "auditor") {
      out.push_back(en ? "auditor (data protection)" : "auditeur (protection des données)");
    } else if (r == "admin") {
      out.push_back(en ? "administrator" : "administrateur");
    } else {
      out.push_back(std::string(r));
    }
  }
  if (out.empty()) return en ? "unidentified" : "non identifié";
  return absl::StrJoin(out, ", ");
}

// What was done (or attempted), as a noun phrase.
Words ActionWords(v1::Action action) {
  switch (action) {
    case v1::ACTION_CREATE_YOUTH:
      return {"ouverture du dossier", "opening the record"};
    case v1::ACTION_FIND_YOUTH:
      return {"recherche du dossier par numéro de registre national",
              "finding the record by national register number"};
    case v1::ACTION_READ_YOUTH:
      return {"consultation de l'identité", "reading the identity"};
    case v1::ACTION_ADD_ENTRY:
      return {"ajout d'une note", "adding an entry"};
    case v1::ACTION_LIST_ENTRIES:
      return {"liste des notes", "listing the entries"};
    case v1::ACTION_READ_ENTRY:
      return {"lecture d'une note", "reading an entry"};
    case v1::ACTION_OPEN_ACCOMPANIMENT:
      return {"début d'un accompagnement", "starting an accompaniment"};
    case v1::ACTION_END_ACCOMPANIMENT:
      return {"fin d'un accompagnement", "ending an accompaniment"};
    case v1::ACTION_REASSIGN_REFERENT:
      return {"changement de la personne de référence", "changing the referent"};
    case v1::ACTION_READ_CARE:
      return {"consultation des accompagnements, relais ou consentements",
              "reading accompaniments, handovers or consents"};
    case v1::ACTION_PROPOSE_HANDOVER:
      return {"proposition d'un passage de relais", "proposing a handover"};
    case v1::ACTION_ACCEPT_HANDOVER:
      return {"acceptation d'un passage de relais", "accepting a handover"};
    case v1::ACTION_DECLINE_HANDOVER:
      return {"refus d'un passage de relais", "declining a handover"};
    case v1::ACTION_CANCEL_HANDOVER:
      return {"annulation d'un passage de relais", "cancelling a handover"};
    case v1::ACTION_COMPLETE_HANDOVER:
      return {"clôture d'un passage de relais", "completing a handover"};
    case v1::ACTION_SCHEDULE_CONCERTATION:
      return {"organisation d'une réunion de concertation", "scheduling a concertation meeting"};
    case v1::ACTION_RECORD_CONCERTATION:
      return {"compte rendu de la tenue d'une réunion de concertation",
              "recording how a concertation meeting ended"};
    case v1::ACTION_GRANT_CONSENT:
      return {"enregistrement d'un consentement", "recording a consent"};
    case v1::ACTION_WITHDRAW_CONSENT:
      return {"retrait d'un consentement", "withdrawing a consent"};
    case v1::ACTION_CHECK_ACCESS:
      return {"vérification d'un droit d'accès", "checking an access right"};
    case v1::ACTION_QUERY_AUDIT:
      return {"consultation du journal des accès", "querying the access log"};
    case v1::ACTION_ACCESS_REPORT:
      return {"demande du rapport des accès", "requesting the access report"};
    case v1::ACTION_RESTRICT_YOUTH:
      return {"limitation du traitement du dossier", "restricting processing of the record"};
    case v1::ACTION_LIFT_RESTRICTION:
      return {"levée de la limitation du dossier", "lifting the restriction of the record"};
    case v1::ACTION_SET_LEGAL_HOLD:
      return {"mise sous conservation légale", "setting a legal hold"};
    case v1::ACTION_LIFT_LEGAL_HOLD:
      return {"levée de la conservation légale", "lifting the legal hold"};
    case v1::ACTION_ERASE_YOUTH:
      return {"effacement du dossier", "erasing the record"};
    case v1::ACTION_OPEN_EMERGENCY_ACCESS:
      return {"ouverture d'un accès d'urgence", "opening an emergency access"};
    case v1::ACTION_REVIEW_EMERGENCY_ACCESS:
      return {"contrôle d'un accès d'urgence", "reviewing an emergency access"};
    case v1::ACTION_EXPORT_YOUTH:
      return {"export du dossier (copie des données)", "exporting the record (data copy)"};
    default:
      return {nullptr, nullptr};
  }
}

std::string ActionText(v1::Action action, bool en) {
  const Words w = ActionWords(action);
  if (w.fr != nullptr) return Pick(w, en);
  // An action added later: its name, in lower case, rather than nothing.
  std::string name = v1::Action_IsValid(action) ? v1::Action_Name(action)
                                                : absl::StrCat("action ", static_cast<int>(action));
  return absl::AsciiStrToLower(absl::StripPrefix(name, "ACTION_"));
}

std::string PurposeText(v1::Purpose purpose, bool en) {
  switch (purpose) {
    case v1::PURPOSE_COORDINATION:
      return en ? "coordination between services" : "concertation entre services";
    case v1::PURPOSE_HANDOVER:
      return en ? "handover" : "passage de relais";
    default:
      return "";
  }
}

std::string ReasonText(absl::string_view code, bool en) {
  static const std::pair<const char*, Words> kReasons[] = {
      {"token_missing", {"personne n'était identifié", "no one was identified"}},
      {"token_invalid", {"l'identification n'était pas valable", "the identification was invalid"}},
      {"token_expired", {"l'identification avait expiré", "the identification had expired"}},
      {"token_signature_invalid",
       {"l'identification n'était pas valable", "the identification was invalid"}},
      {"role_not_permitted",
       {"ce rôle n'y donne pas droit", "this role does not give the right to do it"}},
      {"wrong_service",
       {"ce n'était pas à ce service de le faire", "it was not for this service to do"}},
      {"no_active_accompaniment",
       {"ce service ne t'accompagnait pas", "this service was not accompanying you"}},
      {"entry_private",
       {"la note est réservée au service qui l'a écrite",
        "the entry is private to the service that wrote it"}},
      {"no_consent",
       {"tu n'avais pas donné ton accord à ce service", "you had not consented to this service"}},
      {"consent_category_not_covered",
       {"ton accord ne couvre pas ce type d'information",
        "your consent does not cover this kind of information"}},
      {"consent_purpose_not_covered",
       {"ton accord ne couvre pas cette finalité", "your consent does not cover this purpose"}},
      {"record_restricted",
       {"le traitement du dossier était limité", "processing of the record was restricted"}},
      {"record_erased", {"le dossier était effacé", "the record was erased"}},
      {"erased", {"le dossier était effacé", "the record was erased"}},
      {"not_found", {"l'élément demandé n'existe pas", "the item asked for does not exist"}},
      {"entry_not_found", {"la note demandée n'existe pas", "the entry asked for does not exist"}},
      {"certificate_service_mismatch",
       {"le logiciel appelant n'était pas celui du service",
        "the calling software was not the service's own"}},
  };
  for (const auto& [c, w] : kReasons) {
    if (code == c) return Pick(w, en);
  }
  return absl::StrCat(en ? "reason: " : "motif : ", code);
}

std::string FormatDate(const google::protobuf::Timestamp& ts) {
  const absl::Time t = absl::FromUnixSeconds(ts.seconds());
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::UTCTimeZone());
}

}  // namespace

bool IsReportLanguage(absl::string_view language) { return language == "fr" || language == "en"; }

std::string RenderAccessReportText(const v1::AccessReportResponse& report,
                                   absl::string_view language) {
  const bool en = language == "en";
  std::string out;
  absl::StrAppend(&out,
                  en ? "Access report — who consulted or handled your record"
                     : "Rapport des accès — qui a consulté ou traité ton dossier",
                  "\n");
  absl::StrAppend(&out, en ? "Record: " : "Dossier : ", report.youth_id(), "\n");
  const int n = report.lines_size();
  if (n == 0) {
    absl::StrAppend(&out, en ? "Period: none\n\nNo access has been recorded.\n"
                             : "Période : aucune\n\nAucun accès n'a été enregistré.\n");
    return out;
  }
  absl::StrAppend(&out, en ? "Period: from " : "Période : du ", FormatDate(report.lines(0).time()),
                  en ? " to " : " au ", FormatDate(report.lines(n - 1).time()), " (UTC)\n\n");
  int allowed = 0;
  int refused = 0;
  for (const v1::AccessReportLine& line : report.lines()) {
    std::string who;
    if (line.service_name().empty() && line.service_id().empty()) {
      who = en ? "Unidentified caller" : "Appel non identifié";
    } else {
      who = line.service_name().empty() ? line.service_id() : line.service_name();
      if (!line.service_sector().empty()) {
        absl::StrAppend(&who, " (", SectorWords(line.service_sector(), en), ")");
      }
    }
    absl::StrAppend(&out, "- ", FormatDate(line.time()), " — ", who, en ? ", role " : ", rôle ",
                    RoleWords(line.role(), en));
    if (!line.member().empty()) absl::StrAppend(&out, en ? ", by " : ", par ", line.member());
    absl::StrAppend(&out, en ? ": " : " : ", ActionText(line.action(), en));
    const std::string purpose = PurposeText(line.purpose(), en);
    if (!purpose.empty()) {
      absl::StrAppend(&out, en ? ", for " : ", pour ", purpose);
    }
    if (line.decision() == v1::DECISION_DENY) {
      ++refused;
      absl::StrAppend(
          &out, en ? " — refused: " : " — refusé : ", ReasonText(line.reason_code(), en), ".\n");
    } else {
      ++allowed;
      absl::StrAppend(&out, en ? " — allowed.\n" : " — autorisé.\n");
    }
  }
  absl::StrAppend(
      &out, "\n",
      en ? absl::StrCat(n, n == 1 ? " access" : " accesses", ": ", allowed, " allowed, ", refused,
                        " refused.\n")
         : absl::StrCat(n, " accès : ", allowed, allowed > 1 ? " autorisés" : " autorisé", ", ",
                        refused, refused > 1 ? " refusés" : " refusé", ".\n"));
  return out;
}

}  // namespace relais::audit
