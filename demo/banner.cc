#include "demo/banner.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "demo/seed.h"

namespace relais::demo {
namespace {

std::string LoginExample(absl::string_view address, bool tls, const std::string& client_ca) {
  if (!tls) {
    return absl::StrFormat(
        "Explore the API through reflection, e.g.:\n"
        "  buf curl --protocol grpc --http2-prior-knowledge \\\n"
        "    -d '{\"login\":\"amo.camille\",\"password\":\"%s\"}' \\\n"
        "    http://%s/relais.v1.AuthService/Login\n\n",
        kPassword, address);
  }
  // deploy/make-dev-certs.sh puts the client certificates beside the CA.
  const std::string certs = std::filesystem::path(client_ca).parent_path().string();
  const std::string dir = certs.empty() ? "." : certs;
  return absl::StrFormat(
      "Every call presents the client certificate of the member's service\n"
      "(%s/clients/<service id>.pem and .key: amo.* svc_amo_charleroi, saj.*\n"
      "svc_saj_charleroi, pms.* svc_pms_charleroi, admin and dpo svc_agaj).\n"
      "Explore the API through reflection, e.g.:\n"
      "  buf curl --protocol grpc --cacert %s \\\n"
      "    --cert %s/clients/svc_amo_charleroi.pem \\\n"
      "    --key %s/clients/svc_amo_charleroi.key \\\n"
      "    -d '{\"login\":\"amo.camille\",\"password\":\"%s\"}' \\\n"
      "    https://%s/relais.v1.AuthService/Login\n"
      "then add -H \"Authorization: Bearer <token>\" with the same certificate.\n\n",
      dir, client_ca, dir, dir, kPassword, address);
}

}  // namespace

std::string Banner(absl::string_view address, absl::string_view youth_id, bool tls,
                   const std::string& client_ca) {
  return absl::StrCat(
      absl::StrFormat("\nRelais demo is serving on %s (%s).\n"
                      "Members (password \"%s\"): admin, dpo (auditor), amo.camille, amo.coord,\n"
                      "  saj.sam, saj.coord, pms.pauline, pms.coord.%s\n",
                      address, tls ? "mutual TLS 1.3" : "PLAINTEXT, --insecure_dev, loopback only",
                      kPassword,
                      youth_id.empty() ? "" : absl::StrCat("\nDemo youth id: ", youth_id)),
      LoginExample(address, tls, client_ca));
}

}  // namespace relais::demo
