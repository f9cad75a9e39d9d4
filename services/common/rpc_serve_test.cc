// rpc::Serve as the last-resort handler (ASVS 7.4.3): a handler body that
// throws in the middle of its write transaction answers a generic INTERNAL,
// writes nothing, is audited as a denial, and leaves the server (and its
// database) serving. A tiny DirectoryService.Glossary stands in for a handler.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "relais/v1/directory.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/common/rpc.h"
#include "storage/database.h"
#include "storage/testing/fresh_database.h"

namespace relais::rpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAudience[] = "relais-test";
constexpr char kSecretText[] = "Lina's file, note 42";

// What the handler does after its first write, inside the transaction.
using Fault = std::function<void()>;

class ThrowingDirectory final : public v1::DirectoryService::CallbackService {
 public:
  ThrowingDirectory(CallGate* gate, storage::Database* db) : gate_(gate), db_(db) {}
  void set_fault(Fault fault) { fault_ = std::move(fault); }

  grpc::ServerUnaryReactor* Glossary(grpc::CallbackServerContext* ctx, const v1::GlossaryRequest*,
                                     v1::GlossaryResponse*) override {
    return Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                 [=, this](const Caller&, CallAudit& call) -> absl::Status {
                   call.event.object_id = "scratch";
                   return db_->Write([&](storage::Connection& txn) -> absl::Status {
                     RETURN_IF_ERROR(txn.Exec("INSERT INTO scratch(v) VALUES ('half done')"));
                     fault_();
                     return absl::OkStatus();
                   });
                 });
  }

  // Counts the scratch rows, runs `between`, counts again: what one call's
  // reads saw.
  grpc::ServerUnaryReactor* ListSectors(grpc::CallbackServerContext* ctx,
                                        const v1::ListSectorsRequest*,
                                        v1::ListSectorsResponse*) override {
    return Serve(*gate_, ctx, v1::ACTION_READ_DIRECTORY,
                 [=, this](const Caller&, CallAudit&) -> absl::Status {
                   ASSIGN_OR_RETURN(const int64_t before, Count());
                   between_();
                   ASSIGN_OR_RETURN(const int64_t after, Count());
                   seen_ = {before, after};
                   return absl::OkStatus();
                 });
  }
  void set_between(Fault between) { between_ = std::move(between); }
  std::pair<int64_t, int64_t> seen() const { return seen_; }

 private:
  absl::StatusOr<int64_t> Count() {
    int64_t n = -1;
    RETURN_IF_ERROR(db_->Read([&](storage::Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(storage::Statement s, c.Prepare("SELECT COUNT(*) FROM scratch"));
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) n = s.ColumnInt64(0);
      return absl::OkStatus();
    }));
    return n;
  }

  CallGate* const gate_;
  storage::Database* const db_;
  Fault fault_ = [] {};
  Fault between_ = [] {};
  std::pair<int64_t, int64_t> seen_{-1, -1};
};

