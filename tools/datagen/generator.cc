#include "tools/datagen/generator.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "access/roles.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/care/accompaniments.h"
#include "services/care/care_service.h"
#include "services/care/consents.h"
#include "services/care/handovers.h"
#include "services/common/commit.h"
#include "services/record/record_store.h"

namespace relais::datagen {
namespace {

using storage::Connection;

struct Member {
  std::string id;
  std::string service_id;
  std::string roles;  // as an audit event names them
};

struct Service {
  std::string id;
  Member coordinator;
  std::vector<Member> caseworkers;
};

// table: the seed's sectors and kinds of service in each.
struct SectorKinds {
  const char* sector;
  std::vector<const char*> kinds;
};
const std::vector<SectorKinds>& Sectors() {
  static const auto* const kSectors = new std::vector<SectorKinds>{
      {"aide_jeunesse", {"AMO", "SAJ", "SPJ", "MADO"}},
      {"enseignement", {"PMS", "PSE", "École"}},
      {"action_sociale", {"CPAS", "Maison de quartier"}},
      {"prevention", {"Prévention", "Éducateurs de rue"}},
      {"sante_mentale", {"SSM", "Centre de jour"}},
  };
  return *kSectors;
}

constexpr const char* kCities[] = {"Charleroi", "Liège", "Namur",    "Mons",  "Bruxelles",
                                   "Tournai",   "Arlon", "Verviers", "Wavre", "La Louvière"};

constexpr int64_t kWriterCacheKib = 1 << 20;

// Sentences an entry body is made of: ordinary follow-up notes.
constexpr const char* kPhrases[] = {
    "Entretien individuel avec le jeune au service.",
    "Contact téléphonique avec la famille pour fixer un rendez-vous.",
    "Le jeune exprime le souhait de reprendre l'école.",
    "Point sur la scolarité avec le centre PMS.",
    "Visite à domicile prévue la semaine prochaine.",
    "Le jeune ne s'est pas présenté au rendez-vous.",
    "Concertation avec le service partenaire sur les prochaines étapes.",
    "Démarches administratives en cours auprès du CPAS.",
    "Orientation vers une activité sportive du quartier.",
    "Le parent signale des tensions à la maison.",
    "Bilan du mois: évolution positive, à poursuivre.",
    "Accompagnement vers un rendez-vous médical.",
};

constexpr v1::DataCategory kEntryCategories[] = {
    v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION, v1::DATA_CATEGORY_FAMILY,
    v1::DATA_CATEGORY_SOCIAL};

// The part of `total` that item `i` of `n` gets: the parts sum to `total`
// exactly and differ by at most one.
int64_t Share(int64_t total, int64_t n, int64_t i) { return (i + 1) * total / n - i * total / n; }

// FNV-1a, 64 bits: a digest that is the same from run to run (absl::Hash is
// salted per process).
class Digest {
 public:
  void Add(absl::string_view bytes) {
    for (unsigned char c : bytes) {
      value_ ^= c;
      value_ *= 1099511628211ull;
    }
    Add(int64_t{-1});
  }
  void Add(int64_t n) {
    for (int i = 0; i < 8; ++i) {
      value_ ^= static_cast<uint64_t>(n >> (8 * i)) & 0xff;
      value_ *= 1099511628211ull;
    }
  }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 14695981039346656037ull;
};

// Everything one youth is given, drawn before its transaction opens.
struct YouthPlan {
  int64_t index = 0;
  int age = 0;
  int day_of_year = 0;
  int guardians = 1;
  size_t creator = 0;                 // index into services
  std::optional<size_t> second;       // confirmed by the creator
  std::optional<size_t> handover_to;  // proposed by the creator, accepted
  int64_t consents = 0;
  int64_t entries = 0;
  int64_t reads = 0;
};

class Generator {
 public:
  Generator(host::Host& host, const demo::World& seeded, const Options& options)
      : host_(host),
        seeded_(seeded),
        options_(options),
        sizes_(options.sizes),
        rng_(options.seed),
        accompaniments_(&host.db()),
        consents_(&host.db(), &host.directory(), kCare.self_consent_age),
        handovers_(kCare.max_overlap, &host.db(), &host.clock(), &host.record()) {}

