#include "services/host/demo_data.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"

namespace relais::host {
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
  std::vector<v1::Role> roles;
};

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace

absl::StatusOr<DemoSummary> SeedDemo(Host& host) {
  DemoSummary summary;
  if (host.directory().FindCredentials("admin").ok()) return summary;
  summary.created = true;

  std::map<std::string, std::string> service_ids;
  for (const DemoService& s : kServices) {
    directory::ServiceInfo info;
    info.id = s.id;
    info.name = s.name;
    info.sector_id = s.sector;
    info.kind = s.kind;
    ASSIGN_OR_RETURN(directory::ServiceInfo created, host.directory().CreateService(info));
    service_ids[s.key] = created.id;
  }
  // The AGAJ runs the platform: its auditor is the DPO, platform-wide. A store
  // call: the gRPC API can never set this flag.
  RETURN_IF_ERROR(host.directory().SetServicePlatform(service_ids["agaj"], true));
  const std::vector<DemoMember> members = {
      {"admin", "Admin Relais", "agaj", {v1::ROLE_ADMIN}},
      {"dpo", "Délégué à la protection des données", "agaj", {v1::ROLE_AUDITOR}},
      {"amo.camille", "Camille (AMO)", "amo", {v1::ROLE_CASEWORKER}},
      {"amo.coord", "Coordination AMO", "amo", {v1::ROLE_COORDINATOR}},
      {"saj.sam", "Sam (SAJ)", "saj", {v1::ROLE_CASEWORKER}},
      {"saj.coord", "Coordination SAJ", "saj", {v1::ROLE_COORDINATOR}},
      {"pms.pauline", "Pauline (PMS)", "pms", {v1::ROLE_CASEWORKER}},
  };
  std::map<std::string, directory::MemberInfo> by_login;
  for (const DemoMember& m : members) {
    directory::MemberInfo info;
    info.service_id = service_ids[m.service_key];
    info.display_name = m.name;
    info.login = m.login;
    info.roles = m.roles;
    ASSIGN_OR_RETURN(by_login[m.login], host.directory().AddMember(info, kDemoPassword));
  }
  summary.amo_service_id = service_ids["amo"];
  summary.saj_service_id = service_ids["saj"];

  auto token_for = [&](const std::string& login) -> absl::StatusOr<std::string> {
    const directory::MemberInfo& m = by_login[login];
    std::vector<std::string> roles;
    for (v1::Role r : m.roles) roles.push_back(rpc::RoleName(r));
    return host.issuer().Issue(m.id, m.service_id, roles);
  };
  auto channel = host.InProcessChannel();
  auto records = v1::RecordService::NewStub(channel);
  auto care = v1::CareService::NewStub(channel);
  ASSIGN_OR_RETURN(std::string camille, token_for("amo.camille"));
  ASSIGN_OR_RETURN(std::string amo_coord, token_for("amo.coord"));
  auto ctx_for = [](const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return ctx;
  };

  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Lina (démo)");
  create.mutable_youth()->set_date_of_birth(
      absl::FormatCivilTime(absl::CivilDay(today.year() - 15, 3, 14)));
  v1::Guardian* g = create.mutable_youth()->add_guardians();
  g->set_display_name("Parent de Lina (démo)");
  g->set_relationship("mère");
  v1::Youth youth;
  RETURN_IF_ERROR(FromGrpc(records->CreateYouth(ctx_for(camille).get(), create, &youth)));
  summary.youth_id = youth.id();

  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth.id());
  open.set_referent_member_id(by_login["amo.camille"].id);
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment acc;
  RETURN_IF_ERROR(FromGrpc(care->OpenAccompaniment(ctx_for(amo_coord).get(), open, &acc)));

  struct DemoEntry {
    v1::EntryKind kind;
    v1::DataCategory category;
    v1::Visibility visibility;
    const char* body;
  };
  const DemoEntry entries[] = {
      {v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED,
       "Premier contact à l'AMO; Lina souhaite être aidée pour sa scolarité."},
      {v1::ENTRY_KIND_APPOINTMENT, v1::DATA_CATEGORY_FAMILY, v1::VISIBILITY_SHARED,
       "Rendez-vous en famille prévu la semaine prochaine."},
      {v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SERVICE_PRIVATE,
       "Note interne à l'équipe AMO."},
  };
  for (const DemoEntry& e : entries) {
    v1::AddEntryRequest add;
    add.mutable_entry()->set_youth_id(youth.id());
    add.mutable_entry()->set_kind(e.kind);
    add.mutable_entry()->set_category(e.category);
    add.mutable_entry()->set_visibility(e.visibility);
    add.mutable_entry()->set_body(e.body);
    v1::Entry out;
    RETURN_IF_ERROR(FromGrpc(records->AddEntry(ctx_for(camille).get(), add, &out)));
  }

  v1::GrantConsentRequest consent;
  v1::Consent* k = consent.mutable_consent();
  k->set_youth_id(youth.id());
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(service_ids["saj"]);
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_categories(v1::DATA_CATEGORY_FAMILY);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  k->add_purposes(v1::PURPOSE_HANDOVER);
  *k->mutable_valid_until() = rpc::ToProto(absl::Now() + absl::Hours(24 * 182));
  v1::Consent granted;
  RETURN_IF_ERROR(FromGrpc(care->GrantConsent(ctx_for(camille).get(), consent, &granted)));
  return summary;
}

}  // namespace relais::host
