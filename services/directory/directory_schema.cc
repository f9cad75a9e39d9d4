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

}  // namespace

const std::vector<storage::Migration>& DirectoryMigrations() {
  static const auto* migrations = new std::vector<storage::Migration>{
      {1, kTables},           {2, kSectors},     {3, kGlossary}, {4, kPlatformFlag},
      {5, kOneTimePasswords}, {6, kStaffedFlag}, {7, kRowMacs},
  };
  return *migrations;
}

}  // namespace relais::directory
