// Issue #4, item 3, through gRPC: break-the-glass. A service without an
// accompaniment or consent opens a justified, time-limited emergency grant that
// allows READS only, every event under it is flagged, and auditors review it.

#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

std::string AddEntry(RelaisEnv& env, const std::string& youth, v1::Visibility visibility,
                     absl::string_view body) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_FAMILY);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(std::string(body));
  v1::Entry e;
  grpc::Status s = env.record().AddEntry(env.As(kAmoCaseworker).get(), req, &e);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return e.id();
}

grpc::Status List(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::ListEntriesResponse* out) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().ListEntries(env.As(login).get(), req, out);
}

grpc::Status GetEntry(RelaisEnv& env, absl::string_view login, const std::string& id,
                      v1::Entry* out) {
  v1::GetEntryRequest req;
  req.set_entry_id(id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().GetEntry(env.As(login).get(), req, out);
}

grpc::Status Open(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  absl::string_view justification, v1::EmergencyAccess* out) {
  v1::OpenEmergencyAccessRequest req;
  req.set_youth_id(youth);
  req.set_justification(std::string(justification));
  return env.care().OpenEmergencyAccess(env.As(login).get(), req, out);
}

grpc::Status Review(RelaisEnv& env, absl::string_view login, const std::string& grant,
                    v1::EmergencyVerdict verdict, v1::EmergencyAccess* out) {
  v1::ReviewEmergencyAccessRequest req;
  req.set_grant_id(grant);
  req.set_verdict(verdict);
  req.set_note("appel de la police, mineur en fugue: justifié");
  return env.audit().ReviewEmergencyAccess(env.As(login).get(), req, out);
}

constexpr char kJustification[] = "fugue signalée cette nuit, la police demande le contexte";

TEST(GdprEmergencyAccess, GrantAllowsReadsOnlyIsFlaggedExpiresAndIsReviewed) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  const std::string shared = AddEntry(*env, youth, v1::VISIBILITY_SHARED, "partagée");
  const std::string priv = AddEntry(*env, youth, v1::VISIBILITY_SERVICE_PRIVATE, "privée");

  // A service that does not accompany the youth cannot open one: an
  // emergency lifts the consent, never the need to know (issue #10).
  v1::ListEntriesResponse list;
  v1::EmergencyAccess grant;
  grpc::Status s = Open(*env, kSajCaseworker, youth, kJustification, &grant);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  // Once the SAJ accompanies (vouched for by the AMO) it sees what the AMO's
  // consents share with it: nothing yet.
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);
  s = List(*env, kSajCaseworker, youth, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list.entries_size(), 0);

  // Who may open one, and with what justification.
  s = Open(*env, kSajCaseworker, youth, "urgent", &grant);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "justification_too_short");
  s = Open(*env, kAuditor, youth, kJustification, &grant);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Open(*env, kSajCaseworker, youth, kJustification, &grant);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(grant.service_id(), env->service_id("saj"));
  EXPECT_EQ(common::FromProto(grant.expires_at()) - common::FromProto(grant.opened_at()),
            absl::Hours(24));

  // Reads work: the shared entry without any consent; the AMO's private entry
  // stays hidden (neither listed nor counted, NOT_FOUND by id).
  s = List(*env, kSajCaseworker, youth, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.entries_size(), 1);
  EXPECT_EQ(list.entries(0).id(), shared);
  EXPECT_EQ(list.withheld_size(), 0);
  v1::Entry e;
  ASSERT_TRUE(GetEntry(*env, kSajCaseworker, shared, &e).ok());
  EXPECT_EQ(e.body(), "partagée");
  s = GetEntry(*env, kSajCaseworker, priv, &e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  // The grant covers the member who opened it, not the whole service.
  s = GetEntry(*env, kSajCoordinator, shared, &e);
  EXPECT_EQ(ReasonCode(s), "no_consent");

  // Every event of the opener about this youth while the grant holds is flagged.
  int flagged_reads = 0;
  bool granted = false;
  for (const v1::AuditEvent& ev : EventsOf(*env, youth)) {
    if (ev.actor_member_id() != env->member_id(kSajCaseworker)) continue;
    if (ev.action() == v1::ACTION_OPEN_EMERGENCY_ACCESS && ev.decision() == v1::DECISION_ALLOW) {
      granted = true;
    }
    if (!granted) continue;  // before the grant
    EXPECT_TRUE(ev.break_glass()) << v1::Action_Name(ev.action()) << " " << ev.reason_code();
    if (ev.decision() == v1::DECISION_ALLOW &&
        (ev.action() == v1::ACTION_READ_ENTRY || ev.action() == v1::ACTION_LIST_ENTRIES)) {
      ++flagged_reads;
    }
  }
  EXPECT_GE(flagged_reads, 3);  // list + its entry + GetEntry

  // Expiry after 24 h: the consent rule applies again.
  env->clock().Advance(absl::Hours(24) + absl::Minutes(1));
  s = GetEntry(*env, kSajCaseworker, shared, &e);
  EXPECT_EQ(ReasonCode(s), "no_consent");

  // The review queue: auditors only; once.
  v1::ListEmergencyAccessesRequest lreq;
  lreq.set_pending_only(true);
  v1::ListEmergencyAccessesResponse queue;
  s = env->audit().ListEmergencyAccesses(env->As(kSajCaseworker).get(), lreq, &queue);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  ASSERT_TRUE(env->audit().ListEmergencyAccesses(env->As(kAuditor).get(), lreq, &queue).ok());
  ASSERT_EQ(queue.grants_size(), 1);
  EXPECT_EQ(queue.grants(0).id(), grant.id());
  EXPECT_EQ(queue.grants(0).justification(), kJustification);

  v1::EmergencyAccess reviewed;
  s = Review(*env, kSajCoordinator, grant.id(), v1::EMERGENCY_VERDICT_JUSTIFIED, &reviewed);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Review(*env, kAmoCaseworker, grant.id(), v1::EMERGENCY_VERDICT_JUSTIFIED, &reviewed);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Review(*env, kAuditor, grant.id(), v1::EMERGENCY_VERDICT_UNSPECIFIED, &reviewed);
  EXPECT_EQ(ReasonCode(s), "invalid_enum");
  s = Review(*env, kAuditor, grant.id(), v1::EMERGENCY_VERDICT_JUSTIFIED, &reviewed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reviewed.verdict(), v1::EMERGENCY_VERDICT_JUSTIFIED);
  EXPECT_EQ(reviewed.reviewed_by_member_id(), env->member_id(kAuditor));
  s = Review(*env, kAuditor, grant.id(), v1::EMERGENCY_VERDICT_UNJUSTIFIED, &reviewed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "already_reviewed");
  ASSERT_TRUE(env->audit().ListEmergencyAccesses(env->As(kAuditor).get(), lreq, &queue).ok());
  EXPECT_EQ(queue.grants_size(), 0);
  lreq.set_pending_only(false);
  ASSERT_TRUE(env->audit().ListEmergencyAccesses(env->As(kAuditor).get(), lreq, &queue).ok());
  ASSERT_EQ(queue.grants_size(), 1);
  EXPECT_EQ(queue.grants(0).verdict(), v1::EMERGENCY_VERDICT_JUSTIFIED);
  EXPECT_FALSE(queue.grants(0).review_note().empty());

  // The review and its refusals are audited against the grant and the youth.
  bool allowed = false, denied = false;
  for (const v1::AuditEvent& ev : EventsOf(*env, youth)) {
    if (ev.action() != v1::ACTION_REVIEW_EMERGENCY_ACCESS) continue;
    EXPECT_EQ(ev.object_id(), grant.id());
    allowed |= ev.decision() == v1::DECISION_ALLOW;
    denied |= ev.reason_code() == "already_reviewed";
  }
  EXPECT_TRUE(allowed);
  EXPECT_TRUE(denied);
  v1::VerifyLogResponse verify;
  ASSERT_TRUE(
      env->audit().VerifyLog(env->As(kAuditor).get(), v1::VerifyLogRequest(), &verify).ok());
  EXPECT_TRUE(verify.ok());
}

