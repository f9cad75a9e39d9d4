#ifndef RELAIS_SERVICES_AUDIT_AUDIT_LOG_H_
#define RELAIS_SERVICES_AUDIT_AUDIT_LOG_H_

// The access log: every access decision, allowed or denied, appended as one
// event of a SHA-256 hash chain (rules and encoding in audit_chain.h) and stored
// in the table `audit_events` of the shared database. Events hold ids and
// reason codes, never content or names.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "relais/v1/audit.pb.h"
#include "relais/v1/common.pb.h"
#include "services/audit/audit_chain.h"  // IWYU pragma: export
#include "storage/database.h"

namespace relais::audit {

class ExportVerifier;  // export_verifier.h

// The "audit" tables on PostgreSQL (audit_schema_postgres.cc): one baseline
// step numbered like the last SQLite step (audit_log.cc), building what all of
// them build. Append each new step to both lists.
const std::vector<storage::Migration>& AuditPostgresMigrations();

// What the caller knows about one decision. The log adds sequence, time and
// hashes. Empty strings mean "none" (e.g. an unauthenticated caller has no
// actor_member_id).
struct EventInput {
  // Every member has an initializer, so designated initializers compile warning-free.
  std::string request_id{};
  std::string actor_member_id{};
  std::string actor_service_id{};
  std::string actor_roles{};  // comma-separated role names
  std::string client_identity{};
  v1::Action action = v1::ACTION_UNSPECIFIED;
  std::string youth_id{};
  std::string entry_id{};
  std::string object_id{};
  v1::Purpose purpose = v1::PURPOSE_UNSPECIFIED;
  v1::Decision decision = v1::DECISION_UNSPECIFIED;
  v1::AccessReason reason = v1::ACCESS_REASON_UNSPECIFIED;
  std::string reason_code{};
  bool break_glass = false;
};

// Filters of Query(); they combine with AND.
struct EventFilter {
  std::string youth_id{};                            // empty = any
  std::string actor_member_id{};                     // empty = any
  std::string actor_service_id{};                    // empty = any
  std::optional<absl::Time> start{};                 // inclusive; unset = no lower bound
  std::optional<absl::Time> end{};                   // exclusive; unset = no upper bound
  v1::Decision decision = v1::DECISION_UNSPECIFIED;  // UNSPECIFIED = any
};

// The head of the chain: what the next event will point back to.
struct ChainHead {
  int64_t sequence = 0;                          // 0 when the log is empty
  std::string hash = std::string(kGenesisHash);  // kGenesisHash when empty
};

// What PrepareCheckpoint() found: the head to sign, checked back to the last
// stored checkpoint.
struct CheckpointCandidate {
  // The newest stored checkpoint, as stored (its signature not checked).
  std::optional<v1::Checkpoint> last_checkpoint{};
  // The chain head, verified from that checkpoint (or from the genesis).
  ChainHead head{};
  // The stored hash of the event PrepareCheckpoint() was asked to pin, read in
  // the same snapshot; empty when no such event exists (or none was asked).
  std::string pinned_hash{};

  // 0 when no checkpoint is stored.
  int64_t covered() const { return last_checkpoint ? last_checkpoint->sequence() : 0; }
  // False when the head is already covered (or the log is empty): nothing to sign.
  bool has_new_events() const { return head.sequence > covered(); }
};

// Told of every appended event, from inside the appending transaction, which
// may still roll back: Appended() must be fast, must not block on anything the
// database holds, and must not use the database.
class AppendListener {
 public:
  virtual ~AppendListener() = default;
  virtual void Appended(int64_t sequence) = 0;
};

// Thread-safe: its only mutable state is the listener pointer. Appends are
// serialised by the database's write transaction, in which the chain head is
// read, so the chain stays correct even with several AuditLog objects (or
// processes) on one file.
//
// Signed checkpoints (checkpoint.h) are stored beside the events, in the table
// `audit_checkpoints`; signing them is Checkpointer's job (checkpointer.h).
class AuditLog {
 public:
  // Content guard: longer values are refused, so no free text fits.
  static constexpr size_t kMaxIdLength = 128;              // ids, request id, roles
  static constexpr size_t kMaxClientIdentityLength = 256;  // an X.509 subject
  static constexpr size_t kMaxReasonCodeLength = 64;
  // Largest page Query() returns.
  static constexpr int kMaxQueryLimit = 1000;

  // Applies the "audit" migrations to `db`. `db` and `clock` must outlive the
  // log. InvalidArgument on null arguments; otherwise the migration's status.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(storage::Database* db,
                                                          const common::Clock* clock);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // The database the log lives in, with the records whose access it logs.
  storage::Database* database() const { return db_; }

