#include "services/directory/directory_service.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "common/status_macros.h"
#include "services/common/paging.h"

namespace relais::directory {
namespace {

audit::EventInput Allowed(audit::EventInput event) {
  event.decision = v1::DECISION_ALLOW;
  event.reason = v1::ACCESS_REASON_ALLOWED;
  event.reason_code = "allowed";
  return event;
}

absl::Status AuditUnavailable(const absl::Status& cause) {
  common::LogError("audit append failed; refusing the call", {{"status", cause.ToString()}});
  return absl::UnavailableError("audit_unavailable: the access log cannot be written");
}

void ToProto(const SectorInfo& in, v1::Sector* out) {
  out->set_id(in.id);
  out->set_name(in.name);
}

void ToProto(const ServiceInfo& in, v1::Service* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_sector_id(in.sector_id);
  out->set_kind(in.kind);
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

}  // namespace

absl::Status DirectoryServiceImpl::RequireRole(const rpc::Caller& caller, rpc::CallAudit& call,
                                               std::initializer_list<v1::Role> roles) {
  return gate_->RequireRole(caller, call.event.action, roles);
}

absl::Status DirectoryServiceImpl::CommitAudited(
    rpc::CallAudit& call,
    absl::FunctionRef<absl::StatusOr<std::string>(storage::Connection&)> change) {
  RETURN_IF_ERROR(db_->Write([&](storage::Connection& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::string object_id, change(txn));
    audit::EventInput allowed = Allowed(call.event);
    allowed.object_id = std::move(object_id);
    if (absl::StatusOr<int64_t> seq = gate_->audit()->Append(txn, allowed); !seq.ok()) {
      return AuditUnavailable(seq.status());
    }
    return absl::OkStatus();
  }));
  call.recorded = true;
  return absl::OkStatus();
}

absl::Status DirectoryServiceImpl::RecordRead(rpc::CallAudit& call) {
  if (absl::StatusOr<int64_t> seq = gate_->audit()->AppendStandalone(Allowed(call.event));
      !seq.ok()) {
    return AuditUnavailable(seq.status());
  }
  call.recorded = true;
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::CreateSector(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateSectorRequest* request,
                                                             v1::Sector* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
                    [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(RequireRole(caller, call, {v1::ROLE_ADMIN}));
                      const SectorInfo input{request->sector().id(), request->sector().name()};
                      SectorInfo created;
                      RETURN_IF_ERROR(CommitAudited(
                          call, [&](storage::Connection& txn) -> absl::StatusOr<std::string> {
                            ASSIGN_OR_RETURN(created, store_->CreateSector(txn, input));
                            return created.id;
                          }));
                      ToProto(created, reply);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::ListSectors(grpc::CallbackServerContext* ctx,
                                                            const v1::ListSectorsRequest* request,
                                                            v1::ListSectorsResponse* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                    [&](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
                      ASSIGN_OR_RETURN(std::vector<SectorInfo> sectors, store_->ListSectors());
                      ASSIGN_OR_RETURN(*reply->mutable_next_page_token(),
                                       rpc::TakePage(sectors, request->page_size(),
                                                     request->page_token(),
                                                     [](const SectorInfo& s) { return s.id; }));
                      RETURN_IF_ERROR(RecordRead(call));
                      for (const SectorInfo& s : sectors) ToProto(s, reply->add_sectors());
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::CreateService(
    grpc::CallbackServerContext* ctx, const v1::CreateServiceRequest* request, v1::Service* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
                    [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(RequireRole(caller, call, {v1::ROLE_ADMIN}));
                      const v1::Service& in = request->service();
                      const ServiceInfo input{"", in.name(), in.sector_id(), in.kind()};
                      ServiceInfo created;
                      RETURN_IF_ERROR(CommitAudited(
                          call, [&](storage::Connection& txn) -> absl::StatusOr<std::string> {
                            ASSIGN_OR_RETURN(created, store_->CreateService(txn, input));
                            return created.id;
                          }));
                      ToProto(created, reply);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::ListServices(grpc::CallbackServerContext* ctx,
                                                             const v1::ListServicesRequest* request,
                                                             v1::ListServicesResponse* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                    [&](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
                      ASSIGN_OR_RETURN(
                          ServicePage page,
                          store_->ListServices(request->sector_id(), request->page_size(),
                                               request->page_token()));
                      RETURN_IF_ERROR(RecordRead(call));
                      for (const ServiceInfo& s : page.services) ToProto(s, reply->add_services());
                      reply->set_next_page_token(page.next_page_token);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::AddMember(grpc::CallbackServerContext* ctx,
                                                          const v1::AddMemberRequest* request,
                                                          v1::Member* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(RequireRole(caller, call, {v1::ROLE_ADMIN, v1::ROLE_COORDINATOR}));
        const MemberInfo input = FromProto(request->member());
        if (!caller.HasRole(v1::ROLE_ADMIN)) {
          // A head of service staffs their own service, and cannot create admins.
          if (input.service_id != caller.service_id()) {
            return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                               "a coordinator adds members to their own service only");
          }
          if (std::find(input.roles.begin(), input.roles.end(), v1::ROLE_ADMIN) !=
              input.roles.end()) {
            return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                               "only an admin can grant the admin role");
          }
        }
        // Validation and scrypt run before the write lock is taken.
        ASSIGN_OR_RETURN(NewMember prepared,
                         store_->PrepareMember(input, request->initial_password()));
        MemberInfo created;
        RETURN_IF_ERROR(
            CommitAudited(call, [&](storage::Connection& txn) -> absl::StatusOr<std::string> {
              ASSIGN_OR_RETURN(created, store_->InsertMember(txn, prepared));
              return created.id;
            }));
        common::LogInfo("member added",
                        {{"member_id", created.id}, {"service_id", created.service_id}});
        ToProto(created, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::SetMemberRoles(
    grpc::CallbackServerContext* ctx, const v1::SetMemberRolesRequest* request,
    v1::Member* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(RequireRole(caller, call, {v1::ROLE_ADMIN, v1::ROLE_COORDINATOR}));
        RETURN_IF_ERROR(rpc::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        std::vector<v1::Role> roles;
        for (int r : request->roles()) roles.push_back(static_cast<v1::Role>(r));
        ASSIGN_OR_RETURN(MemberInfo member, store_->GetMember(request->member_id()));
        if (!caller.HasRole(v1::ROLE_ADMIN)) {
          if (member.service_id != caller.service_id()) {
            return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                               "a coordinator manages members of their own service only");
          }
          if (std::find(roles.begin(), roles.end(), v1::ROLE_ADMIN) != roles.end()) {
            return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                               "only an admin can grant the admin role");
          }
        }
        RETURN_IF_ERROR(
            CommitAudited(call, [&](storage::Connection& txn) -> absl::StatusOr<std::string> {
              ASSIGN_OR_RETURN(member.roles, store_->SetMemberRoles(txn, member.id, roles));
              return member.id;
            }));
        ToProto(member, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::RemoveMember(
    grpc::CallbackServerContext* ctx, const v1::RemoveMemberRequest* request,
    v1::Member* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [&](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(RequireRole(caller, call, {v1::ROLE_ADMIN, v1::ROLE_COORDINATOR}));
        RETURN_IF_ERROR(rpc::CheckId("member_id", request->member_id()));
        call.event.object_id = request->member_id();
        ASSIGN_OR_RETURN(MemberInfo member, store_->GetMember(request->member_id()));
        if (!caller.HasRole(v1::ROLE_ADMIN) && member.service_id != caller.service_id()) {
          return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                             "a coordinator removes members of their own service only");
        }
        RETURN_IF_ERROR(
            CommitAudited(call, [&](storage::Connection& txn) -> absl::StatusOr<std::string> {
              RETURN_IF_ERROR(store_->SetMemberActive(txn, member.id, false));
              return member.id;
            }));
        member.active = false;
        ToProto(member, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::Glossary(grpc::CallbackServerContext* ctx,
                                                         const v1::GlossaryRequest* request,
                                                         v1::GlossaryResponse* reply) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                    [&](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
                      ASSIGN_OR_RETURN(std::vector<GlossaryEntry> terms,
                                       store_->Glossary(request->sector_id()));
                      RETURN_IF_ERROR(RecordRead(call));
                      for (const GlossaryEntry& t : terms) {
                        v1::GlossaryTerm* out = reply->add_terms();
                        out->set_acronym(t.acronym);
                        out->set_expansion(t.expansion);
                        out->set_sector_id(t.sector_id);
                        out->set_description(t.description);
                      }
                      return absl::OkStatus();
                    });
}

}  // namespace relais::directory
