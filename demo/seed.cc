#include "demo/seed.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "demo/profiles.h"
#include "services/common/rpc.h"
#include "services/partnership/partnership_store.h"

namespace relais::demo {
namespace {

struct DemoService {
  const char* key;
  // Stable, so that deploy/make-dev-certs.sh can issue each service's client
  // certificate (Common Name = service id) before the database exists.
  const char* id;
  const char* name;
  const char* sector;
  const char* kind;
};

// table: the demo's services.
constexpr DemoService kServices[] = {
    {"amo", "svc_amo_charleroi", "AMO Le Relais (Charleroi)", "aide_jeunesse", "AMO"},
    {"saj", "svc_saj_charleroi", "SAJ de Charleroi", "aide_jeunesse", "SAJ"},
    {"pms", "svc_pms_charleroi", "Centre PMS de Charleroi", "enseignement", "PMS"},
    {"cpas", "svc_cpas_charleroi", "CPAS de Charleroi", "action_sociale", "CPAS"},
    {"prev", "svc_prevention_charleroi", "Service de prévention de Charleroi", "prevention",
     "Prévention"},
    {"mado", "svc_mado_charleroi", "MADO Charleroi", "aide_jeunesse", "MADO"},
    {"ssm", "svc_ssm_charleroi", "Service de santé mentale de Charleroi", "sante_mentale", "SSM"},
    {"agaj", "svc_agaj", "Administration générale de l'Aide à la jeunesse", "aide_jeunesse",
     "AGAJ"},
};

struct DemoMember {
  const char* login;
  const char* name;
  const char* service_key;
  v1::Role role;
};

// table: the demo's members, one role each.
constexpr DemoMember kMembers[] = {
    {"admin", "Admin Relais", "agaj", v1::ROLE_ADMIN},
    {"dpo", "Délégué à la protection des données", "agaj", v1::ROLE_AUDITOR},
    {"amo.camille", "Camille (AMO)", "amo", v1::ROLE_CASEWORKER},
    {"amo.coord", "Coordination AMO", "amo", v1::ROLE_COORDINATOR},
    {"saj.sam", "Sam (SAJ)", "saj", v1::ROLE_CASEWORKER},
    {"saj.coord", "Coordination SAJ", "saj", v1::ROLE_COORDINATOR},
    {"pms.pauline", "Pauline (PMS)", "pms", v1::ROLE_CASEWORKER},
    {"pms.coord", "Coordination PMS", "pms", v1::ROLE_COORDINATOR},
};

}  // namespace

absl::Status FromGrpc(absl::string_view what, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("seeding: ", what, ": ", s.error_message()));
}

Seeder::Seeder(host::Host& host, std::string password)
    : host_(host), password_(std::move(password)) {
  std::shared_ptr<grpc::Channel> channel = host.InProcessChannel();
  record_ = v1::RecordService::NewStub(channel);
  care_ = v1::CareService::NewStub(channel);
  partnership_ = v1::PartnershipService::NewStub(channel);
}

absl::StatusOr<bool> Seeder::SeedAll() {
  ASSIGN_OR_RETURN(bool created, SeedDirectory());
  if (!created) return false;
  RETURN_IF_ERROR(SeedYouthWorld());
  RETURN_IF_ERROR(SeedPartnership());
  return true;
}

absl::StatusOr<bool> Seeder::SeedDirectory() {
  directory::DirectoryStore& directory = host_.directory();
  if (directory.FindCredentials("admin").ok()) return false;
  for (const DemoService& s : kServices) {
    directory::ServiceInfo info;
    info.id = s.id;
    info.name = s.name;
    info.sector_id = s.sector;
    info.kind = s.kind;
    ASSIGN_OR_RETURN(directory::ServiceInfo created, directory.CreateService(info));
    world_.service_ids[s.key] = created.id;
  }
  // The AGAJ runs the platform: its auditor is the DPO, platform-wide. A store
  // call: the gRPC API can never set this flag.
  RETURN_IF_ERROR(directory.SetServicePlatform(world_.service_ids["agaj"], true));
  for (const DemoMember& m : kMembers) {
    directory::MemberInfo info;
    info.service_id = world_.service_ids[m.service_key];
    info.display_name = m.name;
    info.login = m.login;
    info.roles = {m.role};
    ASSIGN_OR_RETURN(world_.members[m.login], directory.AddMember(info, password_));
  }
  RETURN_IF_ERROR(SeedServiceProfiles(host_, world_.service_ids, world_.members["admin"].id));
  return true;
}

