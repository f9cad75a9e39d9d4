#include "services/directory/directory_store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "auth/password.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "services/directory/directory_schema.h"
#include "storage/testing/fresh_database.h"

namespace relais::directory {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "correct horse battery";

class DirectoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/directory_store_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    row_mac_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // Closes and reopens the database and the store, as a restart would.
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = DirectoryStore::Create(db_.get(), &clock_, {.scrypt = auth::FastParamsForTests()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // The row MAC key relaisd binds (a fixed test key), bound once per file;
    // rows written before (an older schema) are sealed as at start-up.
    if (row_mac_ == nullptr) {
      auto mac = storage::RowMac::Derive({std::string(32, 'k')});
      ASSERT_TRUE(mac.ok()) << mac.status();
      auto binding = storage::BindRowMac(*db_, *mac);
      ASSERT_TRUE(binding.ok()) << binding.status();
      row_mac_ = *std::move(binding);
    }
    ASSERT_TRUE(SealExistingRows(*db_).ok());
  }

  ServiceInfo NewService(absl::string_view sector = "aide_jeunesse") {
    auto s = store_->CreateService({"", "AMO Le Relais (Charleroi)", std::string(sector), "AMO"});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.value_or(ServiceInfo{});
  }

  MemberInfo Member(absl::string_view service_id, absl::string_view login) {
    MemberInfo m;
    m.service_id = std::string(service_id);
    m.display_name = "Aïcha Benali";
    m.login = std::string(login);
    m.roles = {v1::ROLE_CASEWORKER};
    return m;
  }

  std::string path_;
  common::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<storage::RowMacBinding> row_mac_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<DirectoryStore> store_;
};

TEST_F(DirectoryStoreTest, SeedsTheFiveSectorsOfTheDesign) {
  auto sectors = store_->ListSectors();
  ASSERT_TRUE(sectors.ok()) << sectors.status();
  std::vector<std::string> ids;
  for (const SectorInfo& s : *sectors) ids.push_back(s.id);
  EXPECT_THAT(ids, ElementsAre("action_sociale", "aide_jeunesse", "enseignement", "prevention",
                               "sante_mentale"));
}

TEST_F(DirectoryStoreTest, GlossaryExplainsOtherSectorsAcronyms) {
  auto all = store_->Glossary("");
  ASSERT_TRUE(all.ok()) << all.status();
  std::set<std::string> acronyms;
  for (const GlossaryEntry& t : *all) acronyms.insert(t.acronym);
  for (const char* a : {"AMO", "SAJ", "SPJ", "MADO", "PMS", "CPAS", "SRG", "AGAJ"}) {
    EXPECT_TRUE(acronyms.count(a)) << a;
  }
  auto school = store_->Glossary("enseignement");
  ASSERT_TRUE(school.ok()) << school.status();
  ASSERT_FALSE(school->empty());
  for (const GlossaryEntry& t : *school) EXPECT_EQ(t.sector_id, "enseignement") << t.acronym;
  bool found_pms = false;
  for (const GlossaryEntry& t : *school) {
    if (t.acronym == "PMS") {
      found_pms = true;
      EXPECT_EQ(t.expansion, "Centre Psycho-Médico-Social");
      EXPECT_FALSE(t.description.empty());
    }
  }
  EXPECT_TRUE(found_pms);
  EXPECT_EQ(common::ReasonOf(store_->Glossary("astrologie").status()), "sector_not_found");
}

TEST_F(DirectoryStoreTest, MigrationsRunOnceAcrossRestarts) {
  ASSERT_TRUE(store_->CreateSector({"parrainage", "Parrainage"}).ok());
  const ServiceInfo service = NewService();
  Reopen();
  auto sectors = store_->ListSectors();
  ASSERT_TRUE(sectors.ok());
  EXPECT_EQ(sectors->size(), 6u);
  EXPECT_TRUE(store_->GetService(service.id).ok());
}

TEST_F(DirectoryStoreTest, ServicesOfAnOlderSchemaAreNotPlatform) {
  RELAIS_SQLITE_ONLY("upgrades a database along the SQLite schema history");
  // A database at schema version 3 (before the platform flag), with a service.
  store_.reset();
  db_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  {
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    std::vector<storage::Migration> old(DirectoryMigrations().begin(),
                                        DirectoryMigrations().begin() + 3);
    ASSERT_EQ(old.back().version, 3);
    ASSERT_TRUE((*db)->Migrate(kDirectoryComponent, old).ok());
    ASSERT_TRUE((*db)
                    ->Write([](storage::Connection& c) -> absl::Status {
                      auto ins = c.Prepare(
                          "INSERT INTO dir_services(id, name, sector_id, kind, created_at_us) "
                          "VALUES ('svc_old', 'Ancien service', 'prevention', '', 0)");
                      if (!ins.ok()) return ins.status();
                      return ins->Run();
                    })
                    .ok());
  }
  Reopen();
  auto old = store_->GetService("svc_old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->platform);
  EXPECT_EQ(old->name, "Ancien service");
}

TEST_F(DirectoryStoreTest, MembersOfAnOlderSchemaKeepTheirPasswordWithoutExpiry) {
  RELAIS_SQLITE_ONLY("upgrades a database along the SQLite schema history");
  // A database at schema version 4 (before one-time passwords), with a member.
  store_.reset();
  db_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  auto hash = auth::HashPassword(kPassword, auth::FastParamsForTests());
  ASSERT_TRUE(hash.ok());
  {
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    std::vector<storage::Migration> old(DirectoryMigrations().begin(),
                                        DirectoryMigrations().begin() + 4);
    ASSERT_EQ(old.back().version, 4);
    ASSERT_TRUE((*db)->Migrate(kDirectoryComponent, old).ok());
    ASSERT_TRUE((*db)
                    ->Write([&](storage::Connection& c) -> absl::Status {
                      auto svc = c.Prepare(
                          "INSERT INTO dir_services(id, name, sector_id, kind, created_at_us) "
                          "VALUES ('svc_old', 'Ancien service', 'prevention', '', 0)");
                      if (!svc.ok()) return svc.status();
                      if (absl::Status s = svc->Run(); !s.ok()) return s;
                      auto ins = c.Prepare(
                          "INSERT INTO dir_members(id, service_id, display_name, login, roles, "
                          "password_hash, active, created_at_us) VALUES ('mbr_old', 'svc_old', "
                          "'Ancien', 'old.member', 'caseworker', ?1, 1, 0)");
                      if (!ins.ok()) return ins.status();
                      ins->Bind(1, *hash);
                      return ins->Run();
                    })
                    .ok());
  }
  Reopen();
  auto creds = store_->FindCredentials("old.member");
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->member.id, "mbr_old");
  EXPECT_TRUE(auth::VerifyPassword(kPassword, creds->password_hash));
  EXPECT_FALSE(creds->must_change);
  EXPECT_EQ(creds->password_expires_at, absl::InfiniteFuture());
}

TEST_F(DirectoryStoreTest, OneTimePasswordsAreStoredHashedWithTheirExpiryAndReplacedOnce) {
  const ServiceInfo service = NewService();
  OneTimePassword one_time;
  auto prepared = store_->PrepareMemberWithOneTimePassword(Member(service.id, "new.one"),
                                                           absl::Hours(72), &one_time);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  absl::StatusOr<MemberInfo> added;
  ASSERT_TRUE(db_->Write([&](storage::Connection& txn) {
                   added = store_->InsertMember(txn, *prepared);
                   return added.status();
                 })
                  .ok());
  auto creds = store_->FindCredentials("new.one");
  ASSERT_TRUE(creds.ok());
  EXPECT_TRUE(creds->must_change);
  EXPECT_EQ(creds->password_expires_at, clock_.Now() + absl::Hours(72));
  EXPECT_EQ(one_time.expires_at, clock_.Now() + absl::Hours(72));
  EXPECT_THAT(creds->password_hash, Not(HasSubstr(one_time.secret)));
  EXPECT_TRUE(auth::VerifyPassword(one_time.secret, creds->password_hash));

  // Replaced only while the stored hash is the one expected.
  auto chosen = store_->PrepareNewPassword("un mot de passe choisi", "new_password");
  ASSERT_TRUE(chosen.ok());
  const auto nothing = [](storage::Connection&) { return absl::OkStatus(); };
  ASSERT_TRUE(store_->ReplacePassword(added->id, creds->password_hash, *chosen, nothing).ok());
  absl::Status again = store_->ReplacePassword(added->id, creds->password_hash, *chosen, nothing);
  EXPECT_TRUE(absl::IsAborted(again)) << again;
  auto after = store_->FindCredentials("new.one");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->must_change);
  EXPECT_EQ(after->password_expires_at, absl::InfiniteFuture());
  EXPECT_TRUE(auth::VerifyPassword("un mot de passe choisi", after->password_hash));
  EXPECT_FALSE(auth::VerifyPassword(one_time.secret, after->password_hash));
  // A change whose audit fails leaves the password as it was.
  auto other = store_->PrepareNewPassword("encore un autre mot de passe", "new_password");
  ASSERT_TRUE(other.ok());
  absl::Status failed =
      store_->ReplacePassword(added->id, after->password_hash, *other,
                              [](storage::Connection&) { return common::AuditUnavailable(); });
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_TRUE(auth::VerifyPassword("un mot de passe choisi",
                                   store_->FindCredentials("new.one")->password_hash));
  EXPECT_EQ(common::ReasonOf(store_->PrepareNewPassword("trop court", "new_password").status()),
            "password_too_short");
}

