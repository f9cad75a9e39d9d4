// Four-eyes erasure (GDPR art. 17) through gRPC: EraseYouth is a request that
// restricts the record at once; a second person outside the requester's
// service approves; the server erases after the grace period; the request can
// be cancelled until then. Allow and deny paths, and the audit log.

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres_connection.h"
#include "storage/testing/fresh_database.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kReason[] = "Le jeune Zorglub-4417 demande l'effacement";

grpc::Status Request(RelaisEnv& env, absl::string_view login, const std::string& youth,
                     v1::ErasureRequest* out, std::string reason = kReason) {
  v1::EraseYouthRequest req;
  req.set_youth_id(youth);
  req.set_reason(reason);
  return env.record().EraseYouth(env.As(login).get(), req, out);
}

grpc::Status Approve(RelaisEnv& env, absl::string_view login, const std::string& id,
                     v1::ErasureRequest* out) {
  v1::ApproveErasureRequest req;
  req.set_request_id(id);
  return env.record().ApproveErasure(env.As(login).get(), req, out);
}

grpc::Status Cancel(RelaisEnv& env, absl::string_view login, const std::string& id,
                    v1::ErasureRequest* out, std::string reason = "Le jeune a changé d'avis") {
  v1::CancelErasureRequest req;
  req.set_request_id(id);
  req.set_reason(reason);
  return env.record().CancelErasure(env.As(login).get(), req, out);
}

bool Restricted(RelaisEnv& env, const std::string& youth) {
  v1::GetYouthRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Youth y;
  grpc::Status s = env.record().GetYouth(env.As(kAmoCaseworker).get(), req, &y);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return y.restricted();
}

bool Erased(RelaisEnv& env, const std::string& youth) {
  return env.host().record().GetYouthFacts(youth).status().code() == absl::StatusCode::kNotFound;
}

bool Logged(RelaisEnv& env, const std::string& youth, v1::Action action, v1::Decision decision,
            absl::string_view reason_code, absl::string_view actor = "") {
  for (const v1::AuditEvent& e : EventsOf(env, youth)) {
    if (e.action() == action && e.decision() == decision && e.reason_code() == reason_code &&
        (actor.empty() || e.actor_member_id() == actor)) {
      return true;
    }
  }
  return false;
}