  absl::StatusOr<Report> Run();

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }
  size_t OtherService(std::initializer_list<size_t> not_these);
  const Member& Caseworker(size_t service) {
    const std::vector<Member>& all = services_[service].caseworkers;
    return all[Pick(all.size())];
  }
  audit::EventInput Event(const Member& actor, v1::Action action, absl::string_view youth_id);

  absl::Status MakeDirectory();
  absl::Status AddService(const std::string& id, const SectorKinds& sector, absl::string_view kind,
                          int number);
  absl::Status MakeMembers(int64_t generated);
  YouthPlan PlanYouth(int64_t index, int64_t youths);
  int64_t WritesOf(const YouthPlan& plan) const {
    return 2 + (plan.second ? 2 : 0) + plan.consents + plan.entries + (plan.handover_to ? 2 : 0);
  }
  absl::Status WriteBatch(const std::vector<YouthPlan>& plans);
  absl::Status WriteYouth(Connection& c, const YouthPlan& plan, std::string& youth_id);
  absl::Status WriteConsents(Connection& c, const YouthPlan& plan, const v1::Youth& youth);
  absl::Status WriteEntries(Connection& c, const YouthPlan& plan, const std::string& youth_id,
                            std::vector<std::string>& entry_ids);
  absl::Status WriteReads(Connection& c, const YouthPlan& plan, const std::string& youth_id,
                          const std::vector<std::string>& entry_ids);
  absl::Status WriteHandover(Connection& c, const YouthPlan& plan, const std::string& youth_id);

  // The care rules as relaisd applies them by default.
  static inline const care::CareServiceImpl::Options kCare{};

