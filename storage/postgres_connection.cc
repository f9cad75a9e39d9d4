#include "storage/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/reason.h"
#include "common/status_macros.h"

namespace relais::storage {
namespace {

constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kByteaOid = 17;
// The transaction-scoped advisory lock every write transaction takes first:
// one writer at a time on Relais's tables (the schema in use, so the tests'
// schemas do not contend), as SQLite's file lock. COALESCE: a NULL key
// would make the lock function return without locking anything.
constexpr absl::string_view kWriteLock =
    "SELECT pg_advisory_xact_lock(hashtext('relais:' || current_database() || '.' || "
    "COALESCE(current_schema(), '')))";

// How a reader's snapshot starts. In REPEATABLE READ the snapshot is taken at
// the transaction's first statement, not at BEGIN, so a reader can be left
// begun in the pool (see EndRead) without holding anything back.
constexpr absl::string_view kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// Distinct statements a connection keeps prepared on the server; past that,
// a statement is sent with its text each time.
constexpr size_t kMaxPrepared = 512;
// Statements queued in one pipeline at most (the server buffers their
// answers until the Sync); past that the queue is read first.
constexpr size_t kMaxQueued = 64;

absl::Status ErrorFor(absl::string_view sqlstate, const std::string& msg) {
  auto error = [&](absl::StatusCode code, absl::string_view reason) {
    return common::WithReason(code, reason, msg);
  };
  if (sqlstate == "23505") return error(absl::StatusCode::kAlreadyExists, "storage_conflict");
  if (absl::StartsWith(sqlstate, "23")) {
    return error(absl::StatusCode::kFailedPrecondition, "storage_constraint");
  }
  // Lock timeout, serialisation failure, deadlock: try again, as SQLITE_BUSY.
  if (sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01") {
    return error(absl::StatusCode::kUnavailable, "storage_busy");
  }
  // Lost connection, server shutting down or starting, too many connections,
  // or a standby that cannot write (before or during a failover).
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
      sqlstate == "53300" || sqlstate == "25006") {
    return error(absl::StatusCode::kUnavailable, "storage_unreachable");
  }
  if (sqlstate == "53100") return error(absl::StatusCode::kResourceExhausted, "storage_full");
  if (absl::StartsWith(sqlstate, "58")) {
    return error(absl::StatusCode::kUnavailable, "storage_io_error");
  }
  if (sqlstate == "XX001" || sqlstate == "XX002") {
    return error(absl::StatusCode::kDataLoss, "storage_corrupt");
  }
  if (sqlstate == "57014") return error(absl::StatusCode::kCancelled, "cancelled");
  return error(absl::StatusCode::kInternal, "storage_error");
}

// The first line of libpq's message: the rest (detail, hint, context) can
// quote row values, which stay out of statuses and logs.
std::string FirstLine(const char* text) {
  if (text == nullptr) return std::string();
  absl::string_view line(text);
  line = line.substr(0, line.find('\n'));
  return std::string(absl::StripAsciiWhitespace(line));
}

// Dropped: libpq prints notices ("... already exists, skipping") to stderr.
void IgnoreNotice(void*, const char*) {}

// bytea in text output to its bytes, by libpq's own decoder.
std::string DecodeBytea(const char* text) {
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
  if (bytes == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool Succeeded(const PGresult* r) {
  const ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

// The key of prepared_: the SQL and its parameters' types.
std::string PreparedKey(const std::string& sql, int params, const unsigned int* types) {
  std::string key(sql);
  if (params > 0) key.append(reinterpret_cast<const char*>(types), sizeof(*types) * params);
  return key;
}

}  // namespace

class PostgresStatement final : public StatementImpl {
 public:
  PostgresStatement(PostgresConnection* conn, std::string sql, int params)
      : conn_(conn),
        sql_(std::move(sql)),
        values_(params),
        is_null_(params, true),
        types_(params, 0),
        formats_(params, 0) {}
  // A statement dropped while sent leaves the queue: its answer is read and
  // dropped with the others', and a failure still fails the transaction.
  ~PostgresStatement() override {
    if (sent_) conn_->Disown(this);
  }

  absl::Status BindInt64(int index, int64_t value) override {
    return Set(index, absl::StrCat(value), kInt8Oid, 0);
  }
  // Unknown type (0): the server infers it from where the parameter stands.
  absl::Status BindText(int index, absl::string_view text) override {
    return Set(index, std::string(text), 0, 0);
  }
  absl::Status BindBlob(int index, absl::string_view bytes) override {
    return Set(index, std::string(bytes), kByteaOid, 1);
  }
  absl::Status BindNull(int index) override {
    RETURN_IF_ERROR(CheckIndex(index));
    is_null_[index - 1] = true;
    types_[index - 1] = 0;
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Step() override {
    // Statements are queued: this one joins them, one round trip for all.
    if (!result_ && !sent_ && failed_.ok() && conn_->Queued()) (void)Send();
    if (sent_) conn_->Settle();  // hands this statement its answer (Receive)
    RETURN_IF_ERROR(failed_);
    if (!result_) RETURN_IF_ERROR(Execute());
    ++row_;
    return row_ < PQntuples(result_.get());
  }

  absl::Status Send() override {
    if (sent_ || result_ || !failed_.ok()) {
      return common::WithReason(absl::StatusCode::kInternal, "storage_error",
                                "send: the statement already ran; Reset it first");
    }
    const Arguments a = Bound();
    sent_ = conn_->Enqueue(this, sql_, static_cast<int>(values_.size()), types_.data(),
                           a.values.data(), a.lengths.data(), formats_.data());
    return absl::OkStatus();
  }

  absl::Status Post() override {
    if (!conn_->posting()) return StatementImpl::Post();
    RETURN_IF_ERROR(Send());
    if (sent_) return absl::OkStatus();
    return StatementImpl::Post();  // not queued: runs now
  }

  // The answer to a queued statement (PostgresConnection::Settle).
  void Receive(pg_result* result, absl::Status status) {
    sent_ = false;
    Result r(result);
    if (status.ok()) status = CheckCommit(r.get());
    if (status.ok()) {
      result_ = std::move(r);
      row_ = -1;
    } else {
      failed_ = std::move(status);
    }
  }

  int64_t ColumnInt64(int column) const override {
    if (!HasValue(column)) return 0;
    const char* text = PQgetvalue(result_.get(), row_, column);
    if (text[0] == 't' && text[1] == '\0') return 1;  // boolean
    int64_t value = 0;
    absl::string_view digits(text);
    digits = digits.substr(0, digits.find('.'));  // numeric, as SQLite truncates
    return absl::SimpleAtoi(digits, &value) ? value : 0;
  }
  absl::string_view ColumnView(int column) const override {
    if (!HasValue(column)) return absl::string_view();
    if (PQftype(result_.get(), column) == kByteaOid) {
      if (decoded_.size() <= static_cast<size_t>(column)) decoded_.resize(column + 1);
      decoded_[column] = ColumnBlob(column);
      return decoded_[column];
    }
    return absl::string_view(PQgetvalue(result_.get(), row_, column),
                             PQgetlength(result_.get(), row_, column));
  }
  std::string ColumnBlob(int column) const override {
    if (!HasValue(column)) return std::string();
    const char* text = PQgetvalue(result_.get(), row_, column);
    if (PQftype(result_.get(), column) == kByteaOid) return DecodeBytea(text);
    return std::string(text, PQgetlength(result_.get(), row_, column));
  }
  bool ColumnIsNull(int column) const override { return !HasValue(column); }
  int ColumnCount() const override { return result_ ? PQnfields(result_.get()) : 0; }
  void Reset() override {
    if (sent_) conn_->Disown(this);
    sent_ = false;
    result_.reset();
    failed_ = absl::OkStatus();
    row_ = -1;
    for (size_t i = 0; i < values_.size(); ++i) {
      values_[i].clear();
      is_null_[i] = true;
      types_[i] = 0;
      formats_[i] = 0;
    }
  }

 private:
  absl::Status CheckIndex(int index) const {
    if (index < 1 || index > static_cast<int>(values_.size())) {
      return common::WithReason(absl::StatusCode::kInternal, "storage_error",
                                absl::StrCat("bind: no parameter ", index, " in ", sql_));
    }
    return absl::OkStatus();
  }
  absl::Status Set(int index, std::string value, unsigned int type, int format) {
    RETURN_IF_ERROR(CheckIndex(index));
    values_[index - 1] = std::move(value);
    is_null_[index - 1] = false;
    types_[index - 1] = type;
    formats_[index - 1] = format;
    return absl::OkStatus();
  }
  // The server answers a COMMIT of a failed transaction with a ROLLBACK, as
  // a success: that is a failure (nothing was written).
  absl::Status CheckCommit(const pg_result* r) const {
    if (sql_ != "COMMIT" || r == nullptr) return absl::OkStatus();
    if (absl::string_view(PQcmdStatus(const_cast<pg_result*>(r))) != "ROLLBACK") {
      return absl::OkStatus();
    }
    return common::WithReason(absl::StatusCode::kAborted, "storage_error",
                              "commit: the transaction had failed and was rolled back");
  }
  bool HasValue(int column) const {
    return result_ && row_ >= 0 && row_ < PQntuples(result_.get()) && column >= 0 &&
           column < PQnfields(result_.get()) && !PQgetisnull(result_.get(), row_, column);
  }
  // The bound values as libpq takes them (null: SQL NULL).
  struct Arguments {
    std::vector<const char*> values;
    std::vector<int> lengths;
  };
  Arguments Bound() const {
    const size_t n = values_.size();
    Arguments a{std::vector<const char*>(n), std::vector<int>(n)};
    for (size_t i = 0; i < n; ++i) {
      a.values[i] = is_null_[i] ? nullptr : values_[i].data();
      a.lengths[i] = static_cast<int>(values_[i].size());
    }
    return a;
  }
  absl::Status Execute() {
    const Arguments a = Bound();
    Result r(conn_->Execute(sql_, static_cast<int>(values_.size()), types_.data(), a.values.data(),
                            a.lengths.data(), formats_.data()));
    if (!r || !Succeeded(r.get())) return PostgresStatus(r.get(), conn_->raw(), "step");
    RETURN_IF_ERROR(CheckCommit(r.get()));
    result_ = std::move(r);
    row_ = -1;
    return absl::OkStatus();
  }

  PostgresConnection* conn_;
  const std::string sql_;
  std::vector<std::string> values_;
  std::vector<bool> is_null_;
  std::vector<unsigned int> types_;
  std::vector<int> formats_;
  Result result_;
  int row_ = -1;  // the row Step reached; -1 before the first
  // Queued in the connection's pipeline, its answer not read yet.
  bool sent_ = false;
  // What the server answered a sent statement that failed.
  absl::Status failed_;
  mutable std::vector<std::string> decoded_;
};

absl::Status PostgresStatus(const pg_result* result, pg_conn* conn, absl::string_view context) {
  if (result != nullptr && Succeeded(result)) return absl::OkStatus();
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string msg = absl::StrCat(
      context, ": ",
      FirstLine(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn)));
  // No SQLSTATE: libpq itself failed (connection lost, out of memory).
  if (state == nullptr) return ErrorFor("08000", msg);
  return ErrorFor(state, msg);
}

std::string ToPostgresParameters(absl::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 16);
  int largest = 0;
  size_t i = 0;
  auto copy_until = [&](char close) {
    out.push_back(sql[i++]);
    while (i < sql.size()) {
      const char c = sql[i++];
      out.push_back(c);
      if (c == close) {
        if (i < sql.size() && sql[i] == close) {  // doubled: an escaped quote
          out.push_back(sql[i++]);
          continue;
        }
        return;
      }
    }
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      copy_until(c);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == absl::string_view::npos ? sql.size() : end;
      absl::StrAppend(&out, sql.substr(i, stop - i));
      i = stop;
    } else if (c == '?') {
      ++i;
      int number = 0;
      size_t digits = 0;
      while (i < sql.size() && sql[i] >= '0' && sql[i] <= '9') {
        number = number * 10 + (sql[i++] - '0');
        ++digits;
      }
      if (digits == 0) number = largest + 1;
      if (number > largest) largest = number;
      absl::StrAppend(&out, "$", number);
    } else {
      out.push_back(sql[i++]);
    }
  }
  *params = largest;
  return out;
}

absl::Status CheckPostgresUri(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? FirstLine(error) : "out of memory";
    PQfreemem(error);
    return common::InvalidField("db", "db_uri_invalid", why);
  }
  std::string password, host, hostaddr, sslmode;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const absl::string_view key(o->keyword);
    if (key == "password") password = o->val;
    if (key == "host") host = o->val;
    if (key == "hostaddr") hostaddr = o->val;
    if (key == "sslmode") sslmode = o->val;
  }
  PQconninfoFree(options);
  if (!password.empty()) {
    return common::InvalidField("db", "db_password_in_uri",
                                "a password in the database URI would show in process lists and "
                                "logs; put it in a passfile (passfile=...)");
  }
  // Every host of a multi-host URI must be local for TLS to be optional.
  bool local = hostaddr.empty() || hostaddr == "127.0.0.1" || hostaddr == "::1";
  for (absl::string_view h : absl::StrSplit(host, ',')) {
    if (!(h.empty() || h[0] == '/' || h == "localhost" || h == "127.0.0.1" || h == "::1")) {
      local = false;
    }
  }
  if (!local && sslmode != "verify-full" && sslmode != "verify-ca") {
    return common::InvalidField("db", "db_tls_required",
                                "a PostgreSQL server on another machine is reached over TLS that "
                                "checks its certificate: add sslmode=verify-full");
  }
  return absl::OkStatus();
}

