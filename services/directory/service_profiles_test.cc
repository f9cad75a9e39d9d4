#include "services/directory/service_profiles.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "auth/password.h"
#include "common/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/directory/directory_store.h"
#include "storage/testing/fresh_database.h"

namespace relais::directory {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1796342400);  // 2026-12-04

ServiceProfile Valid() {
  ServiceProfile p;
  p.mission = "Accompagner les élèves et leur famille.";
  p.offer = "Entretiens, bilans, orientation.";
  p.min_age = 12;
  p.max_age = 18;
  p.needs = {"school_dropout", "family_conflict"};
  p.communes = {"Charleroi", "Châtelet"};
  p.languages = {"fr"};
  p.contact = "accueil@pms.example";
  p.opening_hours = "lundi-vendredi 8h30-16h30";
  return p;
}

void ExpectInvalid(const ServiceProfile& p, absl::string_view field, absl::string_view reason) {
  absl::StatusOr<ServiceProfile> checked = CheckProfile(p);
  ASSERT_FALSE(checked.ok()) << field;
  EXPECT_TRUE(absl::IsInvalidArgument(checked.status())) << checked.status();
  EXPECT_EQ(common::FieldOf(checked.status()), field);
  EXPECT_EQ(common::ReasonOf(checked.status()), reason) << checked.status();
}

TEST(CheckProfileTest, AcceptsAValidProfileTrimmedAndWithoutRepeats) {
  ServiceProfile p = Valid();
  p.mission = "  Accompagner.\nAussi les parents.  ";
  p.needs = {"housing", "housing", "school_dropout"};
  p.communes = {"Charleroi", "CHARLEROI", " Fleurus "};
  absl::StatusOr<ServiceProfile> checked = CheckProfile(p);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->mission, "Accompagner.\nAussi les parents.");
  EXPECT_THAT(checked->needs, ElementsAre("housing", "school_dropout"));
  EXPECT_THAT(checked->communes, ElementsAre("Charleroi", "Fleurus"));
}

TEST(CheckProfileTest, RefusesEachBadFieldWithItsReason) {
  ServiceProfile p = Valid();
  p.mission = "   ";
  ExpectInvalid(p, "profile.mission", "field_required");
  p = Valid();
  p.offer = std::string(kMaxProfileTextBytes + 1, 'x');
  ExpectInvalid(p, "profile.offer", "field_too_long");
  p = Valid();
  p.min_age = -1;
  ExpectInvalid(p, "profile.min_age", "invalid_age_range");
  p = Valid();
  p.min_age = 14;
  p.max_age = 12;
  ExpectInvalid(p, "profile.max_age", "invalid_age_range");
  p = Valid();
  p.max_age = 26;
  ExpectInvalid(p, "profile.max_age", "invalid_age_range");
  p = Valid();
  p.needs = {};
  ExpectInvalid(p, "profile.needs", "field_required");
  p = Valid();
  p.needs = {"School-Dropout"};
  ExpectInvalid(p, "profile.needs", "invalid_need");
  p = Valid();
  p.needs = std::vector<std::string>(kMaxNeeds + 1, "housing");
  ExpectInvalid(p, "profile.needs", "too_many");
  p = Valid();
  p.communes = {};
  ExpectInvalid(p, "profile.communes", "field_required");
  p = Valid();
  p.communes = {"Charleroi\n"};
  ASSERT_TRUE(CheckProfile(p).ok());  // trimmed
  p.communes = {"Char\nleroi"};
  ExpectInvalid(p, "profile.communes", "invalid_characters");
  p = Valid();
  p.languages = {"FR"};
  ExpectInvalid(p, "profile.languages", "invalid_language");
  p.languages = {"fra"};
  ExpectInvalid(p, "profile.languages", "invalid_language");
  p = Valid();
  p.contact = "";
  ExpectInvalid(p, "profile.contact", "field_required");
  p = Valid();
  p.opening_hours = std::string(kMaxContactBytes + 1, 'h');
  ExpectInvalid(p, "profile.opening_hours", "field_too_long");
  p = Valid();
  p.opening_hours = "";
  EXPECT_TRUE(CheckProfile(p).ok());  // optional
}

