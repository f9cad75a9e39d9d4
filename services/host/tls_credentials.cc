#include "services/host/tls_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

// Declared by no installed header, exported by libgrpc.so.29 (gRPC 1.51): the
// object grpc_ssl_server_credentials_create_ex() returns is of this class,
// whose non-virtual setter raises the minimum version its TSI handshaker
// factory passes to SSL_CTX_set_min_proto_version(). The public C++ API of this
// gRPC (SslServerCredentialsOptions, experimental::TlsServerCredentialsOptions)
// has no such setting (it arrived with TlsCredentialsOptions::set_min_tls_version
// in later releases). If a gRPC upgrade drops the symbol the link fails, loudly;
// if it stops honouring it, transport_security_test's TLS 1.2 test fails.
class grpc_ssl_server_credentials {
 public:
  void set_min_tls_version(grpc_tls_version min_tls_version);
};

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

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Wraps the C credentials, which this gRPC's C++ API cannot make, for
// grpc::ServerBuilder::AddListeningPort. Owns one reference of `creds_`.
class Tls13ServerCredentials final : public grpc::ServerCredentials {
 public:
  // The base class has initialised gRPC by the time the body runs, as the C
  // API requires.
  Tls13ServerCredentials() = default;
  ~Tls13ServerCredentials() override {
    if (creds_ != nullptr) grpc_server_credentials_release(creds_);
  }

  absl::Status Init(const TlsCredentials& tls) {
    grpc_ssl_pem_key_cert_pair pair{tls.server_key_pem.c_str(), tls.server_cert_pem.c_str()};
    creds_ = grpc_ssl_server_credentials_create_ex(
        tls.client_ca_pem.c_str(), &pair, 1,
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, nullptr);
    if (creds_ == nullptr) return absl::InternalError("gRPC refused the TLS credentials");
    reinterpret_cast<grpc_ssl_server_credentials*>(creds_)->set_min_tls_version(
        grpc_tls_version::TLS1_3);
    return absl::OkStatus();
  }

  // relaisd authenticates calls in rpc::CallGate, not with a metadata processor.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    common::LogError("SetAuthMetadataProcessor is not supported on relaisd's TLS credentials");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_ = nullptr;
};

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
                                                  const std::string& client_ca_path) {
  struct stat st;
  if (::stat(key_path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", key_path, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_path, " is readable by group or others; chmod 600 it"));
  }
  TlsCredentials tls;
  ASSIGN_OR_RETURN(tls.server_cert_pem, ReadFile(cert_path));
  ASSIGN_OR_RETURN(tls.server_key_pem, ReadFile(key_path));
  ASSIGN_OR_RETURN(tls.client_ca_pem, ReadFile(client_ca_path));
  RETURN_IF_ERROR(CheckTlsCredentials(tls));
  return tls;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTls13ServerCredentials(
    const TlsCredentials& tls) {
  RETURN_IF_ERROR(CheckTlsCredentials(tls));
  auto creds = std::make_shared<Tls13ServerCredentials>();
  RETURN_IF_ERROR(creds->Init(tls));
  return creds;
}

}  // namespace relais::host