PostgresConnection::PostgresConnection(std::string uri, pg_conn* conn, absl::Duration lock_timeout)
    : Connection(Backend::kPostgres),
      uri_(std::move(uri)),
      conn_(conn),
      lock_timeout_(lock_timeout) {}

PostgresConnection::~PostgresConnection() {
  ClearCache();
  PQfinish(conn_);
}

absl::StatusOr<std::unique_ptr<PostgresConnection>> PostgresConnection::Open(
    const std::string& uri, absl::Duration lock_timeout) {
  RETURN_IF_ERROR(CheckPostgresUri(uri));
  // Defaults first: what the URI says overrides them (expand_dbname).
  // target_session_attrs=read-write: of a multi-host URI, the primary, so a
  // reconnection after a failover finds the promoted server. Keepalives: a
  // dead server is noticed in seconds, not at the kernel's two hours.
  const char* keys[] = {"application_name",
                        "connect_timeout",
                        "target_session_attrs",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "dbname",
                        nullptr};
  const char* values[] = {"relaisd", "5", "read-write", "5", "2", "3", uri.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  PQsetNoticeProcessor(raw, IgnoreNotice, nullptr);
  auto conn = absl::WrapUnique(new PostgresConnection(uri, raw, lock_timeout));
  if (PQstatus(raw) != CONNECTION_OK) {
    return common::WithReason(absl::StatusCode::kUnavailable, "storage_unreachable",
                              absl::StrCat("connect: ", FirstLine(PQerrorMessage(raw))));
  }
  RETURN_IF_ERROR(conn->Configure());
  return conn;
}

absl::Status PostgresConnection::Configure() {
  // The wait for the write lock, as SQLite's busy timeout: then UNAVAILABLE.
  return Exec(absl::StrCat("SET lock_timeout = ", absl::ToInt64Milliseconds(lock_timeout_),
                           "; SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'"));
}

pg_result* PostgresConnection::Execute(const std::string& sql, int params,
                                       const unsigned int* types, const char* const* values,
                                       const int* lengths, const int* formats) {
  Settle();
  const bool first_of_read = fresh_read_;
  fresh_read_ = false;
  PGresult* r = Send(sql, params, types, values, lengths, formats);
  // The first statement of a read begun in the pool found the connection
  // dropped (a restarted or failed-over server): nothing has happened in the
  // transaction yet, so reconnect, begin and send it again, once.
  if (first_of_read && PQstatus(conn_) == CONNECTION_BAD) {
    PQclear(r);
    r = nullptr;
    if (EnsureOpen().ok() && Run(kBeginRead).ok()) {
      r = Send(sql, params, types, values, lengths, formats);
    }
  }
  CountChanges(r);
  return r;
}

void PostgresConnection::CountChanges(const pg_result* r) const {
  if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) return;
  const char* status = PQcmdStatus(const_cast<pg_result*>(r));
  if (absl::StartsWith(status, "INSERT") || absl::StartsWith(status, "UPDATE") ||
      absl::StartsWith(status, "DELETE")) {
    (void)absl::SimpleAtoi(PQcmdTuples(const_cast<pg_result*>(r)), &changes_);
  }
}

