#include "services/record/youth_export.h"

#include <deque>
#include <memory>
#include <utility>

#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/stream_reactor.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;

namespace {

// One ExportYouth call: authenticates and begins the export, then hands
// the exporter's pages to rpc::StreamReactor one at a time.
class YouthExportSource final : public rpc::StreamSource<v1::ExportYouthItem> {
 public:
  YouthExportSource(ExportDeps deps, const v1::ExportYouthRequest& req)
      : deps_(deps), req_(req), exporter_(deps) {}

  absl::Status Begin(grpc::CallbackServerContext* ctx,
                     std::deque<v1::ExportYouthItem>& out) override {
    // A refused token is audited with the youth id too (when it is a
    // plausible id), so the youth's access report shows the attempt.
    const bool id_ok = common::CheckId("youth_id", req_.youth_id()).ok();
    return rpc::BeginStream(*deps_.gate, ctx, v1::ACTION_EXPORT_YOUTH, id_ok ? req_.youth_id() : "",
                            [&](const Caller& caller, CallAudit& call) {
                              return exporter_.Begin(caller, call, req_, out);
                            });
  }

  absl::Status Fill(std::deque<v1::ExportYouthItem>& out) override {
    return exporter_.Fill(out);  // the reactor checks the call is alive first
  }

 private:
  const ExportDeps deps_;
  const v1::ExportYouthRequest req_;
  YouthExporter exporter_;
};

}  // namespace

grpc::ServerWriteReactor<v1::ExportYouthItem>* StartYouthExport(ExportDeps deps,
                                                                grpc::CallbackServerContext* ctx,
                                                                const v1::ExportYouthRequest& req) {
  return rpc::StartStream<v1::ExportYouthItem>(ctx, std::make_unique<YouthExportSource>(deps, req),
                                               "export interrupted");
}

}  // namespace relais::record
