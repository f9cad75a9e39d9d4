#include "services/host/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/trusted_file.h"

namespace relais::host {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Refuses to prompt for a passphrase: relaisd runs unattended.
int NoPassphrase(char*, int, int, void*) { return -1; }

BioPtr MemBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates of a PEM text, in order.
std::vector<X509Ptr> ReadCertificates(absl::string_view pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) return certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return certs;
}

// Far above any real chain, key or CRL; keeps a wrong path from filling memory.
constexpr size_t kMaxPemBytes = 4 << 20;

}  // namespace

absl::Status CheckTlsCredentials(const TlsCredentials& tls) {
  if (tls.server_cert_pem.empty() || tls.server_key_pem.empty() || tls.client_ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs the server certificate, its key and the client CA, all three");
  }
  std::vector<X509Ptr> chain = ReadCertificates(tls.server_cert_pem);
  if (chain.empty()) {
    return absl::InvalidArgumentError("the server certificate file holds no PEM certificate");
  }
  BioPtr key_bio = MemBio(tls.server_key_pem);
  PkeyPtr key(key_bio == nullptr
                  ? nullptr
                  : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError("the server key file holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the server key does not match the server certificate");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(chain.front().get())) <= 0) {
    return absl::InvalidArgumentError("the server certificate has expired");
  }
  if (ReadCertificates(tls.client_ca_pem).empty()) {
    return absl::InvalidArgumentError("the client CA file holds no PEM certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsCredentials> LoadTlsCredentials(const std::string& cert_path,
                                                  const std::string& key_path,
                                                  const std::string& client_ca_path,
                                                  const std::string& crl_path) {
  TlsCredentials tls;
  ASSIGN_OR_RETURN(tls.server_key_pem,
                   common::ReadTrustedFile(key_path, kMaxPemBytes, /*owner_only=*/true));
  ASSIGN_OR_RETURN(tls.server_cert_pem, common::ReadTrustedFile(cert_path, kMaxPemBytes, false));
  ASSIGN_OR_RETURN(tls.client_ca_pem, common::ReadTrustedFile(client_ca_path, kMaxPemBytes, false));
  if (!crl_path.empty()) {
    ASSIGN_OR_RETURN(tls.crl_pem, common::ReadTrustedFile(crl_path, kMaxPemBytes, false));
  }
  RETURN_IF_ERROR(CheckTlsCredentials(tls));
  return tls;
}

}  // namespace relais::host
