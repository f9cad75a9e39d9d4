#include "tests/fuzz/seeded_host.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "auth/key_ring.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/status_macros.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/common/rpc.h"

namespace relais::fuzz {
namespace {

// host.cc's audience.
constexpr char kAudience[] = "relais";

struct SeedService {
  const char* key;
  const char* id;
  const char* name;
  const char* sector;
  const char* kind;
};
constexpr SeedService kServices[] = {
    {"amo", "svc_amo_charleroi", "AMO Le Relais", "aide_jeunesse", "AMO"},
    {"saj", "svc_saj_charleroi", "SAJ de Charleroi", "aide_jeunesse", "SAJ"},
    {"pms", "svc_pms_charleroi", "Centre PMS de Charleroi", "enseignement", "PMS"},
    {"agaj", "svc_agaj", "AGAJ", "aide_jeunesse", "AGAJ"},
};

struct SeedMember {
  const char* login;
  const char* service;  // key
  v1::Role role;
};
constexpr SeedMember kMembers[] = {
    {"amo.camille", "amo", v1::ROLE_CASEWORKER}, {"amo.coord", "amo", v1::ROLE_COORDINATOR},
    {"saj.sam", "saj", v1::ROLE_CASEWORKER},     {"saj.coord", "saj", v1::ROLE_COORDINATOR},
    {"pms.pauline", "pms", v1::ROLE_CASEWORKER}, {"dpo", "agaj", v1::ROLE_AUDITOR},
    {"admin", "agaj", v1::ROLE_ADMIN},
};

absl::Status FromGrpc(absl::string_view what, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("seeding: ", what, ": ", s.error_message()));
}

absl::StatusOr<std::string> MakeScratchDir() {
  std::string base;
  if (const char* env = std::getenv("RELAIS_FUZZ_DIR"); env != nullptr && *env != '\0') {
    base = env;
  } else if (::access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";
  } else {
    base = "/tmp";
  }
  std::string templ = absl::StrCat(base, "/relais_seeded_XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("mkdtemp under ", base, ": ", strerror(errno)));
  }
  return templ;
}

}  // namespace

absl::Time SeedEpoch() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 25, 9, 0, 0), absl::UTCTimeZone());
}

const std::vector<std::string>& SeededHost::Logins() {
  static const std::vector<std::string>* const logins = [] {
    auto* v = new std::vector<std::string>();
    for (const SeedMember& m : kMembers) v->push_back(m.login);
    return v;
  }();
  return *logins;
}

absl::StatusOr<std::unique_ptr<SeededHost>> SeededHost::Start(SeededHostOptions options) {
  auto seeded = absl::WrapUnique(new SeededHost());
  seeded->options_ = options;
  if (options.dir.empty()) {
    ASSIGN_OR_RETURN(seeded->dir_, MakeScratchDir());
    seeded->remove_dir_ = true;
  } else {
    seeded->dir_ = options.dir;
  }
  if (options.real_clock) {
    seeded->clock_ = &common::RealClock();
  } else {
    seeded->fake_clock_ = std::make_unique<common::FakeClock>(SeedEpoch());
    seeded->clock_ = seeded->fake_clock_.get();
  }
  host::HostOptions host_options;
  host_options.db_path = absl::StrCat(seeded->dir_, "/relais.db");
  host_options.keys_dir = options.keys_dir;
  host_options.listen_address = options.listen_address;
  host_options.clock = seeded->clock_;
  if (options.fast_scrypt) host_options.scrypt = auth::FastParamsForTests();
  // Handovers are completed by calls (CompleteHandover), not by a timer,
  // so that what an input does depends on the input.
  host_options.sweep_interval = absl::Hours(1);
  ASSIGN_OR_RETURN(seeded->host_, host::Host::Start(host_options));
  seeded->channel_ = seeded->host_->InProcessChannel();
  RETURN_IF_ERROR(seeded->Seed());
  return seeded;
}

