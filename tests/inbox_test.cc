// A coordinator's inbox (issue #14): what needs a member reaches them, and
// only them, as a list and as a stream that resumes from a cursor; items carry
// ids only. Every step through the public API.

#include <memory>
#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kPmsCoordinator[] = "pms.head";
constexpr absl::Duration kDay = absl::Hours(24);

std::vector<v1::InboxItem> Inbox(RelaisEnv& env, absl::string_view login,
                                 const std::string& after = "") {
  v1::ListInboxRequest req;
  req.set_after_cursor(after);
  v1::ListInboxResponse resp;
  grpc::Status s = env.inbox().ListInbox(env.As(login).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.items().begin(), resp.items().end()};
}

std::vector<v1::InboxItem> OfKind(const std::vector<v1::InboxItem>& items, v1::InboxItemKind kind) {
  std::vector<v1::InboxItem> out;
  for (const v1::InboxItem& i : items) {
    if (i.kind() == kind) out.push_back(i);
  }
  return out;
}

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    env_->AddMember(kPmsCoordinator, "pms", v1::ROLE_COORDINATOR);
  }

  // A new youth the AMO accompanies, handed over to the PMS with an overlap
  // of `overlap`; returns the handover.
  v1::Handover ProposeToPms(absl::Duration overlap = 20 * kDay) {
    RelaisEnv& env = *env_;
    const std::string youth = env.CreateYouth(15);
    env.Accompany(youth, kAmoCoordinator, kAmoCaseworker);
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth);
    req.set_to_service_id(env.service_id("pms"));
    req.set_reason("décrochage scolaire");
    *req.mutable_overlap_start() = common::ToProto(env.clock().Now());
    *req.mutable_overlap_end() = common::ToProto(env.clock().Now() + overlap);
    v1::Handover h;
    grpc::Status s = env.care().ProposeHandover(env.As(kAmoCaseworker).get(), req, &h);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return h;
  }

  void Accept(const v1::Handover& h) {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(h.id());
    req.set_referent_member_id(env_->member_id(kPmsCaseworker));
    v1::Handover out;
    grpc::Status s = env_->care().AcceptHandover(env_->As(kPmsCoordinator).get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A convention between the AMO and the PMS, proposed by the AMO (the AMO
  // signs at once), to be reviewed in `review_in`.
  v1::Convention ProposeAmoPmsConvention(absl::Duration review_in) {
    RelaisEnv& env = *env_;
    v1::ProposeConventionRequest propose;
    v1::Convention* c = propose.mutable_convention();
    c->set_title("AMO – PMS");
    c->set_purpose("Accompagner ensemble les jeunes en décrochage");
    c->add_party_service_ids(env.service_id("amo"));
    c->add_party_service_ids(env.service_id("pms"));
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
    c->mutable_scope()->set_max_overlap_days(30);
    *c->mutable_start_time() = common::ToProto(env.clock().Now());
    *c->mutable_end_time() = common::ToProto(env.clock().Now() + 365 * kDay);
    *c->mutable_review_time() = common::ToProto(env.clock().Now() + review_in);
    v1::Convention convention;
    grpc::Status s =
        env.partnership().ProposeConvention(env.As(kAmoCoordinator).get(), propose, &convention);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return convention;
  }

  // The PMS coordinator's protocol for its caseworkers; `content` sets the
  // first version's link or text.
  v1::Protocol PublishPmsProtocol(void (*content)(v1::ProtocolVersion&)) {
    RelaisEnv& env = *env_;
    v1::CreateProtocolRequest create;
    create.mutable_protocol()->set_title("Accueil d'un jeune orienté par une AMO");
    create.mutable_protocol()->add_service_ids(env.service_id("pms"));
    create.mutable_protocol()->add_roles(v1::ROLE_CASEWORKER);
    *create.mutable_protocol()->mutable_review_time() =
        common::ToProto(env.clock().Now() + 365 * kDay);
    create.mutable_first_version()->set_summary("Qui appelle qui, et quand");
    content(*create.mutable_first_version());
    v1::Protocol protocol;
    grpc::Status s =
        env.partnership().CreateProtocol(env.As(kPmsCoordinator).get(), create, &protocol);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return protocol;
  }

  std::unique_ptr<RelaisEnv> env_;
};

TEST_F(InboxTest, AProposalReachesTheReceivingCoordinatorsAndTheAnswerTheProposer) {
  RelaisEnv& env = *env_;
  const v1::Handover h = ProposeToPms();
  std::vector<v1::InboxItem> pms =
      OfKind(Inbox(env, kPmsCoordinator), v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED);
  ASSERT_EQ(pms.size(), 1u);
  EXPECT_EQ(pms[0].handover_id(), h.id());
  EXPECT_EQ(pms[0].youth_id(), h.youth_id());
  EXPECT_EQ(common::FromProto(pms[0].due_at()), common::FromProto(h.overlap_end()));
  // Not the PMS caseworker, not the proposing side, not the SAJ.
  EXPECT_TRUE(Inbox(env, kPmsCaseworker).empty());
  EXPECT_TRUE(OfKind(Inbox(env, kAmoCaseworker), v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED).empty());
  EXPECT_TRUE(Inbox(env, kSajCoordinator).empty());
  Accept(h);
  for (const char* login : {kAmoCaseworker, kAmoCoordinator}) {
    std::vector<v1::InboxItem> accepted =
        OfKind(Inbox(env, login), v1::INBOX_ITEM_KIND_HANDOVER_ACCEPTED);
    ASSERT_EQ(accepted.size(), 1u) << login;
    EXPECT_EQ(accepted[0].handover_id(), h.id());
  }
}

TEST_F(InboxTest, OverlapWindowRemindersReachBothReferentsOnceEach) {
  RelaisEnv& env = *env_;
  const v1::Handover h = ProposeToPms(10 * kDay);
  Accept(h);
  ASSERT_TRUE(env.host().care().PostReminders().ok());
  EXPECT_TRUE(OfKind(Inbox(env, kAmoCaseworker), v1::INBOX_ITEM_KIND_WINDOW_ENDING).empty());
  env.clock().Advance(4 * kDay);  // 6 days left
  ASSERT_TRUE(env.host().care().PostReminders().ok());
  ASSERT_TRUE(env.host().care().PostReminders().ok());  // a second sweep adds nothing
  for (const char* login : {kAmoCaseworker, kPmsCaseworker, kAmoCoordinator, kPmsCoordinator}) {
    EXPECT_EQ(OfKind(Inbox(env, login), v1::INBOX_ITEM_KIND_WINDOW_ENDING).size(), 1u) << login;
  }
  EXPECT_TRUE(Inbox(env, kSajCaseworker).empty());
  env.clock().Advance(5 * kDay + absl::Hours(12));  // the last day
  ASSERT_TRUE(env.host().care().PostReminders().ok());
  for (const char* login : {kAmoCaseworker, kPmsCaseworker}) {
    EXPECT_EQ(OfKind(Inbox(env, login), v1::INBOX_ITEM_KIND_WINDOW_LAST_DAY).size(), 1u) << login;
  }
}

TEST_F(InboxTest, ACursorListsOnlyWhatFollowsAndOnlyTheCallersOwnItems) {
  RelaisEnv& env = *env_;
  ProposeToPms();
  ProposeToPms();
  std::vector<v1::InboxItem> all = Inbox(env, kPmsCoordinator);
  ASSERT_EQ(all.size(), 2u);
  std::vector<v1::InboxItem> rest = Inbox(env, kPmsCoordinator, all[0].cursor());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].handover_id(), all[1].handover_id());
  // Another member's cursor shows them nothing of the coordinator's inbox.
  EXPECT_TRUE(Inbox(env, kSajCoordinator, "c0").empty());
  v1::ListInboxRequest bad;
  bad.set_after_cursor("not-a-cursor");
  v1::ListInboxResponse resp;
  grpc::Status s = env.inbox().ListInbox(env.As(kPmsCoordinator).get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "bad_cursor");
  s = env.inbox().ListInbox(env.Anonymous().get(), v1::ListInboxRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Reading one's inbox is audited, allowed and denied.
  auto events = env.host().audit().Query(audit::EventFilter{}, 0, 1000);
  ASSERT_TRUE(events.ok());
  int allowed = 0, denied = 0;
  for (const v1::AuditEvent& e : *events) {
    if (e.action() != v1::ACTION_READ_INBOX) continue;
    (e.decision() == v1::DECISION_ALLOW ? allowed : denied) += 1;
  }
  EXPECT_GE(allowed, 3);
  EXPECT_GE(denied, 2);
}

TEST_F(InboxTest, WatchStreamsTheBacklogThenNewItemsAndResumesAfterACursor) {
  RelaisEnv& env = *env_;
  const v1::Handover first = ProposeToPms();
  std::string cursor;
  {
    auto ctx = env.As(kPmsCoordinator);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = env.inbox().Watch(ctx.get(), v1::WatchRequest());
    v1::InboxItem item;
    ASSERT_TRUE(stream->Read(&item));
    EXPECT_EQ(item.handover_id(), first.id());
    // Posted while the stream is open: it arrives without asking again.
    const v1::Handover second = ProposeToPms();
    ASSERT_TRUE(stream->Read(&item));
    EXPECT_EQ(item.handover_id(), second.id());
    cursor = item.cursor();
    ctx->TryCancel();
    while (stream->Read(&item)) {
    }
    stream->Finish();
  }
  // Missed while away, then resumed after the last cursor: that one only.
  const v1::Handover third = ProposeToPms();
  auto ctx = env.As(kPmsCoordinator);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchRequest req;
  req.set_after_cursor(cursor);
  auto stream = env.inbox().Watch(ctx.get(), req);
  v1::InboxItem item;
  ASSERT_TRUE(stream->Read(&item));
  EXPECT_EQ(item.handover_id(), third.id());
  ctx->TryCancel();
  while (stream->Read(&item)) {
  }
  stream->Finish();
}

TEST_F(InboxTest, AWatchWithoutAValidTokenOrCursorIsRefused) {
  RelaisEnv& env = *env_;
  auto anon = env.Anonymous();
  auto stream = env.inbox().Watch(anon.get(), v1::WatchRequest());
  v1::InboxItem item;
  EXPECT_FALSE(stream->Read(&item));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto ctx = env.As(kPmsCoordinator);
  v1::WatchRequest bad;
  bad.set_after_cursor("c-7");
  auto refused = env.inbox().Watch(ctx.get(), bad);
  EXPECT_FALSE(refused->Read(&item));
  grpc::Status s = refused->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "bad_cursor");
}

