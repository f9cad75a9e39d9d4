#ifndef RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_
#define RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_

#include "access/facts.h"
#include "relais/v1/audit.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/audit/checkpointer.h"
#include "services/care/care_api.h"
#include "services/common/rpc.h"
#include "services/directory/directory_api.h"
#include "services/directory/platform_auditor.h"

namespace relais::audit {

struct AuditServiceOptions {
  // Access reports name the member behind each line ("<name> (<login>)").
  // Off by default: the report goes to the young person, who is told which
  // service acted, not which colleague (relaisd --access_report_names_members).
  bool access_report_names_members = false;
};

// AuditService over the hash-chained log. Querying and verifying the log is for
// auditors only; an access report on one youth is also open to a coordinator of
// a service accompanying that youth, so the youth can be given it (art. 15).
// Reading the log is itself audited. Thread-safe.
//
// Auditor scope (DESIGN.md "Separated duties"): a platform auditor (the DPO,
// directory::IsPlatformAuditor) sees everything. A service auditor's QueryEvents is held
// to events whose actor service is their own (naming another service:
// "wrong_service"); ExportEvents, ListEmergencyAccesses and
// ReviewEmergencyAccess are the platform auditor's only ("role_not_permitted");
// VerifyLog is open to every auditor. An AccessReport holds every line only
// for the platform auditor: anyone else (service auditor, coordinator) gets
// the lines of their own service's accesses.
class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  // Pointers are borrowed and must outlive this object. Without a
  // checkpointer, exports carry no keys and no fresh head checkpoint.
  AuditServiceImpl(AuditLog* log, rpc::CallGate* gate, const directory::DirectoryApi* directory,
                   const access::CareFacts* facts, const care::CareApi* care,
                   Checkpointer* checkpointer = nullptr, AuditServiceOptions options = {})
      : log_(log),
        gate_(gate),
        directory_(directory),
        facts_(facts),
        care_(care),
        checkpointer_(checkpointer),
        options_(options) {}

  grpc::ServerUnaryReactor* QueryEvents(grpc::CallbackServerContext* ctx,
                                        const v1::QueryEventsRequest* req,
                                        v1::QueryEventsResponse* resp) override;
  grpc::ServerUnaryReactor* AccessReport(grpc::CallbackServerContext* ctx,
                                         const v1::AccessReportRequest* req,
                                         v1::AccessReportResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyLog(grpc::CallbackServerContext* ctx,
                                      const v1::VerifyLogRequest* req,
                                      v1::VerifyLogResponse* resp) override;
  // Auditors only; the export is audited (ACTION_EXPORT_AUDIT) before any
  // item is sent. Streams from the database a page at a time.
  grpc::ServerWriteReactor<v1::ExportItem>* ExportEvents(
      grpc::CallbackServerContext* ctx, const v1::ExportEventsRequest* req) override;
  // Break-the-glass review queue (issue #4). Auditors only; both audited.
  grpc::ServerUnaryReactor* ListEmergencyAccesses(grpc::CallbackServerContext* ctx,
                                                  const v1::ListEmergencyAccessesRequest* req,
                                                  v1::ListEmergencyAccessesResponse* resp) override;
  grpc::ServerUnaryReactor* ReviewEmergencyAccess(grpc::CallbackServerContext* ctx,
                                                  const v1::ReviewEmergencyAccessRequest* req,
                                                  v1::EmergencyAccess* resp) override;

 private:
  AuditLog* const log_;
  rpc::CallGate* const gate_;
  const directory::DirectoryApi* const directory_;
  const access::CareFacts* const facts_;  // access report: rule 2
  const care::CareApi* const care_;       // break-the-glass review queue
  Checkpointer* const checkpointer_;
  const AuditServiceOptions options_;
};

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_AUDIT_SERVICE_H_
