// Hostile and careless input through the real gRPC surface: every malformed
// request is refused with the exact status and reason code, writes nothing, and
// leaves the server serving.

#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using grpc::StatusCode;

// Rows of the tables a refused request must not touch.
struct Counts {
  int64_t youth = -1, entries = -1, consents = -1, handovers = -1, accompaniments = -1;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{youth=" << c.youth << " entries=" << c.entries << " consents=" << c.consents
            << " handovers=" << c.handovers << " accompaniments=" << c.accompaniments << "}";
}

Counts CountAll(const std::string& path) {
  auto count = [&](const char* table) {
    return SqlInt(path, absl::StrCat("SELECT COUNT(*) FROM ", table));
  };
  return {count("rec_youth"), count("rec_entries"), count("care_consents"), count("care_handovers"),
          count("care_accompaniments")};
}

// A call made later, when the case runs.
using Call = std::function<grpc::Status()>;
struct Named {
  std::string name;
  Call call;
};
template <typename Msg>
using Mutator = std::function<void(Msg&)>;

constexpr char kUnknownYouth[] = "y_00000000000000000000";

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    ASSERT_NE(env_, nullptr);
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    v1::Entry entry;
    ASSERT_TRUE(env_->record().AddEntry(As(kAmoCaseworker), EntryRequest(), &entry).ok());
    entry_ = entry.id();
    v1::Consent consent;
    ASSERT_TRUE(env_->care().GrantConsent(As(kAmoCaseworker), ConsentRequest(), &consent).ok());
    v1::Handover handover;
    ASSERT_TRUE(env_->care().ProposeHandover(As(kAmoCaseworker), Proposal(), &handover).ok());
    handover_ = handover.id();
    // The counts read the real tables: one row each so far.
    ASSERT_EQ(CountAll(env_->db_path()), (Counts{1, 1, 1, 1, 1}));
  }

  // Contexts live until the end of the test, so a call can take As(...) inline.
  grpc::ClientContext* As(absl::string_view login) {
    contexts_.push_back(env_->As(login));
    return contexts_.back().get();
  }
  grpc::ClientContext* Anonymous(absl::string_view authorization, absl::string_view request_id) {
    contexts_.push_back(env_->Anonymous(authorization));
    if (!request_id.empty()) contexts_.back()->AddMetadata("x-request-id", std::string(request_id));
    return contexts_.back().get();
  }

  // Valid requests; each case breaks exactly one thing in one of them.
  v1::AddEntryRequest EntryRequest() {
    v1::AddEntryRequest req;
    v1::Entry* e = req.mutable_entry();
    e->set_youth_id(youth_);
    e->set_kind(v1::ENTRY_KIND_NOTE);
    e->set_category(v1::DATA_CATEGORY_GENERAL);
    e->set_visibility(v1::VISIBILITY_SHARED);
    e->set_body("Rencontre avec la famille");
    return req;
  }
  v1::GrantConsentRequest ConsentRequest() {
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(youth_);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(env_->service_id("saj"));
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = common::ToProto(env_->clock().Now() + absl::Hours(24 * 182));
    return req;
  }
  v1::ProposeHandoverRequest Proposal() {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth_);
    req.set_to_service_id(env_->service_id("saj"));
    req.set_reason("Mandat du SAJ");
    *req.mutable_overlap_start() = common::ToProto(env_->clock().Now());
    *req.mutable_overlap_end() = common::ToProto(env_->clock().Now() + absl::Hours(24 * 30));
    return req;
  }

  // Calls `method` of `stub` as `login`, dropping the response.
  template <typename Stub, typename Req, typename Resp>
  grpc::Status Send(Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    absl::string_view login, const Req& req) {
    Resp out;
    return (stub.*method)(As(login), req, &out);
  }
  template <typename Stub, typename Req, typename Resp>
  Call Later(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
             absl::string_view login, const Req& req) {
    return [=, this, &stub] { return Send(stub, method, login, req); };
  }

  // Deferred calls, one per RPC, from a valid request that `m` breaks.
  Call AddEntry(Mutator<v1::Entry> m) {
    v1::AddEntryRequest req = EntryRequest();
    m(*req.mutable_entry());
    return Later(env_->record(), &v1::RecordService::Stub::AddEntry, kAmoCaseworker, req);
  }
  Call CreateYouth(Mutator<v1::CreateYouthRequest> m) {
    v1::CreateYouthRequest req;
    req.mutable_youth()->set_display_name("Alex");
    req.mutable_youth()->set_date_of_birth("2011-03-14");
    req.mutable_youth()->add_guardians()->set_display_name("Parent");
    m(req);
    return Later(env_->record(), &v1::RecordService::Stub::CreateYouth, kAmoCaseworker, req);
  }
  Call Dob(const std::string& date) {
    return CreateYouth([date](auto& r) { r.mutable_youth()->set_date_of_birth(date); });
  }
  Call Grant(Mutator<v1::Consent> m) {
    v1::GrantConsentRequest req = ConsentRequest();
    m(*req.mutable_consent());
    return Later(env_->care(), &v1::CareService::Stub::GrantConsent, kAmoCaseworker, req);
  }
  Call Propose(Mutator<v1::ProposeHandoverRequest> m) {
    v1::ProposeHandoverRequest req = Proposal();
    m(req);
    return Later(env_->care(), &v1::CareService::Stub::ProposeHandover, kAmoCaseworker, req);
  }
  Call List(Mutator<v1::ListEntriesRequest> m) {
    v1::ListEntriesRequest req;
    req.set_youth_id(youth_);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    m(req);
    return Later(env_->record(), &v1::RecordService::Stub::ListEntries, kAmoCaseworker, req);
  }
  Call Query(Mutator<v1::QueryEventsRequest> m) {
    v1::QueryEventsRequest req;
    m(req);
    return Later(env_->audit(), &v1::AuditService::Stub::QueryEvents, kAuditor, req);
  }
  Call GetEntry(const std::string& id, v1::Purpose purpose = v1::PURPOSE_COORDINATION) {
    v1::GetEntryRequest req;
    req.set_entry_id(id);
    req.set_purpose(purpose);
    return Later(env_->record(), &v1::RecordService::Stub::GetEntry, kAmoCaseworker, req);
  }
  Call GetYouth(const std::string& id) {
    v1::GetYouthRequest req;
    req.set_youth_id(id);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    return Later(env_->record(), &v1::RecordService::Stub::GetYouth, kAmoCaseworker, req);
  }
  Call GetHandover(const std::string& id) {
    v1::GetHandoverRequest req;
    req.set_handover_id(id);
    return Later(env_->care(), &v1::CareService::Stub::GetHandover, kAmoCaseworker, req);
  }
  Call Accept(const std::string& id) {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(id);
    req.set_referent_member_id(env_->member_id(kSajCaseworker));
    return Later(env_->care(), &v1::CareService::Stub::AcceptHandover, kSajCoordinator, req);
  }
  Call Decline(const std::string& id, const std::string& reason) {
    v1::DeclineHandoverRequest req;
    req.set_handover_id(id);
    req.set_reason(reason);
    return Later(env_->care(), &v1::CareService::Stub::DeclineHandover, kSajCoordinator, req);
  }
  Call Cancel(const std::string& id, const std::string& reason) {
    v1::CancelHandoverRequest req;
    req.set_handover_id(id);
    req.set_reason(reason);
    return Later(env_->care(), &v1::CareService::Stub::CancelHandover, kAmoCaseworker, req);
  }
  Call Withdraw(const std::string& id) {
    v1::WithdrawConsentRequest req;
    req.set_consent_id(id);
    return Later(env_->care(), &v1::CareService::Stub::WithdrawConsent, kAmoCaseworker, req);
  }
  Call Open(const std::string& youth, v1::AccompanimentBasis basis) {
    v1::OpenAccompanimentRequest req;
    req.set_youth_id(youth);
    req.set_referent_member_id(env_->member_id(kSajCaseworker));
    req.set_basis(basis);
    return Later(env_->care(), &v1::CareService::Stub::OpenAccompaniment, kSajCoordinator, req);
  }

  // A valid read still succeeds.
  void ExpectStillServing() {
    grpc::Status s = List([](auto&) {})();
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }

  // Each call fails with `code` and `reason`, writes nothing, and the server
  // still serves afterwards.
  void Expect(StatusCode code, const std::string& reason, const std::vector<Named>& cases) {
    for (const Named& c : cases) {
      SCOPED_TRACE(c.name);
      const Counts before = CountAll(env_->db_path());
      grpc::Status s = c.call();
      EXPECT_EQ(s.error_code(), code) << s.error_message();
      EXPECT_EQ(ReasonCode(s), reason) << s.error_message();
      EXPECT_THAT(s.error_message(), ::testing::StartsWith(reason + ":"));
      EXPECT_EQ(CountAll(env_->db_path()), before);
      ExpectStillServing();
    }
  }

  // The DENY events of the call made with x-request-id `request_id`.
  std::vector<v1::AuditEvent> DenialsOfRequest(const std::string& request_id) {
    v1::QueryEventsRequest req;
    req.set_decision(v1::DECISION_DENY);
    req.set_page_size(1000);  // a test's whole log
    v1::QueryEventsResponse resp;
    grpc::Status s = env_->audit().QueryEvents(As(kAuditor), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.next_page_token(), "");
    std::vector<v1::AuditEvent> found;
    for (const auto& e : resp.events()) {
      if (e.request_id() == request_id) found.push_back(e);
    }
    return found;
  }

  // Lists the youth's entries with a raw authorization value.
  grpc::Status ListWith(const std::string& authorization, v1::ListEntriesResponse* out) {
    v1::ListEntriesRequest req;
    req.set_youth_id(youth_);
    req.set_purpose(v1::PURPOSE_COORDINATION);
    return env_->record().ListEntries(Anonymous(authorization, ""), req, out);
  }
  grpc::Status Login(const std::string& login, const std::string& password,
                     v1::LoginResponse* out) {
    v1::LoginRequest req;
    req.set_login(login);
    req.set_password(password);
    return env_->auth().Login(Anonymous("", ""), req, out);
  }

  std::unique_ptr<RelaisEnv> env_;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
  std::string youth_, entry_, handover_;
};