TEST_F(InboxTest, AProtocolPublishedAndAConventionToReviewReachTheMembersConcerned) {
  RelaisEnv& env = *env_;
  const v1::Convention convention = ProposeAmoPmsConvention(60 * kDay);
  // Not yet due: nothing. Within 30 days of the review: each party's coordinators, once.
  ASSERT_TRUE(env.host().partnership_service().PostReminders().ok());
  EXPECT_TRUE(
      OfKind(Inbox(env, kPmsCoordinator), v1::INBOX_ITEM_KIND_CONVENTION_TO_REVIEW).empty());
  env.clock().Advance(40 * kDay);
  ASSERT_TRUE(env.host().partnership_service().PostReminders().ok());
  ASSERT_TRUE(env.host().partnership_service().PostReminders().ok());
  for (const char* login : {kAmoCoordinator, kPmsCoordinator}) {
    std::vector<v1::InboxItem> due =
        OfKind(Inbox(env, login), v1::INBOX_ITEM_KIND_CONVENTION_TO_REVIEW);
    ASSERT_EQ(due.size(), 1u) << login;
    EXPECT_EQ(due[0].convention_id(), convention.id());
  }
  EXPECT_TRUE(OfKind(Inbox(env, kAmoCaseworker), v1::INBOX_ITEM_KIND_CONVENTION_TO_REVIEW).empty());
  EXPECT_TRUE(
      OfKind(Inbox(env, kSajCoordinator), v1::INBOX_ITEM_KIND_CONVENTION_TO_REVIEW).empty());

  // A protocol version published: its caseworkers, not its coordinators, not other services.
  const v1::Protocol protocol = PublishPmsProtocol(
      [](v1::ProtocolVersion& v) { v.set_link("https://intranet.example.org/accueil.pdf"); });
  ASSERT_FALSE(protocol.id().empty());
  std::vector<v1::InboxItem> to_ack =
      OfKind(Inbox(env, kPmsCaseworker), v1::INBOX_ITEM_KIND_PROTOCOL_TO_ACKNOWLEDGE);
  ASSERT_EQ(to_ack.size(), 1u);
  EXPECT_EQ(to_ack[0].protocol_id(), protocol.id());
  EXPECT_EQ(to_ack[0].protocol_version(), 1);
  EXPECT_TRUE(
      OfKind(Inbox(env, kPmsCoordinator), v1::INBOX_ITEM_KIND_PROTOCOL_TO_ACKNOWLEDGE).empty());
  EXPECT_TRUE(
      OfKind(Inbox(env, kAmoCaseworker), v1::INBOX_ITEM_KIND_PROTOCOL_TO_ACKNOWLEDGE).empty());
}