SeededHost::~SeededHost() {
  channel_.reset();
  if (host_ != nullptr) host_->Shutdown(absl::Seconds(2));
  host_.reset();
  if (remove_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::StatusOr<std::string> SeededHost::Token(absl::string_view login) const {
  auto it = members_.find(login);
  if (it == members_.end()) return absl::NotFoundError(absl::StrCat("no member ", login));
  return host_->issuer().Issue(it->second.id, it->second.service_id, it->second.roles);
}

absl::Status SeededHost::Seed() {
  std::map<std::string, std::string, std::less<>> service_ids;
  for (const SeedService& s : kServices) {
    directory::ServiceInfo info;
    info.id = s.id;
    info.name = s.name;
    info.sector_id = s.sector;
    info.kind = s.kind;
    info.platform = std::string(s.key) == "agaj";  // its auditor is the DPO
    ASSIGN_OR_RETURN(directory::ServiceInfo created, host_->directory().CreateService(info));
    service_ids[s.key] = created.id;
    placeholders_[absl::StrCat("@svc_", s.key)] = created.id;
  }
  for (const SeedMember& m : kMembers) {
    directory::MemberInfo info;
    info.service_id = service_ids[m.service];
    info.display_name = absl::StrCat("Member ", m.login);
    info.login = m.login;
    info.roles = {m.role};
    ASSIGN_OR_RETURN(directory::MemberInfo added, host_->directory().AddMember(info, kPassword));
    members_[m.login] = Member{added.id, added.service_id, {rpc::RoleName(m.role)}};
    placeholders_[absl::StrCat("@m_", m.login)] = added.id;
  }
  {
    // Refused tokens: the server's key, long expired; and a key it never had.
    common::FakeClock past(clock_->Now() - absl::Hours(2));
    auth::TokenIssuer old(&host_->keys(), &past, kAudience, absl::Minutes(15));
    const Member& m = members_["amo.camille"];
    ASSIGN_OR_RETURN(expired_token_, old.Issue(m.id, m.service_id, m.roles));
    std::unique_ptr<auth::KeyRing> foreign_keys = auth::KeyRing::InMemory();
    auth::TokenIssuer foreign(foreign_keys.get(), clock_, kAudience);
    ASSIGN_OR_RETURN(foreign_token_, foreign.Issue(m.id, m.service_id, m.roles));
  }

  auto care = v1::CareService::NewStub(channel_);
  auto record = v1::RecordService::NewStub(channel_);
  // A context carrying a fresh token of `login`.
  auto as = [&](absl::string_view login) -> absl::StatusOr<std::unique_ptr<grpc::ClientContext>> {
    ASSIGN_OR_RETURN(std::string token, Token(login));
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  };
  const absl::Time now = clock_->Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());

  auto create_youth = [&](int age, absl::string_view key) -> absl::Status {
    v1::CreateYouthRequest req;
    req.mutable_youth()->set_display_name("Seeded Youth");
    req.mutable_youth()->set_date_of_birth(
        absl::FormatCivilTime(absl::CivilDay(today.year() - age, today.month(), today.day()) - 30));
    req.mutable_youth()->add_guardians()->set_display_name("Seeded Guardian");
    v1::Youth youth;
    ASSIGN_OR_RETURN(auto ctx, as("amo.camille"));
    RETURN_IF_ERROR(FromGrpc("CreateYouth", record->CreateYouth(ctx.get(), req, &youth)));
    placeholders_[std::string(key)] = youth.id();
    if (youth.guardians_size() > 0) {
      placeholders_[absl::StrCat("@guardian", key.substr(6))] = youth.guardians(0).id();
    }
    v1::OpenAccompanimentRequest open;
    open.set_youth_id(youth.id());
    open.set_referent_member_id(placeholders_["@m_amo.camille"]);
    open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
    v1::Accompaniment acc;
    ASSIGN_OR_RETURN(ctx, as("amo.coord"));
    RETURN_IF_ERROR(FromGrpc("OpenAccompaniment", care->OpenAccompaniment(ctx.get(), open, &acc)));
    placeholders_[absl::StrCat("@acc_amo", key.substr(6))] = acc.id();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(create_youth(15, "@youth"));
  RETURN_IF_ERROR(create_youth(10, "@youth_child"));
  const std::string youth = placeholders_["@youth"];

  struct SeedEntry {
    const char* key;
    v1::DataCategory category;
    v1::Visibility visibility;
    const char* body;
  };
  for (const SeedEntry& e :
       {SeedEntry{"@entry_shared", v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED, "Suivi"},
        SeedEntry{"@entry_health", v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED, "Sante"},
        SeedEntry{"@entry_private", v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SERVICE_PRIVATE,
                  "Note interne"}}) {
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(e.category);
    req.mutable_entry()->set_visibility(e.visibility);
    req.mutable_entry()->set_body(e.body);
    v1::Entry entry;
    ASSIGN_OR_RETURN(auto ctx, as("amo.camille"));
    RETURN_IF_ERROR(FromGrpc("AddEntry", record->AddEntry(ctx.get(), req, &entry)));
    placeholders_[e.key] = entry.id();
  }
  {
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(youth);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(service_ids["saj"]);
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    k->add_categories(v1::DATA_CATEGORY_FAMILY);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    k->add_purposes(v1::PURPOSE_HANDOVER);
    *k->mutable_valid_until() = rpc::ToProto(now + absl::Hours(24 * 182));
    v1::Consent consent;
    ASSIGN_OR_RETURN(auto ctx, as("amo.camille"));
    RETURN_IF_ERROR(FromGrpc("GrantConsent", care->GrantConsent(ctx.get(), req, &consent)));
    placeholders_["@consent"] = consent.id();
  }
  auto propose = [&](const std::string& youth_id, const std::string& to,
                     absl::string_view key) -> absl::Status {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth_id);
    req.set_to_service_id(to);
    req.set_reason("Mandat");
    *req.mutable_overlap_start() = rpc::ToProto(now);
    *req.mutable_overlap_end() = rpc::ToProto(now + absl::Hours(24 * 30));
    v1::Handover handover;
    ASSIGN_OR_RETURN(auto ctx, as("amo.camille"));
    RETURN_IF_ERROR(FromGrpc("ProposeHandover", care->ProposeHandover(ctx.get(), req, &handover)));
    placeholders_[std::string(key)] = handover.id();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(propose(youth, service_ids["saj"], "@handover"));
  {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(placeholders_["@handover"]);
    req.set_referent_member_id(placeholders_["@m_saj.sam"]);
    v1::Handover handover;
    ASSIGN_OR_RETURN(auto ctx, as("saj.coord"));
    RETURN_IF_ERROR(FromGrpc("AcceptHandover", care->AcceptHandover(ctx.get(), req, &handover)));
  }
  RETURN_IF_ERROR(propose(placeholders_["@youth_child"], service_ids["pms"], "@handover_pending"));
  return absl::OkStatus();
}

}  // namespace relais::fuzz
