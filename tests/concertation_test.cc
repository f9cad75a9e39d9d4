// Concertation meetings (issue #14, item 7): a service accompanying a youth
// schedules a meeting with the others that accompany the youth; the meeting
// holds ids and dates and the youth's participation; the minutes are entries
// of kind CONCERTATION, and each service's contribution is read under the
// access rule. Every step through the public API.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/testing/fresh_database.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kDay = absl::Hours(24);
constexpr char kPmsCoordinator[] = "pms.head";

class ConcertationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    env_->AddMember(kPmsCoordinator, "pms", v1::ROLE_COORDINATOR);
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    env_->Accompany(youth_, kSajCoordinator, kSajCaseworker);
  }

  grpc::Status Schedule(absl::string_view login, std::vector<std::string> invited,
                        v1::Concertation* out, absl::Duration in = 7 * kDay,
                        const std::string& handover = "", const std::string& youth = "") {
    v1::ScheduleConcertationRequest req;
    req.set_youth_id(youth.empty() ? youth_ : youth);
    req.set_handover_id(handover);
    for (const std::string& s : invited) req.add_invited_service_ids(s);
    *req.mutable_scheduled_at() = common::ToProto(env_->clock().Now() + in);
    return env_->care().ScheduleConcertation(env_->As(login).get(), req, out);
  }

  grpc::Status Record(absl::string_view login, const std::string& id, v1::ConcertationState state,
                      v1::YouthParticipation participation, v1::Concertation* out) {
    v1::RecordConcertationRequest req;
    req.set_concertation_id(id);
    req.set_outcome(state);
    req.set_youth_participation(participation);
    return env_->care().RecordConcertation(env_->As(login).get(), req, out);
  }

  grpc::Status List(absl::string_view login, std::vector<std::string>* ids) {
    v1::ListConcertationsRequest req;
    req.set_youth_id(youth_);
    v1::ListConcertationsResponse resp;
    grpc::Status s = env_->care().ListConcertations(env_->As(login).get(), req, &resp);
    for (const v1::Concertation& m : resp.concertations()) ids->push_back(m.id());
    return s;
  }

  // Files a contribution to the meeting's minutes.
  grpc::Status Minutes(absl::string_view login, const std::string& concertation,
                       v1::Visibility visibility, v1::DataCategory category, absl::string_view body,
                       v1::Entry* out, v1::EntryKind kind = v1::ENTRY_KIND_CONCERTATION,
                       const std::string& youth = "") {
    v1::AddEntryRequest req;
    v1::Entry* e = req.mutable_entry();
    e->set_youth_id(youth.empty() ? youth_ : youth);
    e->set_kind(kind);
    e->set_category(category);
    e->set_visibility(visibility);
    e->set_body(std::string(body));
    e->set_concertation_id(concertation);
    return env_->record().AddEntry(env_->As(login).get(), req, out);
  }

  v1::ListEntriesResponse MinutesAs(absl::string_view login, const std::string& concertation) {
    v1::ListEntriesRequest req;
    req.set_youth_id(youth_);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    req.set_concertation_id(concertation);
    v1::ListEntriesResponse resp;
    grpc::Status s = env_->record().ListEntries(env_->As(login).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // The youth consents that the AMO and the SAJ share their general entries
  // with each other (a consent is recorded by the service whose entries it shares).
  void ConsentGeneral() {
    for (const auto& [holder, to] :
         {std::pair{kAmoCaseworker, "saj"}, std::pair{kSajCaseworker, "amo"}}) {
      v1::GrantConsentRequest req;
      v1::Consent* k = req.mutable_consent();
      k->set_youth_id(youth_);
      k->set_giver(v1::CONSENT_GIVER_YOUTH);
      k->add_recipients()->set_service_id(env_->service_id(to));
      k->add_categories(v1::DATA_CATEGORY_GENERAL);
      k->add_purposes(v1::PURPOSE_COORDINATION);
      *k->mutable_valid_until() = common::ToProto(env_->clock().Now() + 180 * kDay);
      v1::Consent out;
      grpc::Status s = env_->care().GrantConsent(env_->As(holder).get(), req, &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }

  std::vector<v1::InboxItem> Scheduled(absl::string_view login) {
    v1::ListInboxResponse resp;
    grpc::Status s = env_->inbox().ListInbox(env_->As(login).get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<v1::InboxItem> out;
    for (const v1::InboxItem& i : resp.items()) {
      if (i.kind() == v1::INBOX_ITEM_KIND_CONCERTATION_SCHEDULED) out.push_back(i);
    }
    return out;
  }

  // The audit events of `login` for `action` on `object_id`, as reason codes.
  std::vector<std::string> Audited(absl::string_view login, v1::Action action,
                                   const std::string& object_id) {
    v1::QueryEventsRequest req;
    req.set_actor_member_id(env_->member_id(login));
    req.set_page_size(1000);
    v1::QueryEventsResponse resp;
    grpc::Status s = env_->audit().QueryEvents(env_->As(kAuditor).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const v1::AuditEvent& e : resp.events()) {
      if (e.action() == action && e.object_id() == object_id) out.push_back(e.reason_code());
    }
    return out;
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
};

TEST_F(ConcertationTest, EachServicesContributionIsReadUnderTheAccessRule) {
  ConsentGeneral();
  v1::Concertation m;
  grpc::Status s = Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.state(), v1::CONCERTATION_STATE_SCHEDULED);
  EXPECT_EQ(m.organizer_service_id(), env_->service_id("amo"));
  EXPECT_THAT(m.invited_service_ids(),
              UnorderedElementsAre(env_->service_id("amo"), env_->service_id("saj")));
  EXPECT_THAT(Audited(kAmoCaseworker, v1::ACTION_SCHEDULE_CONCERTATION, m.id()),
              ElementsAre("allowed"));

  v1::Entry amo_shared, saj_shared, saj_private, saj_health;
  ASSERT_TRUE(Minutes(kAmoCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
                      "AMO: reprise de l'école en janvier", &amo_shared)
                  .ok());
  ASSERT_TRUE(Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
                      "SAJ: le jeune souhaite rester chez sa tante", &saj_shared)
                  .ok());
  ASSERT_TRUE(Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SERVICE_PRIVATE,
                      v1::DATA_CATEGORY_GENERAL, "SAJ: note interne", &saj_private)
                  .ok());
  ASSERT_TRUE(Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_HEALTH,
                      "SAJ: suivi psychologique", &saj_health)
                  .ok());
  EXPECT_EQ(saj_shared.concertation_id(), m.id());
  EXPECT_EQ(saj_shared.kind(), v1::ENTRY_KIND_CONCERTATION);

  // The AMO reads its own and the SAJ's shared general contribution; the
  // health one is withheld (no consent covers it), the private one unseen.
  v1::ListEntriesResponse amo = MinutesAs(kAmoCaseworker, m.id());
  std::vector<std::string> seen;
  for (const v1::Entry& e : amo.entries()) seen.push_back(e.id());
  EXPECT_THAT(seen, UnorderedElementsAre(amo_shared.id(), saj_shared.id()));
  ASSERT_EQ(amo.withheld_size(), 1);
  EXPECT_EQ(amo.withheld(0).count(), 1);
  // The SAJ reads all of its own and the AMO's shared one.
  seen.clear();
  const v1::ListEntriesResponse saj = MinutesAs(kSajCaseworker, m.id());
  for (const v1::Entry& e : saj.entries()) seen.push_back(e.id());
  EXPECT_THAT(seen, UnorderedElementsAre(amo_shared.id(), saj_shared.id(), saj_private.id(),
                                         saj_health.id()));
  // An entry of the youth outside the meeting is not among its minutes.
  v1::AddEntryRequest other;
  other.mutable_entry()->set_youth_id(youth_);
  other.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  other.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  other.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  other.mutable_entry()->set_body("Note hors réunion");
  v1::Entry note;
  ASSERT_TRUE(env_->record().AddEntry(env_->As(kAmoCaseworker).get(), other, &note).ok());
  EXPECT_EQ(MinutesAs(kAmoCaseworker, m.id()).entries_size(), 2);
}

TEST_F(ConcertationTest, TheOrganizerRecordsTheOutcomeOnceTheMeetingTookPlace) {
  v1::Concertation m, out;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  grpc::Status s = Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_HELD,
                          v1::YOUTH_PARTICIPATION_PRESENT, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "concertation_not_yet_held");
  env_->clock().Advance(8 * kDay);
  // Held needs the youth's participation; cancelled has none.
  s = Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_HELD,
             v1::YOUTH_PARTICIPATION_UNSPECIFIED, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_CANCELLED,
             v1::YOUTH_PARTICIPATION_ABSENT, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // An invited service does not record it.
  s = Record(kSajCaseworker, m.id(), v1::CONCERTATION_STATE_HELD,
             v1::YOUTH_PARTICIPATION_VIEW_CONVEYED, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "wrong_service");
  EXPECT_THAT(Audited(kSajCaseworker, v1::ACTION_RECORD_CONCERTATION, m.id()),
              ElementsAre("wrong_service"));
  s = Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_HELD,
             v1::YOUTH_PARTICIPATION_VIEW_CONVEYED, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.state(), v1::CONCERTATION_STATE_HELD);
  EXPECT_EQ(out.youth_participation(), v1::YOUTH_PARTICIPATION_VIEW_CONVEYED);
  EXPECT_EQ(out.recorded_by_member_id(), env_->member_id(kAmoCaseworker));
  // Repeating is harmless; changing it is refused.
  v1::Concertation again;
  ASSERT_TRUE(Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_HELD,
                     v1::YOUTH_PARTICIPATION_VIEW_CONVEYED, &again)
                  .ok());
  EXPECT_EQ(again.updated_at().seconds(), out.updated_at().seconds());
  s = Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_CANCELLED,
             v1::YOUTH_PARTICIPATION_UNSPECIFIED, &again);
  EXPECT_EQ(ReasonCode(s), "concertation_closed");
  // Both services see the outcome.
  for (const char* login : {kAmoCaseworker, kSajCaseworker}) {
    std::vector<std::string> ids;
    ASSERT_TRUE(List(login, &ids).ok()) << login;
    EXPECT_THAT(ids, ElementsAre(m.id())) << login;
  }
}