  host::Host& host_;
  const demo::World& seeded_;
  const Options options_;
  const Sizes sizes_;
  std::mt19937_64 rng_;
  care::Accompaniments accompaniments_;
  care::Consents consents_;
  care::Handovers handovers_;
  const storage::crypto::FieldCrypto* crypto_ = nullptr;
  std::vector<Service> services_;
  Member admin_;
  Digest digest_;
  Report report_;
  int64_t members_made_ = 0;
};

size_t Generator::OtherService(std::initializer_list<size_t> not_these) {
  while (true) {
    const size_t s = Pick(services_.size());
    if (std::find(not_these.begin(), not_these.end(), s) == not_these.end()) return s;
  }
}

audit::EventInput Generator::Event(const Member& actor, v1::Action action,
                                   absl::string_view youth_id) {
  audit::EventInput e;
  e.request_id = absl::StrFormat("r%016x", rng_());
  e.actor_member_id = actor.id;
  e.actor_service_id = actor.service_id;
  e.actor_roles = actor.roles;
  e.client_identity = absl::StrCat("cn=", actor.service_id);
  e.action = action;
  e.youth_id = std::string(youth_id);
  return rpc::Allowed(std::move(e));
}

absl::Status Generator::AddService(const std::string& id, const SectorKinds& sector,
                                   absl::string_view kind, int number) {
  directory::ServiceInfo info;
  info.id = id;
  info.name = absl::StrCat(kind, " ", kCities[number % std::size(kCities)], " n°", number);
  info.sector_id = sector.sector;
  info.kind = std::string(kind);
  ASSIGN_OR_RETURN(directory::ServiceInfo made, host_.directory().CreateService(info));
  digest_.Add(info.name);
  services_.push_back({made.id, {}, {}});
  return absl::OkStatus();
}

absl::Status Generator::MakeDirectory() {
  auto demo_member = [&](const char* login) -> std::optional<Member> {
    auto it = seeded_.members.find(login);
    if (it == seeded_.members.end()) return std::nullopt;
    std::vector<std::string> roles;
    for (v1::Role r : it->second.roles) roles.push_back(access::RoleName(r));
    return Member{it->second.id, it->second.service_id, absl::StrJoin(roles, ",")};
  };
  if (std::optional<Member> admin = demo_member("admin")) admin_ = *admin;
  // The demo's services first (the AMO is service 0, see amo_youth_id), then
  // new ones; the platform service accompanies no one.
  for (const char* key : {"amo", "saj", "pms", "cpas", "prev", "mado", "ssm"}) {
    auto it = seeded_.service_ids.find(key);
    if (it == seeded_.service_ids.end()) return absl::FailedPreconditionError("no demo world");
    services_.push_back({it->second, {}, {}});
  }
  struct Staff {
    size_t service;
    const char* login;
    bool coordinator;
  };
  for (const Staff& staff :
       {Staff{0, "amo.camille", false}, Staff{0, "amo.coord", true}, Staff{1, "saj.sam", false},
        Staff{1, "saj.coord", true}, Staff{2, "pms.pauline", false}}) {
    std::optional<Member> m = demo_member(staff.login);
    if (!m) return absl::FailedPreconditionError(absl::StrCat("no demo member ", staff.login));
    if (staff.coordinator) {
      services_[staff.service].coordinator = *std::move(m);
    } else {
      services_[staff.service].caseworkers.push_back(*std::move(m));
    }
  }
  for (int64_t n = static_cast<int64_t>(services_.size()); n < sizes_.services - 1; ++n) {
    const SectorKinds& sector = Sectors()[Pick(Sectors().size())];
    RETURN_IF_ERROR(AddService(absl::StrFormat("svc_gen_%04d", n), sector,
                               sector.kinds[Pick(sector.kinds.size())], static_cast<int>(n)));
  }
  return MakeMembers(sizes_.members - static_cast<int64_t>(seeded_.members.size()));
}

absl::Status Generator::MakeMembers(int64_t generated) {
  // scrypt once: every generated member shares the demo password's hash.
  // Hashing 2,000 passwords would take minutes for data no one logs into but
  // the load driver.
  directory::MemberInfo first;
  first.service_id = services_[0].id;
  first.display_name = "Membre généré";
  first.login = "gen.template";
  first.roles = {v1::ROLE_CASEWORKER};
  ASSIGN_OR_RETURN(directory::NewMember prepared,
                   host_.directory().PrepareMember(first, demo::kPassword));
  int64_t made = 0;
  auto add = [&](Connection& c, size_t service, v1::Role role) -> absl::Status {
    directory::NewMember m = prepared;
    m.info.service_id = services_[service].id;
    m.info.login = absl::StrFormat("gen.m%05d", made);
    m.info.display_name = absl::StrCat("Membre ", made);
    m.info.roles = {role};
    ASSIGN_OR_RETURN(directory::MemberInfo info, host_.directory().InsertMember(c, m));
    Member member{info.id, info.service_id, access::RoleName(role)};
    if (role == v1::ROLE_COORDINATOR) {
      services_[service].coordinator = member;
    } else {
      services_[service].caseworkers.push_back(member);
    }
    audit::EventInput e = Event(admin_, v1::ACTION_MANAGE_DIRECTORY, "");
    e.object_id = info.id;
    RETURN_IF_ERROR(host_.audit().Append(c, e).status());
    ++made;
    ++members_made_;
    return absl::OkStatus();
  };
  return host_.db().Write([&](Connection& c) -> absl::Status {
    for (size_t s = 0; s < services_.size(); ++s) {
      if (services_[s].coordinator.id.empty()) RETURN_IF_ERROR(add(c, s, v1::ROLE_COORDINATOR));
      if (services_[s].caseworkers.empty()) RETURN_IF_ERROR(add(c, s, v1::ROLE_CASEWORKER));
    }
    while (made < generated) RETURN_IF_ERROR(add(c, Pick(services_.size()), v1::ROLE_CASEWORKER));
    return absl::OkStatus();
  });
}

YouthPlan Generator::PlanYouth(int64_t index, int64_t youths) {
  YouthPlan p;
  p.index = index;
  p.age = 3 + static_cast<int>(Pick(17));
  p.day_of_year = static_cast<int>(Pick(365));
  p.guardians = 1 + static_cast<int>(Pick(2));
  p.creator = index == 0 ? 0 : Pick(services_.size());
  const int64_t extra_accompaniments =
      std::max<int64_t>(0, sizes_.accompaniments - youths - sizes_.handovers);
  if (Share(extra_accompaniments, youths, index) > 0) p.second = OtherService({p.creator});
  if (Share(sizes_.handovers, youths, index) > 0) {
    p.handover_to = p.second ? OtherService({p.creator, *p.second}) : OtherService({p.creator});
  }
  p.consents = Share(sizes_.consents, youths, index);
  p.entries = Share(sizes_.entries, youths, index);
  for (int64_t n : {int64_t{p.age}, int64_t{p.day_of_year}, int64_t{p.guardians},
                    static_cast<int64_t>(p.creator), p.second ? int64_t(*p.second) : -1,
                    p.handover_to ? int64_t(*p.handover_to) : -1}) {
    digest_.Add(n);
  }
  return p;
}

absl::Status Generator::WriteYouth(Connection& c, const YouthPlan& plan, std::string& youth_id) {
  const absl::Time now = host_.clock().Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  const absl::CivilDay born = absl::CivilDay(today.year() - plan.age - 1, 1, 1) + plan.day_of_year;
  v1::Youth y;
  y.set_id(common::NewId("y"));
  y.set_display_name(absl::StrCat("Jeune ", plan.index));
  y.set_date_of_birth(absl::FormatCivilTime(born));
  for (int g = 0; g < plan.guardians; ++g) {
    v1::Guardian* guardian = y.add_guardians();
    guardian->set_id(common::NewId("g"));
    guardian->set_display_name(absl::StrCat("Parent ", g + 1, " du jeune ", plan.index));
    guardian->set_relationship(g == 0 ? "mère" : "père");
  }
  *y.mutable_created_at() = common::ToProto(now);
  const Service& creator = services_[plan.creator];
  const Member& author = Caseworker(plan.creator);
  RETURN_IF_ERROR(record::store::InsertYouth(c, *crypto_, y, "", creator.id));
  RETURN_IF_ERROR(host_.audit().Append(c, Event(author, v1::ACTION_CREATE_YOUTH, y.id())).status());

  care::Accompaniments::Opening first{
      y.id(),    creator.id, creator.coordinator.id, author.id, v1::ACCOMPANIMENT_BASIS_VOLUNTARY,
      creator.id};
  ASSIGN_OR_RETURN(v1::Accompaniment a, accompaniments_.Open(c, first, now));
  audit::EventInput open = Event(creator.coordinator, v1::ACTION_OPEN_ACCOMPANIMENT, y.id());
  open.object_id = a.id();
  RETURN_IF_ERROR(host_.audit().Append(c, open).status());
  if (plan.second) {
    const Service& other = services_[*plan.second];
    care::Accompaniments::Opening second{y.id(),
                                         other.id,
                                         other.coordinator.id,
                                         Caseworker(*plan.second).id,
                                         v1::ACCOMPANIMENT_BASIS_VOLUNTARY,
                                         creator.id};
    ASSIGN_OR_RETURN(v1::Accompaniment pending, accompaniments_.Open(c, second, now));
    open = Event(other.coordinator, v1::ACTION_OPEN_ACCOMPANIMENT, y.id());
    open.object_id = pending.id();
    RETURN_IF_ERROR(host_.audit().Append(c, open).status());
    ASSIGN_OR_RETURN(v1::Vouch verdict, care::Accompaniments::VouchFor(pending, true, "", true));
    RETURN_IF_ERROR(
        accompaniments_.Vouch(c, pending.id(), verdict, creator.coordinator.id, now).status());
    audit::EventInput confirm =
        Event(creator.coordinator, v1::ACTION_CONFIRM_ACCOMPANIMENT, y.id());
    confirm.object_id = pending.id();
    RETURN_IF_ERROR(host_.audit().Append(c, confirm).status());
  }
  RETURN_IF_ERROR(WriteConsents(c, plan, y));
  youth_id = y.id();
  return absl::OkStatus();
}

absl::Status Generator::WriteConsents(Connection& c, const YouthPlan& plan,
                                      const v1::Youth& youth) {
  const absl::Time now = host_.clock().Now();
  record::YouthFacts facts;
  facts.id = youth.id();
  absl::ParseCivilTime(youth.date_of_birth(), &facts.date_of_birth);
  for (const v1::Guardian& g : youth.guardians()) facts.guardian_ids.push_back(g.id());
  const int age = record::AgeOn(facts.date_of_birth, absl::ToCivilDay(now, absl::UTCTimeZone()));
  for (int64_t n = 0; n < plan.consents; ++n) {
    const size_t holder = (plan.second && n % 2 == 1) ? *plan.second : plan.creator;
    v1::Consent in;
    in.set_youth_id(youth.id());
    if (age >= kCare.self_consent_age) {
      in.set_giver(v1::CONSENT_GIVER_YOUTH);
    } else {
      in.set_giver(v1::CONSENT_GIVER_GUARDIAN);
      in.set_guardian_id(facts.guardian_ids.front());
      in.set_youth_opinion(v1::YOUTH_OPINION_AGREES);
    }
    if (Chance(25)) {
      in.add_recipients()->set_sector_id(Sectors()[Pick(Sectors().size())].sector);
    } else {
      const size_t to = plan.handover_to ? *plan.handover_to : OtherService({holder});
      in.add_recipients()->set_service_id(services_[to == holder ? plan.creator : to].id);
    }
    in.add_categories(v1::DATA_CATEGORY_GENERAL);
    in.add_categories(kEntryCategories[1 + Pick(3)]);
    in.add_purposes(v1::PURPOSE_COORDINATION);
    if (plan.handover_to) in.add_purposes(v1::PURPOSE_HANDOVER);
    digest_.Add(in.recipients(0).sector_id() + in.recipients(0).service_id());
    RETURN_IF_ERROR(consents_.CheckGiver(in, facts, now));
    const Member& by = Caseworker(holder);
    v1::Consent k =
        care::Consents::Build(in, now, now + absl::Hours(24 * 182), {by.id, by.service_id}, now);
    RETURN_IF_ERROR(consents_.Record(c, k));
    audit::EventInput e = Event(by, v1::ACTION_GRANT_CONSENT, youth.id());
    e.object_id = k.id();
    RETURN_IF_ERROR(host_.audit().Append(c, e).status());
  }
  return absl::OkStatus();
}

absl::Status Generator::WriteEntries(Connection& c, const YouthPlan& plan,
                                     const std::string& youth_id,
                                     std::vector<std::string>& entry_ids) {
  for (int64_t n = 0; n < plan.entries; ++n) {
    const size_t service = (plan.second && Chance(33)) ? *plan.second : plan.creator;
    const Member& author = Caseworker(service);
    std::vector<const char*> phrases;
    for (size_t k = 2 + Pick(3); k > 0; --k) phrases.push_back(kPhrases[Pick(std::size(kPhrases))]);
    v1::Entry e;
    e.set_id(common::NewId("e"));
    e.set_youth_id(youth_id);
    e.set_kind(Chance(70) ? v1::ENTRY_KIND_NOTE : v1::ENTRY_KIND_APPOINTMENT);
    e.set_category(kEntryCategories[Pick(std::size(kEntryCategories))]);
    e.set_visibility(Chance(70) ? v1::VISIBILITY_SHARED : v1::VISIBILITY_SERVICE_PRIVATE);
    e.set_body(absl::StrJoin(phrases, " "));
    e.set_author_member_id(author.id);
    e.set_author_service_id(author.service_id);
    *e.mutable_created_at() = common::ToProto(host_.clock().Now());
    digest_.Add(e.body());
    RETURN_IF_ERROR(record::store::InsertEntry(c, *crypto_, e));
    audit::EventInput added = Event(author, v1::ACTION_ADD_ENTRY, youth_id);
    added.entry_id = e.id();
    RETURN_IF_ERROR(host_.audit().Append(c, added).status());
    entry_ids.push_back(e.id());
  }
  return absl::OkStatus();
}

absl::Status Generator::WriteReads(Connection& c, const YouthPlan& plan,
                                   const std::string& youth_id,
                                   const std::vector<std::string>& entry_ids) {
  for (int64_t n = 0; n < plan.reads; ++n) {
    if (Chance(4)) {
      // A service that does not accompany the youth tries: refused, and logged.
      const Member& outsider = Caseworker(OtherService({plan.creator}));
      audit::EventInput e = Event(outsider, v1::ACTION_LIST_ENTRIES, youth_id);
      e.decision = v1::DECISION_DENY;
      e.reason = v1::ACCESS_REASON_NO_ACTIVE_ACCOMPANIMENT;
      e.reason_code = rpc::ReasonCode(e.reason);
      e.purpose = v1::PURPOSE_COORDINATION;
      RETURN_IF_ERROR(host_.audit().Append(c, e).status());
      continue;
    }
    const size_t service = (plan.second && Chance(40)) ? *plan.second : plan.creator;
    const bool one_entry = !entry_ids.empty() && Chance(75);
    audit::EventInput e = Event(
        Caseworker(service), one_entry ? v1::ACTION_READ_ENTRY : v1::ACTION_LIST_ENTRIES, youth_id);
    if (one_entry) e.entry_id = entry_ids[Pick(entry_ids.size())];
    e.purpose = v1::PURPOSE_COORDINATION;
    RETURN_IF_ERROR(host_.audit().Append(c, e).status());
  }
  return absl::OkStatus();
}

absl::Status Generator::WriteHandover(Connection& c, const YouthPlan& plan,
                                      const std::string& youth_id) {
  const absl::Time now = host_.clock().Now();
  const Service& from = services_[plan.creator];
  const Service& to = services_[*plan.handover_to];
  care::Handovers::Proposal p;
  p.youth_id = youth_id;
  p.from_service_id = from.id;
  p.to_service_id = to.id;
  p.member_id = from.coordinator.id;
  p.reason = "Le jeune déménage; le service partenaire reprend le suivi.";
  p.overlap_start.set_seconds(absl::ToUnixSeconds(now));
  p.overlap_end.set_seconds(absl::ToUnixSeconds(now + absl::Hours(24 * 30)));
  ASSIGN_OR_RETURN(v1::Handover proposed, handovers_.Propose(c, p, now));
  audit::EventInput e = Event(from.coordinator, v1::ACTION_PROPOSE_HANDOVER, youth_id);
  e.object_id = proposed.id();
  RETURN_IF_ERROR(host_.audit().Append(c, e).status());
  care::Handovers::Move accept{care::Handovers::Move::kAccept,
                               to.coordinator.id,
                               to.id,
                               Caseworker(*plan.handover_to).id,
                               "",
                               now};
  RETURN_IF_ERROR(handovers_.Transition(c, proposed.id(), accept).status());
  e = Event(to.coordinator, v1::ACTION_ACCEPT_HANDOVER, youth_id);
  e.object_id = proposed.id();
  return host_.audit().Append(c, e).status();
}

absl::Status Generator::WriteBatch(const std::vector<YouthPlan>& plans) {
  std::vector<std::string> youth_ids(plans.size());
  RETURN_IF_ERROR(host_.db().Write([&](Connection& c) -> absl::Status {
    for (size_t i = 0; i < plans.size(); ++i) {
      RETURN_IF_ERROR(WriteYouth(c, plans[i], youth_ids[i]));
      std::vector<std::string> entry_ids;
      RETURN_IF_ERROR(WriteEntries(c, plans[i], youth_ids[i], entry_ids));
      const absl::Time reads_start = absl::Now();
      RETURN_IF_ERROR(WriteReads(c, plans[i], youth_ids[i], entry_ids));
      report_.reads_time += absl::Now() - reads_start;
    }
    return absl::OkStatus();
  }));
  if (report_.amo_youth_id.empty()) report_.amo_youth_id = youth_ids.front();
  // Handover reasons are sealed through the record service, which reads the
  // youth's key in a transaction of its own: the youths must be committed.
  return host_.db().Write([&](Connection& c) -> absl::Status {
    for (size_t i = 0; i < plans.size(); ++i) {
      if (plans[i].handover_to) RETURN_IF_ERROR(WriteHandover(c, plans[i], youth_ids[i]));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Report> Generator::Run() {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(crypto_, host_.record().Crypto());
  // Settings of the writer connection, so they last: a page cache that holds
  // a batch (SQLite's 2 MiB default spills it: a pwrite and a pread per
  // event), and no fsync per batch. A bulk load that stops half way is run
  // again on a new file; relaisd, which acknowledges calls, keeps
  // synchronous=FULL (it opens its own connections).
  RETURN_IF_ERROR(host_.db().Write([](Connection& c) -> absl::Status {
    return c.Exec(absl::StrCat("PRAGMA cache_size=-", kWriterCacheKib));
  }));
  RETURN_IF_ERROR(MakeDirectory());
  report_.directory_time = absl::Now() - start;

  const int64_t youths = std::max<int64_t>(1, sizes_.youths);
  std::vector<YouthPlan> plans;
  plans.reserve(youths);
  ASSIGN_OR_RETURN(const int64_t logged, host_.audit().Length());
  int64_t writes = 0;
  for (int64_t i = 0; i < youths; ++i) {
    plans.push_back(PlanYouth(i, youths));
    writes += WritesOf(plans.back());
  }
  const int64_t reads = std::max<int64_t>(0, sizes_.audit_events - logged - writes);
  for (YouthPlan& p : plans) p.reads = Share(reads, youths, p.index);
  report_.read_events = reads;

  const absl::Time care_start = absl::Now();
  for (size_t at = 0; at < plans.size(); at += options_.youths_per_transaction) {
    const size_t end = std::min(plans.size(), at + options_.youths_per_transaction);
    RETURN_IF_ERROR(WriteBatch(std::vector<YouthPlan>(plans.begin() + at, plans.begin() + end)));
  }
  report_.care_time = absl::Now() - care_start;
  report_.total_time = absl::Now() - start;
  report_.digest = digest_.value();
  Sizes& made = report_.made;
  made.youths = youths;
  made.services = static_cast<int64_t>(services_.size()) + 1;
  made.members = static_cast<int64_t>(seeded_.members.size()) + members_made_;
  made.entries = made.consents = made.accompaniments = made.handovers = 0;
  for (const YouthPlan& p : plans) {
    made.entries += p.entries;
    made.consents += p.consents;
    made.accompaniments += 1 + (p.second ? 1 : 0) + (p.handover_to ? 1 : 0);
    made.handovers += p.handover_to ? 1 : 0;
  }
  ASSIGN_OR_RETURN(made.audit_events, host_.audit().Length());
  return report_;
}

}  // namespace

Sizes Sizes::Scaled(double factor) const {
  auto scale = [factor](int64_t n, int64_t least) {
    return std::max<int64_t>(least, static_cast<int64_t>(static_cast<double>(n) * factor));
  };
  Sizes s;
  s.services = scale(services, 10);
  s.members = std::max(scale(members, 3 * s.services), int64_t{30});
  s.youths = scale(youths, 1);
  s.entries = scale(entries, 0);
  s.consents = scale(consents, 0);
  s.handovers = std::min(scale(handovers, 0), s.youths);
  s.accompaniments = std::clamp(scale(accompaniments, s.youths), s.youths, 3 * s.youths);
  s.audit_events = scale(audit_events, 0);
  return s;
}

absl::StatusOr<Report> Generate(host::Host& host, const demo::World& seeded,
                                const Options& options) {
  Generator generator(host, seeded, options);
  return generator.Run();
}

std::string TextReport(const Report& r) {
  const Sizes& m = r.made;
  const double care_s = absl::ToDoubleSeconds(r.care_time);
  const double total_s = absl::ToDoubleSeconds(r.total_time);
  std::string out = absl::StrFormat(
      "services %d, members %d, youths %d, accompaniments %d, consents %d, handovers %d\n"
      "entries %d, audit events %d\n",
      m.services, m.members, m.youths, m.accompaniments, m.consents, m.handovers, m.entries,
      m.audit_events);
  absl::StrAppendFormat(&out, "directory: %.1f s; care and audit: %.1f s; total %.1f s\n",
                        absl::ToDoubleSeconds(r.directory_time), care_s, total_s);
  absl::StrAppendFormat(&out, "rate: %.0f entries/s, %.0f audit events/s (over the whole run)\n",
                        total_s > 0 ? static_cast<double>(m.entries) / total_s : 0.0,
                        total_s > 0 ? static_cast<double>(m.audit_events) / total_s : 0.0);
  const double reads_s = absl::ToDoubleSeconds(r.reads_time);
  const double writes_s = care_s - reads_s;
  absl::StrAppendFormat(&out,
                        "of which: writes with their events %.1f s (%.0f entries/s), "
                        "read events alone %.1f s (%.0f events/s)\n",
                        writes_s, writes_s > 0 ? static_cast<double>(m.entries) / writes_s : 0.0,
                        reads_s, reads_s > 0 ? static_cast<double>(r.read_events) / reads_s : 0.0);
  absl::StrAppendFormat(&out, "digest: %016x\n", r.digest);
  absl::StrAppendFormat(&out, "AMO youth: %s\n", r.amo_youth_id);
  return out;
}

}  // namespace relais::datagen
