#include "services/directory/directory_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"

namespace relais::directory {
namespace {

void ToProto(const SectorInfo& in, v1::Sector* out) {
  out->set_id(in.id);
  out->set_name(in.name);
}

void ToProto(const ServiceInfo& in, v1::Service* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_sector_id(in.sector_id);
  out->set_kind(in.kind);
  out->set_platform(in.platform);
}

void ToProto(const MemberInfo& in, v1::Member* out) {
  out->set_id(in.id);
  out->set_service_id(in.service_id);
  out->set_display_name(in.display_name);
  out->set_login(in.login);
  for (v1::Role r : in.roles) out->add_roles(r);
}

MemberInfo FromProto(const v1::Member& in) {
  MemberInfo out;
  out.service_id = in.service_id();
  out.display_name = in.display_name();
  out.login = in.login();
  for (int r : in.roles()) out.roles.push_back(static_cast<v1::Role>(r));
  return out;
}

bool Holds(const std::vector<v1::Role>& roles, v1::Role role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool HasFieldRole(const std::vector<v1::Role>& roles) {
  return Holds(roles, v1::ROLE_CASEWORKER) || Holds(roles, v1::ROLE_COORDINATOR);
}

// Separated duties (DESIGN.md) for a change of a member of `service` from
// `before` to `after` (empty `before` for a new member, empty `after` for a
// removal) asked by `caller`. `granted` are the roles the caller hands out:
// those `after` adds, or all of them when the caller learns the member's
// secret (AddMember, ResetPassword), since they may then act as the member.
// The rule: nobody hands out what they could not reach alone.
//   - the platform service (admins, the DPO) changes only with relais-admin;
//   - ADMIN is never granted or taken away through the API;
//   - only an admin grants or takes away AUDITOR (a service's auditor);
//   - a coordinator (not admin) manages their own service's members only, and
//     never a member who holds ADMIN or AUDITOR;
//   - an admin staffs a new service, but once it has had a caseworker or a
//     coordinator only its own coordinators hand out those roles: an admin
//     reads no entry body, so never mints a member who does.
absl::Status CheckDuties(const rpc::Caller& caller, const directory::ServiceInfo& service,
                         const std::vector<v1::Role>& before, const std::vector<v1::Role>& after,
                         const std::vector<v1::Role>& granted) {
  const bool admin = caller.HasRole(v1::ROLE_ADMIN);
  if (!admin && service.id != caller.service_id()) {
    return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                       "a coordinator manages members of their own service only");
  }
  if (service.platform) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "the platform service's members (admins, the DPO) change only with "
                       "relais-admin");
  }
  if (!admin && (Holds(before, v1::ROLE_ADMIN) || Holds(before, v1::ROLE_AUDITOR))) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "only an admin manages an auditor; an admin only with relais-admin");
  }
  if (Holds(before, v1::ROLE_ADMIN) != Holds(after, v1::ROLE_ADMIN)) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "the admin role is granted and taken away only with relais-admin");
  }
  if (!admin && Holds(before, v1::ROLE_AUDITOR) != Holds(after, v1::ROLE_AUDITOR)) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "only an admin grants or takes away the auditor role");
  }
  if (admin && service.staffed && HasFieldRole(granted) &&
      !(caller.service_id() == service.id && caller.HasRole(v1::ROLE_COORDINATOR))) {
    return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                       "a staffed service's coordinators add its caseworkers and coordinators "
                       "and reset their passwords");
  }
  return absl::OkStatus();
}

// The roles in `after` that `before` lacks.
std::vector<v1::Role> Added(const std::vector<v1::Role>& before,
                            const std::vector<v1::Role>& after) {
  std::vector<v1::Role> added;
  for (v1::Role r : after) {
    if (!Holds(before, r)) added.push_back(r);
  }
  return added;
}

