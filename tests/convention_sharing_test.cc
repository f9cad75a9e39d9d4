// Sharing under a partnership convention (issue #14): a consent or a handover
// that cites a convention the services signed stays inside it, when recorded
// and at every read, and a party that terminates it stops the sharing at the
// next decision. Every step through the public API.

#include <memory>
#include <string>

#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "relais/v1/partnership.grpc.pb.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kPmsCoordinator[] = "pms.head";
constexpr absl::Duration kDay = absl::Hours(24);

class ConventionSharingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    RelaisEnv& env = *env_;
    env.AddMember(kPmsCoordinator, "pms", v1::ROLE_COORDINATOR);
    youth_ = env.CreateYouth(15);
    env.Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    convention_ = SignedConvention();
  }

  // The AMO and the PMS share general and education entries, for
  // coordination and handover, handovers overlapping at most 60 days.
  std::string SignedConvention() {
    RelaisEnv& env = *env_;
    v1::ProposeConventionRequest req;
    v1::Convention* c = req.mutable_convention();
    c->set_title("AMO Le Relais – Centre PMS de Charleroi");
    c->set_purpose("Accompagner ensemble les jeunes en décrochage scolaire");
    c->add_party_service_ids(env.service_id("amo"));
    c->add_party_service_ids(env.service_id("pms"));
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_EDUCATION);
    c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
    c->mutable_scope()->add_purposes(v1::PURPOSE_HANDOVER);
    c->mutable_scope()->set_max_overlap_days(60);
    const absl::Time now = env.clock().Now();
    *c->mutable_start_time() = common::ToProto(now);
    *c->mutable_end_time() = common::ToProto(now + 365 * kDay);
    *c->mutable_review_time() = common::ToProto(now + 180 * kDay);
    v1::Convention proposed;
    grpc::Status s =
        env.partnership().ProposeConvention(env.As(kAmoCoordinator).get(), req, &proposed);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::SignConventionRequest sign;
    sign.set_convention_id(proposed.id());
    v1::Convention signed_;
    s = env.partnership().SignConvention(env.As(kPmsCoordinator).get(), sign, &signed_);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(signed_.state(), v1::CONVENTION_STATE_IN_FORCE);
    return proposed.id();
  }

  grpc::Status Propose(absl::string_view to_key, absl::Duration overlap, v1::Handover* out,
                       const std::string& convention) {
    RelaisEnv& env = *env_;
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth_);
    req.set_to_service_id(env.service_id(to_key));
    req.set_reason("décrochage scolaire: le PMS prend le relais");
    *req.mutable_overlap_start() = common::ToProto(env.clock().Now());
    *req.mutable_overlap_end() = common::ToProto(env.clock().Now() + overlap);
    req.set_convention_id(convention);
    return env.care().ProposeHandover(env.As(kAmoCaseworker).get(), req, out);
  }

  grpc::Status Accept(const std::string& handover) {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(handover);
    req.set_referent_member_id(env_->member_id(kPmsCaseworker));
    v1::Handover out;
    return env_->care().AcceptHandover(env_->As(kPmsCoordinator).get(), req, &out);
  }

  // The AMO's consent for the PMS, citing `convention`.
  grpc::Status Grant(const std::string& convention, bool all_non_special,
                     std::vector<v1::DataCategory> categories, v1::Consent* out) {
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(youth_);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(env_->service_id("pms"));
    for (v1::DataCategory c : categories) k->add_categories(c);
    k->set_all_non_special_categories(all_non_special);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = common::ToProto(env_->clock().Now() + 90 * kDay);
    k->set_convention_id(convention);
    return env_->care().GrantConsent(env_->As(kAmoCaseworker).get(), req, out);
  }

  std::string AddEntry(v1::DataCategory category) {
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth_);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(category);
    req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
    req.mutable_entry()->set_body("Rencontre avec le jeune et sa mère");
    v1::Entry entry;
    grpc::Status s = env_->record().AddEntry(env_->As(kAmoCaseworker).get(), req, &entry);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return entry.id();
  }

  grpc::Status Read(const std::string& entry) {
    v1::GetEntryRequest req;
    req.set_entry_id(entry);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Entry out;
    return env_->record().GetEntry(env_->As(kPmsCaseworker).get(), req, &out);
  }

  grpc::Status Terminate() {
    v1::TerminateConventionRequest req;
    req.set_convention_id(convention_);
    req.set_reason("fin du partenariat");
    v1::Convention out;
    return env_->partnership().TerminateConvention(env_->As(kAmoCoordinator).get(), req, &out);
  }

  // The PMS takes the youth over under the convention: both accompany now.
  void HandOverToPms() {
    v1::Handover h;
    grpc::Status s = Propose("pms", 30 * kDay, &h, convention_);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(h.convention_id(), convention_);
    s = Accept(h.id());
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
  std::string convention_;
};

