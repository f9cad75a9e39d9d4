// A coordinator's own lists (issue #16): the youths their service follows and
// the consents it holds that are about to end. Scoped to the caller's service:
// another service's youths and consents never show, and only coordinators ask.

#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kDay = absl::Hours(24);

grpc::Status ListFollowed(RelaisEnv& env, absl::string_view login,
                          v1::ListServiceAccompanimentsResponse* resp, int page_size = 0,
                          const std::string& page_token = "") {
  v1::ListServiceAccompanimentsRequest req;
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  return env.care().ListServiceAccompaniments(env.As(login).get(), req, resp);
}

std::vector<std::string> FollowedYouths(RelaisEnv& env, absl::string_view login) {
  v1::ListServiceAccompanimentsResponse resp;
  grpc::Status s = ListFollowed(env, login, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> out;
  for (const v1::Accompaniment& a : resp.accompaniments()) out.push_back(a.youth_id());
  return out;
}

grpc::Status ListExpiring(RelaisEnv& env, absl::string_view login, int within_days,
                          v1::ListExpiringConsentsResponse* resp) {
  v1::ListExpiringConsentsRequest req;
  req.set_within_days(within_days);
  return env.care().ListExpiringConsents(env.As(login).get(), req, resp);
}

std::vector<std::string> ExpiringIds(RelaisEnv& env, absl::string_view login, int within_days) {
  v1::ListExpiringConsentsResponse resp;
  grpc::Status s = ListExpiring(env, login, within_days, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> out;
  for (const v1::Consent& k : resp.consents()) {
    EXPECT_EQ(k.state(), v1::CONSENT_STATE_ACTIVE) << k.id();
    out.push_back(k.id());
  }
  return out;
}

// The youth's own consent to share the holder's general entries with `to`,
// valid `days` from now; its id.
std::string Grant(RelaisEnv& env, absl::string_view caseworker, const std::string& youth,
                  const std::string& to, int days) {
  v1::GrantConsentRequest req;
  v1::Consent& k = *req.mutable_consent();
  k.set_youth_id(youth);
  k.set_giver(v1::CONSENT_GIVER_YOUTH);
  k.add_recipients()->set_service_id(to);
  k.add_purposes(v1::PURPOSE_COORDINATION);
  k.add_categories(v1::DATA_CATEGORY_GENERAL);
  *k.mutable_valid_until() = common::ToProto(env.clock().Now() + days * kDay);
  v1::Consent out;
  grpc::Status s = env.care().GrantConsent(env.As(caseworker).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out.id();
}

void End(RelaisEnv& env, const std::string& accompaniment_id) {
  v1::EndAccompanimentRequest req;
  req.set_accompaniment_id(accompaniment_id);
  v1::Accompaniment ended;
  grpc::Status s = env.care().EndAccompaniment(env.As(kAmoCoordinator).get(), req, &ended);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

// Whether the log holds a READ_CARE event of `login` with this reason.
bool Logged(RelaisEnv& env, absl::string_view login, absl::string_view reason) {
  v1::QueryEventsRequest req;
  req.set_actor_member_id(env.member_id(login));
  v1::QueryEventsResponse resp;
  grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const v1::AuditEvent& e : resp.events()) {
    if (e.action() == v1::ACTION_READ_CARE && e.reason_code() == reason) return true;
  }
  return false;
}

TEST(CoordinatorLists, TheServicesYouthsAreTheOnesItFollowsPendingIncludedEndedNot) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string followed = env->CreateYouth(15);
  env->Accompany(followed, kAmoCoordinator, kAmoCaseworker);
  // The SAJ's youth, which the AMO asks to accompany too: pending.
  const std::string asked = env->CreateYouth(14, kSajCaseworker);
  env->Accompany(asked, kSajCoordinator, kSajCaseworker);
  const v1::Accompaniment pending = env->OpenAccompaniment(asked, kAmoCoordinator, kAmoCaseworker);
  ASSERT_EQ(pending.vouch(), v1::VOUCH_PENDING);
  const std::string left = env->CreateYouth(16);
  End(*env, env->OpenAccompaniment(left, kAmoCoordinator, kAmoCaseworker).id());

  EXPECT_THAT(FollowedYouths(*env, kAmoCoordinator), UnorderedElementsAre(followed, asked));
  EXPECT_THAT(FollowedYouths(*env, kSajCoordinator), ElementsAre(asked));

  // Paged one at a time, both come, once each.
  v1::ListServiceAccompanimentsResponse first, second;
  ASSERT_TRUE(ListFollowed(*env, kAmoCoordinator, &first, 1).ok());
  ASSERT_EQ(first.accompaniments_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  ASSERT_TRUE(ListFollowed(*env, kAmoCoordinator, &second, 1, first.next_page_token()).ok());
  ASSERT_EQ(second.accompaniments_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_NE(first.accompaniments(0).id(), second.accompaniments(0).id());
  for (const auto* page : {&first, &second}) {
    EXPECT_EQ(page->accompaniments(0).service_id(), env->service_id("amo"));
  }

  // The field, the DPO and another service's caseworker are refused, and logged.
  for (absl::string_view login : {kAmoCaseworker, kAuditor, kPmsCaseworker}) {
    v1::ListServiceAccompanimentsResponse resp;
    grpc::Status s = ListFollowed(*env, login, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << login;
    EXPECT_EQ(ReasonCode(s), "role_not_permitted") << login;
    EXPECT_EQ(resp.accompaniments_size(), 0);
  }
  EXPECT_TRUE(Logged(*env, kAmoCoordinator, "allowed"));
  EXPECT_TRUE(Logged(*env, kAmoCaseworker, "role_not_permitted"));
}

TEST(CoordinatorLists, ExpiringConsentsAreTheServicesOwnInForceOnYouthsItFollows) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string amo = env->service_id("amo");
  const std::string saj = env->service_id("saj");
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);
  const std::string soon = Grant(*env, kAmoCaseworker, youth, saj, 10);
  const std::string later = Grant(*env, kAmoCaseworker, youth, saj, 60);
  const std::string sajs = Grant(*env, kSajCaseworker, youth, amo, 5);
  const std::string withdrawn = Grant(*env, kAmoCaseworker, youth, saj, 7);
  {
    v1::WithdrawConsentRequest req;
    req.set_consent_id(withdrawn);
    v1::Consent out;
    ASSERT_TRUE(env->care().WithdrawConsent(env->As(kAmoCaseworker).get(), req, &out).ok());
  }
  // A youth the AMO no longer follows: its consent is not the AMO's to renew.
  const std::string left = env->CreateYouth(16);
  const v1::Accompaniment left_accompaniment =
      env->OpenAccompaniment(left, kAmoCoordinator, kAmoCaseworker);
  const std::string left_consent = Grant(*env, kAmoCaseworker, left, saj, 3);
  End(*env, left_accompaniment.id());

  EXPECT_THAT(ExpiringIds(*env, kAmoCoordinator, 0), ElementsAre(soon));  // 30 days
  EXPECT_THAT(ExpiringIds(*env, kAmoCoordinator, 90), ElementsAre(soon, later));
  EXPECT_THAT(ExpiringIds(*env, kSajCoordinator, 30), ElementsAre(sajs));
  EXPECT_THAT(ExpiringIds(*env, kAmoCoordinator, 1), ::testing::IsEmpty());
  EXPECT_THAT(ExpiringIds(*env, kAmoCoordinator, 366),
              ::testing::Not(::testing::Contains(left_consent)));

  for (int bad : {-1, 367, 100000}) {
    v1::ListExpiringConsentsResponse resp;
    grpc::Status s = ListExpiring(*env, kAmoCoordinator, bad, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(ReasonCode(s), "out_of_range") << bad;
  }
  for (absl::string_view login : {kAmoCaseworker, kSajCaseworker, kAuditor}) {
    v1::ListExpiringConsentsResponse resp;
    grpc::Status s = ListExpiring(*env, login, 30, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << login;
    EXPECT_EQ(resp.consents_size(), 0);
  }
}

}  // namespace
}  // namespace relais::testing
