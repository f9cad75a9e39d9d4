#include "access/roles.h"

#include <algorithm>
#include <map>
#include <string>

namespace relais::access {
namespace {

using v1::ROLE_ADMIN;
using v1::ROLE_AUDITOR;
using v1::ROLE_CASEWORKER;
using v1::ROLE_COORDINATOR;

using Table = std::map<std::string, std::vector<v1::Role>, std::less<>>;

// table: every RPC and the roles that may call it (one row each).
const Table& TheTable() {
  static const Table* table = [] {
    const std::vector<v1::Role> anyone = {ROLE_CASEWORKER, ROLE_COORDINATOR, ROLE_AUDITOR,
                                          ROLE_ADMIN};
    const std::vector<v1::Role> field = {ROLE_CASEWORKER, ROLE_COORDINATOR};
    const std::vector<v1::Role> head = {ROLE_COORDINATOR};
    const std::vector<v1::Role> head_or_admin = {ROLE_COORDINATOR, ROLE_ADMIN};
    const std::vector<v1::Role> admin = {ROLE_ADMIN};
    const std::vector<v1::Role> auditor = {ROLE_AUDITOR};
    return new Table{
        // Directory: the admin manages; a coordinator staffs their own service.
        {"DirectoryService.CreateSector", admin},
        {"DirectoryService.ListSectors", anyone},
        {"DirectoryService.CreateService", admin},
        {"DirectoryService.ListServices", anyone},
        {"DirectoryService.AddMember", {ROLE_ADMIN, ROLE_COORDINATOR}},
        {"DirectoryService.SetMemberRoles", {ROLE_ADMIN, ROLE_COORDINATOR}},
        {"DirectoryService.RemoveMember", {ROLE_ADMIN, ROLE_COORDINATOR}},
        {"DirectoryService.ResetPassword", {ROLE_ADMIN, ROLE_COORDINATOR}},
        {"DirectoryService.Glossary", anyone},
        {"DirectoryService.UpdateServiceProfile", head_or_admin},
        {"DirectoryService.SearchServices", anyone},
        {"DirectoryService.DefineTerm", admin},
        // Auth: Login, ChangePassword and PublicKeys need no token; any member
        // refreshes theirs.
        {"AuthService.Login", anyone},
        {"AuthService.Refresh", anyone},
        {"AuthService.ChangePassword", anyone},
        {"AuthService.PublicKeys", anyone},
        // Any member ends their own session; locks are lifted by an admin or
        // the member's coordinator (the handler checks which service).
        {"AuthService.Logout", anyone},
        {"AuthService.UnlockAccount", {ROLE_ADMIN, ROLE_COORDINATOR}},
        // Records: the field; never auditors, never admins (no entry body).
        {"RecordService.CreateYouth", field},
        {"RecordService.FindYouth", field},
        {"RecordService.GetYouth", field},
        {"RecordService.AddEntry", field},
        {"RecordService.ListEntries", field},
        {"RecordService.GetEntry", field},
        {"RecordService.RestrictYouth", head_or_admin},
        {"RecordService.LiftRestriction", head_or_admin},
        {"RecordService.SetLegalHold", admin},
        {"RecordService.LiftLegalHold", admin},
        // Four-eyes erasure: one requests, a second person (another service's
        // coordinator or the DPO) approves.
        {"RecordService.EraseYouth", head_or_admin},
        {"RecordService.ApproveErasure", {ROLE_COORDINATOR, ROLE_AUDITOR}},
        {"RecordService.CancelErasure", {ROLE_COORDINATOR, ROLE_ADMIN, ROLE_AUDITOR}},
        {"RecordService.GetErasureRequest", {ROLE_COORDINATOR, ROLE_ADMIN, ROLE_AUDITOR}},
        {"RecordService.ListErasureRequests", {ROLE_COORDINATOR, ROLE_ADMIN, ROLE_AUDITOR}},
        // Two-person full export: the admin asks, the DPO approves.
        {"RecordService.RequestFullExport", admin},
        {"RecordService.ApproveFullExport", auditor},
        {"RecordService.ExportYouth", head_or_admin},
        {"RecordService.SweepRetention", admin},
        // Care: coordinators decide, the field proposes and reads.
        {"CareService.OpenAccompaniment", head},
        {"CareService.EndAccompaniment", head},
        {"CareService.ReassignReferent", head},
        {"CareService.ConfirmAccompaniment", head},
        {"CareService.DeclineAccompaniment", head},
        {"CareService.ListPendingAccompaniments", head},
        {"CareService.ListServiceAccompaniments", head},
        {"CareService.ListExpiringConsents", head},
        {"CareService.ListAccompaniments", field},
        {"CareService.ProposeHandover", field},
        {"CareService.AcceptHandover", head},
        {"CareService.DeclineHandover", head},
        {"CareService.CancelHandover", field},
        {"CareService.CompleteHandover", head},
        {"CareService.GetHandover", field},
        {"CareService.ListHandovers", field},
        {"CareService.ScheduleConcertation", field},
        {"CareService.RecordConcertation", field},
        {"CareService.ListConcertations", field},
        {"CareService.GrantConsent", field},
        {"CareService.WithdrawConsent", field},
        {"CareService.ListConsents", field},
        {"CareService.CheckAccess", field},
        {"CareService.OpenEmergencyAccess", field},
        {"CareService.GetConsentReceipt", field},
        // Partnership: coordinators bind their service; anyone reads the terms
        // (they hold nothing about a youth); the field acknowledges protocols.
        {"PartnershipService.ProposeConvention", head},
        {"PartnershipService.SignConvention", head},
        {"PartnershipService.ReviewConvention", head},
        {"PartnershipService.TerminateConvention", head},
        {"PartnershipService.GetConvention", anyone},
        {"PartnershipService.ListConventions", anyone},
        {"PartnershipService.CreateProtocol", head},
        {"PartnershipService.PublishProtocolVersion", head},
        {"PartnershipService.AcknowledgeProtocol", field},
        {"PartnershipService.GetProtocol", anyone},
        {"PartnershipService.ListProtocols", anyone},
        {"PartnershipService.ProtocolCoverage", head},
        // Inbox: every member reads their own; a newcomer's view is the field's.
        {"InboxService.ListInbox", anyone},
        {"InboxService.Watch", anyone},
        {"InboxService.Orientation", field},
        // Audit: auditors; a coordinator reads its own service's part of one
        // youth's access report.
        {"AuditService.QueryEvents", auditor},
        {"AuditService.AccessReport", {ROLE_AUDITOR, ROLE_COORDINATOR}},
        {"AuditService.VerifyLog", auditor},
        {"AuditService.ExportEvents", auditor},
        {"AuditService.ListEmergencyAccesses", auditor},
        {"AuditService.ReviewEmergencyAccess", auditor},
        // Admin.
        {"AdminService.BackupDatabase", admin},
    };
  }();
  return *table;
}

}  // namespace

const std::vector<v1::Role>& RolesFor(absl::string_view method) {
  static const std::vector<v1::Role>* const kNobody = new std::vector<v1::Role>();
  const Table& table = TheTable();
  auto it = table.find(method);
  return it == table.end() ? *kNobody : it->second;
}

bool RoleAllows(absl::string_view method, const std::vector<v1::Role>& held) {
  const std::vector<v1::Role>& allowed = RolesFor(method);
  return std::any_of(held.begin(), held.end(), [&](v1::Role r) {
    return std::find(allowed.begin(), allowed.end(), r) != allowed.end();
  });
}

std::vector<absl::string_view> MethodsInTable() {
  std::vector<absl::string_view> out;
  for (const auto& [method, roles] : TheTable()) out.push_back(method);
  return out;
}

std::string RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_CASEWORKER:
      return "caseworker";
    case v1::ROLE_COORDINATOR:
      return "coordinator";
    case v1::ROLE_AUDITOR:
      return "auditor";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "";
  }
}

v1::Role RoleFromName(absl::string_view name) {
  for (v1::Role r : {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR, v1::ROLE_AUDITOR, v1::ROLE_ADMIN}) {
    if (RoleName(r) == name) return r;
  }
  return v1::ROLE_UNSPECIFIED;
}

}  // namespace relais::access
