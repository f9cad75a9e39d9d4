#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SERVICE_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SERVICE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/partnership.grpc.pb.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "services/inbox/inbox_api.h"
#include "services/partnership/partnership_store.h"
#include "storage/database.h"

namespace relais::partnership {

// The gRPC face of the partnership conventions and protocols. Every call is
// authenticated and leaves one audit event, allowed or denied (rpc::Serve),
// with the convention or protocol id as object_id, never a text; a change and
// its ALLOW event commit in the same transaction.
//
// Who may do what (beyond the role table, access/roles.cc):
//   ProposeConvention       a coordinator of one of the parties
//                           (else PERMISSION_DENIED "wrong_service"), who
//                           signs for their own service at once
//   SignConvention,         a coordinator of a party, for their own service
//   ReviewConvention,       only ("wrong_service"); not once terminated or
//   TerminateConvention     expired (FAILED_PRECONDITION
//                           "convention_terminated" / "convention_expired";
//                           terminating twice answers the convention as is)
//   CreateProtocol          owned by the caller's service; other services only
//                           under a convention in force that binds them and
//                           the owner (FAILED_PRECONDITION "outside_convention")
//   PublishProtocolVersion  a coordinator of the owner ("wrong_service")
//   AcknowledgeProtocol     a member concerned (their service and one of their
//                           roles are; else PERMISSION_DENIED "not_concerned"),
//                           of the current version ("stale_version") of a
//                           protocol not lapsed ("protocol_lapsed")
//   ProtocolCoverage        the owner's coordinators see every service's line,
//                           a concerned service's coordinators their own
//                           ("wrong_service" otherwise); pending member ids
//                           only for the caller's own service
//   Get*, List*             any member (ACTION_READ_PARTNERSHIP)
//
// Thread-safe. Nothing is owned; everything must outlive the service, and
// `db` must be the database of `store` and of the gate's audit log.
class PartnershipServiceImpl final : public v1::PartnershipService::CallbackService {
 public:
  // `postbox` (may be null: no notices) takes the protocols' notices.
  PartnershipServiceImpl(rpc::CallGate* gate, PartnershipStore* store, storage::Database* db,
                         const directory::DirectoryApi* directory,
                         const directory::MemberRoster* roster,
                         const inbox::Postbox* postbox = nullptr)
      : gate_(gate),
        store_(store),
        db_(db),
        directory_(directory),
        roster_(roster),
        postbox_(postbox) {}

  // Applies the "partnership" migrations.
  static absl::Status Migrate(storage::Database* db);

  // Posts the inbox reminders due now (partnership_notices.cc): conventions
  // whose review date or end is within 30 days, to the parties' coordinators,
  // once per review date and once for the end. Returns how many conventions.
  absl::StatusOr<int> PostReminders();

  grpc::ServerUnaryReactor* ProposeConvention(grpc::CallbackServerContext* ctx,
                                              const v1::ProposeConventionRequest* request,
                                              v1::Convention* reply) override;
  grpc::ServerUnaryReactor* SignConvention(grpc::CallbackServerContext* ctx,
                                           const v1::SignConventionRequest* request,
                                           v1::Convention* reply) override;
  grpc::ServerUnaryReactor* ReviewConvention(grpc::CallbackServerContext* ctx,
                                             const v1::ReviewConventionRequest* request,
                                             v1::Convention* reply) override;
  grpc::ServerUnaryReactor* TerminateConvention(grpc::CallbackServerContext* ctx,
                                                const v1::TerminateConventionRequest* request,
                                                v1::Convention* reply) override;
  grpc::ServerUnaryReactor* GetConvention(grpc::CallbackServerContext* ctx,
                                          const v1::GetConventionRequest* request,
                                          v1::Convention* reply) override;
  grpc::ServerUnaryReactor* ListConventions(grpc::CallbackServerContext* ctx,
                                            const v1::ListConventionsRequest* request,
                                            v1::ListConventionsResponse* reply) override;
  grpc::ServerUnaryReactor* CreateProtocol(grpc::CallbackServerContext* ctx,
                                           const v1::CreateProtocolRequest* request,
                                           v1::Protocol* reply) override;
  grpc::ServerUnaryReactor* PublishProtocolVersion(grpc::CallbackServerContext* ctx,
                                                   const v1::PublishProtocolVersionRequest* request,
                                                   v1::Protocol* reply) override;
  grpc::ServerUnaryReactor* AcknowledgeProtocol(grpc::CallbackServerContext* ctx,
                                                const v1::AcknowledgeProtocolRequest* request,
                                                v1::Protocol* reply) override;
  grpc::ServerUnaryReactor* GetProtocol(grpc::CallbackServerContext* ctx,
                                        const v1::GetProtocolRequest* request,
                                        v1::Protocol* reply) override;
  grpc::ServerUnaryReactor* ListProtocols(grpc::CallbackServerContext* ctx,
                                          const v1::ListProtocolsRequest* request,
                                          v1::ListProtocolsResponse* reply) override;
  grpc::ServerUnaryReactor* ProtocolCoverage(grpc::CallbackServerContext* ctx,
                                             const v1::ProtocolCoverageRequest* request,
                                             v1::ProtocolCoverageResponse* reply) override;

 private:
  // The services a protocol of `owner` may concern: the owner, and the
  // parties of `convention_id` if it is in force and binds the owner.
  absl::Status CheckConcernedServices(storage::Connection& txn,
                                      const google::protobuf::RepeatedPtrField<std::string>& ids,
                                      absl::string_view convention_id,
                                      absl::string_view owner) const;
  // Every id names a service of the directory (NOT_FOUND "service_not_found").
  absl::Status RequireServices(const google::protobuf::RepeatedPtrField<std::string>& ids) const;
  // One service's line of ProtocolCoverage.
  absl::Status CoverageLine(const v1::Protocol& p, absl::string_view service_id,
                            const std::set<std::string>& acknowledged, bool own,
                            v1::ServiceCoverage* out) const;

  // A published version to acknowledge, in the publishing transaction.
  absl::Status NoticeProtocol(storage::Connection& txn, const v1::Protocol& p) const;

  rpc::CallGate* const gate_;
  PartnershipStore* const store_;
  storage::Database* const db_;
  const directory::DirectoryApi* const directory_;
  const directory::MemberRoster* const roster_;
  const inbox::Postbox* const postbox_;
};

// Whether `p` concerns `caller`: their service and one of their roles.
bool Concerns(const v1::Protocol& p, const rpc::Caller& caller);

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SERVICE_H_