TEST_F(DirectoryStoreTest, SetServicePlatformIsReadEverywhereAServiceIs) {
  const ServiceInfo plain = NewService();
  auto chosen = store_->CreateService({"svc_agaj", "AGAJ", "aide_jeunesse", "AGAJ", true});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_TRUE(store_->GetService("svc_agaj")->platform);
  EXPECT_FALSE(store_->GetService(plain.id)->platform);

  ASSERT_TRUE(store_->SetServicePlatform(plain.id, true).ok());
  ASSERT_TRUE(store_->SetServicePlatform("svc_agaj", false).ok());
  Reopen();
  EXPECT_TRUE(store_->GetService(plain.id)->platform);
  EXPECT_FALSE(store_->GetService("svc_agaj")->platform);
  auto page = store_->ListServices("", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->services.size(), 2u);
  for (const ServiceInfo& s : page->services) EXPECT_EQ(s.platform, s.id == plain.id) << s.id;

  EXPECT_EQ(common::ReasonOf(store_->SetServicePlatform("svc_nowhere", true)), "service_not_found");
}

TEST_F(DirectoryStoreTest, CreateSectorRefusesDuplicateAndMalformedIds) {
  EXPECT_EQ(common::ReasonOf(store_->CreateSector({"enseignement", "Écoles"}).status()),
            "sector_exists");
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateSector({"enseignement", "Écoles"}).status()));
  for (const char* bad : {"", "x", "Santé", "with space", "UPPER"}) {
    absl::Status s = store_->CreateSector({bad, "Name"}).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_EQ(common::FieldOf(s), "sector.id") << bad;
  }
}

