#include "services/directory/directory_schema.h"

#include "access/roles.h"

namespace relais::directory {
namespace {

// Version 1: the tables. Members' roles are a comma list of access::RoleName()
// names; password_hash is an auth::HashPassword() string, never a password.
constexpr char kTables[] = R"sql(
CREATE TABLE dir_sectors (
  id   TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE dir_services (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  sector_id     TEXT NOT NULL REFERENCES dir_sectors(id),
  kind          TEXT NOT NULL DEFAULT '',
  created_at_us INTEGER NOT NULL
);
CREATE INDEX dir_services_by_sector ON dir_services(sector_id, id);
CREATE TABLE dir_members (
  id            TEXT PRIMARY KEY,
  service_id    TEXT NOT NULL REFERENCES dir_services(id),
  display_name  TEXT NOT NULL,
  login         TEXT NOT NULL UNIQUE,
  roles         TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  active        INTEGER NOT NULL DEFAULT 1,
  created_at_us INTEGER NOT NULL
);
CREATE TABLE dir_glossary (
  acronym     TEXT PRIMARY KEY,
  expansion   TEXT NOT NULL,
  sector_id   TEXT REFERENCES dir_sectors(id),  -- NULL: used by every sector
  description TEXT NOT NULL
);
)sql";

// Version 2: the sectors named in DESIGN.md. Admins add more with CreateSector.
constexpr char kSectors[] = R"sql(
INSERT INTO dir_sectors(id, name) VALUES
  ('aide_jeunesse',  'Aide à la jeunesse'),
  ('enseignement',   'Enseignement'),
  ('sante_mentale',  'Santé mentale'),
  ('action_sociale', 'Action sociale'),
  ('prevention',     'Prévention');
)sql";

// Version 3: the acronyms a worker of one sector meets in another's notes
// (the "jargon" obstacle of chantier 5), as used in Wallonia-Brussels.
constexpr char kGlossary[] = R"sql(
INSERT INTO dir_glossary(acronym, expansion, sector_id, description) VALUES
  ('AJ', 'Aide à la jeunesse', 'aide_jeunesse',
   'Le secteur de la Fédération Wallonie-Bruxelles qui aide les jeunes en difficulté ou en danger et leur famille (Code du 18 janvier 2018).'),
  ('AGAJ', 'Administration générale de l''Aide à la Jeunesse', 'aide_jeunesse',
   'L''administration de la Fédération Wallonie-Bruxelles qui agrée, subventionne et inspecte les services de l''aide à la jeunesse.'),
  ('AMO', 'Service d''Action en Milieu Ouvert', 'aide_jeunesse',
   'Aide préventive aux jeunes et à leur famille dans leur milieu de vie, à leur demande, sans mandat, gratuite et confidentielle.'),
  ('SAJ', 'Service de l''Aide à la Jeunesse', 'aide_jeunesse',
   'Le conseiller de l''aide à la jeunesse y organise une aide consentie, acceptée par le jeune et sa famille.'),
  ('SPJ', 'Service de Protection de la Jeunesse', 'aide_jeunesse',
   'Le directeur de la protection de la jeunesse y met en œuvre l''aide contrainte décidée par le tribunal de la jeunesse.'),
  ('SRG', 'Service Résidentiel Général', 'aide_jeunesse',
   'Service mandaté qui héberge et accompagne des jeunes hors de leur famille, sur décision du conseiller ou du directeur.'),
  ('SAIE', 'Service d''Aide et d''Intervention Éducative', 'aide_jeunesse',
   'Service mandaté qui accompagne le jeune et sa famille dans leur milieu de vie, sur décision du conseiller ou du directeur.'),
  ('MADO', 'Maison de l''adolescent', 'aide_jeunesse',
   'Lieu d''accueil, d''écoute et d''orientation pour les adolescents et leur entourage, à la croisée des secteurs.'),
  ('PMS', 'Centre Psycho-Médico-Social', 'enseignement',
   'Psychologues, assistants sociaux et infirmiers qui accompagnent gratuitement les élèves et leur famille, en lien avec l''école.'),
  ('PSE', 'Promotion de la Santé à l''École', 'enseignement',
   'Service qui assure le suivi médical préventif des élèves (bilans de santé, vaccinations).'),
  ('SSM', 'Service de Santé Mentale', 'sante_mentale',
   'Consultations psychologiques, psychiatriques et sociales ambulatoires, souvent avec une équipe enfants-adolescents.'),
  ('CPAS', 'Centre Public d''Action Sociale', 'action_sociale',
   'Service public communal qui garantit le droit à l''aide sociale : revenu d''intégration, aides, accompagnement social.'),
  ('RIS', 'Revenu d''Intégration Sociale', 'action_sociale',
   'Revenu minimum versé par le CPAS, pour les 18-25 ans souvent lié à un projet individualisé d''intégration sociale (PIIS).'),
  ('PCS', 'Plan de Cohésion Sociale', 'action_sociale',
   'Programme communal wallon qui soutient l''accès aux droits et le lien social dans les quartiers.'),
  ('PSSP', 'Plan Stratégique de Sécurité et de Prévention', 'prevention',
   'Plan fédéral qui finance les services communaux de prévention (éducateurs de rue, médiation, accrochage scolaire).'),
  ('RGPD', 'Règlement Général sur la Protection des Données', NULL,
   'Règlement européen qui encadre ce que les services peuvent partager sur un jeune, avec qui et sur quelle base.'),
  ('DGDE', 'Délégué général aux droits de l''enfant', NULL,
   'Institution indépendante de la Fédération Wallonie-Bruxelles qui veille aux droits des enfants et reçoit leurs plaintes.'),
  ('FWB', 'Fédération Wallonie-Bruxelles', NULL,
   'L''entité compétente pour l''aide à la jeunesse et l''enseignement des francophones en Wallonie et à Bruxelles.');
)sql";