class ServeLastResort : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/rpc_serve_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Write([](storage::Connection& c) {
                     return c.Exec("CREATE TABLE scratch(v TEXT NOT NULL)");
                   })
                    .ok());
    auto audit = audit::AuditLog::Create(db_.get(), &clock_);
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
    key_ring_ = auth::KeyRing::InMemory();
    issuer_ = std::make_unique<auth::TokenIssuer>(key_ring_.get(), &clock_, kAudience);
    verifier_ = std::make_unique<auth::TokenVerifier>(key_ring_.get(), &clock_, kAudience);
    gate_ = std::make_unique<CallGate>(verifier_.get(), audit_.get(), &clock_);
    service_ = std::make_unique<ThrowingDirectory>(gate_.get(), db_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::DirectoryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    auto token = issuer_->Issue("m_worker", "svc_amo", {"caseworker"});
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    executor_.reset();
    service_.reset();
    audit_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  grpc::Status Call(const std::string& request_id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.AddMetadata("x-request-id", request_id);
    v1::GlossaryResponse reply;
    return stub_->Glossary(&ctx, v1::GlossaryRequest(), &reply);
  }

  int64_t ScratchRows() {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Connection& c) -> absl::Status {
                     ASSIGN_OR_RETURN(storage::Statement s,
                                      c.Prepare("SELECT COUNT(*) FROM scratch"));
                     ASSIGN_OR_RETURN(bool row, s.Step());
                     if (row) n = s.ColumnInt64(0);
                     return absl::OkStatus();
                   })
                    .ok());
    return n;
  }

  std::vector<v1::AuditEvent> EventsOf(const std::string& request_id) {
    auto events = audit_->Query(audit::EventFilter{}, 0, audit::AuditLog::kMaxQueryLimit);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<v1::AuditEvent> out;
    for (const v1::AuditEvent& e : events.value_or(std::vector<v1::AuditEvent>{})) {
      if (e.request_id() == request_id) out.push_back(e);
    }
    return out;
  }

  // The whole check: INTERNAL "internal" without the exception's text, nothing
  // written, exactly one DENY event, and the next call served normally.
  void ExpectContained(const std::string& request_id) {
    const grpc::Status s = Call(request_id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
    EXPECT_EQ(s.error_message(), "internal: the server could not complete the request");
    v1::RpcStatus rpc_status;
    v1::ErrorDetail detail;
    ASSERT_TRUE(rpc_status.ParseFromString(s.error_details()));
    ASSERT_EQ(rpc_status.details_size(), 1);
    ASSERT_TRUE(rpc_status.details(0).UnpackTo(&detail));
    EXPECT_EQ(detail.reason(), "internal");
    EXPECT_THAT(s.error_details(), Not(HasSubstr(kSecretText)));
    EXPECT_THAT(s.error_details(), Not(HasSubstr("exception")));
    EXPECT_EQ(ScratchRows(), 0) << "the throwing body's transaction must roll back";

    const std::vector<v1::AuditEvent> events = EventsOf(request_id);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].decision(), v1::DECISION_DENY);
    EXPECT_EQ(events[0].reason_code(), "internal");
    EXPECT_EQ(events[0].action(), v1::ACTION_READ_DIRECTORY);
    EXPECT_EQ(events[0].actor_member_id(), "m_worker");
    EXPECT_EQ(events[0].object_id(), "scratch");

    // The writer connection is usable again: a healthy call commits.
    service_->set_fault([] {});
    EXPECT_TRUE(Call(request_id + "-after").ok());
    EXPECT_EQ(ScratchRows(), 1);
    ASSERT_TRUE(
        db_->Write([](storage::Connection& c) { return c.Exec("DELETE FROM scratch"); }).ok());
  }

  common::FakeClock clock_{absl::FromUnixSeconds(1'790'000'000)};
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<auth::KeyRing> key_ring_;
  std::unique_ptr<auth::TokenIssuer> issuer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<CallExecutor> executor_;
  std::unique_ptr<ThrowingDirectory> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::DirectoryService::Stub> stub_;
  std::string token_;
};

TEST_F(ServeLastResort, AStdExceptionMidTransactionIsAnAuditedInternalThatWritesNothing) {
  service_->set_fault([] { throw std::runtime_error(kSecretText); });
  ExpectContained("throws-runtime-error");
  service_->set_fault([] { throw std::bad_alloc(); });
  ExpectContained("throws-bad-alloc");
}

TEST_F(ServeLastResort, ANonStdExceptionIsContainedAlike) {
  service_->set_fault([] { throw 42; });
  ExpectContained("throws-an-int");
  // Twice in a row: nothing of the first failure lingers.
  service_->set_fault([] { throw std::string(kSecretText); });
  ExpectContained("throws-a-string");
}

TEST_F(ServeLastResort, AHealthyBodyIsServedAndCommits) {
  // The seam itself: without a fault the same handler succeeds (no event of
  // its own: this test body records none, and Serve audits only failures).
  EXPECT_TRUE(Call("healthy").ok());
  EXPECT_EQ(ScratchRows(), 1);
  EXPECT_TRUE(EventsOf("healthy").empty());
}

TEST_F(ServeLastResort, TheReadsOfOneCallSeeOneInstant) {
  // A row committed by someone else between two reads of the same call.
  service_->set_between([this] {
    std::thread([this] {
      EXPECT_TRUE(db_->Write([](storage::Connection& c) {
                       return c.Exec("INSERT INTO scratch(v) VALUES ('meanwhile')");
                     })
                      .ok());
    }).join();
  });
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  v1::ListSectorsResponse reply;
  ASSERT_TRUE(stub_->ListSectors(&ctx, v1::ListSectorsRequest(), &reply).ok());
  EXPECT_EQ(service_->seen(), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_EQ(ScratchRows(), 1);  // the next call sees it
}

// The same handler with its body on a CallExecutor, as relaisd runs it.
class ServeOnExecutor : public ServeLastResort {
 protected:
  void UseExecutor(int workers, int queue) {
    executor_ = std::make_unique<CallExecutor>(workers, queue);
    gate_->set_executor(executor_.get());
  }

  // Starts a call without waiting for it; `done` is notified with its status.
  void Start(grpc::ClientContext& ctx, v1::GlossaryResponse& reply, grpc::Status& status,
             absl::Notification& done, const std::string& request_id) {
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.AddMetadata("x-request-id", request_id);
    stub_->async()->Glossary(&ctx, &request_, &reply, [&status, &done](grpc::Status s) {
      status = std::move(s);
      done.Notify();
    });
  }

  // Blocks the next body that runs until Release().
  void BlockNextBody() {
    service_->set_fault([this] {
      entered_.Notify();
      release_.WaitForNotification();
    });
  }
  void Release() {
    service_->set_fault([] {});
    release_.Notify();
  }

  v1::GlossaryRequest request_;
  absl::Notification entered_;
  absl::Notification release_;
};

TEST_F(ServeOnExecutor, ExceptionsAreContainedOnTheExecutorToo) {
  UseExecutor(2, 8);
  service_->set_fault([] { throw std::runtime_error(kSecretText); });
  ExpectContained("executor-throws");
}

TEST_F(ServeOnExecutor, AFullQueueAnswersServerBusyAndTouchesNothing) {
  UseExecutor(1, 1);
  BlockNextBody();
  grpc::ClientContext ctx_a, ctx_b;
  v1::GlossaryResponse reply_a, reply_b;
  grpc::Status status_a, status_b;
  absl::Notification done_a, done_b;
  Start(ctx_a, reply_a, status_a, done_a, "running");
  entered_.WaitForNotification();  // the one worker is busy
  Start(ctx_b, reply_b, status_b, done_b, "queued");
  while (executor_->queued() < 1) absl::SleepFor(absl::Milliseconds(1));

  const grpc::Status refused = Call("refused");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  v1::RpcStatus rpc_status;
  v1::ErrorDetail detail;
  ASSERT_TRUE(rpc_status.ParseFromString(refused.error_details()));
  ASSERT_EQ(rpc_status.details_size(), 1);
  ASSERT_TRUE(rpc_status.details(0).UnpackTo(&detail));
  EXPECT_EQ(detail.reason(), "server_busy");
  EXPECT_EQ(executor_->rejected(), 1);

  Release();
  done_a.WaitForNotification();
  done_b.WaitForNotification();
  EXPECT_TRUE(status_a.ok()) << status_a.error_message();
  EXPECT_TRUE(status_b.ok()) << status_b.error_message();
  EXPECT_EQ(ScratchRows(), 2);  // the refused call wrote nothing
}

TEST_F(ServeOnExecutor, ACallWhoseDeadlinePassedInTheQueueIsNeverStarted) {
  UseExecutor(1, 8);
  BlockNextBody();
  grpc::ClientContext ctx_a, ctx_b;
  v1::GlossaryResponse reply_a, reply_b;
  grpc::Status status_a, status_b;
  absl::Notification done_a, done_b;
  Start(ctx_a, reply_a, status_a, done_a, "running");
  entered_.WaitForNotification();
  ctx_b.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  Start(ctx_b, reply_b, status_b, done_b, "late");
  done_b.WaitForNotification();
  EXPECT_EQ(status_b.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  Release();
  done_a.WaitForNotification();
  EXPECT_TRUE(status_a.ok()) << status_a.error_message();
  while (executor_->queued() > 0) absl::SleepFor(absl::Milliseconds(1));
  // Give the worker the time to pick the late call up, then check it did nothing.
  EXPECT_TRUE(Call("after").ok());
  EXPECT_EQ(ScratchRows(), 2);  // "running" and "after", never "late"
  EXPECT_TRUE(EventsOf("late").empty());
}

}  // namespace
}  // namespace relais::rpc
