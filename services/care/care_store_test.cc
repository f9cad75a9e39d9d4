// Migration 3 (issue #10): accompaniments opened before vouching existed stay
// active, marked so that coordinators can review them; none becomes pending
// and none gains anything.

#include "services/care/care_store.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "storage/row_mac.h"

namespace relais::care::store {
namespace {

TEST(CareStoreMigration, AccompanimentsBeforeVouchingAreMarkedNotPending) {
  const std::string path =
      ::testing::TempDir() + "/care_store_migration_" + std::to_string(::getpid()) + ".sqlite";
  std::filesystem::remove(path);
  auto db = storage::Database::Open({.path = path});
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<storage::Migration> all = Migrations();
  ASSERT_GE(all.size(), 3u);
  const std::vector<storage::Migration> before(all.begin(), all.begin() + 2);
  ASSERT_TRUE((*db)->Migrate("care", before).ok());
  // Two rows as the old schema wrote them: one opened directly, one started
  // by an accepted handover.
  ASSERT_TRUE((*db)
                  ->Write([](storage::Connection& c) -> absl::Status {
                    for (const char* sql :
                         {"INSERT INTO care_accompaniments (id, youth_id, service_id, "
                          "referent_member_id, basis, start_us) VALUES "
                          "('acc_direct', 'y_1', 'svc_a', 'mbr_1', 1, 0)",
                          "INSERT INTO care_accompaniments (id, youth_id, service_id, "
                          "referent_member_id, basis, start_us, handover_id) VALUES "
                          "('acc_handover', 'y_1', 'svc_b', 'mbr_2', 1, 0, 'hnd_1')"}) {
                      absl::StatusOr<storage::Statement> s = c.Prepare(sql);
                      if (!s.ok()) return s.status();
                      absl::Status run = s->Run();
                      if (!run.ok()) return run;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE((*db)->Migrate("care", all).ok());
  // Migration 4: the rows written before MACs existed are sealed once the key
  // is there.
  auto mac = storage::RowMac::Derive({std::string(32, 'k')});
  ASSERT_TRUE(mac.ok()) << mac.status();
  auto binding = storage::BindRowMac(**db, *mac);
  ASSERT_TRUE(binding.ok()) << binding.status();
  ASSERT_TRUE(SealExistingRows(**db).ok());
  const absl::Time now = absl::FromUnixSeconds(1000);
  ASSERT_TRUE((*db)
                  ->Read([&](storage::Connection& c) -> absl::Status {
                    auto direct = GetAccompaniment(c, "acc_direct", now);
                    EXPECT_TRUE(direct.ok() && direct->has_value());
                    EXPECT_EQ((*direct)->vouch(), v1::VOUCH_MIGRATED);
                    EXPECT_TRUE((*direct)->active());
                    auto handover = GetAccompaniment(c, "acc_handover", now);
                    EXPECT_TRUE(handover.ok() && handover->has_value());
                    EXPECT_EQ((*handover)->vouch(), v1::VOUCH_HANDOVER);
                    // Neither is waiting to be vouched for.
                    auto pending = PendingForService(c, "svc_a", now);
                    EXPECT_TRUE(pending.ok() && pending->empty());
                    // Both count as vouched: each service's is another's past care.
                    auto other = EverVouchedOther(c, "y_1", "svc_a");
                    EXPECT_TRUE(other.ok() && *other);
                    return absl::OkStatus();
                  })
                  .ok());
  binding->reset();
  db->reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace relais::care::store
