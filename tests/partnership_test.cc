// Partnership conventions and protocols (issue #14) through the public API:
// who may propose, sign, review and terminate a convention, how its state
// follows signatures and the clock, the reminders; protocols shared only under
// a convention in force, acknowledged version by version, their coverage; and
// the audit event every call leaves, allowed or denied.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/partnership/partnership_rules.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr char kPmsCoordinator[] = "pms.coord";
constexpr absl::Duration kDay = absl::Hours(24);

class PartnershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    env_->AddMember(kPmsCoordinator, "pms", v1::ROLE_COORDINATOR);
  }

  absl::Time Now() { return env_->clock().Now(); }
  v1::PartnershipService::Stub& api() { return env_->partnership(); }

  // A convention between the services with these keys, from now for a year,
  // reviewed in 180 days.
  v1::ProposeConventionRequest Proposal(std::vector<std::string> keys,
                                        absl::Duration starts_in = absl::ZeroDuration()) {
    v1::ProposeConventionRequest req;
    v1::Convention* c = req.mutable_convention();
    c->set_title("AMO – PMS");
    c->set_purpose("Un secret de coordination");
    for (const std::string& k : keys) c->add_party_service_ids(env_->service_id(k));
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_EDUCATION);
    c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
    c->mutable_scope()->set_max_overlap_days(60);
    *c->mutable_start_time() = common::ToProto(Now() + starts_in);
    *c->mutable_end_time() = common::ToProto(Now() + starts_in + 365 * kDay);
    *c->mutable_review_time() = common::ToProto(Now() + 180 * kDay);
    return req;
  }

  v1::Convention Propose(absl::string_view login, const v1::ProposeConventionRequest& req) {
    v1::Convention c;
    grpc::Status s = api().ProposeConvention(env_->As(login).get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c;
  }
  grpc::Status Sign(absl::string_view login, const std::string& id, v1::Convention* out) {
    v1::SignConventionRequest req;
    req.set_convention_id(id);
    return api().SignConvention(env_->As(login).get(), req, out);
  }
  grpc::Status Terminate(absl::string_view login, const std::string& id, v1::Convention* out,
                         const std::string& reason = "Fin du projet commun") {
    v1::TerminateConventionRequest req;
    req.set_convention_id(id);
    req.set_reason(reason);
    return api().TerminateConvention(env_->As(login).get(), req, out);
  }
  // An AMO–PMS convention signed by both coordinators, in force now.
  v1::Convention InForce() {
    v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms"}));
    grpc::Status s = Sign(kPmsCoordinator, c.id(), &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(c.state(), v1::CONVENTION_STATE_IN_FORCE);
    return c;
  }

  v1::CreateProtocolRequest ProtocolRequest(std::vector<std::string> keys,
                                            const std::string& convention_id = "") {
    v1::CreateProtocolRequest req;
    v1::Protocol* p = req.mutable_protocol();
    p->set_title("Partage d'informations lors d'un passage de relais");
    for (const std::string& k : keys) p->add_service_ids(env_->service_id(k));
    p->add_roles(v1::ROLE_CASEWORKER);
    p->set_convention_id(convention_id);
    *p->mutable_review_time() = common::ToProto(Now() + 90 * kDay);
    req.mutable_first_version()->set_summary("Première version");
    req.mutable_first_version()->set_link("https://intranet.example.org/relais.pdf");
    return req;
  }
  grpc::Status Acknowledge(absl::string_view login, const std::string& id, int version,
                           v1::Protocol* out) {
    v1::AcknowledgeProtocolRequest req;
    req.set_protocol_id(id);
    req.set_version(version);
    return api().AcknowledgeProtocol(env_->As(login).get(), req, out);
  }
  std::vector<v1::Protocol> ListProtocols(absl::string_view login, bool to_ack_only = false) {
    v1::ListProtocolsRequest req;
    req.set_to_acknowledge_only(to_ack_only);
    v1::ListProtocolsResponse resp;
    grpc::Status s = api().ListProtocols(env_->As(login).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.protocols().begin(), resp.protocols().end()};
  }

  // The events `login` left with `action` on `object_id`, as the DPO reads them.
  std::vector<v1::AuditEvent> Events(absl::string_view login, v1::Action action,
                                     const std::string& object_id = "") {
    v1::QueryEventsRequest req;
    req.set_actor_member_id(env_->member_id(login));
    req.set_page_size(1000);
    v1::QueryEventsResponse resp;
    grpc::Status s = env_->audit().QueryEvents(env_->As(kAuditor).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<v1::AuditEvent> out;
    for (const v1::AuditEvent& e : resp.events()) {
      if (e.action() == action && (object_id.empty() || e.object_id() == object_id)) {
        out.push_back(e);
      }
    }
    return out;
  }
  // Whether `login` left exactly one such event with `reason_code`.
  bool AuditedOnce(absl::string_view login, v1::Action action, const std::string& object_id,
                   absl::string_view reason_code) {
    int n = 0;
    for (const v1::AuditEvent& e : Events(login, action, object_id)) {
      if (e.reason_code() == reason_code) ++n;
    }
    return n == 1;
  }

  std::unique_ptr<RelaisEnv> env_;
};

TEST_F(PartnershipTest, InForceOnlyOnceEveryPartySigned) {
  v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms"}));
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_AWAITING_SIGNATURES);
  ASSERT_EQ(c.signatures_size(), 1);
  EXPECT_EQ(c.signatures(0).service_id(), env_->service_id("amo"));
  EXPECT_EQ(c.proposed_by_member_id(), env_->member_id(kAmoCoordinator));
  EXPECT_TRUE(AuditedOnce(kAmoCoordinator, v1::ACTION_PROPOSE_CONVENTION, c.id(), "allowed"));
  // The care service's view: not in force until the PMS signs.
  const partnership::ConventionBook* book = env_->host().conventions();
  auto terms = [&] {
    partnership::ConventionTerms t;
    EXPECT_TRUE(env_->host()
                    .db()
                    .Read([&](storage::Connection& conn) -> absl::Status {
                      absl::StatusOr<partnership::ConventionTerms> got =
                          book->GetTerms(conn, c.id());
                      if (!got.ok()) return got.status();
                      t = *got;
                      return absl::OkStatus();
                    })
                    .ok());
    return t;
  };
  EXPECT_FALSE(terms().InForceAt(Now()));

  ASSERT_TRUE(Sign(kPmsCoordinator, c.id(), &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_IN_FORCE);
  EXPECT_TRUE(terms().InForceAt(Now()));
  // Signing again changes nothing, and is audited again.
  ASSERT_TRUE(Sign(kPmsCoordinator, c.id(), &c).ok());
  ASSERT_EQ(c.signatures_size(), 2);
  EXPECT_EQ(c.signatures(1).member_id(), env_->member_id(kPmsCoordinator));
  EXPECT_EQ(c.signatures(1).service_id(), env_->service_id("pms"));
  EXPECT_EQ(Events(kPmsCoordinator, v1::ACTION_SIGN_CONVENTION, c.id()).size(), 2u);
  // No event carries the purpose's text.
  for (const v1::AuditEvent& e : Events(kAmoCoordinator, v1::ACTION_PROPOSE_CONVENTION)) {
    EXPECT_EQ(e.DebugString().find("secret"), std::string::npos);
  }
}

TEST_F(PartnershipTest, OnlyPartiesCoordinatorsActOnAConvention) {
  v1::Convention out;
  // A caseworker never binds a service.
  grpc::Status s =
      api().ProposeConvention(env_->As(kAmoCaseworker).get(), Proposal({"amo", "pms"}), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  EXPECT_TRUE(AuditedOnce(kAmoCaseworker, v1::ACTION_PROPOSE_CONVENTION, "", "role_not_permitted"));
  // Nobody proposes a convention between two other services.
  s = api().ProposeConvention(env_->As(kSajCoordinator).get(), Proposal({"amo", "pms"}), &out);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_TRUE(AuditedOnce(kSajCoordinator, v1::ACTION_PROPOSE_CONVENTION, "", "wrong_service"));

  const v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms"}));
  // The SAJ, no party, can neither sign, review nor terminate it.
  s = Sign(kSajCoordinator, c.id(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_TRUE(AuditedOnce(kSajCoordinator, v1::ACTION_SIGN_CONVENTION, c.id(), "wrong_service"));
  s = Terminate(kSajCoordinator, c.id(), &out);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_TRUE(
      AuditedOnce(kSajCoordinator, v1::ACTION_TERMINATE_CONVENTION, c.id(), "wrong_service"));
  v1::ReviewConventionRequest review;
  review.set_convention_id(c.id());
  *review.mutable_next_review_time() = common::ToProto(Now() + 200 * kDay);
  s = api().ReviewConvention(env_->As(kSajCoordinator).get(), review, &out);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  // A caseworker of a party cannot sign for it either.
  s = Sign(kPmsCaseworker, c.id(), &out);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  // Still only the AMO's signature: nobody signed for the PMS.
  v1::GetConventionRequest get;
  get.set_convention_id(c.id());
  ASSERT_TRUE(api().GetConvention(env_->As(kSajCaseworker).get(), get, &out).ok());
  EXPECT_EQ(out.signatures_size(), 1);
  EXPECT_EQ(out.state(), v1::CONVENTION_STATE_AWAITING_SIGNATURES);
  EXPECT_TRUE(AuditedOnce(kSajCaseworker, v1::ACTION_READ_PARTNERSHIP, c.id(), "allowed"));
  // A party reviews it: the next date moves.
  ASSERT_TRUE(api().ReviewConvention(env_->As(kPmsCoordinator).get(), review, &out).ok());
  EXPECT_EQ(common::FromProto(out.review_time()), Now() + 200 * kDay);
  EXPECT_EQ(out.last_reviewed_by_member_id(), env_->member_id(kPmsCoordinator));
  EXPECT_TRUE(AuditedOnce(kPmsCoordinator, v1::ACTION_REVIEW_CONVENTION, c.id(), "allowed"));
}

TEST_F(PartnershipTest, ProposalsAreChecked) {
  v1::Convention out;
  auto reason_of = [&](const v1::ProposeConventionRequest& req) {
    return ReasonCode(api().ProposeConvention(env_->As(kAmoCoordinator).get(), req, &out));
  };
  EXPECT_EQ(reason_of(Proposal({"amo"})), "out_of_range");
  v1::ProposeConventionRequest twice = Proposal({"amo", "amo"});
  EXPECT_EQ(reason_of(twice), "duplicate_service");
  v1::ProposeConventionRequest overlap = Proposal({"amo", "pms"});
  overlap.mutable_convention()->mutable_scope()->set_max_overlap_days(0);
  EXPECT_EQ(reason_of(overlap), "out_of_range");
  v1::ProposeConventionRequest no_scope = Proposal({"amo", "pms"});
  no_scope.mutable_convention()->mutable_scope()->clear_purposes();
  EXPECT_EQ(reason_of(no_scope), "field_required");
  v1::ProposeConventionRequest unknown = Proposal({"amo", "pms"});
  unknown.mutable_convention()->add_party_service_ids("svc_nowhere");
  grpc::Status s = api().ProposeConvention(env_->As(kAmoCoordinator).get(), unknown, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ProposeConventionRequest past_review = Proposal({"amo", "pms"});
  *past_review.mutable_convention()->mutable_review_time() = common::ToProto(Now() - kDay);
  EXPECT_EQ(reason_of(past_review), "out_of_range");
}

TEST_F(PartnershipTest, TerminationIsFinalAndIdempotent) {
  v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms", "saj"}));
  ASSERT_TRUE(Sign(kPmsCoordinator, c.id(), &c).ok());
  ASSERT_TRUE(Terminate(kPmsCoordinator, c.id(), &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_TERMINATED);
  EXPECT_EQ(c.terminated_by_member_id(), env_->member_id(kPmsCoordinator));
  // Again, by another party: the first termination stands.
  ASSERT_TRUE(Terminate(kAmoCoordinator, c.id(), &c, "autre raison").ok());
  EXPECT_EQ(c.terminated_by_member_id(), env_->member_id(kPmsCoordinator));
  EXPECT_EQ(c.termination_reason(), "Fin du projet commun");
  // The SAJ signs too late.
  grpc::Status s = Sign(kSajCoordinator, c.id(), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "convention_terminated");
  EXPECT_TRUE(
      AuditedOnce(kSajCoordinator, v1::ACTION_SIGN_CONVENTION, c.id(), "convention_terminated"));
  // The reason's text is never in the audit log.
  for (const v1::AuditEvent& e : Events(kPmsCoordinator, v1::ACTION_TERMINATE_CONVENTION)) {
    EXPECT_EQ(e.DebugString().find("projet commun"), std::string::npos);
    EXPECT_EQ(e.object_id(), c.id());
  }
}

TEST_F(PartnershipTest, StateFollowsTheClock) {
  v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms"}, 10 * kDay));
  ASSERT_TRUE(Sign(kPmsCoordinator, c.id(), &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_SIGNED);
  v1::GetConventionRequest get;
  get.set_convention_id(c.id());
  env_->clock().Advance(11 * kDay);
  ASSERT_TRUE(api().GetConvention(env_->As(kAmoCaseworker).get(), get, &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_IN_FORCE);
  EXPECT_FALSE(c.review_due());
  env_->clock().Advance(160 * kDay);  // the review is 9 days ahead
  ASSERT_TRUE(api().GetConvention(env_->As(kAmoCaseworker).get(), get, &c).ok());
  EXPECT_TRUE(c.review_due());
  env_->clock().Advance(210 * kDay);  // past its end
  ASSERT_TRUE(api().GetConvention(env_->As(kAmoCaseworker).get(), get, &c).ok());
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_EXPIRED);
  grpc::Status s = Sign(kPmsCoordinator, c.id(), &c);
  EXPECT_EQ(ReasonCode(s), "convention_expired");
}

TEST_F(PartnershipTest, RemindersListWhatNeedsAttention) {
  const v1::Convention later = Propose(kAmoCoordinator, Proposal({"amo", "pms"}));
  v1::ProposeConventionRequest soon_req = Proposal({"amo", "saj"});
  *soon_req.mutable_convention()->mutable_review_time() = common::ToProto(Now() + 20 * kDay);
  const v1::Convention soon = Propose(kAmoCoordinator, soon_req);
  v1::ProposeConventionRequest ended_req = Proposal({"pms", "saj"});
  *ended_req.mutable_convention()->mutable_review_time() = common::ToProto(Now() + 5 * kDay);
  const v1::Convention ended = Propose(kPmsCoordinator, ended_req);
  v1::Convention out;
  ASSERT_TRUE(Terminate(kSajCoordinator, ended.id(), &out).ok());

  auto due = [&](int days, const std::string& service_key = "") {
    v1::ListConventionsRequest req;
    req.set_due_within_days(days);
    if (!service_key.empty()) req.set_service_id(env_->service_id(service_key));
    v1::ListConventionsResponse resp;
    grpc::Status s = api().ListConventions(env_->As(kAmoCoordinator).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::Convention& c : resp.conventions()) ids.push_back(c.id());
    return ids;
  };
  EXPECT_THAT(due(30), ElementsAre(soon.id()));
  EXPECT_THAT(due(0), ElementsAre(ended.id(), soon.id(), later.id()));  // newest first
  EXPECT_THAT(due(0, "pms"), ElementsAre(ended.id(), later.id()));
  env_->clock().Advance(170 * kDay);
  EXPECT_THAT(due(30), UnorderedElementsAre(soon.id(), later.id()));
  v1::ListConventionsRequest bad;
  bad.set_due_within_days(366);
  v1::ListConventionsResponse resp;
  EXPECT_EQ(ReasonCode(api().ListConventions(env_->As(kAmoCoordinator).get(), bad, &resp)),
            "out_of_range");
}

TEST_F(PartnershipTest, ProtocolsReachOtherServicesOnlyUnderAConventionInForce) {
  v1::Protocol out;
  // The PMS, without a convention.
  grpc::Status s =
      api().CreateProtocol(env_->As(kAmoCoordinator).get(), ProtocolRequest({"amo", "pms"}), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  EXPECT_TRUE(AuditedOnce(kAmoCoordinator, v1::ACTION_PUBLISH_PROTOCOL, "", "outside_convention"));
  // A convention awaiting the PMS's signature is not enough.
  v1::Convention c = Propose(kAmoCoordinator, Proposal({"amo", "pms"}));
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), ProtocolRequest({"amo", "pms"}, c.id()),
                           &out);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  ASSERT_TRUE(Sign(kPmsCoordinator, c.id(), &c).ok());
  // In force: the PMS may be concerned, the SAJ (no party) may not.
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(),
                           ProtocolRequest({"amo", "pms", "saj"}, c.id()), &out);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  // The SAJ cannot use a convention it is not a party to.
  s = api().CreateProtocol(env_->As(kSajCoordinator).get(), ProtocolRequest({"saj", "pms"}, c.id()),
                           &out);
  EXPECT_EQ(ReasonCode(s), "outside_convention");
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), ProtocolRequest({"amo", "pms"}, c.id()),
                           &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.owner_service_id(), env_->service_id("amo"));
  EXPECT_EQ(out.current_version().number(), 1);
  EXPECT_TRUE(AuditedOnce(kAmoCoordinator, v1::ACTION_PUBLISH_PROTOCOL, out.id(), "allowed"));
  // A caseworker writes no protocol; auditors are never concerned.
  s = api().CreateProtocol(env_->As(kAmoCaseworker).get(), ProtocolRequest({"amo"}), &out);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  v1::CreateProtocolRequest auditors = ProtocolRequest({"amo"});
  auditors.mutable_protocol()->add_roles(v1::ROLE_AUDITOR);
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), auditors, &out);
  EXPECT_EQ(ReasonCode(s), "role_not_allowed");
  v1::CreateProtocolRequest http = ProtocolRequest({"amo"});
  http.mutable_first_version()->set_link("http://intranet.example.org/p.pdf");
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), http, &out);
  EXPECT_EQ(ReasonCode(s), "link_not_https");
  v1::CreateProtocolRequest past = ProtocolRequest({"amo"});
  *past.mutable_protocol()->mutable_review_time() = common::ToProto(Now() - kDay);
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), past, &out);
  EXPECT_EQ(ReasonCode(s), "out_of_range");
}