// Nobody changes their own roles nor removes themselves.
absl::Status NotSelf(const rpc::Caller& caller, absl::string_view member_id) {
  if (member_id == caller.member_id()) {
    return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                       "nobody changes their own roles or removes themselves");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryServiceImpl::CreateSector(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateSectorRequest* request,
                                                             v1::Sector* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.CreateSector"));
        const SectorInfo input{request->sector().id(), request->sector().name()};
        SectorInfo created;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(created, store_->CreateSector(txn, input));
              call.event.object_id = created.id;
              return absl::OkStatus();
            }));
        ToProto(created, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::ListSectors(grpc::CallbackServerContext* ctx,
                                                            const v1::ListSectorsRequest* request,
                                                            v1::ListSectorsResponse* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                    [=, this](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
                      ASSIGN_OR_RETURN(std::vector<SectorInfo> sectors, store_->ListSectors());
                      ASSIGN_OR_RETURN(
                          *reply->mutable_next_page_token(),
                          rpc::TakePage(sectors, request->page_size(), request->page_token(),
                                        [](const SectorInfo& s) { return s.id; }));
                      RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
                      for (const SectorInfo& s : sectors) ToProto(s, reply->add_sectors());
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::CreateService(
    grpc::CallbackServerContext* ctx, const v1::CreateServiceRequest* request, v1::Service* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.CreateService"));
        const v1::Service& in = request->service();
        // Never platform through the API: only host-side tools mark it.
        const ServiceInfo input{"", in.name(), in.sector_id(), in.kind(),
                                /*platform=*/false};
        ServiceInfo created;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(created, store_->CreateService(txn, input));
              call.event.object_id = created.id;
              return absl::OkStatus();
            }));
        ToProto(created, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::ListServices(grpc::CallbackServerContext* ctx,
                                                             const v1::ListServicesRequest* request,
                                                             v1::ListServicesResponse* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                    [=, this](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
                      ASSIGN_OR_RETURN(const size_t page_size,
                                       rpc::PageSize(request->page_size(), rpc::kServicePages));
                      ASSIGN_OR_RETURN(ServicePage page,
                                       store_->ListServices(request->sector_id(), page_size,
                                                            request->page_token()));
                      for (const ServiceInfo& s : page.services) ToProto(s, reply->add_services());
                      RETURN_IF_ERROR(AddProfiles(*reply->mutable_services()));
                      RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
                      reply->set_next_page_token(page.next_page_token);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::AddMember(grpc::CallbackServerContext* ctx,
                                                          const v1::AddMemberRequest* request,
                                                          v1::AddMemberResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.AddMember"));
        const MemberInfo input = FromProto(request->member());
        // A head of service staffs their own service, an admin a new one;
        // nobody creates admins here, and only an admin creates auditors.
        RETURN_IF_ERROR(common::CheckId("member.service_id", input.service_id));
        ASSIGN_OR_RETURN(ServiceInfo service, store_->GetService(input.service_id));
        RETURN_IF_ERROR(CheckDuties(caller, service, {}, input.roles, input.roles));
        // Validation and scrypt run before the write lock is taken. Nobody
        // chooses another person's lasting password: a one-time one, to change.
        OneTimePassword one_time;
        ASSIGN_OR_RETURN(NewMember prepared, store_->PrepareMemberWithOneTimePassword(
                                                 input, one_time_password_lifetime_, &one_time));
        MemberInfo created;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(created, store_->InsertMember(txn, prepared));
              call.event.object_id = created.id;
              return absl::OkStatus();
            }));
        common::LogInfo("member added",
                        {{"member_id", created.id}, {"service_id", created.service_id}});
        ToProto(created, reply->mutable_member());
        reply->set_one_time_password(std::move(one_time.secret));
        *reply->mutable_one_time_password_expires_at() = common::ToProto(one_time.expires_at);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::SetMemberRoles(
    grpc::CallbackServerContext* ctx, const v1::SetMemberRolesRequest* request, v1::Member* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.SetMemberRoles"));
        RETURN_IF_ERROR(common::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        RETURN_IF_ERROR(gate_->RequireRecentLogin(caller));
        std::vector<v1::Role> roles;
        for (int r : request->roles()) roles.push_back(static_cast<v1::Role>(r));
        RETURN_IF_ERROR(NotSelf(caller, request->member_id()));
        ASSIGN_OR_RETURN(MemberInfo member, store_->GetMember(request->member_id()));
        ASSIGN_OR_RETURN(ServiceInfo service, store_->GetService(member.service_id));
        RETURN_IF_ERROR(
            CheckDuties(caller, service, member.roles, roles, Added(member.roles, roles)));
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(member.roles, store_->SetMemberRoles(txn, member.id, roles));
              // Tokens carry roles: the old ones must not outlive the change.
              RETURN_IF_ERROR(sessions_->RevokeAllOf(txn, member.id));
              call.event.object_id = member.id;
              return absl::OkStatus();
            }));
        ToProto(member, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::RemoveMember(grpc::CallbackServerContext* ctx,
                                                             const v1::RemoveMemberRequest* request,
                                                             v1::Member* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.RemoveMember"));
        RETURN_IF_ERROR(common::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        RETURN_IF_ERROR(NotSelf(caller, request->member_id()));
        ASSIGN_OR_RETURN(MemberInfo member, store_->GetMember(request->member_id()));
        // Removing takes every role away.
        ASSIGN_OR_RETURN(ServiceInfo service, store_->GetService(member.service_id));
        RETURN_IF_ERROR(CheckDuties(caller, service, member.roles, {}, {}));
        const bool take_over = request->reassign_referrals_to_caller();
        if (take_over &&
            (caller.service_id() != member.service_id || !caller.HasRole(v1::ROLE_COORDINATOR))) {
          return common::InvalidField("reassign_referrals_to_caller", "caller_not_in_service",
                                      "only a coordinator of the member's service takes over");
        }
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              if (member.active) {
                RETURN_IF_ERROR(SettleReferrals(txn, caller, member, take_over, call));
              }
              RETURN_IF_ERROR(store_->SetMemberActive(txn, member.id, false));
              RETURN_IF_ERROR(sessions_->RevokeAllOf(txn, member.id));
              call.event.object_id = member.id;
              return absl::OkStatus();
            }));
        member.active = false;
        ToProto(member, reply);
        return absl::OkStatus();
      });
}

