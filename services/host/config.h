#ifndef RELAIS_SERVICES_HOST_CONFIG_H_
#define RELAIS_SERVICES_HOST_CONFIG_H_

// relaisd's configuration file: a text-format relais.v1.ServerConfig
// (proto/relais/v1/config.proto documents every setting; deploy/relaisd.textproto
// is a complete example). Precedence: defaults < file < command-line flags.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/config.pb.h"
#include "services/host/host.h"

namespace relais::host {

// Everything relaisd's configuration decides: the host's options and the
// settings main() acts on itself.
struct ServerSettings {
  HostOptions host;
  // PEM files that main() loads into host.tls: all three, or none.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string tls_crl_file;
  // "debug", "info", "warning" or "error".
  std::string log_level = "info";
};

// Largest configuration file accepted, in bytes.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// Parses the text format. A syntax error or an unknown field is
// INVALID_ARGUMENT "config: line L column C: <what>" (the protobuf message
// names the unknown field).
absl::StatusOr<v1::ServerConfig> ParseConfig(absl::string_view text);

// Validates every field present in `config` and, only if all are valid, sets
// them in `settings` (absent fields leave it as it is). An invalid field is
// INVALID_ARGUMENT "config: <field path>: <why>, got <value>", e.g.
// "config: care.self_consent_age: must be between 10 and 18, got 40".
absl::Status ApplyConfig(const v1::ServerConfig& config, ServerSettings* settings);

// A configuration duration: one or more <decimal number><unit> with unit ns,
// us, ms, s, m, h or d (24 h), e.g. "15m", "1h30m", "90d"; or "0". Finite and
// not negative.
absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view text);

// "127.x.y.z:port", "[::1]:port" or "localhost:port": literal loopback
// addresses only, so that a host name such as "127.0.0.1.example.org" is not
// mistaken for one.
bool IsLoopbackAddress(absl::string_view address);

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_CONFIG_H_
