#include "storage/database.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "storage/postgres_connection.h"
#include "storage/sqlite_connection.h"

namespace relais::storage {

bool IsPostgresUri(absl::string_view path) {
  return absl::StartsWith(path, "postgresql://") || absl::StartsWith(path, "postgres://");
}

namespace {

// Free statements kept per SQL text: as many as one connection nests.
constexpr size_t kMaxFreePerSql = 4;

}  // namespace

void Statement::Recycler::operator()(StatementImpl* s) const {
  if (home == nullptr || home->size() >= kMaxFreePerSql) {
    delete s;
    return;
  }
  s->Reset();
  home->emplace_back(s);
}

Statement::Statement(StatementImpl* impl, std::vector<std::unique_ptr<StatementImpl>>* home)
    : impl_(impl, Recycler{home}) {}

Statement& Statement::Bind(int index, int64_t value) {
  if (bind_status_.ok()) bind_status_ = impl_->BindInt64(index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  if (bind_status_.ok()) bind_status_ = impl_->BindText(index, text);
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  if (bind_status_.ok()) bind_status_ = impl_->BindBlob(index, bytes);
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (bind_status_.ok()) bind_status_ = impl_->BindNull(index);
  return *this;
}

Statement& Statement::BindOptional(int index, absl::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

absl::StatusOr<bool> Statement::Step() {
  RETURN_IF_ERROR(bind_status_);
  return impl_->Step();
}

absl::Status Statement::Send() {
  RETURN_IF_ERROR(bind_status_);
  return impl_->Send();
}

namespace {

// Run's and Post's answer: a statement stepped once must have returned no row.
absl::Status NoRow(absl::StatusOr<bool> step) {
  if (!step.ok()) return step.status();
  if (*step) return absl::InternalError("statement returned a row where none was expected");
  return absl::OkStatus();
}

}  // namespace

absl::Status StatementImpl::Post() { return NoRow(Step()); }

absl::Status Statement::Post() {
  RETURN_IF_ERROR(bind_status_);
  return impl_->Post();
}

absl::Status Statement::Run() { return NoRow(Step()); }

void Statement::Reset() {
  impl_->Reset();
  bind_status_ = absl::OkStatus();
}

Connection::~Connection() = default;

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  std::vector<std::unique_ptr<StatementImpl>>* home = nullptr;
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    home = &it->second;
    if (!home->empty()) {
      StatementImpl* cached = home->back().release();
      home->pop_back();
      return Statement(cached, home);
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<StatementImpl> made, PrepareNew(sql));
  if (home == nullptr && cache_.size() < kMaxCachedSql) home = &cache_[sql];
  return Statement(made.release(), home);
}

absl::Status Connection::Run(absl::string_view sql) {
  ASSIGN_OR_RETURN(Statement s, Prepare(sql));
  return s.Run();
}

Database::Database(std::string path, Backend backend, std::unique_ptr<Connection> writer,
                   std::vector<std::unique_ptr<Connection>> readers)
    : path_(std::move(path)),
      backend_(backend),
      writer_(std::move(writer)),
      readers_(std::move(readers)) {
  for (auto& r : readers_) free_readers_.push_back(r.get());
}

Database::~Database() = default;

namespace {

absl::StatusOr<std::unique_ptr<Connection>> OpenConnection(const Database::Options& options,
                                                           bool writer) {
  if (IsPostgresUri(options.path)) {
    return PostgresConnection::Open(options.path, options.busy_timeout);
  }
  return OpenSqliteConnection(options.path, options.vfs, writer, options.busy_timeout);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("database path is empty");
  if (options.readers < 0) return absl::InvalidArgumentError("readers: 0 (the default) or more");
  const Backend backend = IsPostgresUri(options.path) ? Backend::kPostgres : Backend::kSqlite;
  const int reader_count =
      options.readers > 0 ? options.readers : (backend == Backend::kPostgres ? 8 : 4);
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, OpenConnection(options, true));
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < reader_count; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, OpenConnection(options, false));
    readers.push_back(std::move(reader));
  }
  auto db =
      absl::WrapUnique(new Database(options.path, backend, std::move(writer), std::move(readers)));
  db->vfs_ = options.vfs;
  db->max_group_ = options.group_commit ? std::max(1, options.max_group) : 1;
  // Under the write lock: two processes opening one database at once.
  RETURN_IF_ERROR(db->Write([](Connection& c) { return c.Exec(c.BootstrapSql()); }));
  struct stat st;
  if (backend == Backend::kSqlite && ::stat(options.path.c_str(), &st) == 0) {
    db->file_dev_ = st.st_dev;
    db->file_ino_ = st.st_ino;
  }
  return db;
}

