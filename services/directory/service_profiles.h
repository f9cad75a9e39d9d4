#ifndef RELAIS_SERVICES_DIRECTORY_SERVICE_PROFILES_H_
#define RELAIS_SERVICES_DIRECTORY_SERVICE_PROFILES_H_

// Service profiles (who a service helps, where, how to reach it), their search,
// and the sectors' shared definitions of words like "prévention" (issue #14,
// chantier 5's "méconnaissance réciproque" and "jargon"). Tables
// dir_service_profiles (+ needs, communes, languages) and dir_definitions,
// created by the directory's migrations 8 and 9.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/directory/directory_api.h"
#include "storage/database.h"

namespace relais::directory {

// table: the limits of a profile and a definition (bytes, counts, ages).
inline constexpr size_t kMaxProfileTextBytes = 2000;  // mission, offer
inline constexpr size_t kMaxContactBytes = 200;       // contact, opening_hours
inline constexpr int kMaxServedAge = 25;
inline constexpr size_t kMaxNeeds = 20;
inline constexpr size_t kMaxNeedBytes = 64;
inline constexpr size_t kMaxCommunes = 100;
inline constexpr size_t kMaxCommuneBytes = 100;
inline constexpr size_t kMaxLanguages = 20;
inline constexpr size_t kMaxTermBytes = 100;
inline constexpr size_t kMaxDefinitionBytes = 2000;
// A profile last reviewed longer ago than this may no longer be true.
inline constexpr absl::Duration kProfileReviewInterval = absl::Hours(24 * 365);

struct ServiceProfile {
  std::string mission;
  std::string offer;
  int min_age = 0;
  int max_age = 0;
  std::vector<std::string> needs;      // slugs of [a-z0-9_]
  std::vector<std::string> communes;   // as written, e.g. "Charleroi"
  std::vector<std::string> languages;  // ISO 639-1, e.g. "fr"
  std::string contact;
  std::string opening_hours;
  std::string reviewed_by_member_id;
  absl::Time reviewed_at = absl::InfinitePast();
};

// Whether the review of `profile` is older than kProfileReviewInterval at `now`.
bool ReviewOverdue(const ServiceProfile& profile, absl::Time now);

// Checks the caller's fields of `profile` (not the review stamp), naming the
// request field "profile.<name>" on failure: INVALID_ARGUMENT
// "field_required", "field_too_long", "invalid_characters" (control
// characters in a one-line field), "invalid_age_range", "invalid_need",
// "invalid_language", "too_many". Returns the profile with surrounding blanks
// trimmed and repeated needs, communes (by folded form) and languages dropped.
absl::StatusOr<ServiceProfile> CheckProfile(const ServiceProfile& profile);

// A need slug: 1-64 of [a-z0-9_]. INVALID_ARGUMENT "invalid_need" on `field`.
absl::Status CheckNeed(absl::string_view field, absl::string_view need);

// The form communes and terms are matched on: trimmed, ASCII and the
// Latin-1 accented capitals (À-Þ) lower-cased, so "CHARLEROI" and "charleroi"
// match, and "Écaussinnes" and "écaussinnes".
std::string FoldForMatch(absl::string_view text);

// What SearchServices asks; empty strings and an absent age match anything.
struct ProfileQuery {
  std::string need = "";
  std::string commune = "";
  std::string sector_id = "";
  std::string kind = "";
  std::optional<int> age = std::nullopt;
};

struct ProfiledService {
  ServiceInfo service;
  ServiceProfile profile;
};

struct ProfiledPage {
  std::vector<ProfiledService> services;
  std::string next_page_token;  // empty when there are no more
};

// A sector's definition of a term.
struct Definition {
  std::string term;
  std::string sector_id;
  std::string text;
  absl::Time updated_at = absl::InfinitePast();
};

// The profiles and definitions in the shared database. Thread-safe (all state
// is in the database); `db` is not owned, must outlive it, and must have had
// the directory's migrations applied (DirectoryStore::Create does).
class ServiceProfiles {
 public:
  explicit ServiceProfiles(storage::Database* db) : db_(db) {}

  // Replaces the profile of `service_id` (checked with CheckProfile), stamped
  // reviewed by `reviewed_by_member_id` at `reviewed_at`, in the caller's
  // transaction. NOT_FOUND "service_not_found". Returns it as stored.
  absl::StatusOr<ServiceProfile> Put(storage::Connection& txn, absl::string_view service_id,
                                     const ServiceProfile& profile,
                                     absl::string_view reviewed_by_member_id,
                                     absl::Time reviewed_at) const;
  // Put() in a transaction of its own (host-side seeding).
  absl::StatusOr<ServiceProfile> Put(absl::string_view service_id, const ServiceProfile& profile,
                                     absl::string_view reviewed_by_member_id,
                                     absl::Time reviewed_at) const;
  // The profiles of those of `service_ids` that have one, by service id.
  absl::StatusOr<std::map<std::string, ServiceProfile>> Get(
      const std::vector<std::string>& service_ids) const;

  // Services with a profile that match every criterion of `query`, by name
  // then id; `page_token` is the last service id of the previous page. At most
  // `page_size` (at least 1). INVALID_ARGUMENT "invalid_need" (need),
  // "out_of_range" (age outside 0-25), "bad_page_token"; a service row whose
  // MAC fails: PERMISSION_DENIED "integrity_violation".
  absl::StatusOr<ProfiledPage> Search(const ProfileQuery& query, size_t page_size,
                                      absl::string_view page_token) const;

  // Adds or replaces the definition of (folded term, sector), set at
  // `updated_at`, in the caller's transaction. INVALID_ARGUMENT
  // "field_required" / "field_too_long" / "invalid_characters" on
  // "definition.term" or "definition.text"; NOT_FOUND "sector_not_found".
  absl::StatusOr<Definition> Define(storage::Connection& txn, const Definition& definition,
                                    absl::Time updated_at) const;
  // Every definition, or one sector's (unchecked: the caller checks the
  // sector exists), by term then sector.
  absl::StatusOr<std::vector<Definition>> Definitions(absl::string_view sector_id) const;

 private:
  storage::Database* const db_;
};

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_SERVICE_PROFILES_H_
