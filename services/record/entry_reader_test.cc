// EntryReader without a server: each entry decided by the access rule, only
// the allowed ones opened, every decision audited (and in which order).

#include "services/record/entry_reader.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/record/record_test_util.h"

namespace relais::record {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kAmo[] = "svc_amo";
constexpr char kSaj[] = "svc_saj";
constexpr char kPms[] = "svc_pms";

class EntryReaderTest : public ::testing::Test {
 protected:
  EntryReaderTest()
      : reader_({.db = &f_.db(), .keys = &f_.keys(), .care = &f_.care(), .gate = &f_.gate()}) {
    youth_ = f_.AddYouth(kAmo);
    f_.care().Accompany(kAmo);
  }

  absl::StatusOr<EntryReader::Page> List(absl::string_view service, int page_size = 50,
                                         int64_t before = 0) {
    rpc::Caller caller = f_.CallerOf("m_reader", service, v1::ROLE_CASEWORKER);
    call_ = {rpc::EventFor(caller, v1::ACTION_LIST_ENTRIES)};
    return reader_.List(caller,
                        {.youth_id = youth_,
                         .handover_id = "",
                         .concertation_id = "",
                         .purpose = v1::PURPOSE_COORDINATION,
                         .page_size = page_size,
                         .before = before,
                         .include_superseded = false},
                        call_, [] { return absl::OkStatus(); });
  }

  absl::StatusOr<v1::Entry> Get(absl::string_view service, absl::string_view entry_id,
                                bool history = false) {
    rpc::Caller caller = f_.CallerOf("m_reader", service, v1::ROLE_CASEWORKER);
    call_ = {rpc::EventFor(caller, v1::ACTION_READ_ENTRY)};
    call_.event.entry_id = std::string(entry_id);
    return reader_.Get(caller,
                       {.entry_id = std::string(entry_id),
                        .purpose = v1::PURPOSE_COORDINATION,
                        .include_history = history},
                       call_);
  }

  // (action, entry id, reason code) of every audit event.
  std::vector<std::string> Audited() {
    std::vector<std::string> out;
    for (const v1::AuditEvent& e : f_.Events()) {
      out.push_back(
          absl::StrCat(v1::Action_Name(e.action()), " ", e.entry_id(), " ", e.reason_code()));
    }
    return out;
  }

  testing::RecordFixture f_;
  EntryReader reader_;
  std::string youth_;
  rpc::CallAudit call_;
};

std::vector<std::string> Bodies(const std::vector<v1::Entry>& entries) {
  std::vector<std::string> out;
  for (const v1::Entry& e : entries) out.push_back(e.body());
  return out;
}

TEST_F(EntryReaderTest, ListOpensWhatTheRuleAllowsAndCountsWhatItWithholds) {
  const std::string own = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SERVICE_PRIVATE,
                                      v1::DATA_CATEGORY_GENERAL, "amo note");
  const std::string shared =
      f_.AddEntry(youth_, kSaj, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "saj shared");
  const std::string hidden = f_.AddEntry(youth_, kSaj, v1::VISIBILITY_SERVICE_PRIVATE,
                                         v1::DATA_CATEGORY_GENERAL, "saj private");
  absl::StatusOr<EntryReader::Page> page = List(kAmo);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bodies(page->entries), ElementsAre("amo note"));
  // The SAJ's private entry is neither shown nor counted.
  EXPECT_THAT(page->withheld, ElementsAre(Pair(v1::ACCESS_REASON_NO_CONSENT, 1)));
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_TRUE(call_.recorded);
  // The call first, then each entry's decision, newest first.
  EXPECT_THAT(Audited(), ElementsAre("ACTION_LIST_ENTRIES  allowed",
                                     "ACTION_READ_ENTRY " + hidden + " entry_private",
                                     "ACTION_READ_ENTRY " + shared + " no_consent",
                                     "ACTION_READ_ENTRY " + own + " allowed"));
}