  // Appends one event inside the caller's transaction and returns its
  // sequence number. `txn` must be the connection handed to a
  // Database::Write callback of the same database; the event commits or rolls
  // back with the caller's other writes, so an access and its audit event are
  // atomic. The head is read through `txn`, or taken from the same
  // transaction's last append (Connection::Remember, forgotten when that
  // append is rolled back), so a rolled-back append leaves nothing behind and
  // its number is reused.
  //
  // InvalidArgument if a field breaks the content guard (too long, not UTF-8 or
  // holding a NUL byte) — nothing is written; DataLoss if the stored head is
  // malformed; otherwise the database's status.
  absl::StatusOr<int64_t> Append(storage::Connection& txn, const EventInput& input);

  // Append() in a transaction of its own, for decisions that write nothing else
  // (e.g. a denied read). Must not be called inside a Database::Write or Read
  // callback.
  absl::StatusOr<int64_t> AppendStandalone(const EventInput& input);

  // Events with sequence > after_sequence matching `filter`, oldest first, at
  // most `limit`. For the next page pass the last returned sequence.
  // InvalidArgument if limit is outside [1, kMaxQueryLimit] or start > end;
  // DataLoss if a stored row holds values no event can have.
  absl::StatusOr<std::vector<v1::AuditEvent>> Query(const EventFilter& filter,
                                                    int64_t after_sequence, int limit) const;

  // Recomputes the whole chain, streaming over one read snapshot, and reports
  // the first problem (see ChainVerifier). A tampered log is a result with
  // ok == false, not an error status; errors are the database's.
  // Removal of events at the end is not detectable this way (audit_chain.h).
  absl::StatusOr<VerifyResult> Verify() const;

  // The number of stored events.
  absl::StatusOr<int64_t> Length() const;

  // The last stored event's sequence and hash, as stored (not verified).
  absl::StatusOr<ChainHead> Head() const;
  // The same, read through `c`, a connection inside a transaction on this
  // log's database (e.g. the snapshot a backup copies).
  static absl::StatusOr<ChainHead> HeadIn(storage::Connection& c);

  // Reads the newest checkpoint and the chain head on one snapshot and
  // verifies every event after the checkpoint (from the genesis if there is
  // none), so a head is only signed if it continues what was signed before.
  // The checkpoint's signature is not checked here (the log holds no keys).
  // DataLoss if the events after the checkpoint fail verification, or the log
  // is shorter than the checkpoint; otherwise the database's status.
  // `pinned_sequence` > 0: also reads that event's stored hash (the
  // checkpointer compares it with the last head it signed).
  absl::StatusOr<CheckpointCandidate> PrepareCheckpoint(int64_t pinned_sequence = 0) const;

  // Feeds `verifier` the events 1..up_to, each followed by its stored
  // checkpoint if any, in one read snapshot and constant memory, as an export
  // lays them out (checkpoints the caller wants announced ahead, it adds
  // first). Rows no event can hold are fed as undecodable. Stops early once
  // the verifier failed. Returns only database errors (or Internal if hashing
  // failed); what is wrong with the log is in the verifier's report.
  absl::Status FeedVerifier(int64_t up_to, ExportVerifier& verifier) const;

  // Stores a signed checkpoint, first checking in the write transaction that
  // the event it names still has its hash. AlreadyExists if a checkpoint of
  // that sequence is stored; DataLoss if the event is missing or its hash
  // differs; otherwise the database's status.
  absl::Status StoreCheckpoint(const v1::Checkpoint& checkpoint);

  // The newest stored checkpoint, or nullopt if none.
  absl::StatusOr<std::optional<v1::Checkpoint>> LatestCheckpoint() const;

  // The signer lease (signer_lease.cc): instances that share the database
  // sign checkpoints one at a time. True if `holder` holds it now, until the
  // clock's now + `ttl` (it was free, expired, or already `holder`'s); false
  // if another holder's lease runs. The database's status on failure.
  absl::StatusOr<bool> TakeSignerLease(absl::string_view holder, absl::Duration ttl);
  // Ends `holder`'s lease; nothing if another holds it.
  absl::Status ReleaseSignerLease(absl::string_view holder);

  // Stored checkpoints with after_sequence < sequence <= up_to_sequence,
  // oldest first, at most `limit` (1 to kMaxQueryLimit, else InvalidArgument).
  absl::StatusOr<std::vector<v1::Checkpoint>> Checkpoints(int64_t after_sequence,
                                                          int64_t up_to_sequence, int limit) const;

  // Returns once every write transaction running when it was called (e.g. an
  // append an AppendListener just heard of) has committed or rolled back, by
  // taking the database's write lock once. Must not be called inside a
  // Database::Write or Read callback.
  absl::Status AwaitPendingAppends();

  // Registers the one listener told of every Append (nullptr: none). The
  // listener must stay valid until it is replaced and no Append is running.
  void SetAppendListener(AppendListener* listener) { listener_.store(listener); }

 private:
  AuditLog(storage::Database* db, const common::Clock* clock) : db_(db), clock_(clock) {}

  storage::Database* const db_;
  const common::Clock* const clock_;
  std::atomic<AppendListener*> listener_{nullptr};
};

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_AUDIT_LOG_H_
