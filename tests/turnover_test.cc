// Turnover (issue #14): a coordinator gives an accompaniment a new referent,
// with history, and a member who is still someone's referent cannot simply be
// removed from the directory: the youth would be left without a named person.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

grpc::Status Reassign(RelaisEnv& env, absl::string_view login, const std::string& accompaniment,
                      const std::string& referent, v1::Accompaniment* out) {
  v1::ReassignReferentRequest req;
  req.set_accompaniment_id(accompaniment);
  req.set_referent_member_id(referent);
  return env.care().ReassignReferent(env.As(login).get(), req, out);
}

grpc::Status Remove(RelaisEnv& env, absl::string_view login, absl::string_view member,
                    bool take_over, v1::Member* out) {
  v1::RemoveMemberRequest req;
  req.set_member_id(env.member_id(member));
  req.set_reassign_referrals_to_caller(take_over);
  return env.directory().RemoveMember(env.As(login).get(), req, out);
}

// The AMO's accompaniment of the youth, as its coordinator lists it.
v1::Accompaniment AmoAccompaniment(RelaisEnv& env, const std::string& youth) {
  v1::ListAccompanimentsRequest req;
  req.set_youth_id(youth);
  v1::ListAccompanimentsResponse resp;
  grpc::Status s = env.care().ListAccompaniments(env.As(kAmoCoordinator).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const v1::Accompaniment& a : resp.accompaniments()) {
    if (a.service_id() == env.service_id("amo")) return a;
  }
  ADD_FAILURE() << "no AMO accompaniment";
  return {};
}

bool Active(RelaisEnv& env, absl::string_view login) {
  absl::StatusOr<directory::MemberInfo> m = env.host().directory().GetMember(env.member_id(login));
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() && m->active;
}

int CountEvents(RelaisEnv& env, const std::string& youth, v1::Action action,
                absl::string_view reason_code) {
  int n = 0;
  for (const v1::AuditEvent& e : EventsOf(env, youth)) {
    if (e.action() == action && e.reason_code() == reason_code) ++n;
  }
  return n;
}

class TurnoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    env_->AddMember("amo.nadia", "amo", v1::ROLE_CASEWORKER);
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    accompaniment_ = AmoAccompaniment(*env_, youth_).id();
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
  std::string accompaniment_;
};

TEST_F(TurnoverTest, ACoordinatorReassignsTheReferentAndTheHistoryIsKept) {
  RelaisEnv& env = *env_;
  v1::Accompaniment a;
  grpc::Status s = Reassign(env, kAmoCoordinator, accompaniment_, env.member_id("amo.nadia"), &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.referent_member_id(), env.member_id("amo.nadia"));
  ASSERT_EQ(a.referent_history_size(), 1);
  EXPECT_EQ(a.referent_history(0).from_member_id(), env.member_id(kAmoCaseworker));
  EXPECT_EQ(a.referent_history(0).to_member_id(), env.member_id("amo.nadia"));
  EXPECT_EQ(a.referent_history(0).by_member_id(), env.member_id(kAmoCoordinator));

  // Idempotent: the same referent again changes nothing, and is still audited.
  ASSERT_TRUE(Reassign(env, kAmoCoordinator, accompaniment_, env.member_id("amo.nadia"), &a).ok());
  EXPECT_EQ(a.referent_history_size(), 1);
  // And back: the history keeps both, oldest first, as the list shows it.
  ASSERT_TRUE(
      Reassign(env, kAmoCoordinator, accompaniment_, env.member_id(kAmoCaseworker), &a).ok());
  const v1::Accompaniment listed = AmoAccompaniment(env, youth_);
  EXPECT_EQ(listed.referent_member_id(), env.member_id(kAmoCaseworker));
  ASSERT_EQ(listed.referent_history_size(), 2);
  EXPECT_EQ(listed.referent_history(1).to_member_id(), env.member_id(kAmoCaseworker));
  EXPECT_EQ(CountEvents(env, youth_, v1::ACTION_REASSIGN_REFERENT, "allowed"), 3);
}