pg_result* PostgresConnection::Send(const std::string& sql, int params, const unsigned int* types,
                                    const char* const* values, const int* lengths,
                                    const int* formats) {
  // The server parses and plans a statement once per connection, not per call.
  std::string key = PreparedKey(sql, params, types);
  auto it = prepared_.find(key);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = absl::StrCat("relais_", ++prepared_count_);
    PGresult* p = PQprepare(conn_, name.c_str(), sql.c_str(), params, types);
    // Refused (a syntax error, a failed transaction, a lost connection): the
    // same answer the statement itself would have had.
    if (p == nullptr || PQresultStatus(p) != PGRES_COMMAND_OK) return p;
    PQclear(p);
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  if (it == prepared_.end()) {
    return PQexecParams(conn_, sql.c_str(), params, types, values, lengths, formats, 0);
  }
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), params, values, lengths, formats, 0);
  // A table changed shape under a prepared statement (another instance
  // migrated it): prepared again at the next call.
  if (r != nullptr && PQresultStatus(r) == PGRES_FATAL_ERROR) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state != nullptr && absl::string_view(state) == "0A000") prepared_.erase(it);
  }
  return r;
}

absl::StatusOr<std::unique_ptr<StatementImpl>> PostgresConnection::PrepareNew(
    absl::string_view sql) {
  int params = 0;
  std::string translated = ToPostgresParameters(sql, &params);
  return std::make_unique<PostgresStatement>(this, std::move(translated), params);
}

