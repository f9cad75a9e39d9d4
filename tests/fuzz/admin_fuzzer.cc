// libFuzzer target: one call to relais.v1.AdminService per input, through the
// real handlers of a seeded in-process relaisd. Input layout and the checks
// made: service_fuzz.h.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/service_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return relais::fuzz::FuzzServiceCall("relais.v1.AdminService", data, size);
}
