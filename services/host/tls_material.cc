#include "services/host/tls_material.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

// Declared by no installed header, exported by libgrpc.so.29 (gRPC 1.51): the
// object grpc_ssl_server_credentials_create_with_options() returns is of this class,
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

struct TlsMaterial::Parsed {
  TlsCredentials pem;
  // (issuer, serial) of every revoked certificate, as DER bytes.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> revoked;
  size_t revoked_count = 0;

  ~Parsed() { OPENSSL_cleanse(pem.server_key_pem.data(), pem.server_key_pem.size()); }
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

BioPtr MemBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string NameDer(const X509_NAME* name) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_NAME(name, &der);
  if (n <= 0) return std::string();
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string SerialDer(const ASN1_INTEGER* serial) {
  unsigned char* der = nullptr;
  const int n = i2d_ASN1_INTEGER(serial, &der);
  if (n <= 0) return std::string();
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// Every CRL in `pem` must be issued and signed by one of `cas` and still
// current at `now`; their revoked serials are added to `out`.
absl::Status ReadCrls(absl::string_view pem, const std::vector<X509Ptr>& cas, absl::Time now,
                      absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>& out,
                      size_t& count) {
  BioPtr bio = MemBio(pem);
  int crls = 0;
  while (bio != nullptr) {
    CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (crl == nullptr) break;
    ++crls;
    const X509* issuer = nullptr;
    for (const X509Ptr& ca : cas) {
      if (X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl.get())) == 0) {
        EVP_PKEY* key = X509_get0_pubkey(ca.get());
        if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) issuer = ca.get();
      }
    }
    if (issuer == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError("a CRL is not issued and signed by one of the client CAs");
    }
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
    time_t at = absl::ToTimeT(now);
    if (next != nullptr && X509_cmp_time(next, &at) <= 0) {
      return absl::InvalidArgumentError("a CRL has passed its next update: fetch a fresh one");
    }
    auto& serials = out[NameDer(X509_CRL_get_issuer(crl.get()))];
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; revoked != nullptr && i < sk_X509_REVOKED_num(revoked); ++i) {
      const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
      if (serials.insert(SerialDer(X509_REVOKED_get0_serialNumber(r))).second) ++count;
    }
  }
  ERR_clear_error();  // the end of the text reads as an error
  if (crls == 0) return absl::InvalidArgumentError("the CRL file holds no PEM CRL");
  return absl::OkStatus();
}

// Wraps the C credentials, which this gRPC's C++ API cannot make, for
// grpc::ServerBuilder::AddListeningPort. Owns one reference of `creds_`.
class Tls13ServerCredentials final : public grpc::ServerCredentials {
 public:
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

constexpr size_t kMaxVerdicts = 4096;

// The cache key of a certificate: its PEM's SHA-256 (the PEM is what gRPC
// hands over, and the same certificate always comes as the same text).
std::string Sha256(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return std::string();  // never cached: see Check()
  }
  return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsMaterial::Parsed>> TlsMaterial::Parse(TlsCredentials tls,
                                                                              absl::Time now) {
  RETURN_IF_ERROR(CheckTlsCredentials(tls));
  auto parsed = std::make_shared<Parsed>();
  if (!tls.crl_pem.empty()) {
    std::vector<X509Ptr> cas;
    BioPtr bio = MemBio(tls.client_ca_pem);
    while (bio != nullptr) {
      X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (ca == nullptr) break;
      cas.emplace_back(ca);
    }
    ERR_clear_error();
    RETURN_IF_ERROR(ReadCrls(tls.crl_pem, cas, now, parsed->revoked, parsed->revoked_count));
  }
  parsed->pem = std::move(tls);
  return parsed;
}

absl::StatusOr<std::unique_ptr<TlsMaterial>> TlsMaterial::Create(TlsCredentials tls,
                                                                 const common::Clock* clock) {
  std::unique_ptr<TlsMaterial> material(new TlsMaterial(clock));
  ASSIGN_OR_RETURN(std::shared_ptr<const Parsed> parsed, Parse(std::move(tls), clock->Now()));
  absl::MutexLock lock(&material->mu_);
  material->current_ = std::move(parsed);
  return material;
}

TlsMaterial::~TlsMaterial() = default;

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsMaterial::MakeServerCredentials()
    const {
  Staged current;
  {
    absl::MutexLock lock(&mu_);
    current.parsed_ = current_;
  }
  return MakeServerCredentials(current);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsMaterial::MakeServerCredentials(
    const Staged& staged) const {
  auto creds = std::make_shared<Tls13ServerCredentials>();
  RETURN_IF_ERROR(creds->Init(staged.parsed_->pem));
  return creds;
}

absl::StatusOr<TlsMaterial::Staged> TlsMaterial::Stage(TlsCredentials tls) const {
  Staged staged;
  ASSIGN_OR_RETURN(staged.parsed_, Parse(std::move(tls), clock_->Now()));
  const TlsCredentials& next = staged.parsed_->pem;
  absl::MutexLock lock(&mu_);
  staged.handshake_changed_ = next.server_cert_pem != current_->pem.server_cert_pem ||
                              next.server_key_pem != current_->pem.server_key_pem ||
                              next.client_ca_pem != current_->pem.client_ca_pem;
  return staged;
}

void TlsMaterial::Commit(Staged staged) {
  std::shared_ptr<const Parsed> old;  // its key is cleansed outside the lock
  absl::MutexLock lock(&mu_);
  old = std::move(current_);
  current_ = std::move(staged.parsed_);
  verdicts_.clear();
}

size_t TlsMaterial::revoked_count() const {
  absl::MutexLock lock(&mu_);
  return current_->revoked_count;
}

absl::Status TlsMaterial::Check(const grpc::ServerContextBase& ctx) const {
  const std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return absl::OkStatus();
  const std::vector<grpc::string_ref> pems =
      auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::OkStatus();  // no certificate: the transport refused it already
  const absl::string_view pem(pems.front().data(), pems.front().size());
  std::string digest = Sha256(pem);  // a microsecond or two: simpler than locking twice
  std::shared_ptr<const Parsed> parsed;
  {
    absl::MutexLock lock(&mu_);
    if (current_->revoked_count == 0) return absl::OkStatus();
    if (auto it = verdicts_.find(digest); it != verdicts_.end()) {
      return it->second ? absl::OkStatus()
                        : rpc::Unauthenticated(v1::ACCESS_REASON_CERTIFICATE_REVOKED,
                                               "the client certificate has been revoked");
    }
    parsed = current_;
  }
  BioPtr bio = MemBio(pem);
  X509Ptr cert(bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  bool good = cert != nullptr;
  if (good) {
    auto issuer = parsed->revoked.find(NameDer(X509_get_issuer_name(cert.get())));
    good = issuer == parsed->revoked.end() ||
           !issuer->second.contains(SerialDer(X509_get0_serialNumber(cert.get())));
  }
  {
    absl::MutexLock lock(&mu_);
    if (current_ == parsed && !digest.empty()) {
      if (verdicts_.size() >= kMaxVerdicts) verdicts_.clear();
      verdicts_.emplace(std::move(digest), good);
    }
  }
  if (good) return absl::OkStatus();
  return rpc::Unauthenticated(v1::ACCESS_REASON_CERTIFICATE_REVOKED,
                              "the client certificate has been revoked");
}

}  // namespace relais::host
