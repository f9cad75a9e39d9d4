#include "services/inbox/inbox_watch.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"

namespace relais::inbox {

// Items read from the store a batch at a time.
constexpr int kBatch = 100;

// One open Watch call. Its own mutex orders the hub's wake-ups against gRPC's
// write completions; the hub's mutex is never taken while holding it.
class Watcher final : public grpc::ServerWriteReactor<v1::InboxItem> {
 public:
  Watcher(WatchHub* hub, std::string member_id, int64_t after, bool until_caught_up)
      : hub_(hub),
        member_id_(std::move(member_id)),
        until_caught_up_(until_caught_up),
        after_(after) {}

  void Open() {
    hub_->Add(this);
    Wake();
  }

  const std::string& member_id() const { return member_id_; }

  // New items may be there: send them unless a write is in flight (its
  // completion continues).
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || writing_) return;
    WriteNextLocked();
  }

  // Ends the stream with OK (server shutdown): the client resumes elsewhere.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status::OK);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (finished_) return;  // closed while this write was in flight
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch interrupted"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  void WriteNextLocked() {
    if (queue_.empty()) {
      absl::StatusOr<std::vector<v1::InboxItem>> items =
          hub_->store().List(member_id_, after_, kBatch);
      if (!items.ok()) {
        common::LogWarning("inbox watch read failed", {{"status", items.status().ToString()}});
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "inbox unavailable: resume"));
        return;
      }
      for (v1::InboxItem& item : *items) queue_.push_back(std::move(item));
      if (queue_.empty()) {
        if (until_caught_up_) FinishLocked(grpc::Status::OK);
        return;  // idle until the hub wakes us
      }
      absl::StatusOr<int64_t> last = ParseCursor("cursor", queue_.back().cursor());
      if (last.ok()) after_ = *last;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  WatchHub* const hub_;
  const std::string member_id_;
  const bool until_caught_up_;
  std::mutex mu_;
  int64_t after_;  // the last sequence read from the store
  std::deque<v1::InboxItem> queue_;
  v1::InboxItem current_;  // being written; stays put until OnWriteDone
  bool writing_ = false;
  bool finished_ = false;
};

namespace {

// Where the poll starts, before any stream opens: what is already posted is
// each watcher's backlog, read when it opens.
int64_t StartingSequence(const InboxStore& store) {
  absl::StatusOr<int64_t> last = store.LastSequence();
  return last.ok() ? *last : 0;
}

}  // namespace

WatchHub::WatchHub(const InboxStore* store, absl::Duration poll)
    : store_(store), poll_(poll), start_(StartingSequence(*store)), poller_([this] { Poll(); }) {}

WatchHub::~WatchHub() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  poller_.join();
  CloseAll();
}

grpc::ServerWriteReactor<v1::InboxItem>* WatchHub::Start(std::string member_id, int64_t after,
                                                         bool until_caught_up) {
  auto* w = new Watcher(this, std::move(member_id), after, until_caught_up);
  w->Open();
  return w;
}

void WatchHub::CloseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Watcher* w : watchers_) w->Close();
}

void WatchHub::Add(Watcher* w) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.insert(w);
}

void WatchHub::Remove(Watcher* w) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(w);
}

void WatchHub::Poll() {
  int64_t seen = start_;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(poll_));
    if (stopping_ || watchers_.empty()) continue;
    lock.unlock();
    absl::StatusOr<InboxStore::Posted> posted = store_->PostedAfter(seen);
    lock.lock();
    if (!posted.ok() || posted->last == seen) continue;
    seen = posted->last;
    // Under the hub's lock, so no watcher is deleted meanwhile (OnDone waits).
    // Only the members posted to: a watcher that opened meanwhile read its backlog.
    for (Watcher* w : watchers_) {
      if (posted->member_ids.count(w->member_id()) > 0) w->Wake();
    }
  }
}

}  // namespace relais::inbox
