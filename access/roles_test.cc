#include "access/roles.h"

#include <set>
#include <string>

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.pb.h"
#include "relais/v1/audit.pb.h"
#include "relais/v1/auth.pb.h"
#include "relais/v1/care.pb.h"
#include "relais/v1/directory.pb.h"
#include "relais/v1/inbox.pb.h"
#include "relais/v1/partnership.pb.h"
#include "relais/v1/record.pb.h"

namespace relais::access {
namespace {

// Every RPC of the API has a row, and every row names an RPC.
TEST(Roles, TheTableCoversExactlyTheApi) {
  const google::protobuf::FileDescriptor* files[] = {
      v1::BackupDatabaseRequest::descriptor()->file(),
      v1::QueryEventsRequest::descriptor()->file(),
      v1::LoginRequest::descriptor()->file(),
      v1::Accompaniment::descriptor()->file(),
      v1::AddMemberRequest::descriptor()->file(),
      v1::AddEntryRequest::descriptor()->file(),
      v1::Convention::descriptor()->file(),
      v1::InboxItem::descriptor()->file()};
  std::set<std::string> api;
  for (const auto* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        api.insert(service->name() + "." + service->method(m)->name());
      }
    }
  }
  std::set<std::string> table;
  for (absl::string_view m : MethodsInTable()) table.insert(std::string(m));
  for (const std::string& m : api) EXPECT_TRUE(table.count(m)) << m << " has no row";
  for (const std::string& m : table) EXPECT_TRUE(api.count(m)) << m << " is not an RPC";
  EXPECT_GT(api.size(), 40u);
}

TEST(Roles, DenyByDefaultAndSeparatedDuties) {
  EXPECT_TRUE(RolesFor("CareService.NoSuchCall").empty());
  EXPECT_FALSE(RoleAllows("CareService.NoSuchCall", {v1::ROLE_ADMIN, v1::ROLE_COORDINATOR}));
  // Admins manage the directory but read no entry body; auditors read the log only.
  for (const char* read : {"RecordService.GetEntry", "RecordService.ListEntries",
                           "RecordService.GetYouth", "CareService.OpenEmergencyAccess"}) {
    EXPECT_FALSE(RoleAllows(read, {v1::ROLE_ADMIN})) << read;
    EXPECT_FALSE(RoleAllows(read, {v1::ROLE_AUDITOR})) << read;
    EXPECT_TRUE(RoleAllows(read, {v1::ROLE_CASEWORKER})) << read;
  }
  EXPECT_FALSE(RoleAllows("AuditService.QueryEvents", {v1::ROLE_COORDINATOR, v1::ROLE_ADMIN}));
  EXPECT_FALSE(RoleAllows("CareService.ConfirmAccompaniment", {v1::ROLE_CASEWORKER}));
  EXPECT_TRUE(RoleAllows("CareService.ConfirmAccompaniment", {v1::ROLE_COORDINATOR}));
}

}  // namespace
}  // namespace relais::access
