#ifndef RELAIS_TESTS_TLS_HANDSHAKE_H_
#define RELAIS_TESTS_TLS_HANDSHAKE_H_

#include <optional>
#include <string>

#include "grpcpp/security/credentials.h"
#include "services/host/tls_credentials.h"

namespace relais::testing {

// Handshakes with 127.0.0.1:`port` (as "localhost") with OpenSSL directly,
// offering [min_version, max_version] (0: the library's bound) and presenting
// `cert`/`key`. Returns the negotiated version (TLS1_3_VERSION, ...), or nullopt
// if the handshake failed: what gRPC's client API cannot choose.
std::optional<int> Handshake(int port, int min_version, int max_version, const std::string& ca,
                             const std::string& cert, const std::string& key);

// A CA with relaisd's and each demo service's certificate and key, as
// deploy/make-dev-certs.sh makes them into `dir`.
struct DevPki {
  std::string dir;
  std::string ca_pem;
  host::TlsCredentials Server() const;
  // Trusts the CA and presents `service`'s certificate ("svc_amo_charleroi").
  grpc::SslCredentialsOptions Client(const std::string& service) const;
};
DevPki MakeDevPki(const std::string& dir);

}  // namespace relais::testing

#endif  // RELAIS_TESTS_TLS_HANDSHAKE_H_
