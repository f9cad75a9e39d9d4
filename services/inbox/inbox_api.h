#ifndef RELAIS_SERVICES_INBOX_INBOX_API_H_
#define RELAIS_SERVICES_INBOX_INBOX_API_H_

// What the other services ask of the inbox: to post a notice, inside the
// transaction of the change it tells about, so that a notice is delivered if
// and only if the change committed.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "relais/v1/care.pb.h"
#include "relais/v1/common.pb.h"
#include "relais/v1/inbox.pb.h"
#include "relais/v1/partnership.pb.h"
#include "storage/database.h"

namespace relais::inbox {

// One notice: what, about which ids, for whom. Ids only, never content.
struct Notice {
  v1::InboxItemKind kind = v1::INBOX_ITEM_KIND_UNSPECIFIED;
  // The active members of `service_id` holding one of `roles` (none named:
  // caseworkers and coordinators), and those of `member_ids` who are active
  // members of `service_id`; each once.
  std::string service_id;
  std::vector<v1::Role> roles;
  std::vector<std::string> member_ids;
  std::string youth_id;
  std::string handover_id;
  std::string accompaniment_id;
  std::string consent_id;
  std::string protocol_id;
  int protocol_version = 0;
  std::string convention_id;
  std::string concertation_id;
  std::optional<absl::Time> due_at;
  // Posting the same key again (a retry, a sweep run twice) delivers nothing
  // new to a member who already has it.
  std::string key;
};

// Implemented by the inbox store. Thread-safe.
class Postbox {
 public:
  virtual ~Postbox() = default;
  // Posts `notice` on `txn`, the caller's write transaction.
  virtual absl::Status Post(storage::Connection& txn, const Notice& notice) const = 0;
};

// What a newcomer's first view (InboxService.Orientation) asks of the care
// records: ids, states and dates, never a handover's reason. Thread-safe.
class CareDigest {
 public:
  virtual ~CareDigest() = default;
  // The service's accompaniments active now, vouched or waiting.
  virtual absl::StatusOr<std::vector<v1::Accompaniment>> ActiveAccompaniments(
      absl::string_view service_id) const = 0;
  // The service's handovers proposed or in their overlap window, either side.
  virtual absl::StatusOr<std::vector<v1::Handover>> OpenHandovers(
      absl::string_view service_id) const = 0;
};

// ... and of the partnership conventions and protocols. Thread-safe.
class PartnershipDigest {
 public:
  virtual ~PartnershipDigest() = default;
  // The conventions the service is a party to that have not ended.
  virtual absl::StatusOr<std::vector<v1::Convention>> LiveConventions(
      absl::string_view service_id) const = 0;
  // The protocols concerning a member of `service_id` holding `roles` whose
  // current version `member_id` has not acknowledged (lapsed ones flagged).
  virtual absl::StatusOr<std::vector<v1::Protocol>> ToAcknowledge(
      absl::string_view member_id, absl::string_view service_id,
      const std::vector<v1::Role>& roles) const = 0;
};

}  // namespace relais::inbox

#endif  // RELAIS_SERVICES_INBOX_INBOX_API_H_