TEST_F(ConcertationTest, OnlyServicesThatAccompanyTheYouthAreInvitedAndNotified) {
  v1::Concertation m;
  // The PMS does not accompany the youth: neither invited nor organizer.
  grpc::Status s = Schedule(kAmoCaseworker, {env_->service_id("pms")}, &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "invitee_not_accompanying");
  s = Schedule(kPmsCaseworker, {env_->service_id("amo")}, &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  // A claim nobody vouched for is no relationship either.
  env_->OpenAccompaniment(youth_, kPmsCoordinator, kPmsCaseworker);
  s = Schedule(kAmoCaseworker, {env_->service_id("pms")}, &m);
  EXPECT_EQ(ReasonCode(s), "invitee_not_accompanying");
  s = Schedule(kAmoCaseworker, {env_->service_id("amo")}, &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m, 400 * kDay);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> ids;
  ASSERT_TRUE(List(kAmoCaseworker, &ids).ok());
  EXPECT_TRUE(ids.empty());
  EXPECT_TRUE(Scheduled(kPmsCoordinator).empty());

  // Scheduling the same meeting twice gives one; its invitations are checked again.
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  v1::Concertation same;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &same).ok());
  EXPECT_EQ(same.id(), m.id());
  s = Schedule(kAmoCaseworker, {env_->service_id("saj"), env_->service_id("pms")}, &same);
  EXPECT_EQ(ReasonCode(s), "invitee_not_accompanying");
  // The SAJ's coordinator and the youth's referent there are told, once; not the AMO's.
  for (const char* login : {kSajCoordinator, kSajCaseworker}) {
    std::vector<v1::InboxItem> items = Scheduled(login);
    ASSERT_EQ(items.size(), 1u) << login;
    EXPECT_EQ(items[0].concertation_id(), m.id());
    EXPECT_EQ(items[0].youth_id(), youth_);
    EXPECT_EQ(common::FromProto(items[0].due_at()), common::FromProto(m.scheduled_at()));
  }
  EXPECT_TRUE(Scheduled(kAmoCoordinator).empty());
  // The PMS, not invited, lists nothing and cannot learn of the meeting.
  ids.clear();
  s = List(kPmsCaseworker, &ids);
  EXPECT_EQ(ReasonCode(s), "accompaniment_pending");
  v1::Concertation out;
  s = Record(kPmsCaseworker, m.id(), v1::CONCERTATION_STATE_CANCELLED,
             v1::YOUTH_PARTICIPATION_UNSPECIFIED, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConcertationTest, AnotherMeetingAtTheSameTimeOrOnAClosedHandoverIsRefused) {
  env_->AddService("mh", "Service de santé mentale", "sante_mentale", "SSM");
  env_->AddMember("mh.cw", "mh", v1::ROLE_CASEWORKER);
  env_->AddMember("mh.coord", "mh", v1::ROLE_COORDINATOR);
  env_->Accompany(youth_, "mh.coord", "mh.cw");
  v1::Concertation m, other;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  grpc::Status s =
      Schedule(kAmoCaseworker, {env_->service_id("saj"), env_->service_id("mh")}, &other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonCode(s), "concertation_already_scheduled");
  // A handover cancelled before the meeting takes none.
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth_);
  propose.set_to_service_id(env_->service_id("pms"));
  propose.set_reason("décrochage scolaire");
  *propose.mutable_overlap_start() = common::ToProto(env_->clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env_->clock().Now() + 30 * kDay);
  v1::Handover h;
  ASSERT_TRUE(env_->care().ProposeHandover(env_->As(kAmoCaseworker).get(), propose, &h).ok());
  v1::CancelHandoverRequest cancel;
  cancel.set_handover_id(h.id());
  cancel.set_reason("le jeune reste à l'AMO");
  ASSERT_TRUE(env_->care().CancelHandover(env_->As(kAmoCaseworker).get(), cancel, &h).ok());
  s = Schedule(kAmoCaseworker, {env_->service_id("pms")}, &other, 2 * kDay, h.id());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "handover_closed");
  std::vector<std::string> ids;
  ASSERT_TRUE(List(kAmoCaseworker, &ids).ok());
  EXPECT_THAT(ids, ElementsAre(m.id()));
}

