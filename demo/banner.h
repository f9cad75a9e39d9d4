#ifndef RELAIS_DEMO_BANNER_H_
#define RELAIS_DEMO_BANNER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace relais::demo {

// What relaisd --demo prints once serving on `address`: the members and their
// password, the demo youth's id (empty: the demo data was already there, so
// none is shown), and a buf curl call to log in. With `tls`, the client
// certificates deploy/make-dev-certs.sh put beside `client_ca` (the
// --tls_client_ca file) are named.
std::string Banner(absl::string_view address, absl::string_view youth_id, bool tls,
                   const std::string& client_ca);

}  // namespace relais::demo

#endif  // RELAIS_DEMO_BANNER_H_