absl::Status Seeder::SeedYouthWorld() {
  ASSIGN_OR_RETURN(SeededYouth youth,
                   AddAccompaniedYouth(15, "Lina (démo)", "Parent de Lina (démo)"));
  world_.youth_id = youth.youth_id;
  world_.guardian_id = youth.guardian_id;
  world_.accompaniment_id = youth.accompaniment_id;
  struct DemoEntry {
    v1::EntryKind kind;
    v1::DataCategory category;
    v1::Visibility visibility;
    const char* body;
  };
  // table: the youth's entries (World::entry_ids).
  const DemoEntry entries[] = {
      {v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED,
       "Premier contact à l'AMO; Lina souhaite être aidée pour sa scolarité."},
      {v1::ENTRY_KIND_APPOINTMENT, v1::DATA_CATEGORY_FAMILY, v1::VISIBILITY_SHARED,
       "Rendez-vous en famille prévu la semaine prochaine."},
      {v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SERVICE_PRIVATE,
       "Note interne à l'équipe AMO."},
  };
  for (const DemoEntry& e : entries) {
    ASSIGN_OR_RETURN(std::string id,
                     AddEntry(youth.youth_id, e.kind, e.category, e.visibility, e.body));
    world_.entry_ids.push_back(std::move(id));
  }
  v1::GrantConsentRequest consent;
  v1::Consent* k = consent.mutable_consent();
  k->set_youth_id(youth.youth_id);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(world_.service_ids["saj"]);
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_categories(v1::DATA_CATEGORY_FAMILY);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  k->add_purposes(v1::PURPOSE_HANDOVER);
  *k->mutable_valid_until() = common::ToProto(host_.clock().Now() + absl::Hours(24 * 182));
  v1::Consent granted;
  ASSIGN_OR_RETURN(auto ctx, As("amo.camille"));
  RETURN_IF_ERROR(FromGrpc("GrantConsent", care_->GrantConsent(ctx.get(), consent, &granted)));
  world_.consent_id = granted.id();
  return absl::OkStatus();
}

absl::Status Seeder::SeedPartnership() {
  const absl::Time now = host_.clock().Now();
  const absl::Duration day = absl::Hours(24);
  v1::ProposeConventionRequest propose;
  v1::Convention* c = propose.mutable_convention();
  c->set_title("AMO Charleroi – Centre PMS Charleroi");
  c->set_purpose(
      "Coordonner l'accompagnement des élèves suivis par l'AMO et le centre PMS, et organiser "
      "les passages de relais entre les deux services.");
  c->add_party_service_ids(world_.service_ids["amo"]);
  c->add_party_service_ids(world_.service_ids["pms"]);
  c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
  c->mutable_scope()->add_categories(v1::DATA_CATEGORY_EDUCATION);
  c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
  c->mutable_scope()->add_purposes(v1::PURPOSE_HANDOVER);
  c->mutable_scope()->set_max_overlap_days(60);
  *c->mutable_start_time() = common::ToProto(now);
  *c->mutable_end_time() = common::ToProto(now + 730 * day);
  *c->mutable_review_time() = common::ToProto(now + 365 * day);
  v1::Convention convention;
  ASSIGN_OR_RETURN(auto ctx, As("amo.coord"));
  RETURN_IF_ERROR(FromGrpc("ProposeConvention",
                           partnership_->ProposeConvention(ctx.get(), propose, &convention)));
  v1::SignConventionRequest sign;
  sign.set_convention_id(convention.id());
  ASSIGN_OR_RETURN(ctx, As("pms.coord"));
  RETURN_IF_ERROR(
      FromGrpc("SignConvention", partnership_->SignConvention(ctx.get(), sign, &convention)));
  world_.convention_id = convention.id();

  v1::CreateProtocolRequest create;
  v1::Protocol* p = create.mutable_protocol();
  p->set_title("Partage d'informations lors d'un passage de relais");
  p->add_service_ids(world_.service_ids["amo"]);
  p->add_service_ids(world_.service_ids["pms"]);
  p->add_roles(v1::ROLE_CASEWORKER);
  p->add_roles(v1::ROLE_COORDINATOR);
  p->set_convention_id(convention.id());
  *p->mutable_review_time() = common::ToProto(now + 180 * day);
  create.mutable_first_version()->set_summary("Première version, adoptée par les deux services.");
  create.mutable_first_version()->set_text(
      "1. Le jeune est informé du passage de relais et donne son avis.\n"
      "2. Seules les informations utiles au service qui prend le relais sont partagées.\n"
      "3. Les deux référents se rencontrent pendant la période de chevauchement.\n");
  v1::Protocol made;
  ASSIGN_OR_RETURN(ctx, As("amo.coord"));
  RETURN_IF_ERROR(
      FromGrpc("CreateProtocol", partnership_->CreateProtocol(ctx.get(), create, &made)));
  world_.protocol_ids.push_back(made.id());
  return SeedLapsedProtocol();
}