TEST_F(ConcertationTest, MinutesNeedAnInvitationToAMeetingOfThatYouth) {
  v1::Concertation m;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  v1::Entry e;
  // Not of kind CONCERTATION.
  grpc::Status s = Minutes(kAmoCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
                           "note", &e, v1::ENTRY_KIND_NOTE);
  EXPECT_EQ(ReasonCode(s), "minutes_are_concertation");
  // Another youth's record, with this meeting's id.
  const std::string other = env_->CreateYouth(14);
  env_->Accompany(other, kAmoCoordinator, kAmoCaseworker);
  s = Minutes(kAmoCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "x", &e,
              v1::ENTRY_KIND_CONCERTATION, other);
  EXPECT_EQ(ReasonCode(s), "unknown_concertation");
  // A service that accompanies the youth but was not invited.
  env_->AddService("mh", "Service de santé mentale", "sante_mentale", "SSM");
  env_->AddMember("mh.cw", "mh", v1::ROLE_CASEWORKER);
  env_->AddMember("mh.coord", "mh", v1::ROLE_COORDINATOR);
  env_->Accompany(youth_, "mh.coord", "mh.cw");
  s = Minutes("mh.cw", m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "x", &e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "unknown_concertation");
  // A cancelled meeting takes no minutes.
  v1::Concertation out;
  ASSERT_TRUE(Record(kAmoCaseworker, m.id(), v1::CONCERTATION_STATE_CANCELLED,
                     v1::YOUTH_PARTICIPATION_UNSPECIFIED, &out)
                  .ok());
  s = Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "x", &e);
  EXPECT_EQ(ReasonCode(s), "concertation_cancelled");
  // Nothing was filed.
  EXPECT_EQ(MinutesAs(kAmoCaseworker, m.id()).entries_size(), 0);
}