absl::Status PostgresConnection::Exec(absl::string_view sql) {
  Settle();
  fresh_read_ = false;
  Result r(PQexec(conn_, std::string(sql).c_str()));
  return PostgresStatus(r.get(), conn_, "exec");
}

absl::Status PostgresConnection::Begin(absl::string_view sql) {
  absl::Status s = Run(sql);
  // A dropped connection shows at its first use: nothing has happened yet,
  // so reconnect and begin again, once.
  if (!s.ok() && PQstatus(conn_) == CONNECTION_BAD) {
    RETURN_IF_ERROR(EnsureOpen());
    s = Run(sql);
  }
  return s;
}

absl::Status PostgresConnection::BeginWrite() {
  // One round trip: BEGIN and the lock as one simple query.
  static const std::string kBeginWrite = absl::StrCat("BEGIN; ", kWriteLock);
  absl::Status s = Exec(kBeginWrite);
  // A dropped connection shows at its first use: nothing has happened yet,
  // so reconnect and begin again, once.
  if (!s.ok() && PQstatus(conn_) == CONNECTION_BAD) {
    RETURN_IF_ERROR(EnsureOpen());
    s = Exec(kBeginWrite);
  }
  return s;
}

bool PostgresConnection::StillOpen() {
  // What the idle connection has to read is read: the server's last words
  // (a FATAL, which libpq takes for a notice), then the end of the stream,
  // which one read alone does not reach.
  for (int i = 0; i < 4; ++i) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (p.fd < 0 || ::poll(&p, 1, 0) <= 0 || PQconsumeInput(conn_) != 1) break;
  }
  return PQstatus(conn_) == CONNECTION_OK;
}

