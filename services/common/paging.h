#ifndef RELAIS_SERVICES_COMMON_PAGING_H_
#define RELAIS_SERVICES_COMMON_PAGING_H_

// Pagination (Google AIP-158) of a list that a handler reads whole, in a stable
// order, from rows that are never deleted (accompaniments, handovers, consents,
// emergency grants, sectors). As in ListServices, the page token is the id of
// the last item of the previous page, so an item added meanwhile is neither
// skipped nor repeated.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/reason.h"

namespace relais::rpc {

// The page sizes of a list: `page_size` 0 asks for `default_size`; above
// `max_size` is refused.
struct PageLimits {
  int32_t default_size;
  int32_t max_size;
};

// table: every list's page sizes, in one place.
// Lists read whole (TakePage below): the default is the maximum so that clients
// written before pagination still get every item (up to 1000).
inline constexpr PageLimits kWholeListPages{1000, 1000};
inline constexpr PageLimits kServicePages{100, 1000};     // DirectoryService.ListServices
inline constexpr PageLimits kEntryPages{50, 200};         // RecordService.ListEntries
inline constexpr PageLimits kAuditEventPages{100, 1000};  // AuditService.QueryEvents
inline constexpr int32_t kMaxListPageSize = kWholeListPages.max_size;

// The one page-size rule: the number of items to return for a request's
// `page_size`, or INVALID_ARGUMENT "out_of_range" on field page_size.
inline absl::StatusOr<size_t> PageSize(int32_t requested, PageLimits limits) {
  if (requested < 0 || requested > limits.max_size) {
    return common::InvalidField("page_size", "out_of_range",
                                absl::StrCat("must be 0 to ", limits.max_size));
  }
  return static_cast<size_t>(requested == 0 ? limits.default_size : requested);
}

// Replaces `items` by the page that `page_size` and `page_token` select among
// the items `keep` accepts, and returns the next page token ("" after the last
// page). The token is looked up among all items, so one that `keep` no longer
// accepts (a grant reviewed since) still marks the place. INVALID_ARGUMENT
// "out_of_range" (page_size) or "bad_page_token" (a token this list never gave).
template <typename T, typename IdOf, typename Keep>
absl::StatusOr<std::string> TakePage(std::vector<T>& items, int32_t page_size,
                                     absl::string_view page_token, IdOf id_of, Keep keep) {
  absl::StatusOr<size_t> size = PageSize(page_size, kWholeListPages);
  if (!size.ok()) return size.status();
  auto next = items.begin();
  if (!page_token.empty()) {
    next = std::find_if(items.begin(), items.end(),
                        [&](const T& item) { return id_of(item) == page_token; });
    if (next == items.end()) {
      return common::InvalidField("page_token", "bad_page_token",
                                  "is not a token this server gave");
    }
    ++next;
  }
  std::vector<T> page;
  for (; next != items.end() && page.size() < *size; ++next) {
    if (keep(*next)) page.push_back(std::move(*next));
  }
  std::string token;
  if (std::any_of(next, items.end(), keep)) token = std::string(id_of(page.back()));
  items = std::move(page);
  return token;
}

template <typename T, typename IdOf>
absl::StatusOr<std::string> TakePage(std::vector<T>& items, int32_t page_size,
                                     absl::string_view page_token, IdOf id_of) {
  return TakePage(items, page_size, page_token, id_of, [](const T&) { return true; });
}

}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_PAGING_H_