TEST_F(DirectoryStoreTest, CreateServiceAssignsAnOpaqueIdAndReadsBack) {
  const ServiceInfo a = NewService();
  const ServiceInfo b = NewService();
  EXPECT_THAT(a.id, ::testing::MatchesRegex("svc_[0-9a-f]+"));
  EXPECT_NE(a.id, b.id);
  auto read = store_->GetService(a.id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->name, "AMO Le Relais (Charleroi)");
  EXPECT_EQ(read->sector_id, "aide_jeunesse");
  EXPECT_EQ(read->kind, "AMO");
}

TEST_F(DirectoryStoreTest, CreateServiceValidatesItsFields) {
  auto reason_and_field = [&](const ServiceInfo& s) {
    absl::Status st = store_->CreateService(s).status();
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
    return common::ReasonOf(st) + "@" + common::FieldOf(st);
  };
  EXPECT_EQ(reason_and_field({"", "", "prevention", ""}), "field_required@service.name");
  EXPECT_EQ(reason_and_field({"", "   ", "prevention", ""}), "field_required@service.name");
  EXPECT_EQ(reason_and_field({"", std::string(201, 'a'), "prevention", ""}),
            "field_too_long@service.name");
  EXPECT_EQ(reason_and_field({"", "Bad\nname", "prevention", ""}),
            "invalid_characters@service.name");
  EXPECT_EQ(reason_and_field({"", "CPAS", "", ""}), "field_required@service.sector_id");
  EXPECT_EQ(reason_and_field({"", "CPAS", "action_sociale", std::string(65, 'k')}),
            "malformed_kind@service.kind");
  EXPECT_TRUE(store_->CreateService({"", std::string(200, 'a'), "prevention", ""}).ok());
}