absl::Status PostgresConnection::SendBeginWrite() {
  Settle();
  // A connection the server closed while it waited (a restart, a failover)
  // is opened again here: queued, the BEGIN could not be sent again. One
  // dropped after this is found by the queued statements (Database opens it
  // again then).
  if (!StillOpen()) RETURN_IF_ERROR(EnsureOpen());
  static const std::string kBegin = "BEGIN";
  static const std::string kLock(kWriteLock);
  if (!Enqueue(nullptr, kBegin, 0, nullptr, nullptr, nullptr, nullptr) ||
      !Enqueue(nullptr, kLock, 0, nullptr, nullptr, nullptr, nullptr)) {
    return PostgresStatus(nullptr, conn_, "begin");
  }
  return absl::OkStatus();
}

absl::Status PostgresConnection::BeginRead() {
  Settle();
  if (read_begun_) {
    read_begun_ = false;
    // Begun by the last EndRead, unless the server closed the connection
    // while it waited in the pool (then Begin reconnects).
    if (StillOpen() && PQtransactionStatus(conn_) == PQTRANS_INTRANS) {
      fresh_read_ = true;
      return absl::OkStatus();
    }
  }
  return Begin(kBeginRead);
}

absl::Status PostgresConnection::EndRead(bool ok) {
  read_begun_ = false;
  fresh_read_ = false;
  if (!ok) return Run("ROLLBACK");
  // The snapshot held nothing to write: the COMMIT only ends it. It is sent
  // with the next read's BEGIN, and both answers are read at this
  // connection's next use, by then long arrived: no round trip waited for
  // either. Not sent (the connection is gone): the transaction ended with it.
  Settle();
  commit_in_flight_ = PQsendQuery(conn_, absl::StrCat("COMMIT; ", kBeginRead).c_str()) == 1;
  return absl::OkStatus();
}

