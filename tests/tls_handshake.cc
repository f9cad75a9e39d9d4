#include "tests/tls_handshake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace relais::testing {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

}  // namespace

std::optional<int> Handshake(int port, int min_version, int max_version, const std::string& ca,
                             const std::string& cert, const std::string& key) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return std::nullopt;
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx.get(), min_version), 1);
  EXPECT_EQ(SSL_CTX_set_max_proto_version(ctx.get(), max_version), 1);
  EXPECT_EQ(SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr), 1);
  EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM), 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  EXPECT_EQ(SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn)), 0);

  // A server refusing the handshake may close first; OpenSSL's write to the
  // closed socket must fail the handshake, not kill the test with SIGPIPE.
  static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  EXPECT_TRUE(sigpipe_ignored);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<int> version;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    SSL_set1_host(ssl.get(), "localhost");
    if (SSL_connect(ssl.get()) == 1) version = SSL_version(ssl.get());
  }
  ERR_clear_error();
  ::close(fd);
  return version;
}

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

host::TlsCredentials DevPki::Server() const {
  return {ReadAll(dir + "/server.pem"), ReadAll(dir + "/server.key"), ca_pem, ""};
}

grpc::SslCredentialsOptions DevPki::Client(const std::string& service) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  options.pem_cert_chain = ReadAll(dir + "/clients/" + service + ".pem");
  options.pem_private_key = ReadAll(dir + "/clients/" + service + ".key");
  return options;
}

DevPki MakeDevPki(const std::string& dir) {
  const std::string command =
      absl::StrCat(RELAIS_SOURCE_DIR, "/deploy/make-dev-certs.sh '", dir, "' >/dev/null 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return {dir, ReadAll(dir + "/ca.pem")};
}

}  // namespace relais::testing