// A newcomer's first view: what their service is doing, in one call.
TEST_F(InboxTest, ANewcomerSeesTheServicesYouthsHandoversConventionsAndProtocolsInOneCall) {
  RelaisEnv& env = *env_;
  const v1::Handover h = ProposeToPms();
  Accept(h);
  const v1::Convention convention = ProposeAmoPmsConvention(180 * kDay);
  const v1::Protocol protocol =
      PublishPmsProtocol([](v1::ProtocolVersion& v) { v.set_text("1. Le coordinateur PMS ..."); });
  ASSERT_FALSE(protocol.id().empty());

  env.AddMember("pms.nouveau", "pms", v1::ROLE_CASEWORKER);
  v1::OrientationResponse view;
  grpc::Status s =
      env.inbox().Orientation(env.As("pms.nouveau").get(), v1::OrientationRequest(), &view);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(view.service_id(), env.service_id("pms"));
  ASSERT_EQ(view.accompaniments_size(), 1);
  EXPECT_EQ(view.accompaniments(0).youth_id(), h.youth_id());
  ASSERT_EQ(view.open_handovers_size(), 1);
  EXPECT_EQ(view.open_handovers(0).id(), h.id());
  EXPECT_TRUE(view.open_handovers(0).reason().empty());  // ids and dates, not the reason
  ASSERT_EQ(view.conventions_size(), 1);
  EXPECT_EQ(view.conventions(0).id(), convention.id());
  ASSERT_EQ(view.protocols_to_acknowledge_size(), 1);
  EXPECT_EQ(view.protocols_to_acknowledge(0).id(), protocol.id());
  EXPECT_TRUE(view.protocols_to_acknowledge(0).to_acknowledge());
  EXPECT_TRUE(view.protocols_to_acknowledge(0).current_version().text().empty());
  // Once acknowledged, it is no longer there.
  v1::AcknowledgeProtocolRequest ack;
  ack.set_protocol_id(protocol.id());
  ack.set_version(1);
  v1::Protocol acked;
  ASSERT_TRUE(env.partnership().AcknowledgeProtocol(env.As("pms.nouveau").get(), ack, &acked).ok());
  ASSERT_TRUE(
      env.inbox().Orientation(env.As("pms.nouveau").get(), v1::OrientationRequest(), &view).ok());
  EXPECT_EQ(view.protocols_to_acknowledge_size(), 0);
  // Another service's newcomer sees its own service only; an auditor has no such view.
  ASSERT_TRUE(
      env.inbox().Orientation(env.As(kSajCaseworker).get(), v1::OrientationRequest(), &view).ok());
  EXPECT_EQ(view.service_id(), env.service_id("saj"));
  EXPECT_EQ(view.accompaniments_size(), 0);
  EXPECT_EQ(view.conventions_size(), 0);
  s = env.inbox().Orientation(env.As(kAuditor).get(), v1::OrientationRequest(), &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
}

}  // namespace
}  // namespace relais::testing
