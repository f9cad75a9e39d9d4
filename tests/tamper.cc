#include "tests/tamper.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "storage/postgres_backup.h"
#include "storage/testing/fresh_database.h"
#include "tests/relaisd_process.h"

namespace relais::testing {

void Sql(const std::string& path, const std::string& sql) {
  const absl::StatusOr<std::string> done = storage::testing::RawSql(path, sql);
  EXPECT_TRUE(done.ok()) << done.status();
}

std::string SqlText(const std::string& db, const std::string& sql) {
  const absl::StatusOr<std::string> value = storage::testing::RawSql(db, sql);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::string();
}

int64_t SqlInt(const std::string& db, const std::string& sql) {
  const std::string text = SqlText(db, sql);
  if (text == "t" || text == "f") return text == "t" ? 1 : 0;  // a PostgreSQL boolean
  int64_t n = -1;
  return absl::SimpleAtoi(text, &n) ? n : -1;
}

int64_t UnsealedRows(const std::string& db, absl::string_view table, absl::string_view column) {
  if (storage::testing::OnPostgres()) {
    // The column's type is BYTEA: a text value cannot be stored in it at all.
    return SqlInt(
        db, absl::StrCat("SELECT COUNT(*) FROM information_schema.columns WHERE "
                         "table_name = '",
                         table, "' AND column_name = '", column, "' AND data_type <> 'bytea'"));
  }
  return SqlInt(
      db, absl::StrCat("SELECT COUNT(*) FROM ", table, " WHERE typeof(", column, ") <> 'blob'"));
}

std::string Q(absl::string_view s) { return absl::StrCat("'", s, "'"); }

int64_t Violations(RelaisEnv& env, absl::string_view table) {
  const std::string prefix =
      absl::StrCat("relais_integrity_violations_total{table=\"", table, "\"} ");
  for (absl::string_view line : absl::StrSplit(env.host().metrics().Render(), '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(line, &n)) return -1;
      auto before = env.violations_at_start().find(std::string(table));
      return before == env.violations_at_start().end() ? n : n - before->second;
    }
  }
  return -1;
}

namespace {

// Every file under `dir` (or `dir` itself), concatenated.
std::string AllBytesUnder(const std::string& dir) {
  std::string all;
  // One read per file: a byte-wise copy of a base backup takes a minute under sanitizers.
  auto add = [&all](const std::filesystem::path& file) {
    std::error_code error;
    const uintmax_t size = std::filesystem::file_size(file, error);
    if (error) return;
    std::ifstream in(file, std::ios::binary);
    const size_t at = all.size();
    all.resize(at + size);
    in.read(all.data() + at, static_cast<std::streamsize>(size));
    all.resize(at + static_cast<size_t>(in.gcount()));
  };
  if (std::filesystem::is_regular_file(dir)) {
    add(dir);
    return all;
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) add(e.path());
  }
  return all;
}

}  // namespace

std::string BackupBytesNow(RelaisEnv& env) {
  if (!storage::testing::OnPostgres()) {
    const std::string& db = env.db_path();
    std::string all = AllBytesUnder(db);
    if (std::filesystem::exists(db + "-wal")) all += AllBytesUnder(db + "-wal");
    return all;
  }
  const std::string tool = storage::PostgresToolPath("pg_basebackup");
  const std::string dir = FreshPath("base_backup");
  const CommandResult r = RunCommand(tool,
                                     {"-d", storage::testing::PostgresServerUri(), "-D", dir, "-X",
                                      "stream", "-c", "fast", "--no-sync"},
                                     {}, "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string all = AllBytesUnder(dir);
  std::filesystem::remove_all(dir);
  return all;
}

std::string SchemaFileBytes(RelaisEnv& env) {
  if (!storage::testing::OnPostgres()) return "";
  const std::string& db = env.db_path();
  Sql(db, "CHECKPOINT");
  const std::string dir = SqlText(db, "SHOW data_directory");
  const std::string files =
      SqlText(db,
              "SELECT string_agg(pg_relation_filepath(c.oid), ',') FROM pg_class c "
              "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
              "AND c.relkind IN ('r', 'i') OR c.oid IN (SELECT reltoastrelid FROM pg_class t JOIN "
              "pg_namespace m ON m.oid = t.relnamespace WHERE m.nspname = current_schema())");
  std::string all;
  for (absl::string_view file : absl::StrSplit(files, ',', absl::SkipEmpty())) {
    const std::string path = absl::StrCat(dir, "/", file);
    if (std::filesystem::exists(path)) all += AllBytesUnder(path);
  }
  return all;
}

}  // namespace relais::testing
