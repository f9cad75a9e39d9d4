#ifndef RELAIS_TESTS_TAMPER_H_
#define RELAIS_TESTS_TAMPER_H_

// What the tampering tests do as an intruder with write access to the
// database file but no key.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "tests/test_env.h"

namespace relais::testing {

// Runs `sql` on a connection of its own, as an intruder with file access would.
void Sql(const std::string& path, const std::string& sql);

// `s` as an SQL string literal (test values hold no quote).
std::string Q(absl::string_view s);

// relais_integrity_violations_total{table="<table>"} as scraped; -1 if absent.
int64_t Violations(RelaisEnv& env, absl::string_view table);

}  // namespace relais::testing

#endif  // RELAIS_TESTS_TAMPER_H_
