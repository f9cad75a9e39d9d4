#include "observability/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "storage/row_mac.h"

namespace relais::observability {
namespace {

// Upper bounds, in seconds, of the latency buckets (+Inf is implied).
constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                               0.25,  0.5,    1,     2.5,  5,     10};
constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

// Label values are method names and codes, but escape anyway.
std::string Label(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string Number(double v) { return absl::StrFormat("%.17g", v); }

constexpr absl::string_view kFindYouthMethod = "/relais.v1.RecordService/FindYouth";

// The outcome of a FindYouth reply, or "" when it was no look-up.
absl::string_view FindYouthOutcome(grpc::StatusCode code, absl::string_view reason) {
  if (code == grpc::StatusCode::OK) return "found";
  if (code == grpc::StatusCode::NOT_FOUND && reason == "youth_not_found") return "not_found";
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED && reason == "rate_limited") {
    return "rate_limited";
  }
  return "";
}

// A method a client names is a label only if the server has it: a client
// spraying made-up paths would otherwise grow the series without bound.
std::string MethodLabel(absl::string_view method) {
  absl::string_view m = method;
  if (!absl::ConsumePrefix(&m, "/")) return std::string(kUnknownMethodLabel);
  const size_t slash = m.find('/');
  if (slash == absl::string_view::npos) return std::string(kUnknownMethodLabel);
  const std::string full = absl::StrCat(m.substr(0, slash), ".", m.substr(slash + 1));
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full) == nullptr) {
    return std::string(kUnknownMethodLabel);
  }
  return std::string(method);
}

}  // namespace

void Metrics::OnRpcDone(absl::string_view method, grpc::StatusCode code, absl::string_view reason,
                        absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  Histogram& h = rpcs_[{MethodLabel(method), std::string(GrpcCodeName(code))}];
  if (h.buckets.empty()) h.buckets.assign(kBucketCount, 0);
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  h.sum += seconds;
  ++h.count;
  if (!reason.empty()) {
    // Reason codes are the server's own, but bound them all the same.
    auto it = decisions_.find(reason);
    if (it == decisions_.end() && decisions_.size() >= kMaxReasonLabels) {
      it = decisions_.try_emplace(std::string(kOtherReasonLabel), 0).first;
    } else if (it == decisions_.end()) {
      it = decisions_.try_emplace(std::string(reason), 0).first;
    }
    ++it->second;
  }
  if (method == kFindYouthMethod) {
    if (absl::string_view outcome = FindYouthOutcome(code, reason); !outcome.empty()) {
      ++find_youth_[std::string(outcome)];
    }
  }
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

void Metrics::AddCounter(std::string name, std::string help, std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "counter"});
}

std::string Metrics::Render() const {
  std::vector<Gauge> gauges;
  std::string out;
  {
    absl::MutexLock lock(&mu_);
    gauges = gauges_;
    out +=
        "# HELP relais_rpc_requests_total RPCs finished, by method and gRPC status code.\n"
        "# TYPE relais_rpc_requests_total counter\n";
    for (const auto& [key, h] : rpcs_) {
      absl::StrAppend(&out, "relais_rpc_requests_total{method=\"", Label(key.first), "\",code=\"",
                      key.second, "\"} ", h.count, "\n");
    }
    out +=
        "# HELP relais_rpc_latency_seconds RPC latency, by method and gRPC status code.\n"
        "# TYPE relais_rpc_latency_seconds histogram\n";
    for (const auto& [key, h] : rpcs_) {
      const std::string labels =
          absl::StrCat("method=\"", Label(key.first), "\",code=\"", key.second, "\"");
      int64_t cumulative = 0;
      for (size_t i = 0; i < kBucketCount; ++i) {
        cumulative += h.buckets[i];
        absl::StrAppend(&out, "relais_rpc_latency_seconds_bucket{", labels, ",le=\"",
                        Number(kBuckets[i]), "\"} ", cumulative, "\n");
      }
      absl::StrAppend(&out, "relais_rpc_latency_seconds_bucket{", labels, ",le=\"+Inf\"} ", h.count,
                      "\n", "relais_rpc_latency_seconds_sum{", labels, "} ", Number(h.sum), "\n",
                      "relais_rpc_latency_seconds_count{", labels, "} ", h.count, "\n");
    }
    out +=
        "# HELP relais_access_decisions_total Replies by access decision: \"allowed\" or the "
        "reason code of the refusal.\n"
        "# TYPE relais_access_decisions_total counter\n";
    for (const auto& [reason, n] : decisions_) {
      absl::StrAppend(&out, "relais_access_decisions_total{reason=\"", Label(reason), "\"} ", n,
                      "\n");
    }
    out +=
        "# HELP relais_find_youth_lookups_total FindYouth look-ups by national number, by "
        "outcome: found, not_found or rate_limited.\n"
        "# TYPE relais_find_youth_lookups_total counter\n";
    // Every outcome, zeros included, so that a rate can be computed from the start.
    for (const char* outcome : {"found", "not_found", "rate_limited"}) {
      auto it = find_youth_.find(outcome);
      absl::StrAppend(&out, "relais_find_youth_lookups_total{outcome=\"", outcome, "\"} ",
                      it == find_youth_.end() ? 0 : it->second, "\n");
    }
  }
  // Rows refused by their MAC (storage/row_mac.h), by table: a fixed set.
  out +=
      "# HELP relais_integrity_violations_total Stored access facts refused because their MAC "
      "was missing or wrong, by table.\n"
      "# TYPE relais_integrity_violations_total counter\n";
  for (const auto& [table, n] : storage::IntegrityViolationCounts()) {
    absl::StrAppend(&out, "relais_integrity_violations_total{table=\"", Label(table), "\"} ", n,
                    "\n");
  }
  for (const Gauge& g : gauges) {
    const double v = g.read();
    if (v < 0) continue;
    absl::StrAppend(&out, "# HELP ", g.name, " ", g.help, "\n# TYPE ", g.name, " ", g.type, "\n",
                    g.name, " ", Number(v), "\n");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, std::function<std::string()> render) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address ", address, " is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1 ||
      (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address ", address, " is not a loopback address (127.x.x.x or localhost)"));
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 16) != 0) {
    const std::string err = strerror(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", address, ": ", err));
  }
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  auto server = absl::WrapUnique(new MetricsHttpServer(fd, ntohs(sa.sin_port), std::move(render)));
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

MetricsHttpServer::MetricsHttpServer(int fd, int port, std::function<std::string()> render)
    : fd_(fd), port_(port), render_(std::move(render)) {}

MetricsHttpServer::~MetricsHttpServer() {
  Stop();
  ::close(fd_);
}

void MetricsHttpServer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void MetricsHttpServer::Loop() {
  while (!stop_) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Serve(client);
    ::close(client);
  }
}

void MetricsHttpServer::Serve(int client) {
  // Read the request head (at most 8 KiB, at most 2 s).
  std::string request;
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{.fd = client, .events = POLLIN, .revents = 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return;
    char buf[1024];
    const ssize_t n = ::read(client, buf, sizeof(buf));
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string status = "404 Not Found";
  std::string body = "not found\n";
  std::string type = "text/plain";
  if (absl::StartsWith(request, "GET /metrics ") || absl::StartsWith(request, "GET /metrics?")) {
    status = "200 OK";
    body = render_();
    type = "text/plain; version=0.0.4; charset=utf-8";
  }
  const std::string reply =
      absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                   "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  size_t sent = 0;
  while (sent < reply.size()) {
    const ssize_t n = ::send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace relais::observability
