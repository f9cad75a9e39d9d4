#ifndef RELAIS_SERVICES_INBOX_INBOX_STORE_H_
#define RELAIS_SERVICES_INBOX_INBOX_STORE_H_

// The members' inboxes (inbox_items): one row per notice and recipient,
// numbered by a global sequence, so a member's items are in the order they
// were committed and a cursor (the last sequence seen) resumes exactly after.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "relais/v1/inbox.pb.h"
#include "services/directory/directory_api.h"
#include "services/inbox/inbox_api.h"
#include "storage/database.h"

namespace relais::inbox {

// A cursor as clients see it, and back. INVALID_ARGUMENT "bad_cursor" on
// `field` for anything the server did not give; empty is 0 (from the first).
std::string CursorOf(int64_t seq);
absl::StatusOr<int64_t> ParseCursor(absl::string_view field, absl::string_view cursor);

// The "inbox" table on PostgreSQL (inbox_schema_postgres.cc): one baseline
// step numbered like the last SQLite step (inbox_store.cc), building what all
// of them build. Append each new step to both lists.
std::vector<storage::Migration> InboxPostgresMigrations();

class InboxStore final : public Postbox {
 public:
  // Applies the "inbox" migrations. `roster` (borrowed) names a service's
  // active members.
  static absl::StatusOr<std::unique_ptr<InboxStore>> Create(storage::Database* db,
                                                            const common::Clock* clock,
                                                            const directory::MemberRoster* roster);

  // Postbox.
  absl::Status Post(storage::Connection& txn, const Notice& notice) const override;

  // `member_id`'s items with a sequence above `after`, oldest first, at most
  // `limit`.
  absl::StatusOr<std::vector<v1::InboxItem>> List(absl::string_view member_id, int64_t after,
                                                  int limit) const;
  // The highest sequence posted so far (0 if none).
  absl::StatusOr<int64_t> LastSequence() const;
  // Who was posted to after `after`, and the highest sequence then (`after`
  // if nothing was): the watchers' poll, so that only those members' streams
  // are woken.
  struct Posted {
    std::set<std::string> member_ids;
    int64_t last = 0;
  };
  absl::StatusOr<Posted> PostedAfter(int64_t after) const;

  // How long an item is kept: a notice is about what needs a member now, and
  // a year-old one no longer does (storage limitation, GDPR art. 5(1)(e)).
  static constexpr absl::Duration kKeptFor = absl::Hours(24 * 365);
  // Deletes the items posted more than kKeptFor ago; returns how many.
  // Cursors stay valid: sequences are never reused.
  absl::StatusOr<int> Prune() const;

 private:
  InboxStore(storage::Database* db, const common::Clock* clock,
             const directory::MemberRoster* roster)
      : db_(db), clock_(clock), roster_(roster) {}
  absl::StatusOr<std::vector<std::string>> Recipients(const Notice& notice) const;

  storage::Database* const db_;
  const common::Clock* const clock_;
  const directory::MemberRoster* const roster_;
};

}  // namespace relais::inbox

#endif  // RELAIS_SERVICES_INBOX_INBOX_STORE_H_