// Version 4: the platform operator's service (DESIGN.md "Separated duties"):
// its auditors are the DPO, platform-wide. Set only by host-side code (the
// demo seed, relais-admin), never through the gRPC API; existing services are not.
constexpr char kPlatformFlag[] = R"sql(
ALTER TABLE dir_services ADD COLUMN platform INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 5: one-time passwords (issue #11). AddMember and ResetPassword store
// the hash of a random secret the member must replace at first login, before
// password_expires_at_us (NULL: the password does not expire). Existing
// members keep the password they chose.
constexpr char kOneTimePasswords[] = R"sql(
ALTER TABLE dir_members ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dir_members ADD COLUMN password_expires_at_us INTEGER;
)sql";

// Version 6: a service is staffed once it has had a caseworker or a
// coordinator (DESIGN.md "Separated duties"). From then on only its own
// coordinators, or relais-admin on the host, give those roles or issue their
// one-time passwords: an admin staffs a new service, never one with records.
// Never cleared, so removing a service's coordinators does not reopen it.
constexpr char kStaffedFlag[] = R"sql(
ALTER TABLE dir_services ADD COLUMN staffed INTEGER NOT NULL DEFAULT 0;
UPDATE dir_services SET staffed = 1 WHERE id IN (
  SELECT service_id FROM dir_members
  WHERE ',' || roles || ',' LIKE '%,caseworker,%' OR ',' || roles || ',' LIKE '%,coordinator,%');
)sql";

// Version 7: authenticated access facts (issue #11): the member and service
// rows the access decision reads carry a MAC (DirectoryStore's kMemberMac,
// kServiceMac), filled for existing rows by SealExistingRows() once the key
// is bound.
constexpr char kRowMacs[] = R"sql(
ALTER TABLE dir_services ADD COLUMN mac BLOB;
ALTER TABLE dir_members ADD COLUMN mac BLOB;
)sql";

// Version 8: service profiles (issue #14): who a service helps, where and how
// to reach it, in words another sector understands, so that SearchServices is
// one query. Needs, communes and languages are child rows; a commune is
// matched on its folded form (FoldForMatch: case and Latin-1 accents' case).
// Not an access fact: no MAC.
constexpr char kServiceProfiles[] = R"sql(
CREATE TABLE dir_service_profiles (
  service_id            TEXT PRIMARY KEY REFERENCES dir_services(id),
  mission               TEXT NOT NULL,
  offer                 TEXT NOT NULL,
  min_age               INTEGER NOT NULL,
  max_age               INTEGER NOT NULL,
  contact               TEXT NOT NULL,
  opening_hours         TEXT NOT NULL DEFAULT '',
  reviewed_by_member_id TEXT NOT NULL,
  reviewed_at_us        INTEGER NOT NULL
);
CREATE INDEX dir_service_profiles_by_age ON dir_service_profiles(min_age, max_age);
CREATE TABLE dir_service_needs (
  service_id TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position   INTEGER NOT NULL,
  need       TEXT NOT NULL,
  PRIMARY KEY (service_id, need)
);
CREATE INDEX dir_service_needs_by_need ON dir_service_needs(need, service_id);
CREATE TABLE dir_service_communes (
  service_id     TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position       INTEGER NOT NULL,
  commune        TEXT NOT NULL,
  commune_folded TEXT NOT NULL,
  PRIMARY KEY (service_id, commune_folded)
);
CREATE INDEX dir_service_communes_by_commune ON dir_service_communes(commune_folded, service_id);
CREATE TABLE dir_service_languages (
  service_id TEXT NOT NULL REFERENCES dir_service_profiles(service_id),
  position   INTEGER NOT NULL,
  language   TEXT NOT NULL,
  PRIMARY KEY (service_id, language)
);
CREATE TABLE dir_definitions (
  term_folded   TEXT NOT NULL,
  sector_id     TEXT NOT NULL REFERENCES dir_sectors(id),
  term          TEXT NOT NULL,
  text          TEXT NOT NULL,
  updated_at_us INTEGER NOT NULL,
  PRIMARY KEY (term_folded, sector_id)
);
)sql";

