// YouthExporter without a server: who may export, what each scope shows, and
// that the export is audited before its first item.

#include "services/record/youth_exporter.h"

#include <deque>
#include <string>
#include <vector>

#include "common/reason.h"
#include "gtest/gtest.h"
#include "services/record/record_test_util.h"

namespace relais::record {
namespace {

constexpr char kAmo[] = "svc_amo";
constexpr char kSaj[] = "svc_saj";

class YouthExporterTest : public ::testing::Test {
 protected:
  YouthExporterTest() {
    youth_ = f_.AddYouth(kAmo);
    own_ = f_.AddEntry(youth_, kAmo, v1::VISIBILITY_SERVICE_PRIVATE, v1::DATA_CATEGORY_GENERAL,
                       "amo note");
    other_ =
        f_.AddEntry(youth_, kSaj, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "saj shared");
  }

  // Begins an export for a member of `service` with `role`; the items in
  // `items` if it began.
  absl::Status Export(absl::string_view service, v1::Role role,
                      std::vector<v1::ExportYouthItem>& items, absl::string_view full_id = "") {
    YouthExporter exporter({.db = &f_.db(),
                            .keys = &f_.keys(),
                            .clock = &f_.clock(),
                            .gate = &f_.gate(),
                            .care = &f_.care(),
                            .records = &f_.records()});
    rpc::Caller caller = f_.CallerOf("m_exporter", service, role);
    call_ = {rpc::EventFor(caller, v1::ACTION_EXPORT_YOUTH)};
    v1::ExportYouthRequest req;
    req.set_youth_id(youth_);
    req.set_full_export_request_id(std::string(full_id));
    std::deque<v1::ExportYouthItem> out;
    absl::Status begun = exporter.Begin(caller, call_, req, out);
    if (!begun.ok()) return begun;
    while (!out.empty()) {
      items.push_back(std::move(out.front()));
      out.pop_front();
      if (out.empty()) {
        absl::Status filled = exporter.Fill(out);
        if (!filled.ok()) return filled;
      }
    }
    return absl::OkStatus();
  }

  testing::RecordFixture f_;
  std::string youth_, own_, other_;
  rpc::CallAudit call_;
};

TEST_F(YouthExporterTest, ACoordinatorGetsWhatTheRuleLetsTheirServiceRead) {
  f_.care().Accompany(kAmo);
  std::vector<v1::ExportYouthItem> items;
  absl::Status s = Export(kAmo, v1::ROLE_COORDINATOR, items);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(call_.recorded);
  ASSERT_EQ(items.size(), 5u);  // header, identity, two entries, trailer
  EXPECT_EQ(items[0].header().scope(), v1::EXPORT_SCOPE_SERVICE);
  EXPECT_EQ(items[1].identity().display_name(), "Youth");
  EXPECT_EQ(items[2].entry().entry().body(), "amo note");
  EXPECT_FALSE(items[2].entry().withheld());
  EXPECT_TRUE(items[3].entry().withheld());
  EXPECT_EQ(items[3].entry().withheld_reason(), "no_consent");
  EXPECT_TRUE(items[3].entry().entry().body().empty());
  EXPECT_EQ(items[4].trailer().entries(), 2);
  EXPECT_EQ(items[4].trailer().withheld_entries(), 1);
  // Audited once, allowed, before the first item.
  ASSERT_EQ(f_.Events().size(), 1u);
  EXPECT_EQ(f_.Events()[0].action(), v1::ACTION_EXPORT_YOUTH);
  EXPECT_EQ(f_.Events()[0].reason_code(), "allowed");
}

TEST_F(YouthExporterTest, ACoordinatorWhoseServiceDoesNotAccompanyIsRefused) {
  std::vector<v1::ExportYouthItem> items;
  absl::Status s = Export(kSaj, v1::ROLE_COORDINATOR, items);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(common::ReasonOf(s), "no_active_accompaniment");
  EXPECT_FALSE(call_.recorded);  // the caller audits the denial
  EXPECT_TRUE(items.empty());
  EXPECT_TRUE(f_.Events().empty());
}

TEST_F(YouthExporterTest, ACaseworkerMayNotExport) {
  f_.care().Accompany(kAmo);
  std::vector<v1::ExportYouthItem> items;
  absl::Status s = Export(kAmo, v1::ROLE_CASEWORKER, items);
  EXPECT_EQ(common::ReasonOf(s), "role_not_permitted");
  EXPECT_TRUE(items.empty());
}

TEST_F(YouthExporterTest, AnAdminGetsMetadataOnly) {
  std::vector<v1::ExportYouthItem> items;
  absl::Status s = Export("svc_platform", v1::ROLE_ADMIN, items);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(items.size(), 4u);  // header, two entries, trailer: no identity
  EXPECT_EQ(items[0].header().scope(), v1::EXPORT_SCOPE_METADATA);
  for (int i : {1, 2}) {
    EXPECT_TRUE(items[i].entry().withheld());
    EXPECT_EQ(items[i].entry().withheld_reason(), "export_metadata_only");
    EXPECT_TRUE(items[i].entry().entry().body().empty());
    EXPECT_TRUE(items[i].entry().entry().author_member_id().empty());
  }
}

TEST_F(YouthExporterTest, AFullExportNeedsAnApprovedRequest) {
  std::vector<v1::ExportYouthItem> items;
  absl::Status s = Export("svc_platform", v1::ROLE_ADMIN, items, "fxr_unknown");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(common::ReasonOf(s), "export_request_not_found");
  EXPECT_FALSE(call_.recorded);
  EXPECT_TRUE(items.empty());
}

}  // namespace
}  // namespace relais::record
