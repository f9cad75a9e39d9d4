#ifndef RELAIS_SERVICES_HOST_TLS_MATERIAL_H_
#define RELAIS_SERVICES_HOST_TLS_MATERIAL_H_

// The TLS material relaisd serves with: the server certificate and key, the
// client CA, and the CRL its client certificates are checked against on every
// call. All of it can be replaced while relaisd runs (SIGHUP).
//
// A gRPC server's credentials are fixed when it starts, and gRPC 1.51's
// reloadable SSL credentials (a certificate-config fetcher) drop the TLS 1.3
// minimum (transport_security_test showed TLS 1.2 accepted). So a new
// certificate, key or client CA is served by a new server on the same port
// (Host::ReloadTls), with credentials made here: Stage() checks the files,
// MakeServerCredentials(staged) makes that server's credentials, Commit()
// makes the material current once the server is up.

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
// Commit(): the next call on any connection is checked against the new CRL.
class TlsMaterial final : public rpc::PeerCertificateCheck {
  struct Parsed;

 public:
  // Material checked by Stage(), not yet current.
  class Staged {
   public:
    // Whether its certificate, key or client CA differ from those served
    // (else only the CRL changes, and no new server is needed).
    bool handshake_changed() const { return handshake_changed_; }

   private:
    friend class TlsMaterial;
    std::shared_ptr<const Parsed> parsed_;
    bool handshake_changed_ = false;
  };

  // CheckTlsCredentials(), and a CRL (if any) that parses, is issued and
  // signed by one of the client CAs and has not passed its next update.
  static absl::StatusOr<std::unique_ptr<TlsMaterial>> Create(TlsCredentials tls,
                                                             const common::Clock* clock);
  ~TlsMaterial() override;

  // Server credentials (TLS 1.3 only, client certificate required and
  // verified against the client CA) with the current material.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials() const;
  // The same with staged material.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
      const Staged& staged) const;

  // Checks `tls` as Create() does. Nothing changes until Commit().
  absl::StatusOr<Staged> Stage(TlsCredentials tls) const;
  // Makes `staged` current: its CRL for the next call of every connection,
  // its certificate, key and client CA as the ones served.
  void Commit(Staged staged);

  // UNAUTHENTICATED "certificate_revoked" if the call's client certificate is
  // on the current CRL. OK for a call without a certificate (plaintext).
  absl::Status Check(const grpc::ServerContextBase& ctx) const override;

  // How many revoked serials the current CRL lists (for the log).
  size_t revoked_count() const;

 private:
  explicit TlsMaterial(const common::Clock* clock) : clock_(clock) {}
  static absl::StatusOr<std::shared_ptr<const Parsed>> Parse(TlsCredentials tls, absl::Time now);

  const common::Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Parsed> current_ ABSL_GUARDED_BY(mu_);
  // Verdicts by SHA-256 of the certificate PEM (32 bytes a key, however long
  // the chain); cleared on Commit() and when full.
  mutable absl::flat_hash_map<std::string, bool> verdicts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace relais::host

#endif  // RELAIS_SERVICES_HOST_TLS_MATERIAL_H_