absl::Status Database::Checkpoint() {
  if (backend_ == Backend::kPostgres) return absl::OkStatus();
  RETURN_IF_ERROR(EndReadTogether());  // its snapshot would hold the checkpoint back
  absl::MutexLock lock(&write_mu_);
  // The pragma returns one row (busy, wal pages, checkpointed pages); busy = 1
  // means a reader kept the WAL from being reset.
  ASSIGN_OR_RETURN(Statement s, writer_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (row && s.ColumnInt64(0) != 0) {
    return absl::UnavailableError("wal checkpoint: a reader holds the WAL");
  }
  return absl::OkStatus();
}

absl::Status Database::Probe() const {
  if (backend_ == Backend::kSqlite) {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) {
      return absl::UnavailableError(absl::StrCat("database file unreachable: ", strerror(errno)));
    }
    if (file_ino_ != 0 && (static_cast<uint64_t>(st.st_dev) != file_dev_ ||
                           static_cast<uint64_t>(st.st_ino) != file_ino_)) {
      return absl::UnavailableError("database file was replaced");
    }
  }
  return Read([](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COUNT(*) FROM schema_migrations"));
    return s.Step().status();
  });
}

int64_t Database::FileBytes() const {
  int64_t total = 0;
  if (backend_ == Backend::kPostgres) {
    (void)Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT pg_database_size(current_database())"));
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) total = s.ColumnInt64(0);
      return absl::OkStatus();
    });
    return total;
  }
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) total += st.st_size;
  if (::stat((path_ + "-wal").c_str(), &st) == 0) total += st.st_size;
  return total;
}

struct Database::WriteRequest {
  absl::FunctionRef<absl::Status(Connection&)> fn;
  absl::Status status{};
  std::exception_ptr exception{};
  bool done = false;
};

absl::Status Database::Write(absl::FunctionRef<absl::Status(Connection&)> fn) {
  RETURN_IF_ERROR(EndReadTogether());
  calls_.fetch_add(1, std::memory_order_relaxed);
  WriteRequest request{fn};
  {
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(&request);
    // Wait until a leader has run this call, or until there is no leader.
    struct Waiter {
      const Database* db;
      const WriteRequest* request;
    } waiter{this, &request};
    queue_mu_.Await(absl::Condition(
        +[](Waiter* w)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->request->done || !w->db->leader_active_; },
        &waiter));
    if (!request.done) leader_active_ = true;
  }
  // The leader runs what is queued, a group at a time, until its own call is
  // done; then the next waiting caller takes over.
  while (!request.done) {
    std::vector<WriteRequest*> group;
    {
      absl::MutexLock lock(&queue_mu_);
      while (!queue_.empty() && static_cast<int>(group.size()) < max_group_) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunGroup(group);
    absl::MutexLock lock(&queue_mu_);
    for (WriteRequest* r : group) r->done = true;
    if (request.done) leader_active_ = false;
  }
  if (request.exception) std::rethrow_exception(request.exception);
  return request.status;
}
namespace {

// Runs one queued call, turning an exception into an error for its caller.
absl::Status RunCall(absl::FunctionRef<absl::Status(Connection&)> fn, Connection& c,
                     std::exception_ptr& exception) {
  try {
    return fn(c);
  } catch (...) {
    exception = std::current_exception();
    return absl::InternalError("write callback threw");
  }
}

}  // namespace

void Database::RunGroup(const std::vector<WriteRequest*>& group) {
  absl::MutexLock lock(&write_mu_);
  transactions_.fetch_add(1, std::memory_order_relaxed);
  if (backend_ == Backend::kPostgres) {
    bool begun = true;
    if (!RunGroupPipelined(group, begun)) RunGroupCareful(group, begun);
    return;
  }
  RunGroupCareful(group, /*begun=*/false);
}

