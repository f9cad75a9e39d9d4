// The report's situation, end to end (issue #14, "How it is shown"): a
// 15-year-old followed by an AMO in Charleroi is dropping out of school. The
// AMO and the PMS centre sign a convention; the AMO finds the PMS in the
// directory and proposes a handover under the convention; the PMS coordinator
// sees it arrive on their inbox stream and accepts; both caseworkers are
// reminded that the window ends; a new PMS caseworker joins, acknowledges the
// protocol and becomes the referent when the first one leaves. Every step
// through the public API.

#include <memory>
#include <string>

#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kPmsCoordinator[] = "pms.head";
constexpr char kNewcomer[] = "pms.nouvelle";
constexpr absl::Duration kDay = absl::Hours(24);

std::string OnlyOk(const grpc::Status& s) { return s.ok() ? "" : s.error_message(); }

TEST(NetworkStory, FromTheDirectoryToANewReferentThroughAConventionAndTheInbox) {
  std::unique_ptr<RelaisEnv> env_ptr = RelaisEnv::Start();
  RelaisEnv& env = *env_ptr;
  env.AddMember(kPmsCoordinator, "pms", v1::ROLE_COORDINATOR);
  const std::string youth = env.CreateYouth(15);
  env.Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  // The PMS centre says who it helps; the AMO looks for who can help a
  // 15-year-old in Charleroi with school drop-out.
  v1::UpdateServiceProfileRequest profile;
  profile.set_service_id(env.service_id("pms"));
  v1::ServiceProfile* mine = profile.mutable_profile();
  mine->set_mission("Accompagner les élèves, leurs parents et l'école");
  mine->set_offer("Entretiens, bilans, orientation, lien avec l'école");
  mine->set_min_age(3);
  mine->set_max_age(18);
  mine->add_needs("school_dropout");
  mine->add_communes("Charleroi");
  mine->add_languages("fr");
  mine->set_contact("accueil@pms-charleroi.example");
  v1::Service updated;
  ASSERT_EQ(OnlyOk(env.directory().UpdateServiceProfile(env.As(kPmsCoordinator).get(), profile,
                                                        &updated)),
            "");

  v1::SearchServicesRequest search;
  search.set_need("school_dropout");
  search.set_commune("charleroi");
  search.set_age(15);
  v1::SearchServicesResponse found;
  ASSERT_EQ(OnlyOk(env.directory().SearchServices(env.As(kAmoCaseworker).get(), search, &found)),
            "");
  bool pms_found = false;
  for (const v1::Service& s : found.services()) pms_found |= s.id() == env.service_id("pms");
  ASSERT_TRUE(pms_found) << found.DebugString();

  // The two coordinators sign a convention.
  v1::ProposeConventionRequest propose;
  v1::Convention* c = propose.mutable_convention();
  c->set_title("AMO Le Relais – Centre PMS de Charleroi");
  c->set_purpose("Raccrocher les jeunes en décrochage scolaire");
  c->add_party_service_ids(env.service_id("amo"));
  c->add_party_service_ids(env.service_id("pms"));
  c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
  c->mutable_scope()->add_categories(v1::DATA_CATEGORY_EDUCATION);
  c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
  c->mutable_scope()->add_purposes(v1::PURPOSE_HANDOVER);
  c->mutable_scope()->set_max_overlap_days(60);
  *c->mutable_start_time() = common::ToProto(env.clock().Now());
  *c->mutable_end_time() = common::ToProto(env.clock().Now() + 365 * kDay);
  *c->mutable_review_time() = common::ToProto(env.clock().Now() + 180 * kDay);
  v1::Convention convention;
  ASSERT_EQ(OnlyOk(env.partnership().ProposeConvention(env.As(kAmoCoordinator).get(), propose,
                                                       &convention)),
            "");
  v1::SignConventionRequest sign;
  sign.set_convention_id(convention.id());
  ASSERT_EQ(
      OnlyOk(env.partnership().SignConvention(env.As(kPmsCoordinator).get(), sign, &convention)),
      "");
  ASSERT_EQ(convention.state(), v1::CONVENTION_STATE_IN_FORCE);

  // The PMS coordinator watches their inbox; the AMO proposes the handover
  // under the convention and it arrives on the stream.
  auto watch_ctx = env.As(kPmsCoordinator);
  watch_ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = env.inbox().Watch(watch_ctx.get(), v1::WatchRequest());
  v1::ProposeHandoverRequest handover;
  handover.set_youth_id(youth);
  handover.set_to_service_id(env.service_id("pms"));
  handover.set_reason("Décrochage scolaire: le PMS reprend l'accompagnement");
  *handover.mutable_overlap_start() = common::ToProto(env.clock().Now());
  *handover.mutable_overlap_end() = common::ToProto(env.clock().Now() + 30 * kDay);
  handover.set_convention_id(convention.id());
  v1::Handover h;
  ASSERT_EQ(OnlyOk(env.care().ProposeHandover(env.As(kAmoCaseworker).get(), handover, &h)), "");
  v1::InboxItem item;
  do {
    ASSERT_TRUE(stream->Read(&item));
  } while (item.kind() != v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED);
  EXPECT_EQ(item.handover_id(), h.id());
  EXPECT_EQ(item.youth_id(), youth);
  watch_ctx->TryCancel();
  while (stream->Read(&item)) {
  }
  stream->Finish();
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(item.handover_id());
  accept.set_referent_member_id(env.member_id(kPmsCaseworker));
  ASSERT_EQ(OnlyOk(env.care().AcceptHandover(env.As(kPmsCoordinator).get(), accept, &h)), "");

  // A week before the window ends, both caseworkers are reminded.
  env.clock().Advance(24 * kDay);
  ASSERT_TRUE(env.host().care().PostReminders().ok());
  for (const char* login : {kAmoCaseworker, kPmsCaseworker}) {
    v1::ListInboxResponse inbox;
    ASSERT_EQ(OnlyOk(env.inbox().ListInbox(env.As(login).get(), v1::ListInboxRequest(), &inbox)),
              "");
    bool reminded = false;
    for (const v1::InboxItem& i : inbox.items()) {
      reminded |= i.kind() == v1::INBOX_ITEM_KIND_WINDOW_ENDING && i.handover_id() == h.id();
    }
    EXPECT_TRUE(reminded) << login;
  }

  // The PMS publishes its protocol; a new caseworker joins and finds it to acknowledge.
  v1::CreateProtocolRequest protocol;
  protocol.mutable_protocol()->set_title("Accueil d'un jeune orienté par une AMO");
  protocol.mutable_protocol()->add_service_ids(env.service_id("pms"));
  protocol.mutable_protocol()->add_roles(v1::ROLE_CASEWORKER);
  *protocol.mutable_protocol()->mutable_review_time() =
      common::ToProto(env.clock().Now() + 365 * kDay);
  protocol.mutable_first_version()->set_summary("Premier entretien dans les 8 jours");
  protocol.mutable_first_version()->set_text("1. Le coordinateur désigne un référent...");
  v1::Protocol p;
  ASSERT_EQ(OnlyOk(env.partnership().CreateProtocol(env.As(kPmsCoordinator).get(), protocol, &p)),
            "");
  env.AddMember(kNewcomer, "pms", v1::ROLE_CASEWORKER);
  v1::OrientationResponse view;
  ASSERT_EQ(
      OnlyOk(env.inbox().Orientation(env.As(kNewcomer).get(), v1::OrientationRequest(), &view)),
      "");
  ASSERT_EQ(view.protocols_to_acknowledge_size(), 1);
  EXPECT_EQ(view.protocols_to_acknowledge(0).id(), p.id());
  bool youth_listed = false;
  for (const v1::Accompaniment& a : view.accompaniments()) youth_listed |= a.youth_id() == youth;
  EXPECT_TRUE(youth_listed);
  v1::AcknowledgeProtocolRequest ack;
  ack.set_protocol_id(p.id());
  ack.set_version(1);
  ASSERT_EQ(OnlyOk(env.partnership().AcknowledgeProtocol(env.As(kNewcomer).get(), ack, &p)), "");

  // The first caseworker leaves: the newcomer becomes the referent, then the
  // removal goes through.
  v1::Member removed;
  v1::RemoveMemberRequest remove;
  remove.set_member_id(env.member_id(kPmsCaseworker));
  grpc::Status s = env.directory().RemoveMember(env.As(kPmsCoordinator).get(), remove, &removed);
  EXPECT_EQ(ReasonCode(s), "referent_reassignment_required");
  v1::ReassignReferentRequest reassign;
  reassign.set_accompaniment_id(view.accompaniments(0).id());
  reassign.set_referent_member_id(env.member_id(kNewcomer));
  v1::Accompaniment acc;
  ASSERT_EQ(OnlyOk(env.care().ReassignReferent(env.As(kPmsCoordinator).get(), reassign, &acc)), "");
  EXPECT_EQ(acc.referent_member_id(), env.member_id(kNewcomer));
  ASSERT_EQ(OnlyOk(env.directory().RemoveMember(env.As(kPmsCoordinator).get(), remove, &removed)),
            "");
}

}  // namespace
}  // namespace relais::testing
