#ifndef RELAIS_BENCH_BENCH_WORLD_H_
#define RELAIS_BENCH_BENCH_WORLD_H_

// The data the benchmarks run on: a relaisd host in this process on a fresh
// database under /tmp, seeded with the demo directory and N accompanied
// youths with three entries each, through the real calls (demo::Seeder).

#include <memory>
#include <string>
#include <vector>

#include "demo/seed.h"
#include "services/host/host.h"

namespace relais::bench {

struct World {
  std::string dir;
  std::unique_ptr<host::Host> host;
  std::unique_ptr<demo::Seeder> seeder;
  std::vector<std::string> youth_ids;
  std::vector<std::string> entry_ids;  // readable by amo.camille
  std::string token;                   // amo.camille's
};

// Built on first use with `youths` youths; the same world afterwards. With
// `group_commit` false, a second world of its own (for the comparison).
// Exits the process with a message if it cannot be built.
World& GetWorld(int youths, bool group_commit = true);
// Stops every world's host and deletes its files.
void EndWorlds();

}  // namespace relais::bench

#endif  // RELAIS_BENCH_BENCH_WORLD_H_