TEST_F(PartnershipTest, AcknowledgementsFollowTheCurrentVersion) {
  const v1::Convention c = InForce();
  v1::Protocol p;
  ASSERT_TRUE(api()
                  .CreateProtocol(env_->As(kAmoCoordinator).get(),
                                  ProtocolRequest({"amo", "pms"}, c.id()), &p)
                  .ok());
  EXPECT_THAT(ListProtocols(kAmoCaseworker, true), ::testing::SizeIs(1));
  EXPECT_TRUE(ListProtocols(kAmoCaseworker, true)[0].to_acknowledge());
  EXPECT_TRUE(ListProtocols(kAmoCaseworker)[0].current_version().text().empty());
  v1::Protocol out;
  ASSERT_TRUE(Acknowledge(kAmoCaseworker, p.id(), 1, &out).ok());
  ASSERT_TRUE(Acknowledge(kAmoCaseworker, p.id(), 1, &out).ok());  // idempotent
  EXPECT_FALSE(out.to_acknowledge());
  EXPECT_TRUE(ListProtocols(kAmoCaseworker, true).empty());
  EXPECT_EQ(Events(kAmoCaseworker, v1::ACTION_ACKNOWLEDGE_PROTOCOL, p.id()).size(), 2u);
  // Not concerned: the SAJ's caseworker; the PMS's coordinator (a role not named).
  grpc::Status s = Acknowledge(kSajCaseworker, p.id(), 1, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "not_concerned");
  EXPECT_TRUE(
      AuditedOnce(kSajCaseworker, v1::ACTION_ACKNOWLEDGE_PROTOCOL, p.id(), "not_concerned"));
  EXPECT_EQ(ReasonCode(Acknowledge(kPmsCoordinator, p.id(), 1, &out)), "not_concerned");
  EXPECT_TRUE(ListProtocols(kSajCaseworker).empty());

  // Only the owner publishes; a new version is to be acknowledged anew.
  v1::PublishProtocolVersionRequest publish;
  publish.set_protocol_id(p.id());
  publish.mutable_version()->set_summary("Nouveaux délais");
  publish.mutable_version()->set_text("Le texte complet.");
  *publish.mutable_review_time() = common::ToProto(Now() + 30 * kDay);
  s = api().PublishProtocolVersion(env_->As(kPmsCoordinator).get(), publish, &out);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_TRUE(AuditedOnce(kPmsCoordinator, v1::ACTION_PUBLISH_PROTOCOL, p.id(), "wrong_service"));
  ASSERT_TRUE(api().PublishProtocolVersion(env_->As(kAmoCoordinator).get(), publish, &out).ok());
  EXPECT_EQ(out.current_version().number(), 2);
  s = Acknowledge(kAmoCaseworker, p.id(), 1, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "stale_version");
  EXPECT_THAT(ListProtocols(kAmoCaseworker, true), ::testing::SizeIs(1));
  v1::GetProtocolRequest get;
  get.set_protocol_id(p.id());
  ASSERT_TRUE(api().GetProtocol(env_->As(kPmsCaseworker).get(), get, &out).ok());
  EXPECT_EQ(out.current_version().text(), "Le texte complet.");
  EXPECT_TRUE(out.to_acknowledge());
  ASSERT_TRUE(Acknowledge(kPmsCaseworker, p.id(), 2, &out).ok());

  // Past its review date the protocol is lapsed: flagged, not acknowledged.
  env_->clock().Advance(31 * kDay);
  s = Acknowledge(kAmoCaseworker, p.id(), 2, &out);
  EXPECT_EQ(ReasonCode(s), "protocol_lapsed");
  EXPECT_TRUE(
      AuditedOnce(kAmoCaseworker, v1::ACTION_ACKNOWLEDGE_PROTOCOL, p.id(), "protocol_lapsed"));
  const std::vector<v1::Protocol> listed = ListProtocols(kAmoCaseworker);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].lapsed());
  EXPECT_FALSE(listed[0].to_acknowledge());
}

