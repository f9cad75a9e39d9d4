#ifndef RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_
#define RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_

// relaisd's transport security: mutual TLS, TLS 1.3 only, every client
// presenting a certificate issued by the deployment's CA.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/server_credentials.h"

namespace relais::host {

// PEM text (not paths) of what the server needs for mutual TLS. All empty means
// plaintext (tests, and relaisd --insecure_dev on loopback).
struct TlsCredentials {
  std::string server_cert_pem;  // the server's certificate, then any intermediates
  std::string server_key_pem;   // its private key
  std::string client_ca_pem;    // the CA(s) whose client certificates are accepted

  bool enabled() const {
    return !server_cert_pem.empty() || !server_key_pem.empty() || !client_ca_pem.empty();
  }
};

// Reads the three PEM files. Refuses a key file that group or others may read
// (FAILED_PRECONDITION), a missing file (NOT_FOUND) and anything
// CheckTlsCredentials() refuses.
absl::StatusOr<TlsCredentials> LoadTlsCredentials(const std::string& cert_path,
                                                  const std::string& key_path,
                                                  const std::string& client_ca_path);

// INVALID_ARGUMENT unless all three are present and parse: a certificate chain,
// a private key matching its first certificate, and at least one CA
// certificate. Messages name the problem, never key material.
absl::Status CheckTlsCredentials(const TlsCredentials& tls);

// Server credentials that require and verify a client certificate
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY) and refuse any
// protocol older than TLS 1.3.
//
// gRPC 1.51's public API has no TLS-version setting and itself pins the
// OpenSSL context to [TLS 1.2, TLS 1.3] (overriding OPENSSL_CONF's
// MinProtocol), so the minimum is raised through the setter libgrpc exports
// for its own SSL server credentials (see the .cc file); the test
// transport_security_test checks that a TLS 1.2 handshake is refused.
// Returns CheckTlsCredentials()'s error, or INTERNAL if gRPC refuses them.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTls13ServerCredentials(
    const TlsCredentials& tls);

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_