TEST(FourEyesErasure, RequestRestrictsAndASecondPersonOutsideTheServiceApproves) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember("amo.coord2", "amo", v1::ROLE_COORDINATOR);
  env->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);

  // Who may request, and never without a reason.
  v1::ErasureRequest r;
  grpc::Status s = Request(*env, kAmoCaseworker, youth, &r);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Request(*env, "pms.coord", youth, &r);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  s = Request(*env, kAmoCoordinator, youth, &r, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "field_required");
  s = Request(*env, kAmoCoordinator, youth, &r, std::string(2001, 'x'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(Restricted(*env, youth));

  s = Request(*env, kAmoCoordinator, youth, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.state(), v1::ERASURE_STATE_REQUESTED);
  EXPECT_EQ(r.requested_by_member_id(), env->member_id(kAmoCoordinator));
  EXPECT_EQ(r.requested_by_service_id(), env->service_id("amo"));
  EXPECT_TRUE(r.restricted_by_request());
  EXPECT_TRUE(Restricted(*env, youth));  // art. 18 at once
  v1::ErasureRequest again;              // idempotent: the pending request
  ASSERT_TRUE(Request(*env, kAdmin, youth, &again).ok());
  EXPECT_EQ(again.id(), r.id());
  EXPECT_EQ(again.requested_by_member_id(), env->member_id(kAmoCoordinator));

  // Four eyes: not the requester, not their service, not a caseworker, not an
  // admin, not a service that does not accompany, not a non-platform auditor.
  s = Approve(*env, kAmoCoordinator, r.id(), &again);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "separation_of_duties");
  s = Approve(*env, "amo.coord2", r.id(), &again);
  EXPECT_EQ(ReasonCode(s), "separation_of_duties");
  EXPECT_EQ(ReasonCode(Approve(*env, kSajCaseworker, r.id(), &again)), "role_not_permitted");
  EXPECT_EQ(ReasonCode(Approve(*env, kAdmin, r.id(), &again)), "role_not_permitted");
  EXPECT_EQ(ReasonCode(Approve(*env, "pms.coord", r.id(), &again)), "no_active_accompaniment");
  EXPECT_EQ(ReasonCode(Approve(*env, kSajCoordinator, "erq_nope", &again)),
            "erasure_request_not_found");

  // The SAJ's coordinator approves: executed after the grace period (7 days).
  const absl::Time approved_at = env->clock().Now();
  v1::ErasureRequest approved;
  s = Approve(*env, kSajCoordinator, r.id(), &approved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(approved.state(), v1::ERASURE_STATE_APPROVED);
  EXPECT_EQ(approved.approved_by_member_id(), env->member_id(kSajCoordinator));
  EXPECT_EQ(common::FromProto(approved.execute_after()), approved_at + absl::Hours(24 * 7));
  env->clock().Advance(absl::Hours(1));
  ASSERT_TRUE(Approve(*env, kSajCoordinator, r.id(), &again).ok());  // idempotent
  EXPECT_EQ(again.approved_at().seconds(), approved.approved_at().seconds());
  EXPECT_EQ(again.state(), v1::ERASURE_STATE_APPROVED);

  // The reason is sealed, never in clear, never audited.
  const std::string db = env->db_path();
  EXPECT_EQ(UnsealedRows(db, "rec_erasure_requests", "reason"), 0);
  EXPECT_EQ(SqlInt(db, "SELECT COUNT(*) FROM rec_erasure_requests WHERE reason LIKE '%Zorglub%'"),
            0);
  EXPECT_EQ(SqlInt(db,
                   "SELECT COUNT(*) FROM audit_events WHERE reason_code || object_id || "
                   "request_id LIKE '%Zorglub%'"),
            0);

  // Not before the grace period has passed.
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);
  env->clock().Advance(absl::Hours(24 * 7) - absl::Hours(2));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);
  EXPECT_FALSE(Erased(*env, youth));
  env->clock().Advance(absl::Hours(1) + absl::Minutes(1));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 1);
  EXPECT_TRUE(Erased(*env, youth));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);  // idempotent
  EXPECT_EQ(SqlInt(db, "SELECT state FROM rec_erasure_requests WHERE id = '" + r.id() + "'"),
            v1::ERASURE_STATE_EXECUTED);
  // Afterwards every call about the youth answers NOT_FOUND "erased".
  s = Approve(*env, kSajCoordinator, r.id(), &again);
  EXPECT_EQ(ReasonCode(s), "erased");
  s = Cancel(*env, kAmoCoordinator, r.id(), &again);
  EXPECT_EQ(ReasonCode(s), "erased");

  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_REQUEST_ERASURE, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_REQUEST_ERASURE, v1::DECISION_DENY, "role_not_permitted"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_RESTRICT_YOUTH, v1::DECISION_ALLOW, "erasure_requested"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_APPROVE_ERASURE, v1::DECISION_DENY, "separation_of_duties"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_APPROVE_ERASURE, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_ERASE_YOUTH, v1::DECISION_ALLOW, "erasure_approved",
                     "relaisd"));
  v1::VerifyLogResponse verify;
  ASSERT_TRUE(
      env->audit().VerifyLog(env->As(kAuditor).get(), v1::VerifyLogRequest(), &verify).ok());
  EXPECT_TRUE(verify.ok());
}