TEST(FoldForMatchTest, IgnoresCaseAndTheCaseOfAccents) {
  EXPECT_EQ(FoldForMatch(" CHARLEROI "), "charleroi");
  EXPECT_EQ(FoldForMatch("ÉCAUSSINNES"), "écaussinnes");
  EXPECT_EQ(FoldForMatch("Châtelet"), FoldForMatch("CHÂTELET"));
  EXPECT_NE(FoldForMatch("Chatelet"), FoldForMatch("Châtelet"));
}

TEST(ReviewOverdueTest, AfterAYear) {
  ServiceProfile p = Valid();
  p.reviewed_at = kNow - absl::Hours(24 * 365);
  EXPECT_FALSE(ReviewOverdue(p, kNow));
  p.reviewed_at = kNow - absl::Hours(24 * 366);
  EXPECT_TRUE(ReviewOverdue(p, kNow));
}

class ServiceProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/service_profiles_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = DirectoryStore::Create(db_.get(), &clock_, {.scrypt = auth::FastParamsForTests()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto mac = storage::RowMac::Derive({std::string(32, 'k')});
    ASSERT_TRUE(mac.ok()) << mac.status();
    auto binding = storage::BindRowMac(*db_, *mac);
    ASSERT_TRUE(binding.ok()) << binding.status();
    row_mac_ = *std::move(binding);
    profiles_ = std::make_unique<ServiceProfiles>(db_.get());
  }
  void TearDown() override {
    profiles_.reset();
    store_.reset();
    db_.reset();
    row_mac_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  std::string AddService(const std::string& name, const std::string& sector,
                         const std::string& kind, int min_age, int max_age,
                         std::vector<std::string> needs, std::vector<std::string> communes) {
    auto s = store_->CreateService({"", name, sector, kind});
    EXPECT_TRUE(s.ok()) << s.status();
    ServiceProfile p = Valid();
    p.min_age = min_age;
    p.max_age = max_age;
    p.needs = std::move(needs);
    p.communes = std::move(communes);
    auto put = profiles_->Put(s->id, p, "mbr_reviewer", kNow);
    EXPECT_TRUE(put.ok()) << put.status();
    return s->id;
  }

  std::vector<std::string> Names(const ProfileQuery& q) {
    auto page = profiles_->Search(q, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> names;
    if (page.ok()) {
      for (const ProfiledService& s : page->services) names.push_back(s.service.name);
    }
    return names;
  }

  std::string path_;
  common::FakeClock clock_{kNow};
  std::unique_ptr<storage::RowMacBinding> row_mac_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<DirectoryStore> store_;
  std::unique_ptr<ServiceProfiles> profiles_;
};

TEST_F(ServiceProfilesTest, PutReplacesAndGetReadsBackInOrder) {
  const std::string id =
      AddService("PMS", "enseignement", "PMS", 12, 18, {"school_dropout"}, {"Charleroi"});
  ServiceProfile p = Valid();
  p.needs = {"mental_health", "housing"};
  p.communes = {"Fleurus", "Charleroi"};
  ASSERT_TRUE(profiles_->Put(id, p, "mbr_other", kNow + absl::Hours(1)).ok());
  auto got = profiles_->Get({id, "svc_none"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  const ServiceProfile& stored = got->at(id);
  EXPECT_THAT(stored.needs, ElementsAre("mental_health", "housing"));
  EXPECT_THAT(stored.communes, ElementsAre("Fleurus", "Charleroi"));
  EXPECT_EQ(stored.reviewed_by_member_id, "mbr_other");
  EXPECT_EQ(stored.reviewed_at, kNow + absl::Hours(1));
  EXPECT_EQ(stored.contact, "accueil@pms.example");
}

TEST_F(ServiceProfilesTest, PutForAnUnknownServiceIsNotFound) {
  auto put = profiles_->Put("svc_nope", Valid(), "mbr_x", kNow);
  EXPECT_TRUE(absl::IsNotFound(put.status())) << put.status();
  EXPECT_EQ(common::ReasonOf(put.status()), "service_not_found");
}

TEST_F(ServiceProfilesTest, SearchAndsEveryCriterionAndSortsByName) {
  AddService("Centre PMS", "enseignement", "PMS", 12, 18, {"school_dropout"},
             {"Charleroi", "Fleurus"});
  AddService("AMO", "aide_jeunesse", "AMO", 0, 12, {"school_dropout", "family_conflict"},
             {"Charleroi"});
  AddService("CPAS", "action_sociale", "CPAS", 18, 25, {"housing"}, {"Charleroi"});
  const auto unprofiled = store_->CreateService({"", "Sans profil", "prevention", ""});
  ASSERT_TRUE(unprofiled.ok());

  EXPECT_THAT(Names({}), ElementsAre("AMO", "CPAS", "Centre PMS"));
  EXPECT_THAT(Names({.need = "school_dropout", .commune = "CHARLEROI", .age = 15}),
              ElementsAre("Centre PMS"));
  EXPECT_THAT(Names({.need = "school_dropout", .age = 12}), ElementsAre("AMO", "Centre PMS"));
  EXPECT_THAT(Names({.commune = "fleurus"}), ElementsAre("Centre PMS"));
  EXPECT_THAT(Names({.sector_id = "action_sociale"}), ElementsAre("CPAS"));
  EXPECT_THAT(Names({.kind = "pms"}), ElementsAre("Centre PMS"));
  EXPECT_THAT(Names({.need = "housing", .age = 15}), IsEmpty());
  EXPECT_THAT(Names({.commune = "Mons"}), IsEmpty());
}

TEST_F(ServiceProfilesTest, SearchPagesByNameAndRefusesBadCriteria) {
  for (const char* name : {"D", "B", "A", "C"}) {
    AddService(name, "aide_jeunesse", "AMO", 0, 18, {"housing"}, {"Charleroi"});
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    auto page = profiles_->Search({}, 3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const ProfiledService& s : page->services) seen.push_back(s.service.name);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre("A", "B", "C", "D"));

  auto bad = profiles_->Search({.age = 26}, 10, "");
  EXPECT_EQ(common::ReasonOf(bad.status()), "out_of_range");
  bad = profiles_->Search({.age = -1}, 10, "");
  EXPECT_EQ(common::ReasonOf(bad.status()), "out_of_range");
  bad = profiles_->Search({.need = "School Dropout"}, 10, "");
  EXPECT_EQ(common::ReasonOf(bad.status()), "invalid_need");
  EXPECT_EQ(common::FieldOf(bad.status()), "need");
  bad = profiles_->Search({.sector_id = "nowhere"}, 10, "");
  EXPECT_EQ(common::ReasonOf(bad.status()), "sector_not_found");
  bad = profiles_->Search({}, 10, "svc_never_given");
  EXPECT_EQ(common::ReasonOf(bad.status()), "bad_page_token");
}

TEST_F(ServiceProfilesTest, DefineUpsertsByFoldedTermAndSector) {
  auto before = profiles_->Definitions("enseignement");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), 3u);  // the seeded prévention, bien-être, besoins de l'enfant
  absl::Status s = db_->Write([&](storage::Connection& txn) {
    return profiles_->Define(txn, {"Prévention", "enseignement", "Nouveau texte."}, kNow).status();
  });
  ASSERT_TRUE(s.ok()) << s;
  auto after = profiles_->Definitions("enseignement");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 3u);
  bool replaced = false;
  for (const Definition& d : *after) {
    if (d.term == "Prévention") {
      replaced = true;
      EXPECT_EQ(d.text, "Nouveau texte.");
      EXPECT_EQ(d.updated_at, kNow);
    }
  }
  EXPECT_TRUE(replaced);

  s = db_->Write([&](storage::Connection& txn) {
    return profiles_->Define(txn, {"prévention", "nowhere", "x"}, kNow).status();
  });
  EXPECT_EQ(common::ReasonOf(s), "sector_not_found");
  s = db_->Write([&](storage::Connection& txn) {
    return profiles_->Define(txn, {std::string(kMaxTermBytes + 1, 't'), "enseignement", "x"}, kNow)
        .status();
  });
  EXPECT_EQ(common::ReasonOf(s), "field_too_long");
  s = db_->Write([&](storage::Connection& txn) {
    return profiles_->Define(txn, {"prévention", "enseignement", ""}, kNow).status();
  });
  EXPECT_EQ(common::FieldOf(s), "definition.text");
}

}  // namespace
}  // namespace relais::directory
