#ifndef RELAIS_TESTS_FUZZ_SERVICE_FUZZ_H_
#define RELAIS_TESTS_FUZZ_SERVICE_FUZZ_H_

// The driver shared by the per-service fuzz targets: one input is one call,
// through the real handlers of a seeded in-process relaisd (seeded_host.h).
//
// Input layout:
//   byte 0   the method: index into the service's methods in declaration
//            order, modulo their count
//   byte 1   the caller, modulo Logins().size() + 3: a seeded member's fresh
//            token (Logins() order), then no token, an expired token, a token
//            signed by a foreign key
//   rest     the serialized request. If it parses as the method's request
//            type, every string field equal to a placeholder ("@youth", ...)
//            is replaced by that id of the world and the message re-serialized;
//            otherwise the raw bytes are sent as they are (the server must cope).
//
// What is checked (a violation aborts, so libFuzzer records the input):
//   - no crash, sanitizer report or hang (a 20 s deadline) in the server;
//   - for a request that parsed: the status is not INTERNAL, UNKNOWN,
//     DATA_LOSS or DEADLINE_EXCEEDED (a malformed request is the client's
//     error, never the server's), and every error carries a relais
//     ErrorDetail with a reason code;
//   - no error message contains the caller's token;
//   - without a valid token only AuthService.Login and PublicKeys succeed;
//     auditors and admins never read a record (RecordService never answers
//     them OK);
//   - every `recycle` inputs (and when the process exits normally) the
//     audit chain verifies; then the world is rebuilt, so the database stays
//     small and state-dependent findings stay reproducible from a fresh world
//     plus at most that many inputs.
// With RELAIS_FUZZ_VERBOSE set, every call and its status is printed.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace relais::fuzz {

// Runs one input against the service `service` ("relais.v1.RecordService").
// Always returns 0 (libFuzzer's convention); aborts on a finding.
int FuzzServiceCall(absl::string_view service, const uint8_t* data, size_t size);

// Builds the input that calls `method` of `service` as `caller` (a login of
// SeededHost::Logins(), or "" for no token) with `request`. For the corpus
// generator. Aborts on an unknown service, method or login.
std::string EncodeServiceInput(absl::string_view service, absl::string_view method,
                               absl::string_view caller, const google::protobuf::Message& request);

}  // namespace relais::fuzz

#endif  // RELAIS_TESTS_FUZZ_SERVICE_FUZZ_H_
