#include "bench/bench_world.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace relais::bench {
namespace {

[[noreturn]] void Die(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "relais-bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<World> Build(int youths, bool group_commit) {
  auto world = std::make_unique<World>();
  char dir[] = "/tmp/relais-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) Die("mkdtemp", absl::InternalError("cannot make a directory"));
  world->dir = dir;
  host::HostOptions options;
  options.db_path = absl::StrCat(world->dir, "/relais.db");
  options.db_group_commit = group_commit;
  options.sweep_interval = absl::Hours(24);
  absl::StatusOr<std::unique_ptr<host::Host>> host = host::Host::Start(options);
  if (!host.ok()) Die("start the host", host.status());
  world->host = *std::move(host);
  world->seeder = std::make_unique<demo::Seeder>(*world->host);
  if (absl::StatusOr<bool> seeded = world->seeder->SeedDirectory(); !seeded.ok()) {
    Die("seed the directory", seeded.status());
  }
  for (int i = 0; i < youths; ++i) {
    absl::StatusOr<demo::SeededYouth> youth = world->seeder->AddAccompaniedYouth(
        10 + i % 8, absl::StrCat("Youth ", i), absl::StrCat("Guardian ", i));
    if (!youth.ok()) Die("add a youth", youth.status());
    world->youth_ids.push_back(youth->youth_id);
    for (int e = 0; e < 3; ++e) {
      absl::StatusOr<std::string> entry = world->seeder->AddEntry(
          youth->youth_id, v1::ENTRY_KIND_NOTE, v1::DATA_CATEGORY_GENERAL,
          e == 2 ? v1::VISIBILITY_SERVICE_PRIVATE : v1::VISIBILITY_SHARED,
          absl::StrCat("Entry ", e, ": met the young person at school; next meeting planned."));
      if (!entry.ok()) Die("add an entry", entry.status());
      world->entry_ids.push_back(*entry);
    }
  }
  absl::StatusOr<std::string> token = world->seeder->Token("amo.camille");
  if (!token.ok()) Die("issue a token", token.status());
  world->token = *token;
  return world;
}

std::mutex worlds_mu;
std::map<bool, std::unique_ptr<World>>& Worlds() {
  static auto* worlds = new std::map<bool, std::unique_ptr<World>>;
  return *worlds;
}

}  // namespace

World& GetWorld(int youths, bool group_commit) {
  std::lock_guard<std::mutex> lock(worlds_mu);
  std::unique_ptr<World>& world = Worlds()[group_commit];
  if (world == nullptr) world = Build(youths, group_commit);
  return *world;
}

void EndWorlds() {
  std::lock_guard<std::mutex> lock(worlds_mu);
  for (auto& [unused, world] : Worlds()) {
    world->seeder.reset();
    world->host->Shutdown();
    world->host.reset();
    std::filesystem::remove_all(world->dir);
  }
  Worlds().clear();
}

}  // namespace relais::bench
