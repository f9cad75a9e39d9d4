#ifndef RELAIS_SERVICES_CARE_CARE_TEST_SUPPORT_H_
#define RELAIS_SERVICES_CARE_CARE_TEST_SUPPORT_H_

// Tests only: what the care domain classes' unit tests share. A fresh care
// database (a temporary file: storage::Database needs one for its WAL and
// reader pool) with its row MAC key bound, and fakes of the directory and the
// record service. No server, no gRPC call.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "services/care/care_store.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "services/record/record_api.h"
#include "storage/database.h"
#include "storage/row_mac.h"
#include "storage/testing/fresh_database.h"

namespace relais::care::testing {

// The stable reason code a status carries ("allowed" when ok).
inline std::string Reason(const absl::Status& status) { return common::ReasonOf(status); }
template <typename T>
std::string Reason(const absl::StatusOr<T>& result) {
  return common::ReasonOf(result.status());
}

class FakeDirectory final : public directory::DirectoryApi {
 public:
  void AddService(const std::string& id, const std::string& sector, const std::string& kind) {
    services_[id] = {.id = id, .name = "Service " + id, .sector_id = sector, .kind = kind};
  }
  absl::StatusOr<directory::ServiceInfo> GetService(absl::string_view id) const override {
    auto it = services_.find(std::string(id));
    if (it == services_.end()) return common::NotFound("service_not_found", "no such service");
    return it->second;
  }
  absl::StatusOr<directory::MemberInfo> GetMember(absl::string_view) const override {
    return common::NotFound("member_not_found", "no members here");
  }

 private:
  std::map<std::string, directory::ServiceInfo> services_;
};

// Seals by tagging the text with its youth, field and row, so a test sees
// both that a text was sealed and that it opens only where it was sealed.
class FakeRecords final : public record::RecordApi {
 public:
  void AddYouth(record::YouthFacts youth) { youths_[youth.id] = std::move(youth); }
  absl::StatusOr<record::YouthFacts> GetYouthFacts(absl::string_view id) const override {
    auto it = youths_.find(std::string(id));
    if (it == youths_.end()) return common::NotFound("youth_not_found", "no such youth");
    return it->second;
  }
  absl::StatusOr<record::EntryFacts> GetEntryFacts(absl::string_view) const override {
    return common::NotFound("entry_not_found", "no entries here");
  }
  absl::StatusOr<std::string> SealForYouth(absl::string_view youth_id, absl::string_view field,
                                           absl::string_view row_id,
                                           absl::string_view plaintext) const override {
    return absl::StrCat(Tag(youth_id, field, row_id), plaintext);
  }
  absl::StatusOr<std::string> OpenForYouth(absl::string_view youth_id, absl::string_view field,
                                           absl::string_view row_id,
                                           absl::string_view sealed) const override {
    const std::string tag = Tag(youth_id, field, row_id);
    if (!absl::StartsWith(sealed, tag)) return absl::DataLossError("not sealed for this row");
    return std::string(sealed.substr(tag.size()));
  }
  static std::string Tag(absl::string_view youth_id, absl::string_view field,
                         absl::string_view row_id) {
    return absl::StrCat("sealed[", youth_id, "|", field, "|", row_id, "]");
  }

 private:
  std::map<std::string, record::YouthFacts> youths_;
};

// A fresh care database in the test's temporary directory, removed at the end.
class CareDatabase {
 public:
  CareDatabase() {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/care_domain_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".sqlite");
    std::filesystem::remove(path_);
    auto db = storage::Database::Open({.path = path_, .readers = 2});
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    EXPECT_TRUE(db_->Migrate("care", store::Migrations(), store::PostgresMigrations()).ok());
    auto mac = storage::RowMac::Derive({std::string(32, 'k')});
    EXPECT_TRUE(mac.ok()) << mac.status();
    auto binding = storage::BindRowMac(*db_, *mac);
    EXPECT_TRUE(binding.ok()) << binding.status();
    binding_ = *std::move(binding);
  }
  ~CareDatabase() {
    binding_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  storage::Database* get() const { return db_.get(); }

 private:
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::RowMacBinding> binding_;
};

inline const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);  // 2026-05-28

}  // namespace relais::care::testing

#endif  // RELAIS_SERVICES_CARE_CARE_TEST_SUPPORT_H_