TEST_F(PartnershipTest, CoverageIsSeenByTheOwnerAndEachServiceForItself) {
  const v1::Convention c = InForce();
  v1::Protocol p;
  ASSERT_TRUE(api()
                  .CreateProtocol(env_->As(kAmoCoordinator).get(),
                                  ProtocolRequest({"amo", "pms"}, c.id()), &p)
                  .ok());
  v1::Protocol out;
  ASSERT_TRUE(Acknowledge(kPmsCaseworker, p.id(), 1, &out).ok());
  auto caseworkers = [&](absl::string_view key) {
    absl::StatusOr<std::vector<directory::MemberInfo>> members =
        env_->host().directory().ActiveMembers(env_->service_id(key));
    EXPECT_TRUE(members.ok()) << members.status();
    int n = 0;
    for (const directory::MemberInfo& m : *members) {
      for (v1::Role r : m.roles) n += r == v1::ROLE_CASEWORKER;
    }
    return n;
  };
  v1::ProtocolCoverageRequest req;
  req.set_protocol_id(p.id());
  v1::ProtocolCoverageResponse owner;
  ASSERT_TRUE(api().ProtocolCoverage(env_->As(kAmoCoordinator).get(), req, &owner).ok());
  EXPECT_EQ(owner.version(), 1);
  ASSERT_EQ(owner.services_size(), 2);
  EXPECT_EQ(owner.services(0).service_id(), env_->service_id("amo"));
  EXPECT_EQ(owner.services(0).members_concerned(), caseworkers("amo"));
  EXPECT_EQ(owner.services(0).members_acknowledged(), 0);
  EXPECT_EQ(owner.services(0).pending_member_ids_size(), caseworkers("amo"));
  EXPECT_EQ(owner.services(1).members_concerned(), caseworkers("pms"));
  EXPECT_EQ(owner.services(1).members_acknowledged(), 1);
  EXPECT_EQ(owner.services(1).pending_member_ids_size(), 0);  // not the owner's own staff
  EXPECT_TRUE(AuditedOnce(kAmoCoordinator, v1::ACTION_READ_PARTNERSHIP, p.id(), "allowed"));

  v1::ProtocolCoverageResponse pms;
  ASSERT_TRUE(api().ProtocolCoverage(env_->As(kPmsCoordinator).get(), req, &pms).ok());
  ASSERT_EQ(pms.services_size(), 1);
  EXPECT_EQ(pms.services(0).service_id(), env_->service_id("pms"));

  v1::ProtocolCoverageResponse denied;
  grpc::Status s = api().ProtocolCoverage(env_->As(kSajCoordinator).get(), req, &denied);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_TRUE(AuditedOnce(kSajCoordinator, v1::ACTION_READ_PARTNERSHIP, p.id(), "wrong_service"));
  s = api().ProtocolCoverage(env_->As(kAmoCaseworker).get(), req, &denied);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
}

