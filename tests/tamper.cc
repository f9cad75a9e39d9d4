#include "tests/tamper.h"

#include <sqlite3.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace relais::testing {

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string Q(absl::string_view s) { return absl::StrCat("'", s, "'"); }

int64_t Violations(RelaisEnv& env, absl::string_view table) {
  const std::string prefix =
      absl::StrCat("relais_integrity_violations_total{table=\"", table, "\"} ");
  for (absl::string_view line : absl::StrSplit(env.host().metrics().Render(), '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) {
      int64_t n = 0;
      if (absl::SimpleAtoi(line, &n)) return n;
    }
  }
  return -1;
}

}  // namespace relais::testing
