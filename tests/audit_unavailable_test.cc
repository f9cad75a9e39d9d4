// Issue #12: one rule for an access that cannot be recorded. When the access
// log refuses a call's ALLOW event, every service answers UNAVAILABLE
// "audit_unavailable" (rpc::CommitAllowed / rpc::RecordAllowed), writes
// nothing, and the refusal itself is audited as a denial. The fault is a
// trigger that refuses ALLOW events only, so the DENY that follows goes in:
// the answer must not depend on whether the denial could be recorded.

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

// The first column of the first row of `sql`, read from the file as an integer.
int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  int64_t out = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class AuditUnavailableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RelaisEnv::Start();
    youth_ = env_->CreateYouth(15);
    env_->Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    // From here on, the log refuses every ALLOW event.
    Sql(env_->db_path(),
        absl::StrCat("CREATE TRIGGER test_allow_refused BEFORE INSERT ON audit_events WHEN "
                     "NEW.decision = ",
                     static_cast<int>(v1::DECISION_ALLOW),
                     " BEGIN SELECT RAISE(ABORT, 'injected: the log refuses ALLOW'); END;"));
  }

  int64_t Count(const std::string& sql) { return QueryInt(env_->db_path(), sql); }

  // The call was refused as unrecordable, and that refusal was audited.
  void ExpectAuditUnavailable(const grpc::Status& s, v1::Action action) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_EQ(ReasonCode(s), "audit_unavailable") << s.error_message();
    EXPECT_EQ(Count(absl::StrCat(
                  "SELECT COUNT(*) FROM audit_events WHERE action = ", static_cast<int>(action),
                  " AND decision = ", static_cast<int>(v1::DECISION_DENY),
                  " AND reason_code = 'audit_unavailable'")),
              1);
  }

  std::unique_ptr<RelaisEnv> env_;
  std::string youth_;
};

TEST_F(AuditUnavailableTest, RecordWriteIsRefusedAndLeavesNoRecord) {
  const int64_t youths = Count("SELECT COUNT(*) FROM rec_youth");
  v1::CreateYouthRequest req;
  req.mutable_youth()->set_display_name("Alex");
  req.mutable_youth()->set_date_of_birth("2012-03-04");
  req.mutable_youth()->add_guardians()->set_display_name("A Guardian");
  v1::Youth created;
  ExpectAuditUnavailable(env_->record().CreateYouth(env_->As(kAmoCaseworker).get(), req, &created),
                         v1::ACTION_CREATE_YOUTH);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rec_youth"), youths);
}

TEST_F(AuditUnavailableTest, CareWriteIsRefusedAndLeavesNoConsent) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth_);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env_->clock().Now() + absl::Hours(24 * 30));
  k->add_recipients()->set_service_id(env_->service_id("pms"));
  v1::Consent granted;
  ExpectAuditUnavailable(env_->care().GrantConsent(env_->As(kAmoCaseworker).get(), req, &granted),
                         v1::ACTION_GRANT_CONSENT);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM care_consents"), 0);
}

TEST_F(AuditUnavailableTest, DirectoryReadIsRefused) {
  v1::ListServicesResponse reply;
  ExpectAuditUnavailable(env_->directory().ListServices(env_->As(kAmoCaseworker).get(),
                                                        v1::ListServicesRequest(), &reply),
                         v1::ACTION_READ_DIRECTORY);
  EXPECT_EQ(reply.services_size(), 0);
}

TEST_F(AuditUnavailableTest, LoginIsRefusedWithoutAToken) {
  v1::LoginRequest req;
  req.set_login(kAmoCaseworker);
  req.set_password(kPassword);
  v1::LoginResponse reply;
  grpc::ClientContext ctx;
  ExpectAuditUnavailable(env_->auth().Login(&ctx, req, &reply), v1::ACTION_LOGIN);
  EXPECT_TRUE(reply.token().empty());
}

TEST_F(AuditUnavailableTest, AuditQueryIsRefused) {
  v1::QueryEventsResponse reply;
  ExpectAuditUnavailable(
      env_->audit().QueryEvents(env_->As(kAuditor).get(), v1::QueryEventsRequest(), &reply),
      v1::ACTION_QUERY_AUDIT);
  EXPECT_EQ(reply.events_size(), 0);
}

TEST_F(AuditUnavailableTest, BackupIsRefusedBeforeAnyByteLeaves) {
  auto stub = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env_->host().port()), grpc::InsecureChannelCredentials()));
  auto ctx = env_->As(kAdmin);
  auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupDatabaseChunk chunk;
  int chunks = 0;
  while (reader->Read(&chunk)) ++chunks;
  ExpectAuditUnavailable(reader->Finish(), v1::ACTION_BACKUP);
  EXPECT_EQ(chunks, 0);
}

}  // namespace
}  // namespace relais::testing
