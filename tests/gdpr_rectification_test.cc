// Issue #4, item 5, through gRPC: rectification (GDPR art. 16). Corrections
// supersede, never edit: listings show current versions only, and GetEntry
// with include_history returns the correction chain, each version decided by
// the access rule and audited.

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

grpc::Status Add(RelaisEnv& env, absl::string_view login, const std::string& youth,
                 v1::Visibility visibility, absl::string_view body, const std::string& supersedes,
                 std::string* id) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(std::string(body));
  req.mutable_entry()->set_supersedes_entry_id(supersedes);
  v1::Entry e;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &e);
  *id = e.id();
  return s;
}

std::vector<std::string> ListIds(RelaisEnv& env, absl::string_view login, const std::string& youth,
                                 bool include_superseded) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  req.set_include_superseded(include_superseded);
  v1::ListEntriesResponse resp;
  grpc::Status s = env.record().ListEntries(env.As(login).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> ids;
  for (const auto& e : resp.entries()) ids.push_back(e.id());
  return ids;
}

grpc::Status Get(RelaisEnv& env, absl::string_view login, const std::string& id, bool history,
                 v1::Entry* out) {
  v1::GetEntryRequest req;
  req.set_entry_id(id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  req.set_include_history(history);
  return env.record().GetEntry(env.As(login).get(), req, out);
}

std::vector<std::string> HistoryIds(const v1::Entry& e) {
  std::vector<std::string> ids;
  for (const auto& h : e.history()) ids.push_back(h.id());
  return ids;
}

TEST(GdprRectification, ListingsShowCurrentVersionsAndHistoryShowsTheChain) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);

  // v1 shared, corrected by v2 (made private), corrected again by v3 (shared).
  std::string v1id, v2id, v3id, other;
  ASSERT_TRUE(Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SHARED, "v1", "", &v1id).ok());
  ASSERT_TRUE(
      Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SERVICE_PRIVATE, "v2", v1id, &v2id).ok());
  ASSERT_TRUE(Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SHARED, "v3", v2id, &v3id).ok());
  ASSERT_TRUE(Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SHARED, "autre", "", &other).ok());
  // Only the author service corrects its entries.
  std::string refused;
  grpc::Status s = Add(*env, kSajCaseworker, youth, v1::VISIBILITY_SHARED, "x", v3id, &refused);
  EXPECT_EQ(ReasonCode(s), "cannot_supersede");

  // Listings: current versions only, unless asked.
  EXPECT_THAT(ListIds(*env, kAmoCaseworker, youth, false), ElementsAre(other, v3id));
  EXPECT_THAT(ListIds(*env, kAmoCaseworker, youth, true), ElementsAre(other, v3id, v2id, v1id));

  // The chain from any version, current first.
  v1::Entry e;
  ASSERT_TRUE(Get(*env, kAmoCaseworker, v1id, true, &e).ok());
  EXPECT_EQ(e.body(), "v1");
  EXPECT_EQ(e.superseded_by_entry_id(), v2id);
  EXPECT_THAT(HistoryIds(e), ElementsAre(v3id, v2id, v1id));
  EXPECT_EQ(e.history(0).body(), "v3");
  ASSERT_TRUE(Get(*env, kAmoCaseworker, v3id, true, &e).ok());
  EXPECT_TRUE(e.superseded_by_entry_id().empty());
  EXPECT_THAT(HistoryIds(e), ElementsAre(v3id, v2id, v1id));
  ASSERT_TRUE(Get(*env, kAmoCaseworker, v2id, false, &e).ok());
  EXPECT_TRUE(e.history().empty());

  // Another service: without consent, refused; with consent, the AMO's private
  // version stays hidden from the chain (and is audited as entry_private).
  s = Get(*env, kSajCaseworker, v3id, true, &e);
  EXPECT_EQ(ReasonCode(s), "no_consent");
  v1::GrantConsentRequest consent;
  v1::Consent* k = consent.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(env->service_id("saj"));
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env->clock().Now() + absl::Hours(24 * 30));
  v1::Consent granted;
  ASSERT_TRUE(env->care().GrantConsent(env->As(kAmoCaseworker).get(), consent, &granted).ok());
  v1::Entry saj_view;
  ASSERT_TRUE(Get(*env, kSajCaseworker, v3id, true, &saj_view).ok());
  EXPECT_THAT(HistoryIds(saj_view), ElementsAre(v3id, v1id));
  EXPECT_THAT(ListIds(*env, kSajCaseworker, youth, false), UnorderedElementsAre(other, v3id));

  v1::QueryEventsRequest q;
  q.set_youth_id(youth);
  q.set_actor_member_id(env->member_id(kSajCaseworker));
  q.set_page_size(200);
  v1::QueryEventsResponse events;
  ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &events).ok());
  bool private_version_audited = false;
  for (const auto& ev : events.events()) {
    private_version_audited |= ev.entry_id() == v2id && ev.reason_code() == "entry_private";
  }
  EXPECT_TRUE(private_version_audited);
}

}  // namespace
}  // namespace relais::testing
