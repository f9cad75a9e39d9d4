#ifndef RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_
#define RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_

#include "relais/v1/audit.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/care/care_api.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"

namespace relais::audit {

// AuditService over the hash-chained log. Querying and verifying the log is for
// auditors only; an access report on one youth is also open to a coordinator of
// a service accompanying that youth, so the youth can be given it (art. 15).
// Reading the log is itself audited. Thread-safe.
class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  // Pointers are borrowed and must outlive this object.
  AuditServiceImpl(AuditLog* log, rpc::CallGate* gate, const directory::DirectoryApi* directory,
                   const care::CareApi* care)
      : log_(log), gate_(gate), directory_(directory), care_(care) {}

  grpc::ServerUnaryReactor* QueryEvents(grpc::CallbackServerContext* ctx,
                                        const v1::QueryEventsRequest* req,
                                        v1::QueryEventsResponse* resp) override;
  grpc::ServerUnaryReactor* AccessReport(grpc::CallbackServerContext* ctx,
                                         const v1::AccessReportRequest* req,
                                         v1::AccessReportResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyLog(grpc::CallbackServerContext* ctx,
                                      const v1::VerifyLogRequest* req,
                                      v1::VerifyLogResponse* resp) override;

 private:
  AuditLog* const log_;
  rpc::CallGate* const gate_;
  const directory::DirectoryApi* const directory_;
  const care::CareApi* const care_;
};

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_