TEST_F(EntryReaderTest, ListOpensAnotherServicesSharedEntryUnderItsConsent) {
  f_.AddEntry(youth_, kSaj, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "saj shared");
  access::ConsentGrant grant;
  grant.id = "cns_1";
  grant.holder_service_id = kSaj;
  grant.all_non_special_categories = true;
  grant.purposes = {v1::PURPOSE_COORDINATION};
  f_.care().facts[kAmo].consents.push_back(grant);
  absl::StatusOr<EntryReader::Page> page = List(kAmo);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bodies(page->entries), ElementsAre("saj shared"));
  EXPECT_TRUE(page->withheld.empty());
  EXPECT_EQ(f_.Events().back().object_id(), "cns_1");
}

TEST_F(EntryReaderTest, ListIsRefusedWithoutAnAccompanimentAndLeavesTheAuditToTheCaller) {
  f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "amo note");
  absl::StatusOr<EntryReader::Page> page = List(kPms);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(common::ReasonOf(page.status()), "no_active_accompaniment");
  EXPECT_FALSE(call_.recorded);  // rpc::Serve audits the denial
  EXPECT_TRUE(f_.Events().empty());
}

TEST_F(EntryReaderTest, ListPagesFromTheNewestAndTheTokenResumesBelowIt) {
  f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "first");
  f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "second");
  absl::StatusOr<EntryReader::Page> page = List(kAmo, /*page_size=*/1);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bodies(page->entries), ElementsAre("second"));
  ASSERT_FALSE(page->next_page_token.empty());
  int64_t before = 0;
  ASSERT_TRUE(absl::SimpleAtoi(page->next_page_token, &before));
  page = List(kAmo, 1, before);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bodies(page->entries), ElementsAre("first"));
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(EntryReaderTest, GetOpensAnAllowedEntryAndAuditsTheRead) {
  const std::string id = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SERVICE_PRIVATE,
                                     v1::DATA_CATEGORY_HEALTH, "amo health note");
  absl::StatusOr<v1::Entry> entry = Get(kAmo, id);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->body(), "amo health note");
  EXPECT_EQ(entry->history_size(), 0);
  EXPECT_TRUE(call_.recorded);
  EXPECT_THAT(Audited(), ElementsAre("ACTION_READ_ENTRY " + id + " allowed"));
}

TEST_F(EntryReaderTest, GetRefusesASharedEntryWithoutConsent) {
  f_.care().Accompany(kPms);
  const std::string id =
      f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "amo shared");
  absl::StatusOr<v1::Entry> entry = Get(kPms, id);
  EXPECT_EQ(entry.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(common::ReasonOf(entry.status()), "no_consent");
  EXPECT_FALSE(call_.recorded);
}

TEST_F(EntryReaderTest, GetAnswersNotFoundForAnotherServicesPrivateEntryButAuditsWhy) {
  f_.care().Accompany(kPms);
  const std::string id = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SERVICE_PRIVATE,
                                     v1::DATA_CATEGORY_GENERAL, "amo private");
  absl::StatusOr<v1::Entry> entry = Get(kPms, id);
  EXPECT_EQ(entry.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(common::ReasonOf(entry.status()), "entry_not_found");
  EXPECT_TRUE(call_.recorded);
  EXPECT_THAT(Audited(), ElementsAre("ACTION_READ_ENTRY " + id + " entry_private"));
}

TEST_F(EntryReaderTest, GetWithHistoryOpensOnlyTheVersionsTheRuleAllows) {
  const std::string first =
      f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "first version");
  const std::string second = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SHARED,
                                         v1::DATA_CATEGORY_GENERAL, "second version", first);
  absl::StatusOr<v1::Entry> entry = Get(kAmo, second, /*history=*/true);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->body(), "second version");
  ASSERT_EQ(entry->history_size(), 2);
  EXPECT_EQ(entry->history(0).body(), "second version");
  EXPECT_EQ(entry->history(1).body(), "first version");
  // The older version's decision, then the call.
  EXPECT_THAT(Audited(), ElementsAre("ACTION_READ_ENTRY " + first + " allowed",
                                     "ACTION_READ_ENTRY " + second + " allowed"));
}

}  // namespace
}  // namespace relais::record
