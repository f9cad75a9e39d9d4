#ifndef RELAIS_SERVICES_HOST_TLS_MATERIAL_H_
#define RELAIS_SERVICES_HOST_TLS_MATERIAL_H_

// The TLS material relaisd serves with: the server certificate and key, the
// client CA, and the CRL its client certificates are checked against on every
// call, which can be replaced while relaisd runs (SIGHUP).
//
// The certificate, key and client CA are fixed at start: gRPC 1.51's
// reloadable SSL credentials (a certificate-config fetcher) ignore the TLS 1.3
// minimum and accept TLS 1.2 handshakes (transport_security_test showed it), so
// renewing those takes a restart; Replace() says when one is needed.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "services/common/rpc.h"
#include "services/host/tls_credentials.h"

namespace relais::host {

// Thread-safe. Calls in flight and open connections are kept across a
// Replace(): the next call on any connection is checked against the new CRL.
class TlsMaterial final : public rpc::PeerCertificateCheck {
 public:
  // CheckTlsCredentials(), and a CRL (if any) that parses, is issued and
  // signed by one of the client CAs and has not passed its next update.
  static absl::StatusOr<std::unique_ptr<TlsMaterial>> Create(TlsCredentials tls,
                                                             const common::Clock* clock);
  ~TlsMaterial() override;

  // Server credentials (TLS 1.3 only, client certificate required and
  // verified against the client CA) with the material given to Create().
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials();

  // Checks `tls` as Create() does, then makes its CRL current. True if its
  // certificate, key or client CA differ from those served: they take effect
  // at the next start. On error nothing changes.
  absl::StatusOr<bool> Replace(TlsCredentials tls);

  // UNAUTHENTICATED "certificate_revoked" if the call's client certificate is
  // on the current CRL. OK for a call without a certificate (plaintext).
  absl::Status Check(const grpc::ServerContextBase& ctx) const override;

  // How many revoked serials the current CRL lists (for the log).
  size_t revoked_count() const;

 private:
  struct Parsed;
  explicit TlsMaterial(const common::Clock* clock) : clock_(clock) {}
  static absl::StatusOr<std::shared_ptr<const Parsed>> Parse(TlsCredentials tls,
                                                             absl::Time now);

  const common::Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Parsed> serving_ ABSL_GUARDED_BY(mu_);  // the handshakes'
  std::shared_ptr<const Parsed> current_ ABSL_GUARDED_BY(mu_);  // the CRL's
  // Verdicts by certificate PEM; cleared on Replace() and when full.
  mutable absl::flat_hash_map<std::string, bool> verdicts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_TLS_MATERIAL_H_