// Version 9: the shared definitions chantier 5 asks for ("créer un langage
// commun ... autour de ce qu'on entend par « prévention », par « bien-être des
// jeunes », par « besoins des enfants »"): what each word means in each
// sector's practice, so that services read each other right. Admins replace
// them with DefineTerm. 2026-12-04 00:00 UTC.
constexpr char kDefinitions[] = R"sql(
INSERT INTO dir_definitions(term_folded, sector_id, term, text, updated_at_us) VALUES
  ('prévention', 'aide_jeunesse', 'prévention',
   'Prévention éducative et sociale : agir tôt, à la demande du jeune ou de sa famille, dans son milieu de vie, sans mandat et de façon confidentielle (AMO), pour éviter que les difficultés ne deviennent un danger. Ce n''est ni du contrôle ni du signalement.', 1796342400000000),
  ('prévention', 'enseignement', 'prévention',
   'Ce que l''école et le centre PMS font pour que l''élève reste accroché à sa scolarité et en bonne santé : repérage du décrochage, accompagnement de l''élève et de sa famille, promotion de la santé (PSE).', 1796342400000000),
  ('prévention', 'sante_mentale', 'prévention',
   'Repérer tôt la souffrance psychique et en réduire les risques (consultations accessibles, travail avec l''entourage), avant que ne s''installent des troubles qui demandent des soins.', 1796342400000000),
  ('prévention', 'action_sociale', 'prévention',
   'Éviter que la précarité ne s''installe : accès aux droits, aides financières, logement, accompagnement social de la famille et du jeune adulte.', 1796342400000000),
  ('prévention', 'prevention', 'prévention',
   'Prévention sociale et de proximité des services communaux (PSSP) : éducateurs de rue, médiation, accrochage scolaire, présence dans les quartiers. Elle vise aussi la sécurité publique, ce qui la distingue de la prévention de l''aide à la jeunesse.', 1796342400000000),
  ('bien-être', 'aide_jeunesse', 'bien-être',
   'L''épanouissement du jeune dans sa famille et son milieu de vie, le respect de ses droits et de sa parole ; le but de l''aide, pas seulement l''absence de danger.', 1796342400000000),
  ('bien-être', 'enseignement', 'bien-être',
   'Le bien-être à l''école : se sentir en sécurité, reconnu et soutenu dans la classe et l''établissement, condition pour apprendre (climat scolaire, harcèlement, relation avec les adultes).', 1796342400000000),
  ('bien-être', 'sante_mentale', 'bien-être',
   'La santé mentale au sens large : un équilibre psychique qui permet au jeune de faire face aux difficultés de la vie, pas seulement l''absence de trouble diagnostiqué.', 1796342400000000),
  ('bien-être', 'action_sociale', 'bien-être',
   'Des conditions de vie dignes : revenu, logement, santé, accès aux droits, pour le jeune et sa famille.', 1796342400000000),
  ('besoins de l''enfant', 'aide_jeunesse', 'besoins de l''enfant',
   'Ce dont l''enfant a besoin pour grandir (sécurité, liens stables, soins, éducation, être écouté), évalué avec lui et sa famille ; l''aide part de ces besoins, pas de l''offre des services.', 1796342400000000),
  ('besoins de l''enfant', 'enseignement', 'besoins de l''enfant',
   'Les besoins de l''élève pour apprendre : besoins spécifiques (aménagements raisonnables), soutien scolaire, orientation, et les besoins de base sans lesquels il ne peut suivre la classe.', 1796342400000000),
  ('besoins de l''enfant', 'sante_mentale', 'besoins de l''enfant',
   'Les besoins psychiques et affectifs de l''enfant selon son âge et son développement, que l''équipe enfants-adolescents évalue avec lui et son entourage.', 1796342400000000),
  ('besoins de l''enfant', 'action_sociale', 'besoins de l''enfant',
   'Les besoins matériels et sociaux de l''enfant dans le ménage aidé (logement, alimentation, frais scolaires, soins) que le CPAS prend en compte dans l''aide à la famille.', 1796342400000000);
)sql";

}  // namespace

const std::vector<storage::Migration>& DirectoryMigrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1, kTables},       {2, kSectors},          {3, kGlossary},
      {4, kPlatformFlag}, {5, kOneTimePasswords}, {6, kStaffedFlag},
      {7, kRowMacs},      {8, kServiceProfiles},  {9, kDefinitions},
  };
  return *migrations;
}

}  // namespace relais::directory
