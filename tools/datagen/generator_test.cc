#include "tools/datagen/generator.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace relais::datagen {
namespace {

// A host on a fresh database in the test scratch folder, with the demo world seeded.
class Generated {
 public:
  Generated() {
    std::string dir = ::testing::TempDir() + "/relais-datagen-XXXXXX";
    EXPECT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    host::HostOptions options;
    options.db_path = absl::StrCat(dir_, "/relais.db");
    options.sweep_interval = absl::Hours(24);
    absl::StatusOr<std::unique_ptr<host::Host>> host = host::Host::Start(options);
    EXPECT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    seeder_ = std::make_unique<demo::Seeder>(*host_);
    absl::StatusOr<bool> seeded = seeder_->SeedAll();
    EXPECT_TRUE(seeded.ok() && *seeded);
  }
  ~Generated() {
    seeder_.reset();
    host_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<Report> Run(uint64_t seed, const Sizes& sizes) {
    Options options;
    options.seed = seed;
    options.sizes = sizes;
    options.youths_per_transaction = 16;
    return Generate(*host_, seeder_->world(), options);
  }

  int64_t Rows(absl::string_view table) {
    int64_t n = -1;
    absl::Status s = host_->db().Read([&](storage::Connection& c) -> absl::Status {
      absl::StatusOr<storage::Statement> q =
          c.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table));
      if (!q.ok()) return q.status();
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      n = q->ColumnInt64(0);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return n;
  }

  host::Host& host() { return *host_; }
  demo::Seeder& seeder() { return *seeder_; }

 private:
  std::string dir_;
  std::unique_ptr<host::Host> host_;
  std::unique_ptr<demo::Seeder> seeder_;
};

TEST(Sizes, ScaledKeepsANetworkAndTheFullSetIsTheIssues) {
  const Sizes full;
  EXPECT_EQ(full.entries, 1'000'000);
  EXPECT_EQ(full.audit_events, 10'000'000);
  const Sizes tiny = full.Scaled(0.0001);
  EXPECT_EQ(tiny.youths, 10);
  EXPECT_EQ(tiny.entries, 100);
  EXPECT_GE(tiny.services, 10);
  EXPECT_GE(tiny.members, 3 * tiny.services);
  EXPECT_GE(tiny.accompaniments, tiny.youths);
}

TEST(Generate, WritesTheCountsAskedForWithAnIntactAuditChain) {
  Generated g;
  const int64_t demo_entries = g.Rows("rec_entries");
  const Sizes sizes = Sizes().Scaled(0.0005);
  absl::StatusOr<Report> report = g.Run(1, sizes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->made.youths, sizes.youths);
  EXPECT_EQ(report->made.entries, sizes.entries);
  EXPECT_EQ(report->made.consents, sizes.consents);
  EXPECT_EQ(report->made.accompaniments, sizes.accompaniments);
  EXPECT_EQ(report->made.handovers, sizes.handovers);
  EXPECT_EQ(report->made.services, sizes.services);
  EXPECT_EQ(report->made.audit_events, sizes.audit_events);
  // What the report claims is what the tables hold (the demo's own rows aside).
  EXPECT_EQ(g.Rows("rec_entries") - demo_entries, sizes.entries);
  EXPECT_EQ(g.Rows("rec_youth"), sizes.youths + 1);
  EXPECT_EQ(g.Rows("care_handovers"), sizes.handovers);
  EXPECT_EQ(g.Rows("care_consents"), sizes.consents + 1);
  EXPECT_EQ(g.Rows("care_accompaniments"), sizes.accompaniments + 1);
  EXPECT_EQ(g.Rows("dir_services"), sizes.services);
  absl::StatusOr<audit::VerifyResult> verified = g.host().audit().Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
  EXPECT_EQ(verified->events_checked, sizes.audit_events);
}

TEST(Generate, AGeneratedYouthIsReadAndRefusedByTheAccessRule) {
  Generated g;
  absl::StatusOr<Report> report = g.Run(1, Sizes().Scaled(0.0005));
  ASSERT_TRUE(report.ok()) << report.status();
  const std::string youth = report->amo_youth_id;
  ASSERT_FALSE(youth.empty());

  // The AMO created and accompanies it: its caseworker reads every entry,
  // decrypted with the youth's key, through the real call.
  v1::ListEntriesRequest list;
  list.set_youth_id(youth);
  list.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse entries;
  auto ctx = g.seeder().As("amo.camille");
  ASSERT_TRUE(ctx.ok());
  grpc::Status s = g.seeder().record().ListEntries(ctx->get(), list, &entries);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GT(entries.entries_size(), 0);
  for (const v1::Entry& e : entries.entries()) EXPECT_FALSE(e.body().empty());

  // A demo service that does not accompany it is refused.
  int refused = 0;
  for (const char* login : {"saj.sam", "pms.pauline"}) {
    const std::string service = g.seeder().world().members.at(login).service_id;
    absl::StatusOr<access::AccessFacts> facts = g.host().care_facts().GatherFacts(service, youth);
    ASSERT_TRUE(facts.ok());
    if (facts->accompanying) continue;
    auto as = g.seeder().As(login);
    ASSERT_TRUE(as.ok());
    v1::ListEntriesResponse none;
    EXPECT_EQ(g.seeder().record().ListEntries(as->get(), list, &none).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    ++refused;
  }
  EXPECT_GT(refused, 0);
}

TEST(Generate, TheSameSeedMakesTheSameWorld) {
  const Sizes sizes = Sizes().Scaled(0.0002);
  uint64_t digests[3] = {};
  const uint64_t seeds[3] = {7, 7, 8};
  for (int i = 0; i < 3; ++i) {
    Generated g;
    absl::StatusOr<Report> report = g.Run(seeds[i], sizes);
    ASSERT_TRUE(report.ok()) << report.status();
    digests[i] = report->digest;
  }
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_NE(digests[0], digests[2]);
}

}  // namespace
}  // namespace relais::datagen