TEST_F(ConcertationTest, AHandoversMeetingIsOnItsThreadAndTheReceivingServiceIsInvited) {
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(youth_);
  propose.set_to_service_id(env_->service_id("pms"));
  propose.set_reason("décrochage scolaire");
  *propose.mutable_overlap_start() = common::ToProto(env_->clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env_->clock().Now() + 30 * kDay);
  v1::Handover h;
  ASSERT_TRUE(env_->care().ProposeHandover(env_->As(kAmoCaseworker).get(), propose, &h).ok());
  v1::Concertation m;
  grpc::Status s = Schedule(kAmoCaseworker, {env_->service_id("pms"), env_->service_id("saj")}, &m,
                            2 * kDay, h.id());
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.handover_id(), h.id());
  // Not the handover's party: the SAJ cannot hang a meeting on it.
  v1::Concertation refused;
  s = Schedule(kSajCaseworker, {env_->service_id("amo")}, &refused, 2 * kDay, h.id());
  EXPECT_EQ(ReasonCode(s), "unknown_handover");
  // The PMS coordinator is told and sees it before the PMS accompanies the
  // youth, but files minutes only once it does.
  ASSERT_EQ(Scheduled(kPmsCoordinator).size(), 1u);
  std::vector<std::string> ids;
  ASSERT_TRUE(List(kPmsCoordinator, &ids).ok());
  EXPECT_THAT(ids, ElementsAre(m.id()));
  // Before it follows the youth, it is not told which other services do.
  v1::ListConcertationsRequest list;
  list.set_youth_id(youth_);
  v1::ListConcertationsResponse seen;
  ASSERT_TRUE(env_->care().ListConcertations(env_->As(kPmsCoordinator).get(), list, &seen).ok());
  ASSERT_EQ(seen.concertations_size(), 1);
  EXPECT_THAT(seen.concertations(0).invited_service_ids(),
              UnorderedElementsAre(env_->service_id("amo"), env_->service_id("pms")));
  v1::Entry e;
  s = Minutes(kPmsCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
              "PMS: présentation du centre", &e);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  v1::AcceptHandoverRequest accept;
  accept.set_handover_id(h.id());
  accept.set_referent_member_id(env_->member_id(kPmsCaseworker));
  v1::Handover accepted;
  ASSERT_TRUE(env_->care().AcceptHandover(env_->As(kPmsCoordinator).get(), accept, &accepted).ok());
  s = Minutes(kPmsCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
              "PMS: présentation du centre", &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(e.handover_id(), h.id());
  // Once it accompanies the youth, it sees every service invited.
  v1::ListConcertationsResponse later;
  ASSERT_TRUE(env_->care().ListConcertations(env_->As(kPmsCoordinator).get(), list, &later).ok());
  ASSERT_EQ(later.concertations_size(), 1);
  EXPECT_EQ(later.concertations(0).invited_service_ids_size(), 3);
  // The SAJ, invited but no party of the handover, files on its thread too.
  s = Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
              "SAJ: accord sur le relais", &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(e.handover_id(), h.id());
}

