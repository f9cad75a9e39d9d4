#ifndef RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_
#define RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_

// relaisd's transport security: mutual TLS, TLS 1.3 only, every client
// presenting a certificate issued by the deployment's CA and not on its CRL
// (the credentials themselves: tls_material.h).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::host {

// PEM text (not paths) of what the server needs for mutual TLS. All empty means
// plaintext (tests, and relaisd --insecure_dev on loopback).
struct TlsCredentials {
  std::string server_cert_pem;  // the server's certificate, then any intermediates
  std::string server_key_pem;   // its private key
  std::string client_ca_pem;    // the CA(s) whose client certificates are accepted
  std::string crl_pem;          // optional: CRLs of those CAs (see TlsMaterial)

  bool enabled() const {
    return !server_cert_pem.empty() || !server_key_pem.empty() || !client_ca_pem.empty();
  }
};

// Reads the PEM files (the CRL only if `crl_path` is set), each with
// common::ReadTrustedFile: no symbolic links, regular files only, a key file
// that group or others may read refused (FAILED_PRECONDITION), a missing file
// NOT_FOUND; then anything CheckTlsCredentials() refuses.
absl::StatusOr<TlsCredentials> LoadTlsCredentials(const std::string& cert_path,
                                                  const std::string& key_path,
                                                  const std::string& client_ca_path,
                                                  const std::string& crl_path = "");

// INVALID_ARGUMENT unless all three are present and parse: a certificate chain,
// a private key matching its first certificate, and at least one CA
// certificate. Messages name the problem, never key material.
absl::Status CheckTlsCredentials(const TlsCredentials& tls);

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_TLS_CREDENTIALS_H_
