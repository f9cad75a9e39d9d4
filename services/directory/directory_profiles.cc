// DirectoryService's calls about what services do (issue #14): profiles,
// their search, the glossary and the sectors' shared definitions. Who may do
// what: directory_service.h.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/directory/directory_service.h"

namespace relais::directory {
namespace {

void ToProto(const ServiceProfile& in, absl::Time now, v1::ServiceProfile* out) {
  out->set_mission(in.mission);
  out->set_offer(in.offer);
  out->set_min_age(in.min_age);
  out->set_max_age(in.max_age);
  for (const std::string& n : in.needs) out->add_needs(n);
  for (const std::string& c : in.communes) out->add_communes(c);
  for (const std::string& l : in.languages) out->add_languages(l);
  out->set_contact(in.contact);
  out->set_opening_hours(in.opening_hours);
  out->set_reviewed_by_member_id(in.reviewed_by_member_id);
  *out->mutable_reviewed_at() = common::ToProto(in.reviewed_at);
  out->set_review_overdue(ReviewOverdue(in, now));
}

// The caller's fields; the review stamp and the overdue flag are the server's.
ServiceProfile FromProto(const v1::ServiceProfile& in) {
  ServiceProfile out;
  out.mission = in.mission();
  out.offer = in.offer();
  out.min_age = in.min_age();
  out.max_age = in.max_age();
  out.needs.assign(in.needs().begin(), in.needs().end());
  out.communes.assign(in.communes().begin(), in.communes().end());
  out.languages.assign(in.languages().begin(), in.languages().end());
  out.contact = in.contact();
  out.opening_hours = in.opening_hours();
  return out;
}

void ToProto(const ServiceInfo& in, v1::Service* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_sector_id(in.sector_id);
  out->set_kind(in.kind);
  out->set_platform(in.platform);
}

void ToProto(const Definition& in, v1::Definition* out) {
  out->set_term(in.term);
  out->set_sector_id(in.sector_id);
  out->set_text(in.text);
  *out->mutable_updated_at() = common::ToProto(in.updated_at);
}

// The platform operator's service (admins, the DPO: it has no coordinator)
// is described by an admin only.
absl::Status MayProfile(const rpc::Caller& caller, const ServiceInfo& service) {
  if (service.platform && !caller.HasRole(v1::ROLE_ADMIN)) {
    return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                       "only an admin describes the platform operator's service");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DirectoryServiceImpl::AddProfiles(
    google::protobuf::RepeatedPtrField<v1::Service>& services) const {
  std::vector<std::string> ids;
  for (const v1::Service& s : services) ids.push_back(s.id());
  ASSIGN_OR_RETURN(const auto profiles, profiles_.Get(ids));
  const absl::Time now = clock_->Now();
  for (v1::Service& s : services) {
    auto it = profiles.find(s.id());
    if (it != profiles.end()) ToProto(it->second, now, s.mutable_profile());
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::UpdateServiceProfile(
    grpc::CallbackServerContext* ctx, const v1::UpdateServiceProfileRequest* request,
    v1::Service* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.UpdateServiceProfile"));
        RETURN_IF_ERROR(common::CheckId("service_id", request->service_id()));
        call.event.object_id = request->service_id();
        // Another service's coordinator is refused before the id is looked up.
        if (!caller.HasRole(v1::ROLE_ADMIN) && caller.service_id() != request->service_id()) {
          return rpc::Denied(v1::ACCESS_REASON_WRONG_SERVICE,
                             "a coordinator describes their own service only");
        }
        ASSIGN_OR_RETURN(const ServiceInfo service, store_->GetService(request->service_id()));
        RETURN_IF_ERROR(MayProfile(caller, service));
        if (!request->has_profile()) {
          return common::InvalidField("profile", "field_required", "is required");
        }
        // Checked before the write lock is taken; Put checks again.
        ASSIGN_OR_RETURN(const ServiceProfile input, CheckProfile(FromProto(request->profile())));
        const absl::Time now = clock_->Now();
        ServiceProfile stored;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(stored,
                               profiles_.Put(txn, service.id, input, caller.member_id(), now));
              return absl::OkStatus();
            }));
        common::LogInfo("service profile reviewed",
                        {{"service_id", service.id}, {"member_id", caller.member_id()}});
        ToProto(service, reply);
        ToProto(stored, now, reply->mutable_profile());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::SearchServices(
    grpc::CallbackServerContext* ctx, const v1::SearchServicesRequest* request,
    v1::SearchServicesResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.SearchServices"));
        ASSIGN_OR_RETURN(const size_t page_size,
                         rpc::PageSize(request->page_size(), rpc::kServicePages));
        ProfileQuery query{.need = request->need(),
                           .commune = request->commune(),
                           .sector_id = request->sector_id(),
                           .kind = request->kind()};
        if (request->has_age()) query.age = request->age();
        ASSIGN_OR_RETURN(ProfiledPage page,
                         profiles_.Search(query, page_size, request->page_token()));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        const absl::Time now = clock_->Now();
        for (const ProfiledService& s : page.services) {
          v1::Service* out = reply->add_services();
          ToProto(s.service, out);
          ToProto(s.profile, now, out->mutable_profile());
        }
        reply->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::DefineTerm(grpc::CallbackServerContext* ctx,
                                                           const v1::DefineTermRequest* request,
                                                           v1::Definition* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_MANAGE_DIRECTORY,
      [=, this](const rpc::Caller& caller, rpc::CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "DirectoryService.DefineTerm"));
        const v1::Definition& in = request->definition();
        // The sector is the object; the term and the text are words, never audited.
        if (common::IsPrintableId(in.sector_id()) &&
            in.sector_id().size() <= common::kMaxIdLength) {
          call.event.object_id = in.sector_id();
        }
        const Definition input{in.term(), in.sector_id(), in.text()};
        const absl::Time now = clock_->Now();
        Definition stored;
        RETURN_IF_ERROR(rpc::CommitAllowed(
            *db_, *gate_->audit(), call, [&](storage::Connection& txn) -> absl::Status {
              ASSIGN_OR_RETURN(stored, profiles_.Define(txn, input, now));
              return absl::OkStatus();
            }));
        ToProto(stored, reply);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::Glossary(grpc::CallbackServerContext* ctx,
                                                         const v1::GlossaryRequest* request,
                                                         v1::GlossaryResponse* reply) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_DIRECTORY,
      [=, this](const rpc::Caller&, rpc::CallAudit& call) -> absl::Status {
        const std::string& sector_id = request->sector_id();
        // Glossary checks the sector id and that it exists.
        ASSIGN_OR_RETURN(std::vector<GlossaryEntry> terms, store_->Glossary(sector_id));
        ASSIGN_OR_RETURN(std::vector<SectorInfo> sectors, store_->ListSectors());
        ASSIGN_OR_RETURN(std::vector<Definition> definitions, profiles_.Definitions(sector_id));
        RETURN_IF_ERROR(rpc::RecordAllowed(*gate_->audit(), call));
        for (const GlossaryEntry& t : terms) {
          v1::GlossaryTerm* out = reply->add_terms();
          out->set_acronym(t.acronym);
          out->set_expansion(t.expansion);
          out->set_sector_id(t.sector_id);
          out->set_description(t.description);
        }
        for (const SectorInfo& s : sectors) {
          if (!sector_id.empty() && s.id != sector_id) continue;
          v1::Sector* out = reply->add_sectors();
          out->set_id(s.id);
          out->set_name(s.name);
        }
        for (const Definition& d : definitions) ToProto(d, reply->add_definitions());
        return absl::OkStatus();
      });
}

}  // namespace relais::directory