absl::Status Seeder::SeedLapsedProtocol() {
  // Written a year ago and due for review a month ago: the API refuses a
  // review date in the past, so the store writes it with a clock set back then.
  const absl::Time now = host_.clock().Now();
  common::FakeClock then(now - absl::Hours(24 * 365));
  ASSIGN_OR_RETURN(std::unique_ptr<partnership::PartnershipStore> store,
                   partnership::PartnershipStore::Create(&host_.db(), &then));
  v1::Protocol p;
  p.set_title("Accueil d'un jeune sans rendez-vous");
  p.add_service_ids(world_.service_ids["amo"]);
  p.add_roles(v1::ROLE_CASEWORKER);
  *p.mutable_review_time() = common::ToProto(now - absl::Hours(24 * 30));
  v1::ProtocolVersion v;
  v.set_summary("Procédure d'accueil (à revoir).");
  v.set_link("https://intranet.example.org/amo/accueil.pdf");
  const directory::MemberInfo& coord = world_.members["amo.coord"];
  std::string id;  // kept once committed: the callback may run twice
  RETURN_IF_ERROR(host_.db().Write([&](storage::Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Protocol made,
                     store->InsertProtocol(txn, p, v, {coord.id, coord.service_id}));
    id = made.id();
    return absl::OkStatus();
  }));
  world_.protocol_ids.push_back(std::move(id));
  return absl::OkStatus();
}

absl::StatusOr<SeededYouth> Seeder::AddAccompaniedYouth(int age, absl::string_view name,
                                                        absl::string_view guardian) {
  const absl::CivilDay today = absl::ToCivilDay(host_.clock().Now(), absl::UTCTimeZone());
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name(std::string(name));
  create.mutable_youth()->set_date_of_birth(
      absl::FormatCivilTime(absl::CivilDay(today.year() - age, 3, 14)));
  v1::Guardian* g = create.mutable_youth()->add_guardians();
  g->set_display_name(std::string(guardian));
  g->set_relationship("mère");
  v1::Youth youth;
  ASSIGN_OR_RETURN(auto ctx, As("amo.camille"));
  RETURN_IF_ERROR(FromGrpc("CreateYouth", record_->CreateYouth(ctx.get(), create, &youth)));
  SeededYouth seeded;
  seeded.youth_id = youth.id();
  if (youth.guardians_size() > 0) seeded.guardian_id = youth.guardians(0).id();

  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(world_.members["amo.camille"].id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment acc;
  ASSIGN_OR_RETURN(ctx, As("amo.coord"));
  RETURN_IF_ERROR(FromGrpc("OpenAccompaniment", care_->OpenAccompaniment(ctx.get(), open, &acc)));
  seeded.accompaniment_id = acc.id();
  return seeded;
}

absl::StatusOr<std::string> Seeder::AddEntry(const std::string& youth_id, v1::EntryKind kind,
                                             v1::DataCategory category, v1::Visibility visibility,
                                             absl::string_view body) {
  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(youth_id);
  add.mutable_entry()->set_kind(kind);
  add.mutable_entry()->set_category(category);
  add.mutable_entry()->set_visibility(visibility);
  add.mutable_entry()->set_body(std::string(body));
  v1::Entry out;
  ASSIGN_OR_RETURN(auto ctx, As("amo.camille"));
  RETURN_IF_ERROR(FromGrpc("AddEntry", record_->AddEntry(ctx.get(), add, &out)));
  return out.id();
}

absl::StatusOr<std::string> Seeder::Token(absl::string_view login) const {
  auto it = world_.members.find(login);
  if (it == world_.members.end()) return absl::NotFoundError(absl::StrCat("no member ", login));
  const directory::MemberInfo& m = it->second;
  std::vector<std::string> roles;
  for (v1::Role r : m.roles) roles.push_back(access::RoleName(r));
  return host_.issuer().Issue(m.id, m.service_id, roles);
}

absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Seeder::As(absl::string_view login) const {
  ASSIGN_OR_RETURN(std::string token, Token(login));
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

}  // namespace relais::demo