TEST(FourEyesErasure, CancelLiftsOnlyTheRestrictionTheRequestMade) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(youth, kSajCoordinator, kSajCaseworker);

  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAmoCoordinator, youth, &r).ok());
  ASSERT_TRUE(Restricted(*env, youth));
  v1::ErasureRequest out;
  EXPECT_EQ(ReasonCode(Cancel(*env, kSajCoordinator, r.id(), &out)), "wrong_service");
  EXPECT_EQ(ReasonCode(Cancel(*env, kAmoCaseworker, r.id(), &out)), "role_not_permitted");
  EXPECT_EQ(ReasonCode(Cancel(*env, kAmoCoordinator, r.id(), &out, "")), "field_required");
  ASSERT_TRUE(Cancel(*env, kAmoCoordinator, r.id(), &out).ok());
  EXPECT_EQ(out.state(), v1::ERASURE_STATE_CANCELLED);
  EXPECT_EQ(out.cancelled_by_member_id(), env->member_id(kAmoCoordinator));
  EXPECT_EQ(out.cancel_reason_code(), "cancelled");
  EXPECT_FALSE(Restricted(*env, youth));
  v1::ErasureRequest again;
  ASSERT_TRUE(Cancel(*env, kAmoCoordinator, r.id(), &again).ok());  // idempotent
  EXPECT_EQ(again.cancelled_at().seconds(), out.cancelled_at().seconds());
  v1::ErasureRequest approved;
  grpc::Status s = Approve(*env, kSajCoordinator, r.id(), &approved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "erasure_cancelled");

  // Restricted before the request: cancelling leaves the restriction. The
  // DPO may cancel, also after the approval, until execution.
  v1::RestrictYouthRequest restrict;
  restrict.set_youth_id(youth);
  restrict.set_reason("contestation");
  v1::RecordState state;
  ASSERT_TRUE(env->record().RestrictYouth(env->As(kAmoCoordinator).get(), restrict, &state).ok());
  ASSERT_TRUE(Request(*env, kAmoCoordinator, youth, &r).ok());
  EXPECT_FALSE(r.restricted_by_request());
  ASSERT_TRUE(Approve(*env, kSajCoordinator, r.id(), &r).ok());
  ASSERT_TRUE(Cancel(*env, kAuditor, r.id(), &out).ok());
  EXPECT_EQ(out.state(), v1::ERASURE_STATE_CANCELLED);
  EXPECT_TRUE(Restricted(*env, youth));
  env->clock().Advance(absl::Hours(24 * 8));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);
  EXPECT_FALSE(Erased(*env, youth));

  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_CANCEL_ERASURE, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_CANCEL_ERASURE, v1::DECISION_DENY, "wrong_service"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_LIFT_RESTRICTION, v1::DECISION_ALLOW, "erasure_cancelled"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_APPROVE_ERASURE, v1::DECISION_DENY, "erasure_cancelled"));
}

TEST(FourEyesErasure, AdminsRequestIsApprovedByTheDpoAndZeroGraceErasesAtOnce) {
  auto env = RelaisEnv::StartWithErasureGracePeriod(absl::ZeroDuration());
  ASSERT_NE(env, nullptr);
  env->AddMember("agaj.coord", "agaj", v1::ROLE_COORDINATOR);
  const std::string youth = env->CreateYouth(16);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAdmin, youth, &r).ok());
  // The admin's service is no second pair of eyes, except its DPO.
  grpc::Status s = Approve(*env, "agaj.coord", r.id(), &r);
  EXPECT_EQ(ReasonCode(s), "separation_of_duties");
  EXPECT_EQ(ReasonCode(Approve(*env, kAdmin, r.id(), &r)), "role_not_permitted");
  s = Approve(*env, kAuditor, r.id(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.state(), v1::ERASURE_STATE_EXECUTED);
  EXPECT_TRUE(r.has_executed_at());
  EXPECT_TRUE(Erased(*env, youth));
  v1::GetErasureRequestRequest get;
  get.set_request_id(r.id());
  s = env->record().GetErasureRequest(env->As(kAuditor).get(), get, &r);
  EXPECT_EQ(ReasonCode(s), "erased");
}

