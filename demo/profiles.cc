#include "demo/profiles.h"

#include <vector>

#include "common/status_macros.h"
#include "services/directory/service_profiles.h"

namespace relais::demo {
namespace {

struct DemoProfile {
  const char* service_key;
  const char* mission;
  const char* offer;
  int min_age;
  int max_age;
  std::vector<std::string> needs;
  std::vector<std::string> communes;
  std::vector<std::string> languages;
  const char* contact;
  const char* hours;
  int reviewed_days_ago;
};

const std::vector<std::string> kCharleroiArea = {
    "Charleroi", "Châtelet", "Fleurus", "Montigny-le-Tilleul", "Courcelles", "Fontaine-l'Évêque"};

// table: the demo's service profiles (fictional, after the kinds of services
// chantier 5 names).
const std::vector<DemoProfile>& Profiles() {
  static const auto* profiles = new std::vector<DemoProfile>{
      {"amo",
       "Aider les jeunes et leur famille, à leur demande, dans leur milieu de vie, sans mandat.",
       "Écoute, accompagnement individuel, médiation familiale, soutien scolaire, permanences sans "
       "rendez-vous.",
       0,
       22,
       {"school_dropout", "family_conflict", "housing", "violence", "leisure"},
       kCharleroiArea,
       {"fr", "ar"},
       "accueil@amo-lerelais.example",
       "lun-ven 9h-17h, mer 13h-19h",
       30},
      {"saj",
       "Organiser l'aide consentie aux jeunes en difficulté ou en danger et à leur famille.",
       "Entretiens avec le conseiller, orientation vers un service mandaté, programme d'aide "
       "accepté par le jeune et sa famille.",
       0,
       18,
       {"family_conflict", "violence", "neglect", "school_dropout"},
       {"Charleroi", "Châtelet", "Fleurus", "Courcelles"},
       {"fr"},
       "accueil@saj-charleroi.example",
       "lun-ven 8h30-16h30",
       90},
      {"pms",
       "Accompagner les élèves, leurs parents et les écoles dans la scolarité, la santé et "
       "l'orientation.",
       "Entretiens psychologiques et sociaux, bilans, orientation scolaire, lien avec l'école en "
       "cas de décrochage.",
       3,
       18,
       {"school_dropout", "orientation", "learning_difficulties", "family_conflict"},
       {"Charleroi", "Montigny-le-Tilleul", "Marchienne-au-Pont"},
       {"fr", "nl"},
       "secretariat@pms-charleroi.example",
       "lun-ven 8h30-16h30, hors congés scolaires",
       60},
      {"cpas",
       "Garantir l'aide sociale et le revenu d'intégration aux personnes qui en ont besoin.",
       "Revenu d'intégration (RIS) et projet individualisé, aide au logement, aides financières, "
       "médiation de dettes.",
       16,
       25,
       {"housing", "income", "debt", "school_dropout"},
       {"Charleroi"},
       {"fr"},
       "accueil.social@cpas-charleroi.example",
       "lun-ven 8h-12h, sans rendez-vous",
       120},
      {"prev",
       "Prévenir l'exclusion et l'insécurité dans les quartiers, avec les jeunes.",
       "Éducateurs de rue, médiation de quartier, accrochage scolaire, activités dans les "
       "quartiers.",
       12,
       25,
       {"school_dropout", "violence", "addiction", "leisure"},
       kCharleroiArea,
       {"fr"},
       "prevention@charleroi-ville.example",
       "lun-sam 10h-20h (travail de rue)",
       200},
      {"mado",
       "Accueillir et écouter les adolescents et leur entourage, et les orienter.",
       "Accueil sans rendez-vous, écoute, groupes de parole, orientation vers le bon service.",
       11,
       22,
       {"mental_health", "family_conflict", "addiction", "violence"},
       {"Charleroi", "Fleurus"},
       {"fr", "en"},
       "accueil@mado-charleroi.example",
       "mar-sam 12h-19h",
       400},
      {"ssm",
       "Soigner la souffrance psychique, avec une équipe enfants-adolescents.",
       "Consultations psychologiques et psychiatriques, thérapies familiales, groupes.",
       0,
       25,
       {"mental_health", "addiction", "family_conflict", "violence"},
       {"Charleroi", "Châtelet", "Gerpinnes"},
       {"fr", "nl", "de"},
       "accueil@ssm-charleroi.example",
       "lun-ven 9h-19h, sur rendez-vous",
       150},
  };
  return *profiles;
}

}  // namespace

absl::Status SeedServiceProfiles(host::Host& host,
                                 const std::map<std::string, std::string, std::less<>>& service_ids,
                                 const std::string& reviewer_id) {
  const directory::ServiceProfiles store(&host.db());
  const absl::Time now = host.clock().Now();
  for (const DemoProfile& d : Profiles()) {
    auto id = service_ids.find(d.service_key);
    if (id == service_ids.end()) continue;
    directory::ServiceProfile p;
    p.mission = d.mission;
    p.offer = d.offer;
    p.min_age = d.min_age;
    p.max_age = d.max_age;
    p.needs = d.needs;
    p.communes = d.communes;
    p.languages = d.languages;
    p.contact = d.contact;
    p.opening_hours = d.hours;
    RETURN_IF_ERROR(
        store.Put(id->second, p, reviewer_id, now - absl::Hours(24) * d.reviewed_days_ago)
            .status());
  }
  return absl::OkStatus();
}

}  // namespace relais::demo