TEST_F(BadInputTest, TheValidBaselineRequestsAreAccepted) {
  // The cases below each break one field of these; intact, they pass, even at
  // the largest accepted sizes.
  EXPECT_TRUE(AddEntry([](auto&) {})().ok());
  EXPECT_TRUE(AddEntry([](auto& e) { e.set_body(std::string(64 * 1024, 'b')); })().ok());
  EXPECT_TRUE(CreateYouth([](auto&) {})().ok());
  EXPECT_TRUE(
      CreateYouth([](auto& r) { r.mutable_youth()->set_display_name(std::string(200, 'n')); })()
          .ok());
  EXPECT_TRUE(Grant([](auto&) {})().ok());
  EXPECT_TRUE(Propose([](auto&) {})().ok());  // the same proposal again: idempotent
  // A 2000-byte reason passes validation; the proposal then differs from the
  // open one and is refused for that alone.
  EXPECT_EQ(Propose([](auto& r) { r.set_reason(std::string(2000, 'r')); })().error_code(),
            StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(List([](auto& r) { r.set_page_size(200); })().ok());
  EXPECT_TRUE(GetEntry(entry_)().ok());
  EXPECT_TRUE(GetHandover(handover_)().ok());
}

TEST_F(BadInputTest, EmptyRequiredFieldsAreRefusedAsFieldRequired) {
  Expect(StatusCode::INVALID_ARGUMENT, "field_required",
         {{"youth display_name",
           CreateYouth([](auto& r) { r.mutable_youth()->set_display_name(""); })},
          {"guardian display_name", CreateYouth([](auto& r) {
             r.mutable_youth()->mutable_guardians(0)->set_display_name("");
           })},
          {"entry body", AddEntry([](auto& e) { e.set_body(""); })},
          {"entry youth_id", AddEntry([](auto& e) { e.set_youth_id(""); })},
          {"consent recipients", Grant([](auto& k) { k.clear_recipients(); })},
          {"consent recipient naming nothing",
           Grant([](auto& k) { k.mutable_recipients(0)->Clear(); })},
          {"consent youth_id", Grant([](auto& k) { k.set_youth_id(""); })},
          {"consent purposes", Grant([](auto& k) { k.clear_purposes(); })},
          {"consent valid_until", Grant([](auto& k) { k.clear_valid_until(); })},
          {"handover reason", Propose([](auto& r) { r.set_reason(""); })},
          {"handover youth_id", Propose([](auto& r) { r.set_youth_id(""); })},
          {"handover to_service_id", Propose([](auto& r) { r.set_to_service_id(""); })},
          {"handover overlap_end", Propose([](auto& r) { r.clear_overlap_end(); })},
          {"decline reason", Decline(handover_, "")},
          {"cancel reason", Cancel(handover_, "")},
          {"list youth_id", List([](auto& r) { r.set_youth_id(""); })},
          {"entry_id", GetEntry("")},
          {"handover_id (get)", GetHandover("")},
          {"handover_id (accept)", Accept("")},
          {"consent_id", Withdraw("")},
          {"accompaniment youth_id", Open("", v1::ACCOMPANIMENT_BASIS_VOLUNTARY)}});
}

TEST_F(BadInputTest, OversizedFieldsAreRefusedAsFieldTooLong) {
  Expect(StatusCode::INVALID_ARGUMENT, "field_too_long",
         {{"display_name of 201 bytes", CreateYouth([](auto& r) {
             r.mutable_youth()->set_display_name(std::string(201, 'n'));
           })},
          {"entry body of 64 KiB + 1",
           AddEntry([](auto& e) { e.set_body(std::string(64 * 1024 + 1, 'b')); })},
          {"handover reason of 2001 bytes",
           Propose([](auto& r) { r.set_reason(std::string(2001, 'r')); })},
          {"decline reason of 2001 bytes", Decline(handover_, std::string(2001, 'r'))}});
}

TEST_F(BadInputTest, ARequestAboveTheMessageLimitIsRefusedByGrpcAndTheServerKeepsServing) {
  const Counts before = CountAll(env_->db_path());
  grpc::Status s = AddEntry([](auto& e) { e.set_body(std::string((1 << 20) + 1024, 'x')); })();
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "");  // gRPC's own refusal: the handler never ran
  EXPECT_EQ(CountAll(env_->db_path()), before);
  ExpectStillServing();
  EXPECT_TRUE(AddEntry([](auto&) {})().ok());
}

