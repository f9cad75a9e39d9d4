#include "services/record/youth_export.h"

#include <deque>
#include <utility>

#include "common/status_macros.h"

namespace relais::record {

using rpc::Caller;
using rpc::CallAudit;

namespace {

// One ExportYouth call. Authenticates and begins the export in its
// constructor, then writes one item at a time, asking the exporter for the
// next page of entries only when the previous one has been sent. Deletes
// itself in OnDone().
class YouthExportReactor final : public grpc::ServerWriteReactor<v1::ExportYouthItem> {
 public:
  YouthExportReactor(ExportDeps deps, grpc::CallbackServerContext* ctx,
                     const v1::ExportYouthRequest& req)
      : deps_(deps), ctx_(ctx), exporter_(deps) {
    absl::Status status = Begin(req);
    if (!status.ok()) {
      Finish(rpc::ToGrpc(status));
      return;
    }
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    // Not ok: the client went away or the deadline passed.
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "export interrupted"));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Begin(const v1::ExportYouthRequest& req) {
    // A refused token is audited with the youth id too (when it is a
    // plausible id), so the youth's access report shows the attempt.
    const bool id_ok = rpc::CheckId("youth_id", req.youth_id()).ok();
    absl::StatusOr<Caller> caller =
        deps_.gate->Authenticate(ctx_, v1::ACTION_EXPORT_YOUTH, id_ok ? req.youth_id() : "");
    if (!caller.ok()) return caller.status();  // audited by Authenticate
    CallAudit call{rpc::EventFor(*caller, v1::ACTION_EXPORT_YOUTH)};
    absl::Status status = exporter_.Begin(*caller, call, req, queue_);
    if (!status.ok() && !call.recorded) status = deps_.gate->AuditDenial(call.event, status);
    return status;
  }

  void WriteNext() {
    if (queue_.empty()) {
      absl::Status status = rpc::CheckCallAlive(ctx_);
      if (status.ok()) status = exporter_.Fill(queue_);
      if (!status.ok()) {
        Finish(rpc::ToGrpc(status));
        return;
      }
      if (queue_.empty()) {
        Finish(grpc::Status::OK);
        return;
      }
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&current_);
  }

  const ExportDeps deps_;
  grpc::CallbackServerContext* const ctx_;  // valid until OnDone()
  YouthExporter exporter_;
  std::deque<v1::ExportYouthItem> queue_;  // produced, not yet written
  v1::ExportYouthItem current_;  // being written; must stay put until OnWriteDone
};

}  // namespace

grpc::ServerWriteReactor<v1::ExportYouthItem>* StartYouthExport(
    ExportDeps deps, grpc::CallbackServerContext* ctx, const v1::ExportYouthRequest& req) {
  return new YouthExportReactor(deps, ctx, req);
}

}  // namespace relais::record