bool PostgresConnection::Enqueue(PostgresStatement* statement, const std::string& sql, int params,
                                 const unsigned int* types, const char* const* values,
                                 const int* lengths, const int* formats) {
  // The first statement of a read begun in the pool is queued too: BeginRead
  // has just found the connection alive. Should the server drop it in
  // between, the queued statements fail UNAVAILABLE and the next transaction
  // reconnects (only a statement run at once is sent again, see Execute).
  fresh_read_ = false;
  if (queued_.size() >= kMaxQueued) Drain();
  AwaitCommit();
  if (!in_pipeline_) {
    if (PQenterPipelineMode(conn_) != 1) return false;
    in_pipeline_ = true;
  }
  std::string key = PreparedKey(sql, params, types);
  auto it = prepared_.find(key);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = absl::StrCat("relais_", ++prepared_count_);
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), params, types) == 1) {
      queued_.push_back({nullptr, key, /*prepare=*/true});
      it = prepared_.emplace(key, std::move(name)).first;
    }
  }
  const int sent =
      it == prepared_.end()
          ? PQsendQueryParams(conn_, sql.c_str(), params, types, values, lengths, formats, 0)
          : PQsendQueryPrepared(conn_, it->second.c_str(), params, values, lengths, formats, 0);
  if (sent != 1) {
    // libpq refused to queue it (the connection is gone): that is its answer.
    if (statement != nullptr) statement->Receive(nullptr, PostgresStatus(nullptr, conn_, "send"));
    return false;
  }
  queued_.push_back({statement, std::move(key), /*prepare=*/false});
  return true;
}