TEST_F(DirectoryStoreTest, CreateServiceKeepsAChosenIdSoCertificatesCanNameIt) {
  auto chosen = store_->CreateService({"svc_amo_charleroi", "AMO", "aide_jeunesse", "AMO"});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->id, "svc_amo_charleroi");
  auto read = store_->GetService("svc_amo_charleroi");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->name, "AMO");

  absl::Status taken =
      store_->CreateService({"svc_amo_charleroi", "Other", "prevention", ""}).status();
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  EXPECT_EQ(common::ReasonOf(taken), "service_exists");

  const std::string longest = "svc_" + std::string(40, 'a');
  EXPECT_TRUE(store_->CreateService({longest, "Longest", "prevention", ""}).ok());
  for (const std::string& bad : std::vector<std::string>{
           "svc_", "amo_charleroi", "svc_AMO", "svc_amo-charleroi", "svc_amo.charleroi", "SVC_amo",
           "svc_" + std::string(41, 'a'), std::string("svc_a\0b", 7)}) {
    absl::Status st = store_->CreateService({bad, "Name", "prevention", ""}).status();
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << bad;
    EXPECT_EQ(common::FieldOf(st), "service.id") << bad;
  }
}

TEST_F(DirectoryStoreTest, CreateServiceInAnUnknownSectorIsNotFound) {
  absl::Status s = store_->CreateService({"", "Club", "sport", ""}).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_EQ(common::ReasonOf(s), "sector_not_found");
}

TEST_F(DirectoryStoreTest, ListServicesPagesThroughEveryServiceOnce) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(NewService("aide_jeunesse").id);
  NewService("enseignement");
  NewService("enseignement");

  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->ListServices("aide_jeunesse", 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->services.size(), 2u);
    for (const ServiceInfo& s : page->services) {
      EXPECT_EQ(s.sector_id, "aide_jeunesse");
      EXPECT_TRUE(seen.insert(s.id).second) << "listed twice: " << s.id;
    }
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, created);

  auto all = store_->ListServices("", 100, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->services.size(), 7u);
  EXPECT_TRUE(all->next_page_token.empty());
}

TEST_F(DirectoryStoreTest, ListServicesRefusesBadArguments) {
  EXPECT_EQ(common::ReasonOf(store_->ListServices("nowhere", 10, "").status()), "sector_not_found");
  EXPECT_EQ(common::ReasonOf(store_->ListServices("", 10, "x' OR 1=1 --").status()),
            "bad_page_token");
  EXPECT_EQ(common::ReasonOf(store_->ListServices("", 10, "abc").status()), "bad_page_token");
}

TEST_F(DirectoryStoreTest, AddMemberStoresOnlyAHashThatVerifies) {
  const ServiceInfo service = NewService();
  auto added = store_->AddMember(Member(service.id, "aicha.b"), kPassword);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(added->id, ::testing::MatchesRegex("mbr_[0-9a-f]+"));
  EXPECT_TRUE(added->active);

  auto creds = store_->FindCredentials("aicha.b");
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->member.id, added->id);
  EXPECT_EQ(creds->member.service_id, service.id);
  EXPECT_EQ(creds->member.display_name, "Aïcha Benali");
  EXPECT_THAT(creds->member.roles, ElementsAre(v1::ROLE_CASEWORKER));
  EXPECT_THAT(creds->password_hash, Not(HasSubstr(kPassword)));
  EXPECT_TRUE(auth::VerifyPassword(kPassword, creds->password_hash));
  EXPECT_FALSE(auth::VerifyPassword("correct horse battery!", creds->password_hash));

  auto member = store_->GetMember(added->id);
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(member->login, "aicha.b");
}

TEST_F(DirectoryStoreTest, AddMemberKeepsEveryRoleOnce) {
  const ServiceInfo service = NewService();
  MemberInfo m = Member(service.id, "head.of.service");
  m.roles = {v1::ROLE_COORDINATOR, v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR};
  auto added = store_->AddMember(m, kPassword);
  ASSERT_TRUE(added.ok()) << added.status();
  auto read = store_->GetMember(added->id);
  ASSERT_TRUE(read.ok());
  EXPECT_THAT(read->roles, ElementsAre(v1::ROLE_COORDINATOR, v1::ROLE_CASEWORKER));
}

TEST_F(DirectoryStoreTest, DuplicateLoginIsAlreadyExists) {
  const ServiceInfo a = NewService();
  const ServiceInfo b = NewService("enseignement");
  ASSERT_TRUE(store_->AddMember(Member(a.id, "marie.dupont"), kPassword).ok());
  absl::Status s = store_->AddMember(Member(b.id, "marie.dupont"), kPassword).status();
  EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
  EXPECT_EQ(common::ReasonOf(s), "login_taken");
}