bool Database::RunGroupPipelined(const std::vector<WriteRequest*>& group, bool& begun) {
  if (absl::Status open = writer_->EnsureOpen(); !open.ok()) {
    FailGroup(group, open);
    return true;
  }
  ForgetStalePrepared(*writer_);
  writer_->Forget();
  // The BEGIN, the lock and the savepoint travel with the group's first
  // statements: one round trip for them all.
  if (absl::Status begin = writer_->SendBeginWrite(); !begin.ok()) {
    FailGroup(group, begin);
    return true;
  }
  writer_->posting_ = true;
  absl::Cleanup not_posting = [&] { writer_->posting_ = false; };
  absl::StatusOr<Statement> mark = writer_->Prepare("SAVEPOINT pipelined");
  // Every call's answer forgotten, for the careful pass.
  auto reset = [&] {
    for (WriteRequest* r : group) {
      r->status = absl::OkStatus();
      r->exception = nullptr;
    }
  };
  // Back to the savepoint taken after the lock, for the careful pass.
  auto start_again = [&]() -> bool {
    if (!writer_->InTransaction()) {
      // The connection was lost (one the server dropped while it waited is
      // only found by the queued BEGIN) and no COMMIT was sent: nothing was
      // written. Once more, carefully, on a connection opened again.
      reset();
      begun = false;
      return false;
    }
    // The BEGIN, the lock (its timeout) or the savepoint failed: no savepoint
    // to go back to, and that failure is every call's answer.
    if (absl::Status marked = mark.ok() ? mark->Run() : mark.status(); !marked.ok()) {
      FailGroup(group, marked);
      return true;
    }
    if (absl::Status undo = writer_->Run("ROLLBACK TO pipelined"); !undo.ok()) {
      FailGroup(group, undo);
      return true;
    }
    reset();
    return false;
  };
  if (!mark.ok() || !mark->Send().ok()) return start_again();
  // No savepoint per call: a call that fails, or that answered OK over a
  // failed statement of its own (nothing queued since, so no round trip to
  // see it), sends the whole group to the careful pass, where its failure is
  // its own.
  for (WriteRequest* r : group) {
    r->status = RunCall(r->fn, *writer_, r->exception);
    if (!r->status.ok() || (!writer_->Queued() && writer_->TransactionFailed())) {
      return start_again();
    }
  }
  // What is still queued travels with the COMMIT: one round trip.
  absl::StatusOr<Statement> commit = writer_->Prepare("COMMIT");
  absl::Status committed = commit.ok() ? commit->Run() : commit.status();
  if (committed.ok()) return true;
  // Still in the transaction: a posted statement failed and the server
  // skipped the rest, the COMMIT too. Nothing was written.
  if (writer_->InTransaction()) return start_again();
  // The COMMIT ran and failed, or the connection is gone (then whether it
  // committed is unknown): every call learns it.
  FailGroup(group, committed);
  return true;
}

void Database::RunGroupCareful(const std::vector<WriteRequest*>& group, bool begun) {
  writer_->Forget();
  if (!begun) {
    if (absl::Status open = writer_->EnsureOpen(); !open.ok()) return FailGroup(group, open);
    ForgetStalePrepared(*writer_);
    if (absl::Status begin = writer_->BeginWrite(); !begin.ok()) return FailGroup(group, begin);
  }
  // A lone call needs no savepoint: its failure rolls back the transaction.
  const bool savepoints = group.size() > 1;
  // The previous call's savepoint, released before the next call's SAVEPOINT
  // or by the COMMIT.
  bool release_pending = false;
  for (WriteRequest* r : group) {
    // The savepoint commands are sent, not waited for: on PostgreSQL they
    // travel with the call's first statement, and their answers are read
    // once the call has run. Had one failed, the call's statements failed
    // with it, and the group fails below.
    std::vector<Statement> marks;
    auto send = [&](absl::string_view sql) -> absl::Status {
      ASSIGN_OR_RETURN(Statement mark, writer_->Prepare(sql));
      RETURN_IF_ERROR(mark.Send());
      marks.push_back(std::move(mark));
      return absl::OkStatus();
    };
    if (savepoints) {
      absl::Status sent = release_pending ? send("RELEASE call") : absl::OkStatus();
      if (sent.ok()) sent = send("SAVEPOINT call");
      if (!sent.ok()) return FailGroup(group, sent);
    }
    r->status = RunCall(r->fn, *writer_, r->exception);
    for (Statement& mark : marks) {
      if (absl::Status s = mark.Run(); !s.ok()) return FailGroup(group, s);
    }
    // A call that answered OK over a failed statement (PostgreSQL then refuses
    // the rest of the transaction): its writes cannot be committed.
    if (r->status.ok() && writer_->TransactionFailed()) {
      r->status = absl::InternalError("a statement failed inside a call that reported success");
    }
    // The engine abandons the whole transaction on some errors (SQLite: I/O,
    // full disk; PostgreSQL: a lost connection): what the group wrote before
    // is gone too.
    if (!writer_->InTransaction()) {
      return FailGroup(
          group, r->status.ok() ? absl::UnavailableError("transaction abandoned") : r->status);
    }
    if (!savepoints) break;
    if (!r->status.ok()) {
      writer_->Forget();  // what the call wrote is undone
      if (absl::Status undo = writer_->Run("ROLLBACK TO call"); !undo.ok()) {
        return FailGroup(group, undo);
      }
    }
    release_pending = true;
  }
  if (!savepoints && !group.front()->status.ok()) {
    if (absl::Status rb = writer_->Run("ROLLBACK"); !rb.ok()) {
      common::LogError("rollback failed", {{"status", rb.ToString()}});
    }
    return;
  }
  if (absl::Status commit = writer_->Run("COMMIT"); !commit.ok()) FailGroup(group, commit);
}