TEST(FourEyesErasure, LegalHoldOrMandateAtExecutionCancelsTheRequest) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAmoCoordinator, youth, &r).ok());
  ASSERT_TRUE(Approve(*env, kAuditor, r.id(), &r).ok());
  v1::SetLegalHoldRequest hold;
  hold.set_youth_id(youth);
  hold.set_reason("réquisition du parquet");
  v1::RecordState state;
  ASSERT_TRUE(env->record().SetLegalHold(env->As(kAdmin).get(), hold, &state).ok());
  env->clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);
  EXPECT_FALSE(Erased(*env, youth));
  v1::GetErasureRequestRequest get;
  get.set_request_id(r.id());
  ASSERT_TRUE(env->record().GetErasureRequest(env->As(kAmoCoordinator).get(), get, &r).ok());
  EXPECT_EQ(r.state(), v1::ERASURE_STATE_CANCELLED);
  EXPECT_EQ(r.cancel_reason_code(), "legal_hold");
  EXPECT_EQ(r.cancelled_by_member_id(), "relaisd");
  EXPECT_TRUE(Restricted(*env, youth));  // a person lifts it
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_ERASE_YOUTH, v1::DECISION_DENY, "legal_hold", "relaisd"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_CANCEL_ERASURE, v1::DECISION_ALLOW, "legal_hold", "relaisd"));

  // A mandate opened after the approval stops it the same way.
  v1::LiftLegalHoldRequest lift;
  lift.set_youth_id(youth);
  lift.set_reason("clôturé");
  ASSERT_TRUE(env->record().LiftLegalHold(env->As(kAdmin).get(), lift, &state).ok());
  ASSERT_TRUE(Request(*env, kAmoCoordinator, youth, &r).ok());
  ASSERT_TRUE(Approve(*env, kAuditor, r.id(), &r).ok());
  v1::LiftRestrictionRequest unrestrict;
  unrestrict.set_youth_id(youth);
  unrestrict.set_reason("le mandat doit pouvoir s'ouvrir");
  ASSERT_TRUE(
      env->record().LiftRestriction(env->As(kAmoCoordinator).get(), unrestrict, &state).ok());
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth);
  open.set_referent_member_id(env->member_id(kSajCaseworker));
  open.set_basis(v1::ACCOMPANIMENT_BASIS_MANDATE);
  v1::Accompaniment mandate;
  grpc::Status s = env->care().OpenAccompaniment(env->As(kSajCoordinator).get(), open, &mandate);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ConfirmAccompanimentRequest confirm;  // a mandate counts once vouched for
  confirm.set_accompaniment_id(mandate.id());
  s = env->care().ConfirmAccompaniment(env->As(kAmoCoordinator).get(), confirm, &mandate);
  ASSERT_TRUE(s.ok()) << s.error_message();
  env->clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 0);
  EXPECT_FALSE(Erased(*env, youth));
  ASSERT_TRUE(env->record().GetErasureRequest(env->As(kAmoCoordinator).get(), get, &r).ok());
  get.set_request_id(r.id());
  v1::ListErasureRequestsRequest list;
  list.set_youth_id(youth);
  v1::ListErasureRequestsResponse listed;
  ASSERT_TRUE(
      env->record().ListErasureRequests(env->As(kAmoCoordinator).get(), list, &listed).ok());
  ASSERT_EQ(listed.erasure_requests_size(), 2);
  EXPECT_EQ(listed.erasure_requests(0).cancel_reason_code(), "mandate_active");  // newest first
  EXPECT_EQ(listed.erasure_requests(1).cancel_reason_code(), "legal_hold");
}

TEST(FourEyesErasure, RequestsAreListedForThoseWhoMayActOnThem) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAmoCoordinator, youth, &r).ok());

  v1::ListErasureRequestsRequest list;
  list.set_youth_id(youth);
  v1::GetErasureRequestRequest get;
  get.set_request_id(r.id());
  for (const char* who : {kAmoCoordinator, kAdmin}) {
    v1::ListErasureRequestsResponse listed;
    grpc::Status s = env->record().ListErasureRequests(env->As(who).get(), list, &listed);
    ASSERT_TRUE(s.ok()) << who << ": " << s.error_message();
    ASSERT_EQ(listed.erasure_requests_size(), 1) << who;
    EXPECT_EQ(listed.erasure_requests(0).id(), r.id());
    v1::ErasureRequest got;
    ASSERT_TRUE(env->record().GetErasureRequest(env->As(who).get(), get, &got).ok()) << who;
    EXPECT_EQ(got.state(), v1::ERASURE_STATE_REQUESTED);
  }
  struct Refusal {
    const char* who;
    const char* reason;
  };
  for (const Refusal& no : {Refusal{kAmoCaseworker, "role_not_permitted"},
                            Refusal{kSajCoordinator, "no_active_accompaniment"}}) {
    v1::ListErasureRequestsResponse listed;
    grpc::Status s = env->record().ListErasureRequests(env->As(no.who).get(), list, &listed);
    EXPECT_EQ(ReasonCode(s), no.reason) << no.who;
    EXPECT_EQ(listed.erasure_requests_size(), 0);
    v1::ErasureRequest got;
    s = env->record().GetErasureRequest(env->As(no.who).get(), get, &got);
    EXPECT_EQ(ReasonCode(s), no.reason) << no.who;
    EXPECT_TRUE(got.id().empty());
  }
  v1::ListErasureRequestsResponse listed;
  ASSERT_TRUE(env->record().ListErasureRequests(env->As(kAuditor).get(), list, &listed).ok());
  EXPECT_EQ(listed.erasure_requests_size(), 1);
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_READ_YOUTH, v1::DECISION_DENY, "no_active_accompaniment"));
}

// The youth's wrapped data key as stored, read as someone with the database
// would ("" once destroyed).
std::string WrappedKey(RelaisEnv& env, const std::string& youth) {
  absl::StatusOr<std::string> hex = storage::testing::RawSql(
      env.db_path(),
      absl::StrCat(storage::testing::OnPostgres() ? "SELECT encode(wrapped_key, 'hex')"
                                                  : "SELECT hex(wrapped_key)",
                   " FROM rec_data_keys WHERE youth_id = '", youth, "'"));
  EXPECT_TRUE(hex.ok()) << hex.status();
  return absl::HexStringToBytes(hex.value_or(""));
}