void PostgresConnection::Disown(const PostgresStatement* statement) {
  for (QueuedStatement& q : queued_) {
    if (q.statement == statement) q.statement = nullptr;
  }
}

void PostgresConnection::Settle() const {
  Drain();
  AwaitCommit();
}

void PostgresConnection::Drain() const {
  if (!in_pipeline_) return;
  in_pipeline_ = false;
  std::vector<QueuedStatement> queued;
  queued.swap(queued_);
  // The Sync ends the pipeline and sends it: the server answers everything
  // queued, in order. Once one statement failed, the rest are skipped
  // (PIPELINE_ABORTED) and take its status.
  const bool synced = PQpipelineSync(conn_) == 1;
  absl::Status first_failure;
  for (QueuedStatement& q : queued) {
    PGresult* r = synced ? PQgetResult(conn_) : nullptr;
    if (r != nullptr) {
      while (PGresult* end = PQgetResult(conn_)) PQclear(end);  // the answer's end (null)
    }
    absl::Status status;
    if (r != nullptr && PQresultStatus(r) == PGRES_PIPELINE_ABORTED && !first_failure.ok()) {
      status = first_failure;
    } else {
      status = PostgresStatus(r, conn_, "step");
    }
    if (!status.ok()) {
      if (first_failure.ok()) first_failure = status;
      const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
      // A refused PREPARE, or a table that changed shape under the statement:
      // prepared again at its next use.
      if (q.prepare || (state != nullptr && absl::string_view(state) == "0A000")) {
        prepared_.erase(q.key);
      }
    } else if (!q.prepare) {
      CountChanges(r);
    }
    if (q.statement == nullptr || !status.ok()) {
      PQclear(r);
      r = nullptr;
    }
    if (q.statement != nullptr) q.statement->Receive(r, std::move(status));
  }
  if (synced) {
    while (PGresult* r = PQgetResult(conn_)) {
      const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (sync) break;
    }
  }
  (void)PQexitPipelineMode(conn_);
}

void PostgresConnection::AwaitCommit() const {
  if (!commit_in_flight_) return;
  commit_in_flight_ = false;
  bool ok = true;
  while (PGresult* r = PQgetResult(conn_)) {
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  read_begun_ = ok && PQtransactionStatus(conn_) == PQTRANS_INTRANS;
}

bool PostgresConnection::InTransaction() const {
  Settle();
  const PGTransactionStatusType s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool PostgresConnection::TransactionFailed() const {
  Settle();
  return PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

absl::Status PostgresConnection::EnsureOpen() {
  Settle();
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  PQreset(conn_);
  prepared_.clear();  // a new session knows none of them
  read_begun_ = false;
  fresh_read_ = false;
  if (PQstatus(conn_) != CONNECTION_OK) {
    return common::WithReason(absl::StatusCode::kUnavailable, "storage_unreachable",
                              absl::StrCat("reconnect: ", FirstLine(PQerrorMessage(conn_))));
  }
  return Configure();
}

void PostgresConnection::ForgetPrepared() {
  if (prepared_.empty()) return;
  prepared_.clear();
  // Not deallocated (the connection is gone): they went with the session.
  (void)Exec("DEALLOCATE ALL");
}

absl::string_view PostgresConnection::BootstrapSql() const {
  return R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  component TEXT NOT NULL, version BIGINT NOT NULL, applied_at_us BIGINT NOT NULL,
  PRIMARY KEY (component, version));
CREATE OR REPLACE FUNCTION relais_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = TG_ARGV[0]; END $$;
)sql";
}

}  // namespace relais::storage