TEST_F(DirectoryStoreTest, AddMemberValidatesLoginRolesAndPassword) {
  const ServiceInfo service = NewService();
  auto reason_and_field = [&](const MemberInfo& m, absl::string_view password = kPassword) {
    absl::Status st = store_->AddMember(m, password).status();
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
    return common::ReasonOf(st) + "@" + common::FieldOf(st);
  };
  for (const std::string& login :
       {std::string("ab"), std::string("Marie"), std::string("marie dupont"),
        std::string("marie@cpas"), std::string(65, 'm')}) {
    EXPECT_EQ(reason_and_field(Member(service.id, login)), "malformed_login@member.login") << login;
  }
  EXPECT_TRUE(store_->AddMember(Member(service.id, std::string(64, 'm')), kPassword).ok());

  MemberInfo no_roles = Member(service.id, "no.roles");
  no_roles.roles.clear();
  EXPECT_EQ(reason_and_field(no_roles), "field_required@member.roles");
  MemberInfo unspecified = Member(service.id, "unspecified");
  unspecified.roles = {v1::ROLE_CASEWORKER, v1::ROLE_UNSPECIFIED};
  EXPECT_EQ(reason_and_field(unspecified), "invalid_role@member.roles");
  MemberInfo unknown = Member(service.id, "unknown.role");
  unknown.roles = {static_cast<v1::Role>(42)};
  EXPECT_EQ(reason_and_field(unknown), "invalid_role@member.roles");

  MemberInfo nameless = Member(service.id, "nameless");
  nameless.display_name.clear();
  EXPECT_EQ(reason_and_field(nameless), "field_required@member.display_name");

  EXPECT_EQ(reason_and_field(Member(service.id, "weak.one"), "short"),
            "password_too_short@password");
  EXPECT_EQ(reason_and_field(Member(service.id, "weak.two"), ""), "field_required@password");
  EXPECT_EQ(reason_and_field(Member(service.id, "weak.three"), std::string(1025, 'p')),
            "password_too_long@password");
  EXPECT_EQ(reason_and_field(Member(service.id, "weak.four"), "QwErTy123456"),
            "password_too_common@password");
  EXPECT_TRUE(absl::IsNotFound(store_->FindCredentials("weak.one").status()));
}

TEST_F(DirectoryStoreTest, AddMemberToAnUnknownServiceIsNotFound) {
  absl::Status s = store_->AddMember(Member("svc_missing", "lost.worker"), kPassword).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_EQ(common::ReasonOf(s), "service_not_found");
}

TEST_F(DirectoryStoreTest, UnknownIdsAndLoginsAreNotFound) {
  EXPECT_EQ(common::ReasonOf(store_->GetService("svc_000000000000").status()), "service_not_found");
  EXPECT_EQ(common::ReasonOf(store_->GetService("").status()), "service_not_found");
  EXPECT_EQ(common::ReasonOf(store_->GetMember("mbr_000000000000").status()), "member_not_found");
  EXPECT_EQ(common::ReasonOf(store_->GetMember(std::string(500, 'm')).status()),
            "member_not_found");
  EXPECT_EQ(common::ReasonOf(store_->FindCredentials("nobody").status()), "member_not_found");
  EXPECT_EQ(common::ReasonOf(store_->SetMemberActive("mbr_000000000000", false)),
            "member_not_found");
}

TEST_F(DirectoryStoreTest, DeactivatedMemberIsStillFoundButInactive) {
  const ServiceInfo service = NewService();
  auto added = store_->AddMember(Member(service.id, "leaving.soon"), kPassword);
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(store_->SetMemberActive(added->id, false).ok());
  auto creds = store_->FindCredentials("leaving.soon");
  ASSERT_TRUE(creds.ok());
  EXPECT_FALSE(creds->member.active);
  auto member = store_->GetMember(added->id);
  ASSERT_TRUE(member.ok());
  EXPECT_FALSE(member->active);
}

TEST(DirectoryStoreCreate, RefusesMissingDependenciesAndUnsafeScryptParams) {
  common::FakeClock clock(absl::UnixEpoch());
  EXPECT_TRUE(absl::IsInvalidArgument(DirectoryStore::Create(nullptr, &clock).status()));
  const std::string path = ::testing::TempDir() + "/directory_store_params.db";
  std::filesystem::remove(path);
  auto db = storage::Database::Open({.path = path});
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      DirectoryStore::Create(db->get(), &clock, {.scrypt = {.n = 3, .r = 8, .p = 1}}).status()));
}

}  // namespace
}  // namespace relais::directory