TEST_F(BadInputTest, MalformedIdsAreRefusedAsMalformedId) {
  std::vector<Named> cases;
  for (const std::string& bad :
       {std::string("y_12 34"), std::string(65, 'a'), std::string("../../etc")}) {
    auto add = [&](const std::string& what, Call call) {
      cases.push_back({absl::StrCat(what, " = '", bad, "'"), std::move(call)});
    };
    add("list youth_id", List([bad](auto& r) { r.set_youth_id(bad); }));
    add("get youth_id", GetYouth(bad));
    add("entry youth_id", AddEntry([bad](auto& e) { e.set_youth_id(bad); }));
    add("entry handover_id", AddEntry([bad](auto& e) { e.set_handover_id(bad); }));
    add("entry_id", GetEntry(bad));
    add("handover_id", GetHandover(bad));
    add("accept handover_id", Accept(bad));
    add("consent_id", Withdraw(bad));
    add("consent recipient",
        Grant([bad](auto& k) { k.mutable_recipients(0)->set_service_id(bad); }));
    add("consent sector", Grant([bad](auto& k) { k.mutable_recipients(0)->set_sector_id(bad); }));
    add("to_service_id", Propose([bad](auto& r) { r.set_to_service_id(bad); }));
    add("accompaniment youth_id", Open(bad, v1::ACCOMPANIMENT_BASIS_VOLUNTARY));
    add("audit youth filter", Query([bad](auto& r) { r.set_youth_id(bad); }));
  }
  Expect(StatusCode::INVALID_ARGUMENT, "malformed_id", cases);
}

