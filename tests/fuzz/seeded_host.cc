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

// table: the seeded logins in the order inputs pick them by (Logins()).
constexpr const char* kLogins[] = {"amo.camille", "amo.coord", "saj.sam", "saj.coord",
                                   "pms.pauline", "dpo",       "admin"};

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
    for (const char* login : kLogins) v->push_back(login);
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
  seeder_.reset();
  channel_.reset();
  if (host_ != nullptr) host_->Shutdown(absl::Seconds(2));
  host_.reset();
  if (remove_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::StatusOr<std::string> SeededHost::Token(absl::string_view login) const {
  return seeder_->Token(login);
}

absl::Status SeededHost::Seed() {
  seeder_ = std::make_unique<demo::Seeder>(*host_, kPassword);
  ASSIGN_OR_RETURN(bool created, seeder_->SeedAll());
  if (!created) return absl::FailedPreconditionError("seeding: the database was not empty");
  const demo::World& world = seeder_->world();
  for (const auto& [key, id] : world.service_ids) placeholders_[absl::StrCat("@svc_", key)] = id;
  for (const auto& [login, member] : world.members) {
    placeholders_[absl::StrCat("@m_", login)] = member.id;
  }
  placeholders_["@youth"] = world.youth_id;
  placeholders_["@guardian"] = world.guardian_id;
  placeholders_["@acc_amo"] = world.accompaniment_id;
  placeholders_["@entry_shared"] = world.entry_ids.at(0);
  placeholders_["@entry_private"] = world.entry_ids.at(2);
  placeholders_["@consent"] = world.consent_id;
  ASSIGN_OR_RETURN(placeholders_["@entry_health"],
                   seeder_->AddEntry(world.youth_id, v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_HEALTH,
                                     v1::VISIBILITY_SHARED, "Sante"));
  ASSIGN_OR_RETURN(demo::SeededYouth child,
                   seeder_->AddAccompaniedYouth(10, "Seeded Youth", "Seeded Guardian"));
  placeholders_["@youth_child"] = child.youth_id;
  placeholders_["@guardian_child"] = child.guardian_id;
  placeholders_["@acc_amo_child"] = child.accompaniment_id;
  RETURN_IF_ERROR(SeedHandovers());
  return MakeRefusedTokens();
}

absl::Status SeededHost::SeedHandovers() {
  const absl::Time now = clock_->Now();
  auto propose = [&](const std::string& youth_id, const std::string& to,
                     absl::string_view key) -> absl::Status {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth_id);
    req.set_to_service_id(to);
    req.set_reason("Mandat");
    *req.mutable_overlap_start() = common::ToProto(now);
    *req.mutable_overlap_end() = common::ToProto(now + absl::Hours(24 * 30));
    v1::Handover handover;
    ASSIGN_OR_RETURN(auto ctx, seeder_->As("amo.camille"));
    RETURN_IF_ERROR(demo::FromGrpc("ProposeHandover",
                                   seeder_->care().ProposeHandover(ctx.get(), req, &handover)));
    placeholders_[std::string(key)] = handover.id();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(propose(placeholders_["@youth"], placeholders_["@svc_saj"], "@handover"));
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(placeholders_["@handover"]);
  accept.set_referent_member_id(placeholders_["@m_saj.sam"]);
  v1::Handover accepted;
  ASSIGN_OR_RETURN(auto ctx, seeder_->As("saj.coord"));
  RETURN_IF_ERROR(demo::FromGrpc("AcceptHandover",
                                 seeder_->care().AcceptHandover(ctx.get(), accept, &accepted)));
  return propose(placeholders_["@youth_child"], placeholders_["@svc_pms"], "@handover_pending");
}

absl::Status SeededHost::MakeRefusedTokens() {
  // The server's key, long expired; and a key it never had.
  const directory::MemberInfo& m = seeder_->world().members.at("amo.camille");
  std::vector<std::string> roles;
  for (v1::Role r : m.roles) roles.push_back(access::RoleName(r));
  common::FakeClock past(clock_->Now() - absl::Hours(2));
  auth::TokenIssuer old(&host_->keys(), &past, kAudience, absl::Minutes(15));
  ASSIGN_OR_RETURN(expired_token_, old.Issue(m.id, m.service_id, roles));
  std::unique_ptr<auth::KeyRing> foreign_keys = auth::KeyRing::InMemory();
  auth::TokenIssuer foreign(foreign_keys.get(), clock_, kAudience);
  ASSIGN_OR_RETURN(foreign_token_, foreign.Issue(m.id, m.service_id, roles));
  return absl::OkStatus();
}

}  // namespace relais::fuzz
