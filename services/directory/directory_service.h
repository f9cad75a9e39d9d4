#ifndef RELAIS_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_
#define RELAIS_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_

#include <initializer_list>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/directory.grpc.pb.h"
#include "services/auth_store/revocation_store.h"
#include "services/common/rpc.h"
#include "services/directory/directory_store.h"
#include "services/directory/service_profiles.h"
#include "storage/database.h"

namespace relais::directory {

// The gRPC face of the directory. Every call is authenticated and leaves one
// audit event, allowed or denied (rpc::Serve); a change and its ALLOW event
// commit in the same transaction, so there is no unaudited change.
//
// Who may do what:
//   CreateSector, CreateService  admin (ACTION_MANAGE_DIRECTORY)
//   AddMember, SetMemberRoles,   admin; or a coordinator for a member of their
//   RemoveMember                 own service (else "wrong_service") who holds
//                                neither ADMIN nor AUDITOR (else
//                                "role_not_permitted"). Separated duties: nobody
//                                changes their own roles or removes themselves
//                                ("separation_of_duties"); ADMIN is never granted
//                                or taken away here, not even by an admin
//                                (relais-admin does it), and only an admin
//                                grants or takes away AUDITOR ("role_not_permitted").
//   ResetPassword                as SetMemberRoles, for a member who is not an
//                                admin (relais-admin resets admins) and not
//                                oneself ("separation_of_duties")
//   SetMemberRoles,              step-up: a login of the last 5 minutes
//   ResetPassword                (rpc::CallGate::RequireRecentLogin)
//   CreateService                never sets Service.platform (host-side only)
//   RemoveMember                 refuses a member who is the referent of an
//                                accompaniment not yet ended
//                                ("referent_reassignment_required") unless the
//                                caller, a coordinator of the same service, asks
//                                to take those over (Departures, same transaction)
//   SetMemberRoles, RemoveMember also revoke every token of the member, in the
//                                same transaction: their next call answers
//                                "token_revoked" (a fresh token has the change)
//   ListSectors, ListServices,   any authenticated member (ACTION_READ_DIRECTORY);
//   Glossary, SearchServices     a Service carries its profile, review_overdue
//                                computed at read time (service_profiles.h)
//   UpdateServiceProfile         admin, or a coordinator of that very service
//                                (else "wrong_service"); the platform service's
//                                profile only an admin ("role_not_permitted").
//                                Stamped reviewed by the caller at the clock's
//                                now (ACTION_MANAGE_DIRECTORY, object_id: the
//                                service)
//   DefineTerm                   admin (ACTION_MANAGE_DIRECTORY, object_id: the
//                                sector; the term and text never audited)
//
// Thread-safe. `gate`, `store`, `db` and `sessions` are not owned and must
// outlive the service; `db` must be the database `store`, `sessions` and the
// gate's audit log use.
class DirectoryServiceImpl final : public v1::DirectoryService::CallbackService {
 public:
  // `one_time_password_lifetime`: how long the one-time passwords of
  // AddMember and ResetPassword stay valid.
  // `departures` (borrowed; may be null when no other service keeps members'
  // duties, as in the directory's own tests) settles a removal. `clock`
  // (borrowed; null: the wall clock) stamps profile reviews and definitions
  // and says when a review is overdue.
  DirectoryServiceImpl(rpc::CallGate* gate, DirectoryStore* store, storage::Database* db,
                       auth_store::MemberSessions* sessions,
                       absl::Duration one_time_password_lifetime = kDefaultOneTimePasswordLifetime,
                       const Departures* departures = nullptr, const common::Clock* clock = nullptr)
      : gate_(gate),
        store_(store),
        db_(db),
        sessions_(sessions),
        one_time_password_lifetime_(one_time_password_lifetime),
        departures_(departures),
        clock_(clock != nullptr ? clock : &common::RealClock()),
        profiles_(db) {}

  grpc::ServerUnaryReactor* CreateSector(grpc::CallbackServerContext* ctx,
                                         const v1::CreateSectorRequest* request,
                                         v1::Sector* reply) override;
  grpc::ServerUnaryReactor* ListSectors(grpc::CallbackServerContext* ctx,
                                        const v1::ListSectorsRequest* request,
                                        v1::ListSectorsResponse* reply) override;
  grpc::ServerUnaryReactor* CreateService(grpc::CallbackServerContext* ctx,
                                          const v1::CreateServiceRequest* request,
                                          v1::Service* reply) override;
  grpc::ServerUnaryReactor* ListServices(grpc::CallbackServerContext* ctx,
                                         const v1::ListServicesRequest* request,
                                         v1::ListServicesResponse* reply) override;
  grpc::ServerUnaryReactor* SetMemberRoles(grpc::CallbackServerContext* ctx,
                                           const v1::SetMemberRolesRequest* request,
                                           v1::Member* reply) override;
  grpc::ServerUnaryReactor* RemoveMember(grpc::CallbackServerContext* ctx,
                                         const v1::RemoveMemberRequest* request,
                                         v1::Member* reply) override;
  grpc::ServerUnaryReactor* AddMember(grpc::CallbackServerContext* ctx,
                                      const v1::AddMemberRequest* request,
                                      v1::AddMemberResponse* reply) override;
  grpc::ServerUnaryReactor* ResetPassword(grpc::CallbackServerContext* ctx,
                                          const v1::ResetPasswordRequest* request,
                                          v1::ResetPasswordResponse* reply) override;
  grpc::ServerUnaryReactor* Glossary(grpc::CallbackServerContext* ctx,
                                     const v1::GlossaryRequest* request,
                                     v1::GlossaryResponse* reply) override;
  // directory_profiles.cc: profiles, search, shared definitions.
  grpc::ServerUnaryReactor* UpdateServiceProfile(grpc::CallbackServerContext* ctx,
                                                 const v1::UpdateServiceProfileRequest* request,
                                                 v1::Service* reply) override;
  grpc::ServerUnaryReactor* SearchServices(grpc::CallbackServerContext* ctx,
                                           const v1::SearchServicesRequest* request,
                                           v1::SearchServicesResponse* reply) override;
  grpc::ServerUnaryReactor* DefineTerm(grpc::CallbackServerContext* ctx,
                                       const v1::DefineTermRequest* request,
                                       v1::Definition* reply) override;

 private:
  // RemoveMember's settlement of `member`'s referrals, in its transaction.
  absl::Status SettleReferrals(storage::Connection& txn, const rpc::Caller& caller,
                               const MemberInfo& member, bool reassign_to_caller,
                               rpc::CallAudit& call);
  // Sets the profile (with review_overdue at the clock's now) of each of
  // `services` that has one (directory_profiles.cc).
  absl::Status AddProfiles(google::protobuf::RepeatedPtrField<v1::Service>& services) const;

  rpc::CallGate* const gate_;
  DirectoryStore* const store_;
  storage::Database* const db_;
  auth_store::MemberSessions* const sessions_;
  const absl::Duration one_time_password_lifetime_;
  const Departures* const departures_;
  const common::Clock* const clock_;
  const ServiceProfiles profiles_;
};

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_