absl::Status DirectoryServiceImpl::SettleReferrals(storage::Connection& txn,
                                                   const rpc::Caller& caller,
                                                   const MemberInfo& member,
                                                   bool reassign_to_caller, rpc::CallAudit& call) {
  if (departures_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::vector<Departures::Referral> referrals,
                   departures_->Referrals(txn, member.id));
  if (referrals.empty()) return absl::OkStatus();
  if (!reassign_to_caller) {
    // A youth is never left without a named person in the service.
    return common::Precondition(
        "referent_reassignment_required",
        absl::StrCat("the member is the referent of ", referrals.size(),
                     " accompaniments: reassign them (CareService.ReassignReferent) or ask to "
                     "take them over (reassign_referrals_to_caller)"));
  }
  RETURN_IF_ERROR(departures_->Reassign(txn, member.id, caller.member_id(), caller.member_id()));
  for (const Departures::Referral& r : referrals) {
    audit::EventInput event = rpc::Allowed(call.event);
    event.action = v1::ACTION_REASSIGN_REFERENT;
    event.youth_id = r.youth_id;
    event.object_id = r.accompaniment_id;
    RETURN_IF_ERROR(rpc::AuditAppended(gate_->audit()->Append(txn, event).status()));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::ResetPassword(
    grpc::CallbackServerContext* ctx, const v1::ResetPasswordRequest* request,
    v1::ResetPasswordResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_RESET_PASSWORD,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.ResetPassword"));
        RETURN_IF_ERROR(common::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        RETURN_IF_ERROR(gate_->RequireRecentLogin(caller));
        if (request->member_id() == caller.member_id()) {
          return rpc::Denied(v1::ACCESS_REASON_SEPARATION_OF_DUTIES,
                             "a member changes their own password with ChangePassword");
        }
        ASSIGN_OR_RETURN(MemberInfo member, store_->GetMember(request->member_id()));
        // Whoever resets learns the secret, so may act as the member until
        // they change it: never for an admin (relais-admin resets admins), and
        // the duties of handing out every role the member holds.
        if (Holds(member.roles, v1::ROLE_ADMIN)) {
          return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                             "an admin's password is reset only with relais-admin");
        }
        ASSIGN_OR_RETURN(ServiceInfo service, store_->GetService(member.service_id));
        RETURN_IF_ERROR(CheckDuties(caller, service, member.roles, member.roles, member.roles));
        ASSIGN_OR_RETURN(OneTimePassword one_time,
                         store_->PrepareOneTimePassword(one_time_password_lifetime_));
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              RETURN_IF_ERROR(store_->SetPassword(txn, member.id, one_time.update));
              // The member's sessions end with the password they were opened with.
              RETURN_IF_ERROR(sessions_->RevokeAllOf(txn, member.id));
              call.event.object_id = member.id;
              return absl::OkStatus();
            }));
        common::LogInfo("password reset", {{"member_id", member.id}});
        reply->set_one_time_password(std::move(one_time.secret));
        *reply->mutable_one_time_password_expires_at() = common::ToProto(one_time.expires_at);
        return absl::OkStatus();
      });
}

}  // namespace relais::directory
