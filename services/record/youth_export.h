#ifndef RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_
#define RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_

// RecordService.ExportYouth (GDPR art. 15 and 20): the streamed export of
// everything held on one youth, over gRPC. What is exported, and to whom, is
// YouthExporter's (youth_exporter.h).

#include "grpcpp/grpcpp.h"
#include "relais/v1/record.pb.h"
#include "services/record/youth_exporter.h"

namespace relais::record {

// Starts one ExportYouth call: authenticates, authorises and audits it (one
// ACTION_EXPORT_YOUTH event, allow or deny) before anything is written, then
// streams the items, one write at a time. The reactor deletes itself when
// the call is done.
grpc::ServerWriteReactor<v1::ExportYouthItem>* StartYouthExport(ExportDeps deps,
                                                                grpc::CallbackServerContext* ctx,
                                                                const v1::ExportYouthRequest& req);

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_YOUTH_EXPORT_H_
