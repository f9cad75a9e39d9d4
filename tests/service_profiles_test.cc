// Service profiles, search and shared definitions (issue #14): a coordinator
// describes their own service, anyone finds "who can help a 15-year-old in
// Charleroi with school drop-out", and an admin writes what a word means in
// each sector. Through the public API, deny paths and audit events included.

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::ServiceProfile Profile(int min_age, int max_age, std::vector<std::string> needs,
                           std::vector<std::string> communes) {
  v1::ServiceProfile p;
  p.set_mission("Accompagner les jeunes et leur famille.");
  p.set_offer("Entretiens, orientation, soutien.");
  p.set_min_age(min_age);
  p.set_max_age(max_age);
  for (const std::string& n : needs) p.add_needs(n);
  for (const std::string& c : communes) p.add_communes(c);
  p.add_languages("fr");
  p.set_contact("accueil@service.example");
  p.set_opening_hours("lun-ven 9h-17h");
  return p;
}

grpc::Status Update(RelaisEnv& env, absl::string_view login, const std::string& service_id,
                    const v1::ServiceProfile& profile, v1::Service* out) {
  v1::UpdateServiceProfileRequest req;
  req.set_service_id(service_id);
  *req.mutable_profile() = profile;
  return env.directory().UpdateServiceProfile(env.As(login).get(), req, out);
}

// The names of the services SearchServices finds (every page), as `login`.
std::vector<std::string> Search(RelaisEnv& env, v1::SearchServicesRequest req,
                                absl::string_view login = kPmsCaseworker) {
  std::vector<std::string> names;
  do {
    v1::SearchServicesResponse resp;
    grpc::Status s = env.directory().SearchServices(env.As(login).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    for (const v1::Service& svc : resp.services()) {
      EXPECT_TRUE(svc.has_profile()) << svc.name();
      names.push_back(svc.name());
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return names;
}

// The audit events of `login`'s calls, oldest first, as the auditor reads them.
std::vector<v1::AuditEvent> EventsBy(RelaisEnv& env, absl::string_view login) {
  v1::QueryEventsRequest req;
  req.set_actor_member_id(env.member_id(login));
  req.set_page_size(1000);
  v1::QueryEventsResponse resp;
  grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.events().begin(), resp.events().end()};
}

// The last audit event of `login` with `action`, or an empty one.
v1::AuditEvent LastEvent(RelaisEnv& env, absl::string_view login, v1::Action action) {
  v1::AuditEvent last;
  for (const v1::AuditEvent& e : EventsBy(env, login)) {
    if (e.action() == action) last = e;
  }
  return last;
}

void ExpectDenied(const grpc::Status& s, grpc::StatusCode code, absl::string_view reason) {
  EXPECT_EQ(s.error_code(), code) << s.error_message();
  EXPECT_EQ(ReasonCode(s), reason) << s.error_message();
}

class ServiceProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    env_->AddService("creche", "Crèche Les Petits Pas", "action_sociale", "Crèche");
    env_->AddMember("creche.coord", "creche", v1::ROLE_COORDINATOR);
  }

  // The PMS (3-18, Charleroi and Fleurus, school drop-out), a crèche-like
  // service (0-12, Charleroi, school drop-out too) and the SAJ (0-18,
  // Fleurus, family conflict), each described by an admin.
  void DescribeThree() {
    v1::Service out;
    ASSERT_TRUE(Update(*env_, kAdmin, env_->service_id("pms"),
                       Profile(3, 18, {"school_dropout", "orientation"}, {"Charleroi", "Fleurus"}),
                       &out)
                    .ok());
    ASSERT_TRUE(Update(*env_, "creche.coord", env_->service_id("creche"),
                       Profile(0, 12, {"school_dropout"}, {"CHARLEROI"}), &out)
                    .ok());
    ASSERT_TRUE(Update(*env_, kSajCoordinator, env_->service_id("saj"),
                       Profile(0, 18, {"family_conflict"}, {"Fleurus"}), &out)
                    .ok());
  }

  std::unique_ptr<RelaisEnv> env_;
};

