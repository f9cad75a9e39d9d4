#ifndef RELAIS_TOOLS_DATAGEN_GENERATOR_H_
#define RELAIS_TOOLS_DATAGEN_GENERATOR_H_

// The data set the scale targets are measured on (docs/performance.md): a
// network of services, their members, and young people with accompaniments,
// consents, handovers, entries and the access log that all of it leaves.
//
// Written through the code the handlers call once a call is allowed: the
// record store (sealing with each youth's key), the care rules
// (care::Accompaniments, Consents, Handovers) and the audit log, one event
// per write in the write's own transaction, as rpc::CommitAllowed does. What
// it skips is the gRPC layer and the access decision, which would only refuse
// nothing at a thousandth of the rate. Reads are represented by their audit
// events alone.
//
// Repeatable: one seed gives the same world (who accompanies whom, which
// consents, which texts, which events), summed up in Report::digest. Ids,
// keys and times are fresh on every run, as they would be in service.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "demo/seed.h"
#include "services/host/host.h"

namespace relais::datagen {

// How much to make. The defaults are issue #13's full set.
struct Sizes {
  int64_t youths = 100'000;
  int64_t services = 300;   // the demo's included
  int64_t members = 2'000;  // the demo's included
  int64_t entries = 1'000'000;
  int64_t consents = 300'000;
  int64_t accompaniments = 150'000;  // first contacts, confirmed, and taken over in handovers
  int64_t handovers = 20'000;
  int64_t audit_events = 10'000'000;  // the demo's and every write's included

  // Every count times `factor`, kept large enough for a network (at least 10
  // services and 3 members a service, one youth).
  Sizes Scaled(double factor) const;
};

struct Options {
  uint64_t seed = 1;
  Sizes sizes;
  // Youths written per transaction: large enough that the fsync is paid
  // rarely, small enough that a crash loses little.
  int youths_per_transaction = 200;
};

struct Report {
  Sizes made;  // what the database holds now
  absl::Duration directory_time;
  absl::Duration care_time;  // youths, accompaniments, consents, handovers, entries
  // The part of care_time spent appending the events that stand for reads.
  absl::Duration reads_time;
  int64_t read_events = 0;
  absl::Duration total_time;
  // FNV-1a over every choice made: equal for equal seeds.
  uint64_t digest = 0;
  // A youth the demo AMO accompanies, with entries amo.camille may read: what
  // deploy/bench.sh points relais-load at.
  std::string amo_youth_id;
};

// Fills `host`'s database, which must hold the demo world of `seeded`
// (demo::Seeder::SeedAll) and nothing generated yet. Errors: any status a
// store or rule returns (the transaction of the batch then rolls back).
absl::StatusOr<Report> Generate(host::Host& host, const demo::World& seeded,
                                const Options& options);

// The report as lines for a person: counts, times and rates.
std::string TextReport(const Report& report);

}  // namespace relais::datagen

#endif  // RELAIS_TOOLS_DATAGEN_GENERATOR_H_
