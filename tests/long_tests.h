#ifndef RELAIS_TESTS_LONG_TESTS_H_
#define RELAIS_TESTS_LONG_TESTS_H_

#include <cstdlib>
#include <string_view>

namespace relais::testing {

// RELAIS_LONG_TESTS=1: the checks with a short form in CI run their long form
// (docs/testing.md, "Long runs").
inline bool LongTests() {
  const char* v = std::getenv("RELAIS_LONG_TESTS");
  return v != nullptr && std::string_view(v) == "1";
}

}  // namespace relais::testing

#endif  // RELAIS_TESTS_LONG_TESTS_H_
