#ifndef RELAIS_DEMO_SEED_H_
#define RELAIS_DEMO_SEED_H_

// The demo world, in one place: relaisd --demo seeds it, and so do the fuzz
// harness and the soak driver (tests/fuzz/seeded_host.h), which add what their
// inputs need on top of it.
//
// The world: services named after those of the Chantier 5 report (an AMO, a
// SAJ, a PMS centre, a CPAS, a prevention service, a MADO, a mental-health
// service, the AGAJ) with stable ids and profiles (demo/profiles.h), members
// of every role, and a 15-year-old accompanied by the AMO with entries and a
// consent; a partnership convention between the AMO and the PMS centre signed
// by both coordinators, a current protocol under it and a lapsed one. Youth
// data and the convention go through the host's own gRPC services, so they
// are checked and audited like any other call (only the lapsed protocol is
// written through the store, the API refusing a review date in the past).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "relais/v1/care.grpc.pb.h"
#include "relais/v1/partnership.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/directory/directory_store.h"
#include "services/host/host.h"

namespace relais::demo {

// Every demo member's password (the demo is for a loopback server only). It is
// a lasting password set host-side, not a one-time one, so docs/api.md's
// walkthrough can log in directly; it still passes the password policy
// (DirectoryStore::PrepareMember checks it), and being published it must never
// protect real data.
inline constexpr char kPassword[] = "demo-relais-2026";

// What Seeder has seeded, by name.
struct World {
  // Service key ("amo", "saj", "pms", "cpas", "prev", "mado", "ssm", "agaj")
  // -> service id ("svc_amo_charleroi", ...).
  std::map<std::string, std::string, std::less<>> service_ids;
  // Login ("admin", "dpo", "amo.camille", "amo.coord", "saj.sam", "saj.coord",
  // "pms.pauline", "pms.coord") -> the member.
  std::map<std::string, directory::MemberInfo, std::less<>> members;
  // The 15-year-old, their guardian, the AMO's accompaniment of them.
  std::string youth_id;
  std::string guardian_id;
  std::string accompaniment_id;
  // Their entries, in this order: a shared general note, a shared family
  // appointment, a general note private to the AMO.
  std::vector<std::string> entry_ids;
  // The youth's consent: the AMO shares general and family entries with the
  // SAJ, for coordination and handover, for 182 days.
  std::string consent_id;
  // The AMO–PMS convention (general and education, coordination and handover,
  // 60-day overlap), signed by amo.coord and pms.coord.
  std::string convention_id;
  // The AMO's protocols: the current one under the convention (AMO and PMS),
  // then a lapsed one (AMO only).
  std::vector<std::string> protocol_ids;
};

// A youth Seeder added, accompanied by the AMO.
struct SeededYouth {
  std::string youth_id;
  std::string guardian_id;
  std::string accompaniment_id;
};

// Seeds the demo world into a host, step by step. Not thread-safe; `host`
// must outlive it. Errors: any status a store or a seeding call returns.
class Seeder {
 public:
  // Every member gets `password` (the fuzz harness has its own).
  explicit Seeder(host::Host& host, std::string password = kPassword);

  // The whole world: SeedDirectory, then the youth, entries and consent.
  // Idempotent: if the demo admin already exists it seeds nothing and
  // returns false.
  absl::StatusOr<bool> SeedAll();
  // Every service and member (stores, not RPCs: the AGAJ is the platform
  // service, which the API can never set). False, seeding nothing, if the
  // demo admin already exists.
  absl::StatusOr<bool> SeedDirectory();
  // A youth of `age` (born on 14 March), with one guardian, created by
  // amo.camille and accompanied by the AMO (opened by amo.coord, referent
  // amo.camille). Needs SeedDirectory().
  absl::StatusOr<SeededYouth> AddAccompaniedYouth(int age, absl::string_view name,
                                                  absl::string_view guardian);
  // An entry on `youth_id` by amo.camille; its id.
  absl::StatusOr<std::string> AddEntry(const std::string& youth_id, v1::EntryKind kind,
                                       v1::DataCategory category, v1::Visibility visibility,
                                       absl::string_view body);

  // A fresh token of a seeded member; NOT_FOUND for another login.
  absl::StatusOr<std::string> Token(absl::string_view login) const;
  // A client context carrying such a token, with a 30 s deadline.
  absl::StatusOr<std::unique_ptr<grpc::ClientContext>> As(absl::string_view login) const;

  v1::RecordService::Stub& record() { return *record_; }
  v1::CareService::Stub& care() { return *care_; }
  const World& world() const { return world_; }

 private:
  absl::Status SeedYouthWorld();
  absl::Status SeedPartnership();
  absl::Status SeedLapsedProtocol();

  host::Host& host_;
  std::string password_;
  std::unique_ptr<v1::RecordService::Stub> record_;
  std::unique_ptr<v1::CareService::Stub> care_;
  std::unique_ptr<v1::PartnershipService::Stub> partnership_;
  World world_;
};

// `s` as an absl::Status; `what` (the call) prefixes the message of an error.
absl::Status FromGrpc(absl::string_view what, const grpc::Status& s);

}  // namespace relais::demo

#endif  // RELAIS_DEMO_SEED_H_
