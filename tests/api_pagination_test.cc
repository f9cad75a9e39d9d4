// Issue #5 item 7 (API hygiene, Google AIP-158): every List* RPC pages with
// page_size / page_token / next_page_token. Walking a list one item per page
// returns exactly the items of the unpaged call, in the same order; a page token
// still marks its place when its item has left the filter since; a bad page size
// or token is refused with a reason code, and the refusal is audited.

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);
constexpr char kJustification[] = "fugue signalée cette nuit, la police demande le contexte";

// One call of a List RPC: sets the paging fields, returns the ids of the page
// and the next page token.
using ListFn = std::function<grpc::Status(int32_t page_size, const std::string& page_token,
                                          std::vector<std::string>* ids, std::string* next)>;

// Every id, page by page of `page_size`; fails the test on an error or a loop.
std::vector<std::string> Walk(const ListFn& list, int32_t page_size, int* pages = nullptr) {
  std::vector<std::string> all;
  std::string token;
  int n = 0;
  do {
    std::vector<std::string> ids;
    std::string next;
    grpc::Status s = list(page_size, token, &ids, &next);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok() || ++n > 100) break;
    all.insert(all.end(), ids.begin(), ids.end());
    token = next;
  } while (!token.empty());
  if (pages != nullptr) *pages = n;
  return all;
}

class ApiPaginationTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = RelaisEnv::Start(); }

  ListFn Sectors() {
    return [this](int32_t size, const std::string& token, std::vector<std::string>* ids,
                  std::string* next) {
      v1::ListSectorsRequest req;
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListSectorsResponse resp;
      grpc::Status s = env_->directory().ListSectors(env_->As(kAmoCaseworker).get(), req, &resp);
      for (const auto& x : resp.sectors()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Accompaniments(const std::string& youth) {
    return [this, youth](int32_t size, const std::string& token, std::vector<std::string>* ids,
                         std::string* next) {
      v1::ListAccompanimentsRequest req;
      req.set_youth_id(youth);
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListAccompanimentsResponse resp;
      grpc::Status s = env_->care().ListAccompaniments(env_->As(kAmoCaseworker).get(), req, &resp);
      for (const auto& x : resp.accompaniments()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Pending() {
    return [this](int32_t size, const std::string& token, std::vector<std::string>* ids,
                  std::string* next) {
      v1::ListPendingAccompanimentsRequest req;
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListPendingAccompanimentsResponse resp;
      grpc::Status s =
          env_->care().ListPendingAccompaniments(env_->As(kAmoCoordinator).get(), req, &resp);
      for (const auto& x : resp.accompaniments()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Followed() {
    return [this](int32_t size, const std::string& token, std::vector<std::string>* ids,
                  std::string* next) {
      v1::ListServiceAccompanimentsRequest req;
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListServiceAccompanimentsResponse resp;
      grpc::Status s =
          env_->care().ListServiceAccompaniments(env_->As(kAmoCoordinator).get(), req, &resp);
      for (const auto& x : resp.accompaniments()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Expiring() {
    return [this](int32_t size, const std::string& token, std::vector<std::string>* ids,
                  std::string* next) {
      v1::ListExpiringConsentsRequest req;
      req.set_within_days(366);
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListExpiringConsentsResponse resp;
      grpc::Status s =
          env_->care().ListExpiringConsents(env_->As(kAmoCoordinator).get(), req, &resp);
      for (const auto& x : resp.consents()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Consents(const std::string& youth) {
    return [this, youth](int32_t size, const std::string& token, std::vector<std::string>* ids,
                         std::string* next) {
      v1::ListConsentsRequest req;
      req.set_youth_id(youth);
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListConsentsResponse resp;
      grpc::Status s = env_->care().ListConsents(env_->As(kAmoCaseworker).get(), req, &resp);
      for (const auto& x : resp.consents()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Handovers() {
    return [this](int32_t size, const std::string& token, std::vector<std::string>* ids,
                  std::string* next) {
      v1::ListHandoversRequest req;
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListHandoversResponse resp;
      grpc::Status s = env_->care().ListHandovers(env_->As(kAmoCaseworker).get(), req, &resp);
      for (const auto& x : resp.handovers()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }
  ListFn Grants(bool pending_only) {
    return [this, pending_only](int32_t size, const std::string& token,
                                std::vector<std::string>* ids, std::string* next) {
      v1::ListEmergencyAccessesRequest req;
      req.set_pending_only(pending_only);
      req.set_page_size(size);
      req.set_page_token(token);
      v1::ListEmergencyAccessesResponse resp;
      grpc::Status s = env_->audit().ListEmergencyAccesses(env_->As(kAuditor).get(), req, &resp);
      for (const auto& x : resp.grants()) ids->push_back(x.id());
      *next = resp.next_page_token();
      return s;
    };
  }

  // A youth the AMO accompanies, with `consents` consents to the SAJ.
  std::string Youth(int consents = 0) {
    const std::string y = env_->CreateYouth(15);
    env_->Accompany(y, kAmoCoordinator, kAmoCaseworker);
    for (int i = 0; i < consents; ++i) {
      v1::GrantConsentRequest req;
      v1::Consent& k = *req.mutable_consent();
      k.set_youth_id(y);
      k.set_giver(v1::CONSENT_GIVER_YOUTH);
      k.add_recipients()->set_service_id(env_->service_id("saj"));
      k.add_purposes(v1::PURPOSE_COORDINATION);
      k.add_categories(v1::DATA_CATEGORY_GENERAL);
      *k.mutable_valid_until() = common::ToProto(env_->clock().Now() + (30 + i) * kDay);
      v1::Consent out;
      grpc::Status s = env_->care().GrantConsent(env_->As(kAmoCaseworker).get(), req, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return y;
  }
  void ProposeHandover(const std::string& youth) {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth);
    req.set_to_service_id(env_->service_id("saj"));
    req.set_reason("Mandat du SAJ");
    *req.mutable_overlap_start() = common::ToProto(env_->clock().Now() + kDay);
    *req.mutable_overlap_end() = common::ToProto(env_->clock().Now() + 30 * kDay);
    v1::Handover out;
    grpc::Status s = env_->care().ProposeHandover(env_->As(kAmoCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  // A PMS caseworker breaks the glass; the PMS first accompanies the youth
  // (vouched for by the AMO), without which no emergency grant is opened.
  std::string OpenGrant(const std::string& youth) {
    if (!pms_coordinator_) {
      env_->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
      pms_coordinator_ = true;
    }
    env_->Accompany(youth, "pms.coord", kPmsCaseworker);
    v1::OpenEmergencyAccessRequest req;
    req.set_youth_id(youth);
    req.set_justification(kJustification);
    v1::EmergencyAccess out;
    grpc::Status s = env_->care().OpenEmergencyAccess(env_->As(kPmsCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.id();
  }

  // Pages of one item give the unpaged list, one page per item.
  void ExpectPagesMatchWholeList(const ListFn& list, size_t at_least) {
    int pages = 0;
    const std::vector<std::string> whole = Walk(list, 0, &pages);
    EXPECT_EQ(pages, 1) << "the default page holds everything (up to 1000)";
    ASSERT_GE(whole.size(), at_least);
    EXPECT_EQ(Walk(list, 1, &pages), whole);
    EXPECT_EQ(pages, static_cast<int>(whole.size()));
    EXPECT_EQ(Walk(list, 2), whole);
  }

  std::unique_ptr<RelaisEnv> env_;
  bool pms_coordinator_ = false;
};

TEST_F(ApiPaginationTest, EveryListWalksPageByPageWithoutGapsOrRepeats) {
  const std::string y = Youth(/*consents=*/3);
  env_->Accompany(y, kSajCoordinator, kSajCaseworker);  // a second accompaniment
  for (int i = 0; i < 3; ++i) ProposeHandover(Youth());
  {
    SCOPED_TRACE("ListSectors");
    ExpectPagesMatchWholeList(Sectors(), 3);
  }
  {
    SCOPED_TRACE("ListAccompaniments");
    ExpectPagesMatchWholeList(Accompaniments(y), 2);
  }
  {
    SCOPED_TRACE("ListConsents");
    ExpectPagesMatchWholeList(Consents(y), 3);
  }
  {
    SCOPED_TRACE("ListHandovers");
    ExpectPagesMatchWholeList(Handovers(), 3);
  }
  {
    SCOPED_TRACE("ListServiceAccompaniments");
    ExpectPagesMatchWholeList(Followed(), 4);
  }
  {
    SCOPED_TRACE("ListExpiringConsents");
    ExpectPagesMatchWholeList(Expiring(), 3);
  }
  {
    SCOPED_TRACE("ListPendingAccompaniments");
    for (int i = 0; i < 3; ++i) env_->OpenAccompaniment(Youth(), kSajCoordinator, kSajCaseworker);
    ExpectPagesMatchWholeList(Pending(), 3);
  }
  OpenGrant(y);
  OpenGrant(Youth());
  {
    SCOPED_TRACE("ListEmergencyAccesses");
    ExpectPagesMatchWholeList(Grants(false), 2);
  }
}

TEST_F(ApiPaginationTest, PendingGrantTokenKeepsItsPlaceOnceReviewed) {
  const std::string g1 = OpenGrant(Youth());
  const std::string g2 = OpenGrant(Youth());
  const std::string g3 = OpenGrant(Youth());
  std::vector<std::string> ids;
  std::string next;
  ASSERT_TRUE(Grants(true)(1, "", &ids, &next).ok());
  ASSERT_EQ(ids, std::vector<std::string>{g1});
  ASSERT_EQ(next, g1);
  // The auditor reviews g1 before asking for the next page of pending grants.
  v1::ReviewEmergencyAccessRequest review;
  review.set_grant_id(g1);
  review.set_verdict(v1::EMERGENCY_VERDICT_JUSTIFIED);
  review.set_note("appel de la police, mineur en fugue: justifié");
  v1::EmergencyAccess reviewed;
  grpc::Status s = env_->audit().ReviewEmergencyAccess(env_->As(kAuditor).get(), review, &reviewed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ids.clear();
  s = Grants(true)(1, next, &ids, &next);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ids, std::vector<std::string>{g2});
  ids.clear();
  s = Grants(true)(1, next, &ids, &next);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ids, std::vector<std::string>{g3});
  EXPECT_EQ(next, "") << "g3 is the last pending grant";
  EXPECT_EQ(Walk(Grants(true), 1), (std::vector<std::string>{g2, g3}));
}

TEST_F(ApiPaginationTest, BadPageSizeOrTokenIsRefusedAndAudited) {
  const std::string y = Youth(/*consents=*/1);
  const std::vector<std::pair<std::string, ListFn>> lists = {
      {"ListSectors", Sectors()},
      {"ListAccompaniments", Accompaniments(y)},
      {"ListConsents", Consents(y)},
      {"ListHandovers", Handovers()},
      {"ListServiceAccompaniments", Followed()},
      {"ListExpiringConsents", Expiring()},
      {"ListEmergencyAccesses", Grants(false)}};
  int denials = 0;
  for (const auto& [name, list] : lists) {
    SCOPED_TRACE(name);
    std::vector<std::string> ids;
    std::string next;
    grpc::Status s = list(1, "not_a_token_we_gave", &ids, &next);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ReasonCode(s), "bad_page_token") << s.error_message();
    EXPECT_TRUE(ids.empty());
    for (int32_t size : {-1, 1001}) {
      s = list(size, "", &ids, &next);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(ReasonCode(s), "out_of_range") << s.error_message();
    }
    denials += 3;
  }
  // Each refusal is a DENY event with its reason code, like any other refusal.
  v1::QueryEventsRequest req;
  req.set_decision(v1::DECISION_DENY);
  req.set_page_size(1000);
  v1::QueryEventsResponse resp;
  grpc::Status s = env_->audit().QueryEvents(env_->As(kAuditor).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int bad_token = 0, out_of_range = 0;
  for (const auto& e : resp.events()) {
    bad_token += e.reason_code() == "bad_page_token";
    out_of_range += e.reason_code() == "out_of_range";
  }
  EXPECT_EQ(bad_token, static_cast<int>(lists.size()));
  EXPECT_EQ(out_of_range, 2 * static_cast<int>(lists.size()));
  EXPECT_EQ(bad_token + out_of_range, denials);
}

}  // namespace
}  // namespace relais::testing
