#include "services/auth_store/revocation_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/auth_store/auth_store_schema.h"

namespace relais::auth_store {

using storage::Connection;
using storage::Statement;

absl::StatusOr<std::unique_ptr<RevocationStore>> RevocationStore::Create(
    storage::Database* db, const common::Clock* clock) {
  if (db == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("RevocationStore needs a database and a clock");
  }
  RETURN_IF_ERROR(
      db->Migrate(kAuthLoginsComponent, AuthLoginsMigrations(), AuthLoginsPostgresMigrations()));
  return std::unique_ptr<RevocationStore>(new RevocationStore(db, clock));
}

absl::StatusOr<int64_t> RevocationStore::Generation(absl::string_view member_id) const {
  int64_t generation = 0;
  RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement q,
        conn.Prepare("SELECT generation FROM auth_member_generations WHERE member_id = ?1"));
    q.Bind(1, member_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) generation = q.ColumnInt64(0);
    return absl::OkStatus();
  }));
  return generation;
}

namespace {

// Fail closed: a token whose revocation cannot be read is refused.
absl::Status Unreadable(const absl::Status& read) {
  common::LogError("revocation check failed; refusing the token", {{"status", read.ToString()}});
  return common::Unavailable("revocation_unavailable", "cannot check the token; retry");
}

}  // namespace

absl::Status RevocationStore::CheckNotRevoked(absl::string_view member_id,
                                              absl::string_view token_id,
                                              int64_t generation) const {
  // Inside a call's read scope the answer is read with the call's first reads
  // (one round trip on PostgreSQL) and guards every write and the answer.
  const absl::Status checked =
      db_->ReadDeferred([&](Connection& conn) -> absl::StatusOr<storage::Database::Deferred> {
        // One statement, two primary-key probes.
        ASSIGN_OR_RETURN(
            Statement q,
            conn.Prepare("SELECT EXISTS(SELECT 1 FROM auth_revoked_tokens WHERE token_id = ?1), "
                         "COALESCE((SELECT generation FROM auth_member_generations "
                         "WHERE member_id = ?2), 0)"));
        q.Bind(1, token_id).Bind(2, member_id);
        RETURN_IF_ERROR(q.Send());
        return [q = std::move(q), generation]() mutable -> absl::Status {
          absl::StatusOr<bool> row = q.Step();
          if (!row.ok()) return Unreadable(row.status());
          if (!*row) return Unreadable(absl::InternalError("revocation check returned no row"));
          if (q.ColumnInt64(0) != 0 || generation < q.ColumnInt64(1)) {
            return common::Unauthenticated(auth::kTokenRevoked,
                                           "this token was revoked; sign in again");
          }
          return absl::OkStatus();
        };
      });
  // The check's own verdicts pass; anything else failed before it could run.
  if (checked.ok() || checked.code() == absl::StatusCode::kUnauthenticated ||
      common::ReasonOf(checked) == "revocation_unavailable") {
    return checked;
  }
  return Unreadable(checked);
}

absl::Status RevocationStore::RevokeAllOf(Connection& txn, absl::string_view member_id) {
  ASSIGN_OR_RETURN(
      Statement upsert,
      txn.Prepare("INSERT INTO auth_member_generations(member_id, generation) "
                  "VALUES (?1, 1) ON CONFLICT(member_id) "
                  "DO UPDATE SET generation = auth_member_generations.generation + 1"));
  upsert.Bind(1, member_id);
  return upsert.Run();
}

absl::Status RevocationStore::RevokeToken(Connection& txn, absl::string_view token_id,
                                          absl::Time expires_at) {
  ASSIGN_OR_RETURN(Statement purge,
                   txn.Prepare("DELETE FROM auth_revoked_tokens WHERE expires_at_s <= ?1"));
  purge.Bind(1, absl::ToUnixSeconds(clock_->Now()));
  RETURN_IF_ERROR(purge.Run());
  ASSIGN_OR_RETURN(Statement ins,
                   txn.Prepare("INSERT INTO auth_revoked_tokens(token_id, expires_at_s) "
                               "VALUES (?1, ?2) ON CONFLICT(token_id) DO NOTHING"));
  ins.Bind(1, token_id).Bind(2, absl::ToUnixSeconds(expires_at));
  return ins.Run();
}

}  // namespace relais::auth_store
