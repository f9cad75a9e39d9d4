// The inbox store on a bare database: who receives a notice, in which order,
// once, and what a cursor accepts.

#include "services/inbox/inbox_store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>

#include "common/reason.h"
#include "gtest/gtest.h"
#include "storage/testing/fresh_database.h"

namespace relais::inbox {
namespace {

class FakeRoster final : public directory::MemberRoster {
 public:
  absl::StatusOr<std::vector<directory::MemberInfo>> ActiveMembers(
      absl::string_view service_id) const override {
    auto it = members.find(std::string(service_id));
    if (it == members.end()) return std::vector<directory::MemberInfo>{};
    return it->second;
  }
  std::map<std::string, std::vector<directory::MemberInfo>> members;
};

directory::MemberInfo Member(std::string id, v1::Role role) {
  directory::MemberInfo m;
  m.id = std::move(id);
  m.service_id = "svc_pms";
  m.roles = {role};
  return m;
}

class InboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/inbox_store_" +
                                            std::to_string(::getpid()) + "_" + std::to_string(n++) +
                                            ".sqlite");
    std::filesystem::remove(path_);
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    roster_.members["svc_pms"] = {Member("mbr_coord", v1::ROLE_COORDINATOR),
                                  Member("mbr_cw", v1::ROLE_CASEWORKER),
                                  Member("mbr_audit", v1::ROLE_AUDITOR)};
    auto store = InboxStore::Create(db_.get(), &clock_, &roster_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove(path_);
  }
  absl::Status Post(const Notice& n) {
    return db_->Write([&](storage::Connection& c) { return store_->Post(c, n); });
  }
  std::vector<v1::InboxItem> Items(absl::string_view member, int64_t after = 0) {
    auto items = store_->List(member, after, 100);
    EXPECT_TRUE(items.ok()) << items.status();
    return items.ok() ? *items : std::vector<v1::InboxItem>{};
  }

  std::string path_;
  common::FakeClock clock_{absl::FromUnixSeconds(1'780'000'000)};
  FakeRoster roster_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<InboxStore> store_;
};

Notice Proposed(std::string key = "ho_1:proposed") {
  Notice n;
  n.kind = v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED;
  n.service_id = "svc_pms";
  n.roles = {v1::ROLE_COORDINATOR};
  n.youth_id = "yth_1";
  n.handover_id = "ho_1";
  n.key = std::move(key);
  return n;
}

TEST_F(InboxStoreTest, ANoticeReachesTheServicesMembersHoldingTheRoleAndNamedMembers) {
  Notice n = Proposed();
  n.member_ids = {"mbr_cw", "mbr_gone"};  // a caseworker, and someone no longer there
  ASSERT_TRUE(Post(n).ok());
  ASSERT_EQ(Items("mbr_coord").size(), 1u);
  EXPECT_EQ(Items("mbr_coord")[0].handover_id(), "ho_1");
  EXPECT_EQ(Items("mbr_coord")[0].kind(), v1::INBOX_ITEM_KIND_HANDOVER_PROPOSED);
  EXPECT_EQ(Items("mbr_cw").size(), 1u);
  EXPECT_TRUE(Items("mbr_gone").empty());
  EXPECT_TRUE(Items("mbr_audit").empty());
  // No role named: the field (caseworkers and coordinators), never the auditor.
  n = Proposed("ho_1:window");
  n.roles.clear();
  n.member_ids.clear();
  ASSERT_TRUE(Post(n).ok());
  EXPECT_EQ(Items("mbr_cw").size(), 2u);
  EXPECT_EQ(Items("mbr_coord").size(), 2u);
  EXPECT_TRUE(Items("mbr_audit").empty());
}

TEST_F(InboxStoreTest, TheSameNoticePostedTwiceIsDeliveredOnce) {
  ASSERT_TRUE(Post(Proposed()).ok());
  ASSERT_TRUE(Post(Proposed()).ok());
  EXPECT_EQ(Items("mbr_coord").size(), 1u);
}

TEST_F(InboxStoreTest, ACursorResumesExactlyAfterTheLastItemSeen) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Post(Proposed("k" + std::to_string(i))).ok());
  std::vector<v1::InboxItem> all = Items("mbr_coord");
  ASSERT_EQ(all.size(), 5u);
  auto after = ParseCursor("after_cursor", all[1].cursor());
  ASSERT_TRUE(after.ok());
  std::vector<v1::InboxItem> rest = Items("mbr_coord", *after);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].cursor(), all[2].cursor());
  auto last = store_->LastSequence();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(CursorOf(*last), all[4].cursor());
}

TEST_F(InboxStoreTest, ItemsAreKeptAYearThenPrunedAndCursorsStillResume) {
  ASSERT_TRUE(Post(Proposed("old")).ok());
  clock_.Advance(absl::Hours(24 * 200));
  ASSERT_TRUE(Post(Proposed("recent")).ok());
  const std::vector<v1::InboxItem> before = Items("mbr_coord");
  ASSERT_EQ(before.size(), 2u);
  auto pruned = store_->Prune();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0);  // neither is a year old
  clock_.Advance(absl::Hours(24 * 200));
  pruned = store_->Prune();
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 1);  // the old one
  const std::vector<v1::InboxItem> after = Items("mbr_coord");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].cursor(), before[1].cursor());
  // A cursor of a pruned item still resumes after it; sequences are not reused.
  auto from = ParseCursor("after_cursor", before[0].cursor());
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(Items("mbr_coord", *from).size(), 1u);
  ASSERT_TRUE(Post(Proposed("next")).ok());
  EXPECT_GT(*ParseCursor("c", Items("mbr_coord").back().cursor()),
            *ParseCursor("c", before[1].cursor()));
}

TEST_F(InboxStoreTest, ThePollNamesOnlyTheMembersPostedToSinceItLastLooked) {
  auto start = store_->LastSequence();
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(Post(Proposed()).ok());  // the coordinator only
  auto posted = store_->PostedAfter(*start);
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->member_ids, std::set<std::string>{"mbr_coord"});
  EXPECT_EQ(CursorOf(posted->last), Items("mbr_coord").back().cursor());
  auto again = store_->PostedAfter(posted->last);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->member_ids.empty());
  EXPECT_EQ(again->last, posted->last);
}

TEST_F(InboxStoreTest, ANoticeInATransactionThatRollsBackIsNeverDelivered) {
  absl::Status s = db_->Write([&](storage::Connection& c) -> absl::Status {
    absl::Status posted = store_->Post(c, Proposed());
    if (!posted.ok()) return posted;
    return absl::AbortedError("the change failed");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Items("mbr_coord").empty());
}

TEST_F(InboxStoreTest, OnlyCursorsTheServerGaveAreAccepted) {
  EXPECT_TRUE(ParseCursor("after_cursor", "").ok());
  for (const char* bad : {"12", "c-1", "cabc", "c99999999999999999999999", "x1"}) {
    EXPECT_EQ(common::ReasonOf(ParseCursor("after_cursor", bad).status()), "bad_cursor") << bad;
  }
}

}  // namespace
}  // namespace relais::inbox
