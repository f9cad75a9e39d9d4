#ifndef RELAIS_TESTS_FUZZ_SEEDED_HOST_H_
#define RELAIS_TESTS_FUZZ_SEEDED_HOST_H_

// A relaisd (host::Host) in this process, on a scratch database, with a small
// seeded world, for the fuzz targets and the soak client. Needs no gtest.
//
// The world: the demo world (demo/seed.h: its services with their stable ids,
// its members with the password kPassword, a 15-year-old accompanied by the
// AMO with three entries and a consent sharing general+family with the SAJ),
// plus a shared health entry on that youth, a handover AMO -> SAJ that the SAJ
// accepted, and a 10-year-old accompanied by the AMO with a pending handover
// AMO -> PMS. Ids other than the services' are random, so inputs name them by
// placeholder ("@youth", "@entry_shared", ...; see Placeholders()).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "demo/seed.h"
#include "grpcpp/grpcpp.h"
#include "services/host/host.h"

namespace relais::fuzz {

// 2026-11-25 09:00 UTC, the fake clock's fixed "now" (as tests/test_env.h), so
// the times inside committed corpus inputs stay meaningful.
absl::Time SeedEpoch();

struct SeededHostOptions {
  // Scratch directory for the database; removed by the destructor. Empty: a
  // fresh one under $RELAIS_FUZZ_DIR, else /dev/shm (no fsync cost), else /tmp.
  std::string dir;
  // false: a FakeClock that stays at SeedEpoch() (tokens never expire; what
  // the fuzz targets use). true: the wall clock (the soak client).
  bool real_clock = false;
  // Where the gRPC server listens (the in-process channel works regardless).
  std::string listen_address = "127.0.0.1:0";
  // HostOptions::keys_dir: empty keeps every key in memory. The corpus
  // generator passes one holding the fixed fuzz audit key (fuzz_keys.h).
  std::string keys_dir;
  // Fast scrypt parameters, as the tests use: logins stay cheap.
  bool fast_scrypt = true;
};

class SeededHost {
 public:
  // Starts the host and seeds the world through its own RPCs. Errors: any
  // status the host or a seeding call returns.
  static absl::StatusOr<std::unique_ptr<SeededHost>> Start(SeededHostOptions options = {});
  // Shuts the host down and removes the scratch directory.
  ~SeededHost();

  SeededHost(const SeededHost&) = delete;
  SeededHost& operator=(const SeededHost&) = delete;

  host::Host& host() { return *host_; }
  const common::Clock& clock() const { return *clock_; }
  // The in-process channel (made once; shared by every caller).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // The seeded logins, in a fixed order (inputs pick one by index: the
  // committed corpus depends on it). All share the password kPassword.
  static const std::vector<std::string>& Logins();
  static constexpr char kPassword[] = "correct horse battery";

  // A fresh token of `login` (one of Logins()); NotFound otherwise.
  absl::StatusOr<std::string> Token(absl::string_view login) const;
  // Tokens the server must refuse: correctly signed but expired, and signed
  // by a key the server does not have (both for amo.camille).
  const std::string& expired_token() const { return expired_token_; }
  const std::string& foreign_token() const { return foreign_token_; }

  // Placeholder -> id of this world: "@svc_amo", "@m_amo.camille", "@youth",
  // "@youth_child", "@guardian_child", "@entry_shared", "@entry_health",
  // "@entry_private", "@consent", "@acc_amo", "@handover", "@handover_pending".
  const std::map<std::string, std::string, std::less<>>& Placeholders() const {
    return placeholders_;
  }

 private:
  SeededHost() = default;
  absl::Status Seed();
  // What the fuzz inputs need beyond the demo world.
  absl::Status SeedHandovers();
  absl::Status MakeRefusedTokens();

  SeededHostOptions options_;
  std::string dir_;
  bool remove_dir_ = false;
  std::unique_ptr<common::FakeClock> fake_clock_;
  const common::Clock* clock_ = nullptr;
  std::unique_ptr<host::Host> host_;
  std::shared_ptr<grpc::Channel> channel_;
  // Seeds the world and issues its members' tokens.
  std::unique_ptr<demo::Seeder> seeder_;
  std::string expired_token_;
  std::string foreign_token_;
  std::map<std::string, std::string, std::less<>> placeholders_;
};

}  // namespace relais::fuzz

#endif  // RELAIS_TESTS_FUZZ_SEEDED_HOST_H_