void Database::FailGroup(const std::vector<WriteRequest*>& group, const absl::Status& status) {
  // If the engine already rolled back by itself there is nothing left to undo.
  if (writer_->InTransaction()) {
    if (absl::Status rb = writer_->Run("ROLLBACK"); !rb.ok()) {
      common::LogError("rollback failed", {{"status", rb.ToString()}});
    }
  }
  // A call whose own error is already the answer keeps it; every other call
  // learns that nothing of it was written.
  for (WriteRequest* r : group) {
    if (r->status.ok()) r->status = status;
  }
}

int64_t Database::queued_writes() const {
  absl::MutexLock lock(&queue_mu_);
  return static_cast<int64_t>(queue_.size());
}

Connection* Database::AcquireReader() const {
  absl::MutexLock lock(&read_mu_);
  read_mu_.Await(absl::Condition(
      +[](std::vector<Connection*>* free) { return !free->empty(); }, &free_readers_));
  Connection* c = free_readers_.back();
  free_readers_.pop_back();
  return c;
}

void Database::ReleaseReader(Connection* c) const {
  absl::MutexLock lock(&read_mu_);
  free_readers_.push_back(c);
}

void Database::ForgetStalePrepared(Connection& c) const {
  const int64_t epoch = schema_epoch_.load();
  if (c.schema_epoch_ == epoch) return;
  c.ForgetPrepared();
  c.schema_epoch_ = epoch;
}

absl::StatusOr<Connection*> Database::BeginReader() const {
  Connection* c = AcquireReader();
  absl::Status status = c->EnsureOpen();
  if (status.ok()) ForgetStalePrepared(*c);
  if (status.ok()) status = c->BeginRead();
  if (!status.ok()) {
    if (c->InTransaction()) (void)c->Run("ROLLBACK");
    ReleaseReader(c);
    return status;
  }
  return c;
}

absl::Status Database::Read(absl::FunctionRef<absl::Status(Connection&)> fn) const {
  if (ReadTogether* together = Together()) return together->Run(fn);
  ASSIGN_OR_RETURN(Connection * c, BeginReader());
  bool ended = false;
  // Ends the snapshot and hands the reader back however the scope is left,
  // an exception included.
  absl::Cleanup release = [this, c, &ended] {
    if (!ended && c->InTransaction()) (void)c->Run("ROLLBACK");
    ReleaseReader(c);
  };
  absl::Status status = fn(*c);
  absl::Status end = c->EndRead(status.ok());
  ended = end.ok();
  if (status.ok()) status = end;
  return status;
}

absl::StatusOr<int> Database::SchemaVersion(absl::string_view component) const {
  int version = 0;
  RETURN_IF_ERROR(Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(Statement s, c.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                            "schema_migrations WHERE component = ?1"));
    s.Bind(1, component);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) version = static_cast<int>(s.ColumnInt64(0));
    return absl::OkStatus();
  }));
  return version;
}

absl::Status Database::Migrate(absl::string_view component, const std::vector<Migration>& sqlite,
                               const std::vector<Migration>& postgres) {
  for (const std::vector<Migration>* list : {&sqlite, &postgres}) {
    for (size_t i = 1; i < list->size(); ++i) {
      if ((*list)[i].version != (*list)[i - 1].version + 1) {
        return absl::InternalError(
            absl::StrCat("migrations of ", component, " are not numbered in order"));
      }
    }
  }
  if (sqlite.empty() || sqlite.front().version != 1 || postgres.empty() ||
      postgres.back().version != sqlite.back().version) {
    return absl::InternalError(absl::StrCat(
        "migrations of ", component, " must start at 1 and end at the same version on both"));
  }
  const std::vector<Migration>& migrations = backend_ == Backend::kPostgres ? postgres : sqlite;
  bool applied = false;
  // Statements prepared before are prepared again, whatever the outcome.
  absl::Cleanup changed = [&] {
    if (applied) schema_epoch_.fetch_add(1);
  };
  for (const Migration& m : migrations) {
    RETURN_IF_ERROR(Write([&](Connection& c) -> absl::Status {
      // Read the version inside the write transaction so two processes racing
      // on the same database cannot both apply a step.
      ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                              "schema_migrations WHERE component = ?1"));
      q.Bind(1, component);
      ASSIGN_OR_RETURN(bool row, q.Step());
      const int64_t current = row ? q.ColumnInt64(0) : 0;
      if (current >= m.version) return absl::OkStatus();
      applied = true;
      RETURN_IF_ERROR(c.Exec(m.sql));
      ASSIGN_OR_RETURN(Statement ins, c.Prepare("INSERT INTO schema_migrations(component, version, "
                                                "applied_at_us) VALUES (?1, ?2, ?3)"));
      ins.Bind(1, component).Bind(2, int64_t{m.version}).Bind(3, absl::ToUnixMicros(absl::Now()));
      return ins.Run();
    }));
  }
  return absl::OkStatus();
}

}  // namespace relais::storage
