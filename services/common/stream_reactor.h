#ifndef RELAIS_SERVICES_COMMON_STREAM_REACTOR_H_
#define RELAIS_SERVICES_COMMON_STREAM_REACTOR_H_

// The one server-streaming reactor of the exports (audit export, youth
// export, backup): the call is authorised and audited before anything is
// written, then items are produced a batch at a time, only once the previous
// ones are sent, so a large stream never sits in memory. Cancellation and the
// deadline are checked before each batch.

#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "services/common/rpc.h"

namespace relais::rpc {

// What a StreamReactor streams. Called on gRPC callback threads, one call at
// a time (never concurrently); destroyed when the call is done, however it
// ended (release resources in the destructor).
template <typename T>
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Authenticates, authorises and audits the call (see BeginStream), and may
  // queue the first items into `out` (empty). `ctx` stays valid until the
  // source is destroyed. A failure ends the call with that status.
  virtual absl::Status Begin(grpc::CallbackServerContext* ctx, std::deque<T>& out) = 0;
  // Queues the next items into `out`, which is empty (all sent); queues none
  // once the stream is complete. A failure
  // ends the call with that status (the items sent so far stay sent).
  virtual absl::Status Fill(std::deque<T>& out) = 0;
};

// Serve()'s first half for a stream: authenticates (a refusal is audited by
// the gate, with `youth_id` if given), runs `authorise(const Caller&,
// CallAudit&) -> absl::Status`, which appends the ALLOW event itself and sets
// call.recorded, and audits the denial if it failed without recording.
template <typename Authorise>
absl::Status BeginStream(CallGate& gate, grpc::CallbackServerContext* ctx, v1::Action action,
                         absl::string_view youth_id, Authorise&& authorise) {
  absl::StatusOr<Caller> caller = gate.Authenticate(ctx, action, youth_id);
  if (!caller.ok()) return caller.status();  // audited by Authenticate
  CallAudit call{EventFor(*caller, action)};
  absl::Status status;
  try {
    status = authorise(*caller, call);
  } catch (const std::exception& e) {
    status = UncaughtException(e.what());
  } catch (...) {
    status = UncaughtException("not a std::exception");
  }
  if (!status.ok() && !call.recorded) status = gate.AuditDenial(call.event, status);
  return status;
}

// Streams a StreamSource's items. Made by StartStream(); deletes itself (and
// its source) in OnDone().
template <typename T>
class StreamReactor final : public grpc::ServerWriteReactor<T> {
 public:
  // `interrupted` is the CANCELLED message when a write fails (the client
  // went away or the deadline passed), e.g. "export interrupted".
  StreamReactor(grpc::CallbackServerContext* ctx, std::unique_ptr<StreamSource<T>> source,
                absl::string_view interrupted)
      : ctx_(ctx), source_(std::move(source)), interrupted_(interrupted) {
    const absl::Status status = source_->Begin(ctx_, queue_);
    if (!status.ok()) {
      this->Finish(ToGrpc(status));
      return;
    }
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, interrupted_));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (queue_.empty()) {
      absl::Status status = CheckCallAlive(ctx_);
      if (status.ok()) status = source_->Fill(queue_);
      if (!status.ok()) {
        this->Finish(ToGrpc(status));
        return;
      }
      if (queue_.empty()) {
        this->Finish(grpc::Status::OK);
        return;
      }
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    this->StartWrite(&current_);
  }

  grpc::CallbackServerContext* const ctx_;  // valid until OnDone()
  const std::unique_ptr<StreamSource<T>> source_;
  const std::string interrupted_;
  std::deque<T> queue_;
  T current_;  // being written; must stay put until OnWriteDone
};

// Starts a streaming call over `source`; returns the reactor to hand to gRPC.
template <typename T>
grpc::ServerWriteReactor<T>* StartStream(grpc::CallbackServerContext* ctx,
                                         std::unique_ptr<StreamSource<T>> source,
                                         absl::string_view interrupted) {
  return new StreamReactor<T>(ctx, std::move(source), interrupted);
}

}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_STREAM_REACTOR_H_