TEST_F(PartnershipTest, ProtocolTextUpToOneMebibyte) {
  v1::CreateProtocolRequest big = ProtocolRequest({"amo"});
  big.mutable_first_version()->clear_link();
  big.mutable_first_version()->set_text(std::string(900 * 1024, 'a'));
  v1::Protocol p;
  grpc::Status s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), big, &p);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetProtocolRequest get;
  get.set_protocol_id(p.id());
  v1::Protocol read;
  ASSERT_TRUE(api().GetProtocol(env_->As(kAmoCaseworker).get(), get, &read).ok());
  EXPECT_EQ(read.current_version().text().size(), 900u * 1024);
  // Past 1 MiB: refused (by the server's message limit or by the rule), and
  // nothing is created.
  big.mutable_first_version()->set_text(std::string(partnership::kMaxProtocolTextBytes + 1, 'a'));
  s = api().CreateProtocol(env_->As(kAmoCoordinator).get(), big, &p);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(ListProtocols(kAmoCoordinator).size(), 1u);
}

TEST_F(PartnershipTest, ListsPageWithoutGapsOrRepeats) {
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i)
    made.push_back(Propose(kAmoCoordinator, Proposal({"amo", "pms"})).id());
  for (int i = 0; i < 3; ++i) {
    v1::Protocol p;
    ASSERT_TRUE(
        api().CreateProtocol(env_->As(kAmoCoordinator).get(), ProtocolRequest({"amo"}), &p).ok());
  }
  std::vector<std::string> seen;
  v1::ListConventionsRequest req;
  req.set_page_size(2);
  int pages = 0;
  do {
    v1::ListConventionsResponse resp;
    ASSERT_TRUE(api().ListConventions(env_->As(kPmsCaseworker).get(), req, &resp).ok());
    for (const v1::Convention& c : resp.conventions()) seen.push_back(c.id());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && ++pages < 10);
  EXPECT_THAT(seen, ElementsAre(made[4], made[3], made[2], made[1], made[0]));
  std::vector<std::string> protocols;
  v1::ListProtocolsRequest preq;
  preq.set_page_size(2);
  do {
    v1::ListProtocolsResponse resp;
    ASSERT_TRUE(api().ListProtocols(env_->As(kAmoCaseworker).get(), preq, &resp).ok());
    for (const v1::Protocol& p : resp.protocols()) protocols.push_back(p.id());
    preq.set_page_token(resp.next_page_token());
  } while (!preq.page_token().empty() && protocols.size() < 10);
  EXPECT_EQ(protocols.size(), 3u);
  EXPECT_EQ(std::set<std::string>(protocols.begin(), protocols.end()).size(), 3u);
  req.set_page_size(1001);
  req.clear_page_token();
  v1::ListConventionsResponse resp;
  EXPECT_EQ(ReasonCode(api().ListConventions(env_->As(kPmsCaseworker).get(), req, &resp)),
            "out_of_range");
  req.set_page_size(0);
  req.set_page_token("cnv_never_given");
  EXPECT_EQ(ReasonCode(api().ListConventions(env_->As(kPmsCaseworker).get(), req, &resp)),
            "bad_page_token");
}

}  // namespace
}  // namespace relais::testing