TEST_F(BadInputTest, UnknownWellFormedIdsAreNotFound) {
  Expect(StatusCode::NOT_FOUND, "youth_not_found",
         {{"entries of", List([](auto& r) { r.set_youth_id(kUnknownYouth); })},
          {"identity of", GetYouth(kUnknownYouth)},
          {"entry on", AddEntry([](auto& e) { e.set_youth_id(kUnknownYouth); })},
          {"consent of", Grant([](auto& k) { k.set_youth_id(kUnknownYouth); })},
          {"accompaniment of", Open(kUnknownYouth, v1::ACCOMPANIMENT_BASIS_VOLUNTARY)}});
  Expect(StatusCode::NOT_FOUND, "entry_not_found", {{"get", GetEntry("e_00000000000000000000")}});
  Expect(StatusCode::NOT_FOUND, "handover_not_found",
         {{"get", GetHandover("ho_00000000000000000000")},
          {"accept", Accept("ho_00000000000000000000")},
          {"cancel", Cancel("ho_00000000000000000000", "x")}});
  Expect(StatusCode::NOT_FOUND, "consent_not_found",
         {{"withdraw", Withdraw("cst_00000000000000000000")}});
}

TEST_F(BadInputTest, EnumValuesOutsideTheEnumOrUnspecifiedAreRefusedAsInvalidEnum) {
  std::vector<Named> cases;
  for (int v : {99, 0, -1}) {
    auto add = [&](const std::string& what, Call call) {
      cases.push_back({absl::StrCat(what, " = ", v), std::move(call)});
    };
    add("entry category",
        AddEntry([v](auto& e) { e.set_category(static_cast<v1::DataCategory>(v)); }));
    add("entry visibility",
        AddEntry([v](auto& e) { e.set_visibility(static_cast<v1::Visibility>(v)); }));
    add("entry kind", AddEntry([v](auto& e) { e.set_kind(static_cast<v1::EntryKind>(v)); }));
    add("list purpose", List([v](auto& r) { r.set_purpose(static_cast<v1::Purpose>(v)); }));
    add("get entry purpose", GetEntry(entry_, static_cast<v1::Purpose>(v)));
    add("consent purpose", Grant([v](auto& k) { k.set_purposes(0, static_cast<v1::Purpose>(v)); }));
    add("consent category",
        Grant([v](auto& k) { k.set_categories(0, static_cast<v1::DataCategory>(v)); }));
    add("consent giver", Grant([v](auto& k) { k.set_giver(static_cast<v1::ConsentGiver>(v)); }));
    add("accompaniment basis", Open(youth_, static_cast<v1::AccompanimentBasis>(v)));
  }
  Expect(StatusCode::INVALID_ARGUMENT, "invalid_enum", cases);
}