TEST_F(ConventionSharingTest, AHandoverCitesAConventionOnlyWithinItsTerms) {
  v1::Handover h;
  // The SAJ is no party; 90 days exceed the convention's 60.
  grpc::Status s = Propose("saj", 30 * kDay, &h, convention_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  s = Propose("pms", 90 * kDay, &h, convention_);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  s = Propose("pms", 30 * kDay, &h, "cnv_00000000000000000000");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(s), "convention_not_found");
  // Each refusal is in the youth's audit trail.
  int refused = 0;
  for (const v1::AuditEvent& e : EventsOf(*env_, youth_)) {
    if (e.action() == v1::ACTION_PROPOSE_HANDOVER && e.decision() == v1::DECISION_DENY) ++refused;
  }
  EXPECT_EQ(refused, 3);
  // Within its terms it goes through and names the convention; the same
  // proposal again is the same handover.
  s = Propose("pms", 30 * kDay, &h, convention_);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.convention_id(), convention_);
  v1::Handover again;
  ASSERT_TRUE(Propose("pms", 30 * kDay, &again, convention_).ok());
  EXPECT_EQ(again.id(), h.id());
}

TEST_F(ConventionSharingTest, AConventionTerminatedBeforeAcceptanceStopsTheHandover) {
  v1::Handover h;
  ASSERT_TRUE(Propose("pms", 30 * kDay, &h, convention_).ok());
  ASSERT_TRUE(Terminate().ok());
  grpc::Status s = Accept(h.id());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
}

TEST_F(ConventionSharingTest, AConsentCitingAConventionStaysInsideItsScope) {
  HandOverToPms();
  v1::Consent k;
  // Health is outside the convention: refused when recorded.
  grpc::Status s = Grant(convention_, false, {v1::DATA_CATEGORY_HEALTH}, &k);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  // A blanket consent is narrowed at each read to what the convention covers.
  s = Grant(convention_, true, {}, &k);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(k.convention_id(), convention_);
  const std::string general = AddEntry(v1::DATA_CATEGORY_GENERAL);
  const std::string family = AddEntry(v1::DATA_CATEGORY_FAMILY);
  s = Read(general);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Read(family);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  // The listing withholds it and says why.
  v1::ListEntriesRequest req;
  req.set_youth_id(youth_);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse list;
  ASSERT_TRUE(env_->record().ListEntries(env_->As(kPmsCaseworker).get(), req, &list).ok());
  bool withheld = false;
  for (const auto& w : list.withheld()) withheld |= w.reason_code() == "outside_convention";
  EXPECT_TRUE(withheld);
}

TEST_F(ConventionSharingTest, TerminatingTheConventionStopsTheSharingAtTheNextRead) {
  HandOverToPms();
  v1::Consent k;
  ASSERT_TRUE(Grant(convention_, false, {v1::DATA_CATEGORY_GENERAL}, &k).ok());
  const std::string general = AddEntry(v1::DATA_CATEGORY_GENERAL);
  ASSERT_TRUE(Read(general).ok());
  ASSERT_TRUE(Terminate().ok());
  grpc::Status s = Read(general);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  // The auditor sees the refused read with its reason.
  bool audited = false;
  for (const v1::AuditEvent& e : EventsOf(*env_, youth_)) {
    audited |= e.action() == v1::ACTION_READ_ENTRY && e.entry_id() == general &&
               e.reason_code() == "outside_convention";
  }
  EXPECT_TRUE(audited);
  // CheckAccess explains it the same way.
  v1::CheckAccessRequest check;
  check.set_youth_id(youth_);
  check.set_entry_id(general);
  check.set_purpose(v1::PURPOSE_COORDINATION);
  v1::CheckAccessResponse why;
  ASSERT_TRUE(env_->care().CheckAccess(env_->As(kPmsCaseworker).get(), check, &why).ok());
  EXPECT_EQ(why.reason_code(), "outside_convention");
  // Nothing new can cite it either.
  EXPECT_EQ(ReasonCode(Grant(convention_, false, {v1::DATA_CATEGORY_GENERAL}, &k)),
            "outside_convention");
}

}  // namespace
}  // namespace relais::testing
