#ifndef RELAIS_TOOLS_LOAD_DRIVER_H_
#define RELAIS_TOOLS_LOAD_DRIVER_H_

// Drives relaisd with gRPC's callback API: a closed loop (a fixed number of
// calls in flight, each completion starting the next) or an open loop (calls
// started at a fixed rate whatever the server does, to overload it).

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tools/load/report.h"

namespace relais::load {

// What the calls are about.
struct Target {
  std::string token;
  std::string youth_id;
  std::vector<std::string> entry_ids;  // GetEntry picks among them
};

struct PhaseOptions {
  std::string name;
  Mix mix;
  // Closed loop: calls in flight. Open loop (rate > 0): the most calls in
  // flight; a call due beyond it is not sent and counted as NOT_SENT.
  int concurrency = 64;
  double rate = 0;  // calls started per second; 0: closed loop
  // Calls start until `duration` has passed, or until `count` have started
  // when count > 0.
  absl::Duration duration = absl::Seconds(10);
  int64_t count = 0;
  absl::Duration deadline = absl::Seconds(10);
  int server_pid = 0;  // > 0: sample its CPU and memory around the phase
};

// Runs one phase over `channels` (calls spread over them in turn) and
// returns it measured, latencies sorted.
PhaseResult RunPhase(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     const Target& target, const PhaseOptions& options);

}  // namespace relais::load

#endif  // RELAIS_TOOLS_LOAD_DRIVER_H_
