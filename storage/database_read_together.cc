// Database::ReadTogether: one call's reads in one transaction, and the checks
// deferred in it (ReadDeferred).

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "common/status_macros.h"
#include "storage/database.h"

namespace relais::storage {

namespace {
// The thread's innermost Database::ReadTogether (each links to its outer one).
thread_local Database::ReadTogether* tls_together = nullptr;
}  // namespace

Database::ReadTogether* Database::Together() const {
  for (ReadTogether* t = tls_together; t != nullptr; t = t->outer_) {
    if (t->db_ == this) return t;
  }
  return nullptr;
}

absl::Status Database::ReadDeferred(
    absl::FunctionRef<absl::StatusOr<Deferred>(Connection&)> send) const {
  ReadTogether* together = Together();
  if (together == nullptr) {
    return Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(Deferred check, send(c));
      return std::move(check)();
    });
  }
  return together->Run([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Deferred check, send(c));
    together->deferred_.push_back(std::move(check));
    return absl::OkStatus();
  });
}

absl::Status Database::EndReadTogether() const {
  absl::Status settled;
  for (ReadTogether* t = tls_together; t != nullptr; t = t->outer_) {
    if (absl::Status s = t->Settle(); settled.ok()) settled = s;
  }
  RETURN_IF_ERROR(settled);
  if (ReadTogether* together = Together()) together->End(true);
  return absl::OkStatus();
}

Database::ReadTogether::ReadTogether(const Database* db)
    // Inert (no database) when an enclosing scope already shares this one's reads.
    : db_(db != nullptr && db->Together() == nullptr ? db : nullptr), outer_(tls_together) {
  tls_together = this;
}

Database::ReadTogether::~ReadTogether() {
  End(true);
  tls_together = outer_;
}

absl::Status Database::ReadTogether::Run(absl::FunctionRef<absl::Status(Connection&)> fn) {
  if (c_ == nullptr) {
    ASSIGN_OR_RETURN(c_, db_->BeginReader());
  }
  // A Read() inside another's callback shares the connection: only the
  // outermost one may hand it back.
  ++depth_;
  bool returned = false;
  absl::Cleanup thrown = [this, &returned] {
    if (--depth_ == 0 && !returned) End(false);
  };
  absl::Status status = fn(*c_);
  returned = true;
  // A failed statement leaves PostgreSQL's transaction refusing any other.
  // Statements still queued (sent, not stepped) are not waited for here: a
  // failure among them shows when they are read, at the next Run or the end.
  if (depth_ == 1 && !c_->Queued() && (c_->TransactionFailed() || !c_->InTransaction())) {
    End(false);
  }
  return status;
}

absl::Status Database::ReadTogether::Settle() {
  // A check is answered on c_: it must be read before c_ is handed back.
  for (Deferred& check : deferred_) {
    if (absl::Status s = std::move(check)(); settled_.ok()) settled_ = s;
  }
  deferred_.clear();
  return settled_;
}

void Database::ReadTogether::End(bool ok) {
  if (c_ == nullptr) return;
  (void)Settle();
  Connection* c = c_;
  c_ = nullptr;
  // What was read stays valid whatever the end of a read-only transaction
  // answers; a reader left in a transaction is rolled back before reuse.
  if (absl::Status end = c->EndRead(ok); !end.ok() && c->InTransaction()) {
    (void)c->Run("ROLLBACK");
  }
  db_->ReleaseReader(c);
}

}  // namespace relais::storage
