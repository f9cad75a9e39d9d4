#include "services/common/paging.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace relais::rpc {
namespace {

using common::FieldOf;
using common::ReasonOf;

std::string Id(const std::string& s) { return s; }

TEST(TakePage, WalksEveryItemOnceInOrder) {
  const std::vector<std::string> all = {"a", "b", "c", "d", "e"};
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    std::vector<std::string> items = all;
    auto next = TakePage(items, 2, token, Id);
    ASSERT_TRUE(next.ok()) << next.status();
    seen.insert(seen.end(), items.begin(), items.end());
    token = *next;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen, all);
  EXPECT_EQ(pages, 3);
}

TEST(TakePage, DefaultIsEverythingUpToTheMaximum) {
  std::vector<std::string> items(kMaxListPageSize + 1, "x");
  for (size_t i = 0; i < items.size(); ++i) items[i] = std::to_string(i);
  auto next = TakePage(items, 0, "", Id);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(items.size(), static_cast<size_t>(kMaxListPageSize));
  EXPECT_EQ(*next, std::to_string(kMaxListPageSize - 1));
}

TEST(TakePage, LastPageHasNoToken) {
  std::vector<std::string> items = {"a", "b"};
  auto next = TakePage(items, 2, "", Id);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "");
  EXPECT_EQ(items.size(), 2u);
}

TEST(TakePage, FilterCountsOnlyKeptItemsAndTokenSurvivesLeavingTheFilter) {
  // "b" is kept on page one, then leaves the filter (a grant reviewed since):
  // its token still marks the place.
  std::vector<std::string> items = {"a", "B", "b", "c", "D", "d"};
  auto lower = [](const std::string& s) { return s[0] >= 'a'; };
  auto next = TakePage(items, 2, "", Id, lower);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(items, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*next, "b");
  items = {"a", "B", "b", "c", "D", "d"};
  auto upper_b_gone = [](const std::string& s) { return s != "b" && s[0] >= 'a'; };
  next = TakePage(items, 2, "b", Id, upper_b_gone);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(items, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(*next, "");
}

TEST(TakePage, RefusesBadSizeAndUnknownToken) {
  std::vector<std::string> items = {"a"};
  EXPECT_EQ(ReasonOf(TakePage(items, -1, "", Id).status()), "out_of_range");
  EXPECT_EQ(FieldOf(TakePage(items, kMaxListPageSize + 1, "", Id).status()), "page_size");
  auto bad = TakePage(items, 1, "zz", Id);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(bad.status()), "bad_page_token");
  EXPECT_EQ(FieldOf(bad.status()), "page_token");
}

TEST(PageSize, ZeroAsksForTheDefaultAndTheMaximumIsTheLast) {
  constexpr PageLimits kLimits{50, 200};
  EXPECT_EQ(*PageSize(0, kLimits), 50u);
  EXPECT_EQ(*PageSize(1, kLimits), 1u);
  EXPECT_EQ(*PageSize(200, kLimits), 200u);
  for (int32_t bad : {-1, 201}) {
    absl::StatusOr<size_t> size = PageSize(bad, kLimits);
    ASSERT_FALSE(size.ok()) << bad;
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(size.status()), "out_of_range");
    EXPECT_EQ(FieldOf(size.status()), "page_size");
  }
}

TEST(PageSize, EachListKeepsItsLimits) {
  EXPECT_EQ(*PageSize(0, kWholeListPages), 1000u);
  EXPECT_EQ(*PageSize(0, kServicePages), 100u);
  EXPECT_FALSE(PageSize(1001, kServicePages).ok());
  EXPECT_EQ(*PageSize(0, kEntryPages), 50u);
  EXPECT_FALSE(PageSize(201, kEntryPages).ok());
  EXPECT_EQ(*PageSize(0, kAuditEventPages), 100u);
  EXPECT_FALSE(PageSize(1001, kAuditEventPages).ok());
}

}  // namespace
}  // namespace relais::rpc
