#ifndef RELAIS_OBSERVABILITY_METRICS_H_
#define RELAIS_OBSERVABILITY_METRICS_H_

// Prometheus metrics of relaisd (text exposition format 0.0.4), served over
// plain HTTP/1.1 on a loopback address of their own. They hold method names,
// status codes and reason codes only: never ids or content.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "observability/request_log.h"

namespace relais::observability {

// Series:
//   relais_rpc_requests_total{method,code}            counter
//   relais_rpc_latency_seconds{method,code}           histogram
//   relais_access_decisions_total{reason}             counter (per RPC reply:
//       "allowed", or the ErrorDetail reason code of the refusal)
//   relais_find_youth_lookups_total{outcome}          counter: FindYouth replies
//       "found" (OK), "not_found" (youth_not_found) or "rate_limited"; other
//       refusals (role, malformed number) are not look-ups
//   Label values are bounded: a method the server does not have is "unknown",
//   and past kMaxReasonLabels distinct reasons further ones count as "other".
//   plus the gauges added with AddGauge() (relaisd: relais_audit_chain_length,
//   relais_database_bytes) and counters added with AddCounter() (relaisd:
//   relais_audit_checkpoint_refusals_total, relais_database_writes_total,
//   relais_database_write_groups_total). Thread-safe.
inline constexpr absl::string_view kUnknownMethodLabel = "unknown";
inline constexpr absl::string_view kOtherReasonLabel = "other";
inline constexpr size_t kMaxReasonLabels = 200;

class Metrics final : public RpcObserver {
 public:
  void OnRpcDone(absl::string_view method, grpc::StatusCode code, absl::string_view reason,
                 absl::Duration latency) override;
  // `read` is called at each scrape, outside the metrics lock; a negative
  // value leaves the gauge out of that scrape.
  void AddGauge(std::string name, std::string help, std::function<double()> read);
  // The same for a counter kept elsewhere (e.g. the audit checkpointer's
  // refusals): rendered with TYPE counter; `read` must never decrease.
  void AddCounter(std::string name, std::string help, std::function<double()> read);
  // The whole exposition.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<int64_t> buckets;  // cumulative at render time; raw here
    double sum = 0;
    int64_t count = 0;
  };
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
    const char* type = "gauge";
  };
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, Histogram> rpcs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t, std::less<>> decisions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> find_youth_ ABSL_GUARDED_BY(mu_);
  std::vector<Gauge> gauges_ ABSL_GUARDED_BY(mu_);
};

// A minimal HTTP/1.1 responder on its own thread: GET /metrics returns
// `render()`, anything else 404; one request per connection. Loopback
// addresses only ("127.x.x.x:port", "localhost:port"; port 0 picks one).
class MetricsHttpServer {
 public:
  // InvalidArgument for a non-loopback or malformed address, Unavailable if it
  // cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, std::function<std::string()> render);
  ~MetricsHttpServer();  // Stop()
  void Stop();           // idempotent; joins the thread
  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port, std::function<std::string()> render);
  void Loop();
  void Serve(int client);

  const int fd_;
  const int port_;
  const std::function<std::string()> render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace relais::observability

#endif  // RELAIS_OBSERVABILITY_METRICS_H_