TEST_F(BadInputTest, MalformedOrImplausibleDatesAndNationalNumbersAreRefused) {
  Expect(StatusCode::INVALID_ARGUMENT, "malformed_date",
         {{"month 13, day 45", Dob("2010-13-45")},
          {"30 February", Dob("2010-02-30")},
          {"a word", Dob("yesterday")},
          {"empty", Dob("")},
          {"day first", Dob("14-03-2011")}});
  Expect(StatusCode::INVALID_ARGUMENT, "implausible_date",
         {{"tomorrow", Dob("2026-11-26")},
          {"far future", Dob("2099-01-01")},
          {"older than 30", Dob("1950-01-01")}});
  v1::FindYouthRequest find;
  find.set_national_number("123");
  Expect(StatusCode::INVALID_ARGUMENT, "malformed_national_number",
         {{"3 digits", CreateYouth([](auto& r) { r.set_national_number("123"); })},
          {"a letter", CreateYouth([](auto& r) { r.set_national_number("1234567890a"); })},
          {"find by 3 digits",
           Later(env_->record(), &v1::RecordService::Stub::FindYouth, kAmoCaseworker, find)}});
}

TEST_F(BadInputTest, TimestampsOutsideYears1To9999OrWithBadNanosAreRefusedBeforeAnyArithmetic) {
  constexpr int64_t kHuge = std::numeric_limits<int64_t>::max();
  constexpr int64_t kYear10000 = 253'402'300'800;
  Expect(
      StatusCode::INVALID_ARGUMENT, "timestamp_out_of_range",
      {{"consent until int64 max",
        Grant([](auto& k) { k.mutable_valid_until()->set_seconds(kHuge); })},
       {"consent from int64 min", Grant([](auto& k) {
          k.mutable_valid_from()->set_seconds(std::numeric_limits<int64_t>::min());
        })},
       {"consent until year 10000",
        Grant([](auto& k) { k.mutable_valid_until()->set_seconds(kYear10000); })},
       {"overlap start negative nanos",
        Propose([](auto& r) { r.mutable_overlap_start()->set_nanos(-1); })},
       {"overlap end nanos of 1e9",
        Propose([](auto& r) { r.mutable_overlap_end()->set_nanos(1'000'000'000); })},
       {"overlap end int64 max",
        Propose([](auto& r) { r.mutable_overlap_end()->set_seconds(kHuge); })},
       {"audit start year 0",
        Query([](auto& r) { r.mutable_start_time()->set_seconds(-62'135'596'801); })},
       {"audit end int64 max", Query([](auto& r) { r.mutable_end_time()->set_seconds(kHuge); })}});
}

TEST_F(BadInputTest, BadPageTokensAndPageSizesAreRefused) {
  Expect(StatusCode::INVALID_ARGUMENT, "bad_page_token",
         {{"entries abc", List([](auto& r) { r.set_page_token("abc"); })},
          {"entries -5", List([](auto& r) { r.set_page_token("-5"); })},
          {"entries 0", List([](auto& r) { r.set_page_token("0"); })},
          {"events abc", Query([](auto& r) { r.set_page_token("abc"); })},
          {"events -5", Query([](auto& r) { r.set_page_token("-5"); })}});
  Expect(StatusCode::INVALID_ARGUMENT, "out_of_range",
         {{"entries -1", List([](auto& r) { r.set_page_size(-1); })},
          {"entries 201", List([](auto& r) { r.set_page_size(201); })},
          {"events -1", Query([](auto& r) { r.set_page_size(-1); })},
          {"events 1001", Query([](auto& r) { r.set_page_size(1001); })}});
  // The directory names this reason differently from the other services.
  std::vector<Named> services;
  for (int size : {-1, 1001}) {
    v1::ListServicesRequest req;
    req.set_page_size(size);
    services.push_back(
        {absl::StrCat("services ", size),
         Later(env_->directory(), &v1::DirectoryService::Stub::ListServices, kAmoCaseworker, req)});
  }
  Expect(StatusCode::INVALID_ARGUMENT, "out_of_range", services);
}

TEST_F(BadInputTest, GarbageTokensAreUnauthenticatedAndEachRefusalIsAudited) {
  v1::LoginResponse login;
  ASSERT_TRUE(Login(kAmoCaseworker, kPassword, &login).ok());
  const std::string valid = login.token();
  // One character of the signature changed to another base64url character.
  std::string flipped = valid;
  const size_t at = flipped.rfind('.') + 20;
  ASSERT_LT(at, flipped.size());
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  // A token of the right shape and audience, signed by a key Relais never had.
  std::unique_ptr<auth::KeyRing> foreign_ring = auth::KeyRing::InMemory();
  auth::TokenIssuer foreign(foreign_ring.get(), &env_->clock(), "relais");
  absl::StatusOr<std::string> foreign_token =
      foreign.Issue(env_->member_id(kAmoCaseworker), env_->service_id("amo"), {"caseworker"});
  ASSERT_TRUE(foreign_token.ok()) << foreign_token.status();

  int n = 0;
  auto refuse = [&](const std::string& authorization, const std::string& reason) {
    SCOPED_TRACE(authorization.substr(0, 20) + " -> " + reason);
    const std::string request_id = absl::StrCat("bad-token-", ++n);
    const Counts before = CountAll(env_->db_path());
    v1::Entry out;
    grpc::Status s =
        env_->record().AddEntry(Anonymous(authorization, request_id), EntryRequest(), &out);
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_EQ(ReasonCode(s), reason) << s.error_message();
    EXPECT_TRUE(out.id().empty());
    EXPECT_EQ(CountAll(env_->db_path()), before);
    ExpectStillServing();
    const std::vector<v1::AuditEvent> events = DenialsOfRequest(request_id);
    ASSERT_EQ(events.size(), 1u) << "the refusal is audited exactly once";
    EXPECT_EQ(events[0].action(), v1::ACTION_ADD_ENTRY);
    EXPECT_EQ(events[0].reason_code(), reason);
    EXPECT_EQ(events[0].actor_member_id(), "");  // an unverified token names no one
  };
  refuse("", "token_missing");
  refuse("Bearer garbage", "token_malformed");
  refuse("Basic abc", "token_malformed");
  refuse("Bearer " + flipped, "token_signature_invalid");
  refuse("Bearer " + *foreign_token, "token_unknown_key");

  // The untouched token works; 16 minutes later it has expired.
  v1::ListEntriesResponse listed;
  EXPECT_TRUE(ListWith("Bearer " + valid, &listed).ok());
  env_->clock().Advance(absl::Minutes(16));
  refuse("Bearer " + valid, "token_expired");
}

TEST_F(BadInputTest, UnknownLoginAndWrongPasswordGetTheSameAnswerAndTheRightPasswordWorks) {
  v1::LoginResponse unknown_resp, wrong_resp, right_resp;
  grpc::Status unknown = Login("nobody.here", kPassword, &unknown_resp);
  grpc::Status wrong = Login(kAmoCaseworker, "not the password", &wrong_resp);
  EXPECT_EQ(unknown.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_message(), wrong.error_message());
  EXPECT_EQ(unknown.error_details(), wrong.error_details());
  EXPECT_EQ(ReasonCode(unknown), "invalid_credentials");
  EXPECT_TRUE(unknown_resp.token().empty());
  EXPECT_TRUE(wrong_resp.token().empty());

  grpc::Status right = Login(kAmoCaseworker, kPassword, &right_resp);
  ASSERT_TRUE(right.ok()) << right.error_message();
  EXPECT_EQ(right_resp.member_id(), env_->member_id(kAmoCaseworker));
  v1::ListEntriesResponse listed;
  grpc::Status used = ListWith("Bearer " + right_resp.token(), &listed);
  EXPECT_TRUE(used.ok()) << used.error_message();
  EXPECT_EQ(listed.entries_size(), 1);
}

// Sends `bytes` as the serialized request of `method`, with a valid token and
// the x-request-id `request_id`.
grpc::Status SendRawBytes(RelaisEnv& env, const std::string& method, const std::string& bytes,
                          const std::string& request_id = "") {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", env.host().port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::unique_ptr<grpc::ClientContext> ctx = env.As(kAmoCaseworker);
  if (!request_id.empty()) ctx->AddMetadata("x-request-id", request_id);
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

TEST_F(BadInputTest, BytesThatDoNotParseAreAMalformedRequestAuditedAndTheServerKeepsServing) {
  // The same path with a well-formed body works: only the bytes are at fault.
  grpc::Status sane =
      SendRawBytes(*env_, "/relais.v1.RecordService/AddEntry", EntryRequest().SerializeAsString());
  EXPECT_TRUE(sane.ok()) << sane.error_code() << " " << sane.error_message();

  std::mt19937 rng(20261125);
  std::vector<std::string> bodies = {
      std::string(16, '\xff'),                             // a varint that never ends
      std::string{'\x0a', '\xe8', '\x07', 'a', 'b', 'c'},  // a field longer than the message
      std::string("\x07", 1),                              // field 0, wire type 7: no such thing
  };
  for (size_t length : {1u, 17u, 512u, 4096u}) {
    std::string random(length, '\0');
    for (char& c : random) c = static_cast<char>(rng() & 0xff);
    random[0] = '\x0f';  // field 1 with the invalid wire type 7: never parses
    bodies.push_back(random);
  }
  int sent = 0;
  for (const std::string method :
       {"/relais.v1.RecordService/AddEntry", "/relais.v1.CareService/GrantConsent"}) {
    for (size_t i = 0; i < bodies.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(method, " body #", i));
      const std::string request_id = absl::StrCat("malformed-", ++sent);
      const Counts before = CountAll(env_->db_path());
      grpc::Status s = SendRawBytes(*env_, method, bodies[i], request_id);
      EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
      EXPECT_EQ(ReasonCode(s), "malformed_request");
      EXPECT_THAT(s.error_message(), ::testing::StartsWith("malformed_request: "));
      EXPECT_EQ(CountAll(env_->db_path()), before);
      const std::vector<v1::AuditEvent> denials = DenialsOfRequest(request_id);
      ASSERT_EQ(denials.size(), 1u);
      EXPECT_EQ(denials[0].action(), v1::ACTION_REJECT_MALFORMED_REQUEST);
      EXPECT_EQ(denials[0].reason(), v1::ACCESS_REASON_MALFORMED_REQUEST);
      EXPECT_EQ(denials[0].actor_member_id(), env_->member_id(kAmoCaseworker));
      EXPECT_EQ(denials[0].object_id(), method == "/relais.v1.RecordService/AddEntry"
                                            ? "RecordService.AddEntry"
                                            : "CareService.GrantConsent");
      ExpectStillServing();
    }
  }
  EXPECT_TRUE(AddEntry([](auto&) {})().ok());
}

TEST_F(BadInputTest,
       AStringFieldThatIsNotUtf8IsAMalformedRequestAndAnUnknownMethodStaysUnimplemented) {
  // LoginRequest.login (field 1) holding bytes that are not UTF-8.
  const std::string not_utf8 = std::string("\x0a\x02\xc3\x28\x12\x01x", 7);
  grpc::Status s = SendRawBytes(*env_, "/relais.v1.AuthService/Login", not_utf8, "not-utf8");
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "malformed_request");
  ASSERT_EQ(DenialsOfRequest("not-utf8").size(), 1u);

  grpc::Status unknown =
      SendRawBytes(*env_, "/relais.v1.RecordService/NoSuchMethod", "", "no-such-method");
  EXPECT_EQ(unknown.error_code(), StatusCode::UNIMPLEMENTED) << unknown.error_message();
  EXPECT_TRUE(DenialsOfRequest("no-such-method").empty());
}

}  // namespace
}  // namespace relais::testing