TEST(GdprEmergencyAccess, RestrictedRecordIsNotOpenedInAnEmergency) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);
  v1::RestrictYouthRequest r;
  r.set_youth_id(youth);
  r.set_reason("contestation de l'exactitude");
  v1::RecordState state;
  ASSERT_TRUE(env->record().RestrictYouth(env->As(kAmoCoordinator).get(), r, &state).ok());
  v1::EmergencyAccess grant;
  grpc::Status s = Open(*env, kSajCaseworker, youth, kJustification, &grant);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "record_restricted");
}

// Issue #10: a record restricted after the grant stops it; an UNJUSTIFIED
// verdict ends it at once; nobody of the opener's service reviews it.
TEST(GdprEmergencyAccess, RestrictionAndUnjustifiedVerdictEndTheGrant) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember("saj.both", "saj", {v1::ROLE_CASEWORKER, v1::ROLE_AUDITOR});
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);
  const std::string shared = AddEntry(*env, youth, v1::VISIBILITY_SHARED, "partagée");
  v1::EmergencyAccess grant;
  ASSERT_TRUE(Open(*env, kSajCaseworker, youth, kJustification, &grant).ok());
  v1::Entry e;
  ASSERT_TRUE(GetEntry(*env, kSajCaseworker, shared, &e).ok());

  // Reviewed neither by its opener's service nor by its opener.
  v1::EmergencyAccess reviewed;
  grpc::Status s = Review(*env, "saj.both", grant.id(), v1::EMERGENCY_VERDICT_JUSTIFIED, &reviewed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(ReasonCode(s), "allowed");

  // Restricted: the grant stops reading, though it has not expired.
  v1::RestrictYouthRequest r;
  r.set_youth_id(youth);
  r.set_reason("contestation de l'exactitude");
  v1::RecordState state;
  ASSERT_TRUE(env->record().RestrictYouth(env->As(kAmoCoordinator).get(), r, &state).ok());
  v1::Entry refused;
  s = GetEntry(*env, kSajCaseworker, shared, &refused);
  EXPECT_EQ(ReasonCode(s), "record_restricted");
  EXPECT_TRUE(refused.body().empty());
  v1::LiftRestrictionRequest lift;
  lift.set_youth_id(youth);
  lift.set_reason("rectifié");
  ASSERT_TRUE(env->record().LiftRestriction(env->As(kAmoCoordinator).get(), lift, &state).ok());
  ASSERT_TRUE(GetEntry(*env, kSajCaseworker, shared, &e).ok());

  // The DPO finds it unjustified: it ends at once.
  s = Review(*env, kAuditor, grant.id(), v1::EMERGENCY_VERDICT_UNJUSTIFIED, &reviewed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(common::FromProto(reviewed.expires_at()), env->clock().Now());
  s = GetEntry(*env, kSajCaseworker, shared, &e);
  EXPECT_EQ(ReasonCode(s), "no_consent");
}

}  // namespace
}  // namespace relais::testing