TEST_F(ServiceProfilesTest, ACoordinatorDescribesTheirServiceAndEveryoneSeesIt) {
  RelaisEnv& env = *env_;
  v1::Service out;
  grpc::Status s = Update(env, kAmoCoordinator, env.service_id("amo"),
                          Profile(12, 22, {"school_dropout", "housing"}, {"Charleroi"}), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.id(), env.service_id("amo"));
  EXPECT_EQ(out.profile().reviewed_by_member_id(), env.member_id(kAmoCoordinator));
  EXPECT_EQ(out.profile().reviewed_at().seconds(), absl::ToUnixSeconds(env.clock().Now()));
  EXPECT_FALSE(out.profile().review_overdue());
  EXPECT_THAT(out.profile().needs(), ElementsAre("school_dropout", "housing"));

  // Another sector's caseworker reads it in ListServices.
  v1::ListServicesRequest list;
  v1::ListServicesResponse listed;
  ASSERT_TRUE(env.directory().ListServices(env.As(kPmsCaseworker).get(), list, &listed).ok());
  bool found = false;
  for (const v1::Service& svc : listed.services()) {
    if (svc.id() == env.service_id("amo")) {
      found = true;
      EXPECT_EQ(svc.profile().contact(), "accueil@service.example");
      EXPECT_EQ(svc.profile().min_age(), 12);
    } else {
      EXPECT_FALSE(svc.has_profile()) << svc.name();
    }
  }
  EXPECT_TRUE(found);

  // Audited as a directory change of that service, never with the text.
  const v1::AuditEvent e = LastEvent(env, kAmoCoordinator, v1::ACTION_MANAGE_DIRECTORY);
  EXPECT_EQ(e.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(e.object_id(), env.service_id("amo"));
  EXPECT_EQ(e.youth_id(), "");
  EXPECT_EQ(LastEvent(env, kPmsCaseworker, v1::ACTION_READ_DIRECTORY).decision(),
            v1::DECISION_ALLOW);
}

TEST_F(ServiceProfilesTest, OnlyAnAdminOrTheServicesOwnCoordinatorDescribesIt) {
  RelaisEnv& env = *env_;
  const v1::ServiceProfile p = Profile(12, 18, {"housing"}, {"Charleroi"});
  const std::string amo = env.service_id("amo");
  v1::Service out;
  ExpectDenied(Update(env, kAmoCaseworker, amo, p, &out), grpc::StatusCode::PERMISSION_DENIED,
               "role_not_permitted");
  ExpectDenied(Update(env, kAuditor, amo, p, &out), grpc::StatusCode::PERMISSION_DENIED,
               "role_not_permitted");
  ExpectDenied(Update(env, kSajCoordinator, amo, p, &out), grpc::StatusCode::PERMISSION_DENIED,
               "wrong_service");
  // Every refusal is audited, naming the service.
  const v1::AuditEvent e = LastEvent(env, kSajCoordinator, v1::ACTION_MANAGE_DIRECTORY);
  EXPECT_EQ(e.decision(), v1::DECISION_DENY);
  EXPECT_EQ(e.reason_code(), "wrong_service");
  EXPECT_EQ(e.object_id(), amo);
  EXPECT_EQ(LastEvent(env, kAmoCaseworker, v1::ACTION_MANAGE_DIRECTORY).reason_code(),
            "role_not_permitted");
  // Nothing was written.
  v1::SearchServicesRequest all;
  EXPECT_THAT(Search(env, all), IsEmpty());

  // An unknown service: NOT_FOUND, audited.
  ExpectDenied(Update(env, kAdmin, "svc_nowhere", p, &out), grpc::StatusCode::NOT_FOUND,
               "service_not_found");
  EXPECT_EQ(LastEvent(env, kAdmin, v1::ACTION_MANAGE_DIRECTORY).reason_code(), "service_not_found");

  // The platform operator's service: an admin only, never a coordinator of it.
  env.AddMember("agaj.coord", "agaj", v1::ROLE_COORDINATOR);
  ExpectDenied(Update(env, "agaj.coord", env.service_id("agaj"), p, &out),
               grpc::StatusCode::PERMISSION_DENIED, "role_not_permitted");
  ASSERT_TRUE(Update(env, kAdmin, env.service_id("agaj"), p, &out).ok());
  EXPECT_EQ(out.profile().reviewed_by_member_id(), env.member_id(kAdmin));
  // An admin describes any service.
  ASSERT_TRUE(Update(env, kAdmin, amo, p, &out).ok());
}

TEST_F(ServiceProfilesTest, BadProfilesAreRefusedWithTheirFieldAndAudited) {
  RelaisEnv& env = *env_;
  const std::string amo = env.service_id("amo");
  v1::ServiceProfile bad_need = Profile(12, 18, {"School dropout"}, {"Charleroi"});
  v1::ServiceProfile bad_ages = Profile(18, 12, {"housing"}, {"Charleroi"});
  v1::ServiceProfile too_old = Profile(12, 30, {"housing"}, {"Charleroi"});
  v1::ServiceProfile bad_language = Profile(12, 18, {"housing"}, {"Charleroi"});
  bad_language.add_languages("french");
  v1::ServiceProfile no_commune = Profile(12, 18, {"housing"}, {});
  v1::ServiceProfile long_contact = Profile(12, 18, {"housing"}, {"Charleroi"});
  long_contact.set_contact(std::string(201, 'c'));
  v1::ServiceProfile no_mission = Profile(12, 18, {"housing"}, {"Charleroi"});
  no_mission.clear_mission();
  for (const auto& [profile, reason, field] :
       std::vector<std::tuple<v1::ServiceProfile, std::string, std::string>>{
           {bad_need, "invalid_need", "profile.needs"},
           {bad_ages, "invalid_age_range", "profile.max_age"},
           {too_old, "invalid_age_range", "profile.max_age"},
           {bad_language, "invalid_language", "profile.languages"},
           {no_commune, "field_required", "profile.communes"},
           {long_contact, "field_too_long", "profile.contact"},
           {no_mission, "field_required", "profile.mission"}}) {
    v1::Service out;
    grpc::Status s = Update(env, kAmoCoordinator, amo, profile, &out);
    ExpectDenied(s, grpc::StatusCode::INVALID_ARGUMENT, reason);
    EXPECT_THAT(s.error_message(), ::testing::HasSubstr(field));
    EXPECT_EQ(LastEvent(env, kAmoCoordinator, v1::ACTION_MANAGE_DIRECTORY).reason_code(), reason);
  }
  v1::UpdateServiceProfileRequest no_profile;
  no_profile.set_service_id(amo);
  v1::Service out;
  ExpectDenied(
      env.directory().UpdateServiceProfile(env.As(kAmoCoordinator).get(), no_profile, &out),
      grpc::StatusCode::INVALID_ARGUMENT, "field_required");
}

TEST_F(ServiceProfilesTest, SearchFindsThePmsForAFifteenYearOldInCharleroiWithSchoolDropout) {
  RelaisEnv& env = *env_;
  DescribeThree();
  v1::SearchServicesRequest req;
  req.set_need("school_dropout");
  req.set_commune("charleroi");
  req.set_age(15);
  EXPECT_THAT(Search(env, req), ElementsAre("Centre PMS de Charleroi"));
  // Without the age, the crèche (0-12) answers too; sorted by name.
  req.clear_age();
  EXPECT_THAT(Search(env, req), ElementsAre("Centre PMS de Charleroi", "Crèche Les Petits Pas"));
  // Age 0 is an age, not "any age".
  req.set_age(0);
  EXPECT_THAT(Search(env, req), ElementsAre("Crèche Les Petits Pas"));

  v1::SearchServicesRequest fleurus;
  fleurus.set_commune("FLEURUS");
  EXPECT_THAT(Search(env, fleurus), ElementsAre("Centre PMS de Charleroi", "SAJ de Charleroi"));
  fleurus.set_sector_id("aide_jeunesse");
  EXPECT_THAT(Search(env, fleurus), ElementsAre("SAJ de Charleroi"));
  v1::SearchServicesRequest by_kind;
  by_kind.set_kind("PMS");
  EXPECT_THAT(Search(env, by_kind), ElementsAre("Centre PMS de Charleroi"));
  v1::SearchServicesRequest nobody;
  nobody.set_need("housing");
  EXPECT_THAT(Search(env, nobody), IsEmpty());
  // Services without a profile (the AMO) are never returned.
  EXPECT_THAT(Search(env, v1::SearchServicesRequest()),
              ElementsAre("Centre PMS de Charleroi", "Crèche Les Petits Pas", "SAJ de Charleroi"));
  // Any member searches, the auditor too; each search is audited.
  EXPECT_EQ(Search(env, req, kAuditor).size(), 1u);
  EXPECT_EQ(LastEvent(env, kAuditor, v1::ACTION_READ_DIRECTORY).decision(), v1::DECISION_ALLOW);
}

TEST_F(ServiceProfilesTest, SearchRefusesBadCriteriaAndPages) {
  RelaisEnv& env = *env_;
  DescribeThree();
  v1::SearchServicesResponse resp;
  v1::SearchServicesRequest req;
  req.set_age(26);
  ExpectDenied(env.directory().SearchServices(env.As(kPmsCaseworker).get(), req, &resp),
               grpc::StatusCode::INVALID_ARGUMENT, "out_of_range");
  EXPECT_EQ(LastEvent(env, kPmsCaseworker, v1::ACTION_READ_DIRECTORY).reason_code(),
            "out_of_range");
  req.set_age(-1);
  ExpectDenied(env.directory().SearchServices(env.As(kPmsCaseworker).get(), req, &resp),
               grpc::StatusCode::INVALID_ARGUMENT, "out_of_range");
  req.clear_age();
  req.set_need("school dropout");
  ExpectDenied(env.directory().SearchServices(env.As(kPmsCaseworker).get(), req, &resp),
               grpc::StatusCode::INVALID_ARGUMENT, "invalid_need");
  req.clear_need();
  req.set_sector_id("nowhere");
  ExpectDenied(env.directory().SearchServices(env.As(kPmsCaseworker).get(), req, &resp),
               grpc::StatusCode::NOT_FOUND, "sector_not_found");
  req.clear_sector_id();
  req.set_page_token("svc_not_a_token");
  ExpectDenied(env.directory().SearchServices(env.As(kPmsCaseworker).get(), req, &resp),
               grpc::StatusCode::INVALID_ARGUMENT, "bad_page_token");
  ExpectDenied(env.directory().SearchServices(env.Anonymous().get(), {}, &resp),
               grpc::StatusCode::UNAUTHENTICATED, "token_missing");

  // One per page, in name order, each service once.
  v1::SearchServicesRequest paged;
  paged.set_page_size(1);
  ASSERT_TRUE(env.directory().SearchServices(env.As(kPmsCaseworker).get(), paged, &resp).ok());
  ASSERT_EQ(resp.services_size(), 1);
  EXPECT_EQ(resp.services(0).name(), "Centre PMS de Charleroi");
  EXPECT_FALSE(resp.next_page_token().empty());
  EXPECT_THAT(Search(env, paged),
              ElementsAre("Centre PMS de Charleroi", "Crèche Les Petits Pas", "SAJ de Charleroi"));
}

TEST_F(ServiceProfilesTest, AProfileNotReviewedForAYearIsFlaggedUntilReviewed) {
  RelaisEnv& env = *env_;
  DescribeThree();
  env.clock().Advance(absl::Hours(24 * 365));
  v1::SearchServicesRequest pms;
  pms.set_kind("PMS");
  v1::SearchServicesResponse resp;
  ASSERT_TRUE(env.directory().SearchServices(env.As(kPmsCaseworker).get(), pms, &resp).ok());
  ASSERT_EQ(resp.services_size(), 1);
  EXPECT_FALSE(resp.services(0).profile().review_overdue());  // a year exactly: not yet
  env.clock().Advance(absl::Hours(24));
  ASSERT_TRUE(env.directory().SearchServices(env.As(kPmsCaseworker).get(), pms, &resp).ok());
  EXPECT_TRUE(resp.services(0).profile().review_overdue());
  v1::ListServicesResponse listed;
  ASSERT_TRUE(env.directory().ListServices(env.As(kPmsCaseworker).get(), {}, &listed).ok());
  for (const v1::Service& s : listed.services()) {
    if (s.has_profile()) {
      EXPECT_TRUE(s.profile().review_overdue()) << s.name();
    }
  }
  // Reviewing it again (the same text) clears the flag.
  v1::Service out;
  ASSERT_TRUE(Update(env, kAdmin, env.service_id("pms"), resp.services(0).profile(), &out).ok());
  EXPECT_FALSE(out.profile().review_overdue());
  ASSERT_TRUE(env.directory().SearchServices(env.As(kPmsCaseworker).get(), pms, &resp).ok());
  EXPECT_FALSE(resp.services(0).profile().review_overdue());
}

grpc::Status Define(RelaisEnv& env, absl::string_view login, const std::string& term,
                    const std::string& sector, const std::string& text, v1::Definition* out) {
  v1::DefineTermRequest req;
  req.mutable_definition()->set_term(term);
  req.mutable_definition()->set_sector_id(sector);
  req.mutable_definition()->set_text(text);
  return env.directory().DefineTerm(env.As(login).get(), req, out);
}

TEST_F(ServiceProfilesTest, TheGlossaryCarriesSectorsAndTheSharedDefinitions) {
  RelaisEnv& env = *env_;
  v1::GlossaryResponse all;
  ASSERT_TRUE(env.directory().Glossary(env.As(kPmsCaseworker).get(), {}, &all).ok());
  EXPECT_GE(all.sectors_size(), 5);
  int prevention = 0;
  for (const v1::Definition& d : all.definitions()) {
    if (d.term() == "prévention") ++prevention;
  }
  EXPECT_EQ(prevention, 5);  // one per seeded sector

  v1::GlossaryRequest school;
  school.set_sector_id("enseignement");
  v1::GlossaryResponse one;
  ASSERT_TRUE(env.directory().Glossary(env.As(kPmsCaseworker).get(), school, &one).ok());
  ASSERT_EQ(one.sectors_size(), 1);
  EXPECT_EQ(one.sectors(0).name(), "Enseignement");
  EXPECT_EQ(one.definitions_size(), 3);
  for (const v1::Definition& d : one.definitions()) EXPECT_EQ(d.sector_id(), "enseignement");
}

TEST_F(ServiceProfilesTest, OnlyAnAdminDefinesATermAndADefinitionIsReplaced) {
  RelaisEnv& env = *env_;
  v1::Definition out;
  for (const char* login : {kAmoCoordinator, kAmoCaseworker, kAuditor}) {
    ExpectDenied(Define(env, login, "décrochage", "enseignement", "x", &out),
                 grpc::StatusCode::PERMISSION_DENIED, "role_not_permitted");
    EXPECT_EQ(LastEvent(env, login, v1::ACTION_MANAGE_DIRECTORY).reason_code(),
              "role_not_permitted");
  }
  ASSERT_TRUE(Define(env, kAdmin, "décrochage", "enseignement", "Premier texte.", &out).ok());
  EXPECT_EQ(out.updated_at().seconds(), absl::ToUnixSeconds(env.clock().Now()));
  env.clock().Advance(absl::Hours(1));
  // Same term (whatever its case) and sector: replaced, not added.
  ASSERT_TRUE(Define(env, kAdmin, "Décrochage", "enseignement", "Second texte.", &out).ok());
  const v1::AuditEvent e = LastEvent(env, kAdmin, v1::ACTION_MANAGE_DIRECTORY);
  EXPECT_EQ(e.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(e.object_id(), "enseignement");

  v1::GlossaryRequest school;
  school.set_sector_id("enseignement");
  v1::GlossaryResponse g;
  ASSERT_TRUE(env.directory().Glossary(env.As(kPmsCaseworker).get(), school, &g).ok());
  int found = 0;
  for (const v1::Definition& d : g.definitions()) {
    if (d.term() == "Décrochage") {
      ++found;
      EXPECT_EQ(d.text(), "Second texte.");
    }
    EXPECT_NE(d.term(), "décrochage");
  }
  EXPECT_EQ(found, 1);

  ExpectDenied(Define(env, kAdmin, "décrochage", "nowhere", "x", &out), grpc::StatusCode::NOT_FOUND,
               "sector_not_found");
  ExpectDenied(Define(env, kAdmin, "", "enseignement", "x", &out),
               grpc::StatusCode::INVALID_ARGUMENT, "field_required");
  ExpectDenied(Define(env, kAdmin, "décrochage", "enseignement", std::string(2001, 'x'), &out),
               grpc::StatusCode::INVALID_ARGUMENT, "field_too_long");
  EXPECT_EQ(LastEvent(env, kAdmin, v1::ACTION_MANAGE_DIRECTORY).reason_code(), "field_too_long");
}

}  // namespace
}  // namespace relais::testing
