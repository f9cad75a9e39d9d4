// relais-datagen: fills a fresh database with the data set the scale targets
// are measured on (tools/datagen/generator.h, docs/performance.md), then
// prints what it made and how fast. relaisd serves it afterwards with the same
// --db and --keys_dir.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "demo/seed.h"
#include "services/host/host.h"
#include "tools/datagen/generator.h"

ABSL_FLAG(std::string, db, "", "the SQLite file to create (must not exist)");
ABSL_FLAG(std::string, keys_dir, "", "the keys directory relaisd will be given (created)");
ABSL_FLAG(uint64_t, seed, 1, "the same seed makes the same world");
ABSL_FLAG(double, scale, 1.0, "every count of the full set times this (0.001: a thousandth)");
ABSL_FLAG(int, youths_per_transaction, 200, "youths written in one transaction");

namespace relais::datagen {
namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  std::cerr << "relais-datagen: " << what << ": " << status << "\n";
  return 1;
}

int Main() {
  const std::string db = absl::GetFlag(FLAGS_db);
  const std::string keys = absl::GetFlag(FLAGS_keys_dir);
  if (db.empty() || keys.empty()) {
    return Fail("flags", absl::InvalidArgumentError("--db and --keys_dir are required"));
  }
  if (std::filesystem::exists(db)) {
    return Fail("flags", absl::FailedPreconditionError(
                             absl::StrCat(db, " exists: the generator only fills a new database")));
  }
  Options options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.sizes = Sizes().Scaled(absl::GetFlag(FLAGS_scale));
  options.youths_per_transaction = std::max(1, absl::GetFlag(FLAGS_youths_per_transaction));

  host::HostOptions host_options;
  host_options.db_path = db;
  host_options.keys_dir = keys;
  // Checkpoints while generating would re-verify the growing chain over and
  // over; the host signs one at shutdown, over the whole log.
  host_options.checkpoint_every_events = int64_t{1} << 40;
  host_options.checkpoint_every = absl::Hours(24);
  host_options.sweep_interval = absl::Hours(24);
  absl::StatusOr<std::unique_ptr<host::Host>> host = host::Host::Start(host_options);
  if (!host.ok()) return Fail("start", host.status());
  demo::Seeder seeder(**host);
  if (absl::StatusOr<bool> seeded = seeder.SeedAll(); !seeded.ok() || !*seeded) {
    return Fail("demo world",
                seeded.ok() ? absl::FailedPreconditionError("already seeded") : seeded.status());
  }
  absl::StatusOr<Report> report = Generate(**host, seeder.world(), options);
  if (!report.ok()) return Fail("generate", report.status());
  (*host)->Shutdown();
  std::cout << TextReport(*report) << std::flush;
  return 0;
}

}  // namespace
}  // namespace relais::datagen

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "relais-datagen --db=FILE --keys_dir=DIR [--seed=N] [--scale=F]: the scale data set");
  absl::ParseCommandLine(argc, argv);
  return relais::datagen::Main();
}