TEST_F(ConcertationTest, AnInvitationEditedInTheDatabaseIsRefused) {
  v1::Concertation m;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  // An insider with the file adds the PMS to the invitation.
  Sql(env_->db_path(),
      storage::testing::DropTrigger("care_concertations_fixed", "care_concertations") +
          "UPDATE care_concertations SET invited = invited || '," + env_->service_id("pms") + "';");
  std::vector<std::string> ids;
  grpc::Status s = List(kAmoCaseworker, &ids);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  v1::Entry e;
  s = Minutes(kSajCaseworker, m.id(), v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "x", &e);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
}

TEST_F(ConcertationTest, TheYouthsExportHoldsTheMeetingsAboutThem) {
  v1::Concertation m;
  ASSERT_TRUE(Schedule(kAmoCaseworker, {env_->service_id("saj")}, &m).ok());
  v1::ExportYouthRequest req;
  req.set_youth_id(youth_);
  auto ctx = env_->As(kAmoCoordinator);
  auto reader = env_->record().ExportYouth(ctx.get(), req);
  std::vector<std::string> meetings;
  int trailer_count = -1;
  for (v1::ExportYouthItem item; reader->Read(&item);) {
    if (item.has_concertation()) meetings.push_back(item.concertation().id());
    if (item.has_trailer()) trailer_count = item.trailer().concertations();
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(meetings, ElementsAre(m.id()));
  EXPECT_EQ(trailer_count, 1);
}

}  // namespace
}  // namespace relais::testing