TEST_F(TurnoverTest, OnlyTheServicesCoordinatorReassignsAndOnlyToItsOwnMembers) {
  RelaisEnv& env = *env_;
  v1::Accompaniment a;
  const std::string nadia = env.member_id("amo.nadia");
  // A caseworker, even the referent, cannot hand the youth to someone else.
  grpc::Status s = Reassign(env, kAmoCaseworker, accompaniment_, nadia, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  // Another service's coordinator learns nothing: the answer of an unknown id.
  s = Reassign(env, kSajCoordinator, accompaniment_, env.member_id(kSajCaseworker), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(s), "accompaniment_not_found");
  s = Reassign(env, kAmoCoordinator, "acc_00000000000000000000", nadia, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  // The new referent must be an active member of the AMO.
  s = Reassign(env, kAmoCoordinator, accompaniment_, env.member_id(kSajCaseworker), &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "referent_not_in_service");
  EXPECT_EQ(AmoAccompaniment(env, youth_).referent_member_id(), env.member_id(kAmoCaseworker));
  EXPECT_EQ(AmoAccompaniment(env, youth_).referent_history_size(), 0);

  // An ended accompaniment keeps the referent it had.
  v1::EndAccompanimentRequest end;
  end.set_accompaniment_id(accompaniment_);
  v1::Accompaniment ended;
  ASSERT_TRUE(env.care().EndAccompaniment(env.As(kAmoCoordinator).get(), end, &ended).ok());
  s = Reassign(env, kAmoCoordinator, accompaniment_, nadia, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "accompaniment_ended");
  // Every refusal on the youth's record is in the log (the other service's
  // names no youth: it was never told which one it was).
  int denied = 0;
  for (const v1::AuditEvent& e : EventsOf(env, youth_)) {
    if (e.action() == v1::ACTION_REASSIGN_REFERENT && e.decision() == v1::DECISION_DENY) ++denied;
  }
  EXPECT_GE(denied, 2);
}

TEST_F(TurnoverTest, RemovingAReferentNeedsTheirYouthsTakenOverInTheSameStep) {
  RelaisEnv& env = *env_;
  v1::Member removed;
  grpc::Status s = Remove(env, kAmoCoordinator, kAmoCaseworker, false, &removed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "referent_reassignment_required");
  // Nothing changed: she still works (her calls go through).
  v1::ListAccompanimentsRequest list;
  list.set_youth_id(youth_);
  v1::ListAccompanimentsResponse listed;
  EXPECT_TRUE(env.care().ListAccompaniments(env.As(kAmoCaseworker).get(), list, &listed).ok());
  EXPECT_TRUE(Active(env, kAmoCaseworker));

  // An admin cannot take the youths over: not a member of the AMO.
  s = Remove(env, kAdmin, kAmoCaseworker, true, &removed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "caller_not_in_service");

  // The coordinator takes them over and removes her, in one transaction.
  s = Remove(env, kAmoCoordinator, kAmoCaseworker, true, &removed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(Active(env, kAmoCaseworker));
  const v1::Accompaniment a = AmoAccompaniment(env, youth_);
  EXPECT_EQ(a.referent_member_id(), env.member_id(kAmoCoordinator));
  ASSERT_EQ(a.referent_history_size(), 1);
  EXPECT_EQ(a.referent_history(0).by_member_id(), env.member_id(kAmoCoordinator));
  EXPECT_EQ(CountEvents(env, youth_, v1::ACTION_REASSIGN_REFERENT, "allowed"), 1);

  // A member who is nobody's referent is removed as before.
  v1::Member nadia;
  ASSERT_TRUE(Remove(env, kAmoCoordinator, "amo.nadia", false, &nadia).ok());
  EXPECT_FALSE(Active(env, "amo.nadia"));
}

}  // namespace
}  // namespace relais::testing
