#ifndef RELAIS_SERVICES_INBOX_INBOX_WATCH_H_
#define RELAIS_SERVICES_INBOX_INBOX_WATCH_H_

// InboxService.Watch: a stream that stays open. Each watcher sends what its
// member's inbox holds after its cursor, then waits; a poller thread checks
// the inbox's last sequence every `poll` and wakes the watchers when it grew,
// so an item is sent shortly after its transaction committed, never before
// (a notice posted in a transaction that rolls back is never seen).

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/inbox.pb.h"
#include "services/common/rpc.h"
#include "services/inbox/inbox_store.h"

namespace relais::inbox {

class Watcher;

// Owns the poller thread; watchers register with it. Thread-safe.
class WatchHub {
 public:
  WatchHub(const InboxStore* store, absl::Duration poll);
  // Ends every open stream (OK: the client resumes with its last cursor) and
  // stops the poller.
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Starts a Watch call for `member_id` from `after` (ending once caught up
  // if asked); the reactor deletes itself.
  grpc::ServerWriteReactor<v1::InboxItem>* Start(std::string member_id, int64_t after,
                                                 bool until_caught_up);
  // Ends every open stream with OK, e.g. before the server shuts down.
  void CloseAll();

  // Watcher's registration.
  void Add(Watcher* w);
  void Remove(Watcher* w);
  const InboxStore& store() const { return *store_; }

 private:
  void Poll();

  const InboxStore* const store_;
  const absl::Duration poll_;
  const int64_t start_;  // the last sequence when the hub was made
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::set<Watcher*> watchers_;
  std::thread poller_;
};

}  // namespace relais::inbox

#endif  // RELAIS_SERVICES_INBOX_INBOX_WATCH_H_