// Runs the sweep's retry of pending rewrites until none is left.
bool RewrittenWithin(RelaisEnv& env, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!env.host().db().CompactPending().ok() || !env.host().db().PendingCompactions().empty()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return true;
}

// Crypto-shredding holds for backups: once the erasure has run, a backup
// taken after it holds no copy of the erased youth's key, on either back end
// (PostgreSQL keeps old row versions until the table is rewritten, and its
// current WAL segment until a new one starts), while another youth's key is
// there, which shows the scan would find one.
TEST(FourEyesErasure, TheErasedYouthsKeyIsInNoBackupTakenAfterTheErasure) {
  auto env = RelaisEnv::StartWithErasureGracePeriod(absl::ZeroDuration());
  ASSERT_NE(env, nullptr);
  const std::string erased = env->CreateYouth(16);
  const std::string kept = env->CreateYouth(15);
  env->Accompany(erased, kAmoCoordinator, kAmoCaseworker);
  const std::string erased_key = WrappedKey(*env, erased);
  const std::string kept_key = WrappedKey(*env, kept);
  ASSERT_GE(erased_key.size(), 32u);
  ASSERT_GE(kept_key.size(), 32u);

  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAdmin, erased, &r).ok());
  grpc::Status s = Approve(*env, kAuditor, r.id(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(r.state(), v1::ERASURE_STATE_EXECUTED);
  EXPECT_EQ(WrappedKey(*env, erased), "");
  // Another test's snapshot on the shared server can hold the rewrite back;
  // the sweep retries it then, as here.
  ASSERT_TRUE(RewrittenWithin(*env, absl::Seconds(60)));

  const std::string backup = BackupBytesNow(*env);
  EXPECT_NE(backup.find(kept_key), std::string::npos) << "the scan finds no key at all";
  EXPECT_EQ(backup.find(erased_key), std::string::npos) << "the erased key is in the backup";
}

// A session that took its snapshot before the erasure still sees the key's
// row, so PostgreSQL keeps it and a rewrite would copy it: the erasure leaves
// the table pending, and the sweep's retry after the session ends leaves the
// key in none of the youth's tables' files.
TEST(FourEyesErasure, ASnapshotOlderThanTheErasureHoldsTheRewriteBackUntilItEnds) {
  if (!storage::testing::OnPostgres()) GTEST_SKIP() << "SQLite overwrites the key in place";
  auto env = RelaisEnv::StartWithErasureGracePeriod(absl::ZeroDuration());
  ASSERT_NE(env, nullptr);
  const std::string erased = env->CreateYouth(16);
  const std::string kept = env->CreateYouth(15);
  env->Accompany(erased, kAmoCoordinator, kAmoCaseworker);
  const std::string erased_key = WrappedKey(*env, erased);
  const std::string kept_key = WrappedKey(*env, kept);
  ASSERT_GE(erased_key.size(), 32u);
  auto old_session = storage::PostgresConnection::Open(env->db_path(), absl::Seconds(1));
  ASSERT_TRUE(old_session.ok()) << old_session.status();
  ASSERT_TRUE((*old_session)->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  // A snapshot, and no lock on the table: only the horizon holds the rewrite back.
  ASSERT_TRUE((*old_session)->Exec("SELECT 1").ok());

  v1::ErasureRequest r;
  ASSERT_TRUE(Request(*env, kAdmin, erased, &r).ok());
  grpc::Status s = Approve(*env, kAuditor, r.id(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(r.state(), v1::ERASURE_STATE_EXECUTED);
  EXPECT_EQ(WrappedKey(*env, erased), "");
  EXPECT_THAT(env->host().db().PendingCompactions(), ::testing::Contains("rec_data_keys"));
  EXPECT_NE(SchemaFileBytes(*env).find(erased_key), std::string::npos)
      << "the old session's row version is gone already: nothing was held back";

  ASSERT_TRUE((*old_session)->Exec("COMMIT").ok());
  ASSERT_TRUE(RewrittenWithin(*env, absl::Seconds(60)));
  const std::string files = SchemaFileBytes(*env);
  EXPECT_NE(files.find(kept_key), std::string::npos) << "the scan finds no key at all";
  EXPECT_EQ(files.find(erased_key), std::string::npos) << "the erased key is in the files";
}

}  // namespace
}  // namespace relais::testing
