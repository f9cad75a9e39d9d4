// Issue #4, items 1 and 2, through gRPC: restriction of processing (GDPR
// art. 18), legal holds, and erasure by crypto-shredding (art. 17). Allow and
// deny paths, and what the audit log keeps.

#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

grpc::Status AddEntry(RelaisEnv& env, absl::string_view login, const std::string& youth,
                      v1::Entry* out) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  req.mutable_entry()->set_body("rencontre avec la famille");
  return env.record().AddEntry(env.As(login).get(), req, out);
}

grpc::Status GrantConsent(RelaisEnv& env, const std::string& youth, v1::Consent* out) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(env.service_id("saj"));
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  return env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, out);
}

grpc::Status Propose(RelaisEnv& env, const std::string& youth) {
  v1::ProposeHandoverRequest req;
  req.set_youth_id(youth);
  req.set_to_service_id(env.service_id("saj"));
  req.set_reason("passage de relais vers le SAJ");
  *req.mutable_overlap_start() = common::ToProto(env.clock().Now());
  *req.mutable_overlap_end() = common::ToProto(env.clock().Now() + absl::Hours(24 * 14));
  v1::Handover h;
  return env.care().ProposeHandover(env.As(kAmoCaseworker).get(), req, &h);
}

grpc::Status Restrict(RelaisEnv& env, absl::string_view login, const std::string& youth,
                      absl::string_view reason, v1::RecordState* out) {
  v1::RestrictYouthRequest req;
  req.set_youth_id(youth);
  req.set_reason(std::string(reason));
  return env.record().RestrictYouth(env.As(login).get(), req, out);
}

grpc::Status Lift(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::RecordState* out) {
  v1::LiftRestrictionRequest req;
  req.set_youth_id(youth);
  req.set_reason("la contestation est tranchée");
  return env.record().LiftRestriction(env.As(login).get(), req, out);
}

grpc::Status Hold(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  absl::string_view reason) {
  v1::SetLegalHoldRequest req;
  req.set_youth_id(youth);
  req.set_reason(std::string(reason));
  v1::RecordState out;
  return env.record().SetLegalHold(env.As(login).get(), req, &out);
}

grpc::Status LiftHold(RelaisEnv& env, absl::string_view login, const std::string& youth) {
  v1::LiftLegalHoldRequest req;
  req.set_youth_id(youth);
  req.set_reason("le parquet a clôturé le dossier");
  v1::RecordState out;
  return env.record().LiftLegalHold(env.As(login).get(), req, &out);
}

// Requests the erasure (four eyes: a second person approves, the server erases).
grpc::Status Erase(RelaisEnv& env, absl::string_view login, const std::string& youth,
                   v1::ErasureRequest* out) {
  v1::EraseYouthRequest req;
  req.set_youth_id(youth);
  req.set_reason("Le jeune demande l'effacement de son dossier");
  return env.record().EraseYouth(env.As(login).get(), req, out);
}

// The whole four-eyes path: `login` requests, the DPO approves, the grace
// period passes and the server executes. Fails the test on error.
void EraseNow(RelaisEnv& env, absl::string_view login, const std::string& youth) {
  v1::ErasureRequest request;
  grpc::Status s = Erase(env, login, youth, &request);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ApproveErasureRequest approve;
  approve.set_request_id(request.id());
  s = env.record().ApproveErasure(env.As(kAuditor).get(), approve, &request);
  ASSERT_TRUE(s.ok()) << s.error_message();
  env.clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
  absl::StatusOr<int> executed = env.host().record().ExecuteDueErasures();
  ASSERT_TRUE(executed.ok()) << executed.status();
  ASSERT_EQ(*executed, 1);
}

grpc::Status GetYouth(RelaisEnv& env, absl::string_view login, const std::string& youth,
                      v1::Youth* out) {
  v1::GetYouthRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().GetYouth(env.As(login).get(), req, out);
}

grpc::Status List(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::ListEntriesResponse* out) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().ListEntries(env.As(login).get(), req, out);
}

grpc::Status GetEntry(RelaisEnv& env, absl::string_view login, const std::string& id,
                      v1::Entry* out) {
  v1::GetEntryRequest req;
  req.set_entry_id(id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().GetEntry(env.As(login).get(), req, out);
}

// Whether the log holds an event of `action` about `youth` with this decision and code.
bool Logged(RelaisEnv& env, const std::string& youth, v1::Action action, v1::Decision decision,
            absl::string_view reason_code) {
  for (const v1::AuditEvent& e : EventsOf(env, youth)) {
    if (e.action() == action && e.decision() == decision && e.reason_code() == reason_code) {
      return true;
    }
  }
  return false;
}

TEST(GdprRestriction, RestrictedRecordIsReadableButCannotChangeOrBeShared) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::Entry entry;
  ASSERT_TRUE(AddEntry(*env, kAmoCaseworker, youth, &entry).ok());

  // Who may restrict: not a caseworker, not a coordinator of a service that
  // does not accompany the youth, and never without a reason.
  v1::RecordState state;
  grpc::Status s = Restrict(*env, kAmoCaseworker, youth, "contestation", &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Restrict(*env, kSajCoordinator, youth, "contestation", &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  s = Restrict(*env, kAmoCoordinator, youth, "", &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonCode(s), "field_required");

  s = Restrict(*env, kAmoCoordinator, youth, "la jeune conteste l'exactitude des notes", &state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(state.restricted());
  EXPECT_FALSE(state.change_id().empty());
  v1::RecordState again;  // idempotent
  ASSERT_TRUE(Restrict(*env, kAmoCoordinator, youth, "encore", &again).ok());
  EXPECT_TRUE(again.restricted());
  EXPECT_TRUE(again.change_id().empty());

  // Reads by the current service still work.
  v1::Youth y;
  ASSERT_TRUE(GetYouth(*env, kAmoCaseworker, youth, &y).ok());
  EXPECT_TRUE(y.restricted());
  v1::ListEntriesResponse list;
  ASSERT_TRUE(List(*env, kAmoCaseworker, youth, &list).ok());
  EXPECT_EQ(list.entries_size(), 1);
  v1::Entry read;
  ASSERT_TRUE(GetEntry(*env, kAmoCaseworker, entry.id(), &read).ok());
  EXPECT_EQ(read.body(), "rencontre avec la famille");

  // Changes and further sharing are refused.
  v1::Entry added;
  s = AddEntry(*env, kAmoCaseworker, youth, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "record_restricted");
  v1::Consent consent;
  s = GrantConsent(*env, youth, &consent);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "record_restricted");
  s = Propose(*env, youth);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "record_restricted");

  // Lifting: caseworker refused; an admin may, without accompanying.
  s = Lift(*env, kAmoCaseworker, youth, &state);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  ASSERT_TRUE(Lift(*env, kAdmin, youth, &state).ok());
  EXPECT_FALSE(state.restricted());
  EXPECT_TRUE(AddEntry(*env, kAmoCaseworker, youth, &added).ok());
  EXPECT_TRUE(GrantConsent(*env, youth, &consent).ok());

  // All of it is in the log, allowed and denied.
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_RESTRICT_YOUTH, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_RESTRICT_YOUTH, v1::DECISION_DENY, "no_active_accompaniment"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_RESTRICT_YOUTH, v1::DECISION_DENY, "role_not_permitted"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_ADD_ENTRY, v1::DECISION_DENY, "record_restricted"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_GRANT_CONSENT, v1::DECISION_DENY, "record_restricted"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_PROPOSE_HANDOVER, v1::DECISION_DENY, "record_restricted"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_LIFT_RESTRICTION, v1::DECISION_ALLOW, "allowed"));
  // The reason text is stored sealed, never in clear.
  EXPECT_EQ(UnsealedRows(env->db_path(), "rec_gdpr_changes", "reason"), 0);
  EXPECT_EQ(SqlInt(env->db_path(),
                   "SELECT COUNT(*) FROM rec_gdpr_changes WHERE reason LIKE '%conteste%'"),
            0);
}

TEST(GdprErasure, LegalHoldAndMandateBlockErasure) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);

  // Legal holds: admin only, reason required.
  grpc::Status s = Hold(*env, kAmoCoordinator, youth, "réquisition du parquet");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Hold(*env, kAdmin, youth, "");
  EXPECT_EQ(ReasonCode(s), "field_required");
  ASSERT_TRUE(Hold(*env, kAdmin, youth, "réquisition du parquet").ok());

  v1::ErasureRequest state;
  s = Erase(*env, kAmoCoordinator, youth, &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "legal_hold");
  s = Erase(*env, kAdmin, youth, &state);
  EXPECT_EQ(ReasonCode(s), "legal_hold");
  s = LiftHold(*env, kAmoCoordinator, youth);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  ASSERT_TRUE(LiftHold(*env, kAdmin, youth).ok());

  // An active mandate blocks erasure until it ends.
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(youth);
  open.set_referent_member_id(env->member_id(kSajCaseworker));
  open.set_basis(v1::ACCOMPANIMENT_BASIS_MANDATE);
  v1::Accompaniment mandate;
  ASSERT_TRUE(env->care().OpenAccompaniment(env->As(kSajCoordinator).get(), open, &mandate).ok());
  {  // a mandate counts once vouched for (here by the AMO, which accompanies)
    v1::ConfirmAccompanimentRequest confirm;
    confirm.set_accompaniment_id(mandate.id());
    ASSERT_TRUE(
        env->care().ConfirmAccompaniment(env->As(kAmoCoordinator).get(), confirm, &mandate).ok());
  }
  s = Erase(*env, kAmoCoordinator, youth, &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(s), "mandate_active");
  v1::EndAccompanimentRequest end;
  end.set_accompaniment_id(mandate.id());
  v1::Accompaniment ended;
  ASSERT_TRUE(env->care().EndAccompaniment(env->As(kSajCoordinator).get(), end, &ended).ok());

  // Now: not a caseworker, not a service that no longer accompanies.
  s = Erase(*env, kAmoCaseworker, youth, &state);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = Erase(*env, kSajCoordinator, youth, &state);
  EXPECT_EQ(ReasonCode(s), "no_active_accompaniment");
  EraseNow(*env, kAmoCoordinator, youth);
  v1::Youth gone;
  EXPECT_EQ(ReasonCode(GetYouth(*env, kAmoCaseworker, youth, &gone)), "erased");

  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_SET_LEGAL_HOLD, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(
      Logged(*env, youth, v1::ACTION_SET_LEGAL_HOLD, v1::DECISION_DENY, "role_not_permitted"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_REQUEST_ERASURE, v1::DECISION_DENY, "legal_hold"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_REQUEST_ERASURE, v1::DECISION_DENY, "mandate_active"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_LIFT_LEGAL_HOLD, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_REQUEST_ERASURE, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_APPROVE_ERASURE, v1::DECISION_ALLOW, "allowed"));
  EXPECT_TRUE(Logged(*env, youth, v1::ACTION_ERASE_YOUTH, v1::DECISION_ALLOW, "erasure_approved"));
}

TEST(GdprErasure, ShredsTheKeyKeepsATombstoneAndTheAuditChain) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Lina Dupont");
  create.mutable_youth()->set_date_of_birth("2011-03-14");
  create.set_national_number("11031412345");
  v1::Youth created;
  ASSERT_TRUE(env->record().CreateYouth(env->As(kAmoCaseworker).get(), create, &created).ok());
  const std::string youth = created.id();
  const std::string bystander = env->CreateYouth(13);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  env->Accompany(bystander, kAmoCoordinator, kAmoCaseworker);
  v1::Entry entry;
  ASSERT_TRUE(AddEntry(*env, kAmoCaseworker, youth, &entry).ok());
  v1::Consent consent;
  ASSERT_TRUE(GrantConsent(*env, youth, &consent).ok());
  v1::Entry read;
  ASSERT_TRUE(GetEntry(*env, kAmoCaseworker, entry.id(), &read).ok());  // key now cached
  // Care keeps the handover's reason as free text: erasure must reach it too.
  ASSERT_TRUE(Propose(*env, youth).ok());
  const std::string handover_text = "SELECT COUNT(*) FROM care_handovers WHERE youth_id = '" +
                                    youth +
                                    "' AND (reason <> '' OR COALESCE(closing_reason, '') <> '')";
  ASSERT_EQ(SqlInt(env->db_path(), handover_text), 1);
  const std::vector<v1::AuditEvent> before = EventsOf(*env, youth);
  ASSERT_FALSE(before.empty());

  EraseNow(*env, kAmoCoordinator, youth);
  v1::RecordState state;
  v1::ErasureRequest erasure;
  grpc::Status s;

  // Every call about the youth now answers NOT_FOUND "erased".
  auto expect_erased = [](const grpc::Status& st, const char* what) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << what << ": " << st.error_message();
    EXPECT_EQ(ReasonCode(st), "erased") << what;
  };
  v1::Youth y;
  expect_erased(GetYouth(*env, kAmoCaseworker, youth, &y), "GetYouth");
  EXPECT_TRUE(y.display_name().empty());
  v1::ListEntriesResponse list;
  expect_erased(List(*env, kAmoCaseworker, youth, &list), "ListEntries");
  v1::Entry e;
  expect_erased(GetEntry(*env, kAmoCaseworker, entry.id(), &e), "GetEntry");
  EXPECT_TRUE(e.body().empty());
  expect_erased(AddEntry(*env, kAmoCaseworker, youth, &e), "AddEntry");
  expect_erased(GrantConsent(*env, youth, &consent), "GrantConsent");
  v1::ListConsentsRequest lc;
  lc.set_youth_id(youth);
  v1::ListConsentsResponse consents;
  expect_erased(env->care().ListConsents(env->As(kAmoCaseworker).get(), lc, &consents),
                "ListConsents");
  v1::ListAccompanimentsRequest la;
  la.set_youth_id(youth);
  v1::ListAccompanimentsResponse accs;
  expect_erased(env->care().ListAccompaniments(env->As(kAmoCaseworker).get(), la, &accs),
                "ListAccompaniments");
  expect_erased(Propose(*env, youth), "ProposeHandover");
  expect_erased(Restrict(*env, kAmoCoordinator, youth, "x", &state), "RestrictYouth");
  expect_erased(Erase(*env, kAdmin, youth, &erasure), "EraseYouth again");
  v1::FindYouthRequest find;
  find.set_national_number("11031412345");
  v1::FindYouthResponse found;
  s = env->record().FindYouth(env->As(kAmoCaseworker).get(), find, &found);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(found.youth_id().empty());

  // The tombstone: the row remains, erased, without identity or number hash;
  // the data key is gone.
  const std::string db = env->db_path();
  const std::string q = "'" + youth + "'";
  EXPECT_EQ(SqlInt(db, "SELECT erased FROM rec_youth WHERE id = " + q), 1);
  EXPECT_EQ(SqlInt(db, "SELECT national_hash IS NULL FROM rec_youth WHERE id = " + q), 1);
  EXPECT_EQ(SqlInt(db, "SELECT length(display_name) FROM rec_youth WHERE id = " + q), 0);
  EXPECT_EQ(SqlInt(db, "SELECT COUNT(*) FROM rec_data_keys WHERE youth_id = " + q +
                           " AND wrapped_key IS NOT NULL"),
            0);
  EXPECT_EQ(SqlInt(db, handover_text), 0) << "a handover reason survived the erasure";
  EXPECT_EQ(SqlInt(db, "SELECT COUNT(*) FROM care_handovers WHERE youth_id = " + q), 1)
      << "the handover row itself stays, as the accompaniments do";

  // The audit events keep their ids and hashes; the chain verifies; the
  // denials after erasure are audited as record_erased.
  const std::vector<v1::AuditEvent> after = EventsOf(*env, youth);
  ASSERT_GE(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].sequence(), before[i].sequence());
    EXPECT_EQ(after[i].hash(), before[i].hash());
  }
  bool erased_denial = false;
  for (const v1::AuditEvent& ev : after) {
    erased_denial |= ev.action() == v1::ACTION_READ_YOUTH && ev.decision() == v1::DECISION_DENY &&
                     ev.reason() == v1::ACCESS_REASON_RECORD_ERASED;
  }
  EXPECT_TRUE(erased_denial);
  v1::VerifyLogResponse verify;
  ASSERT_TRUE(
      env->audit().VerifyLog(env->As(kAuditor).get(), v1::VerifyLogRequest(), &verify).ok());
  EXPECT_TRUE(verify.ok());

  // The other youth is untouched, also after a restart (no key cache).
  EXPECT_TRUE(GetYouth(*env, kAmoCaseworker, bystander, &y).ok());
  const std::string keys = env->keys_dir();
  env->Stop();
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  expect_erased(GetYouth(*env, kAmoCaseworker, youth, &y), "GetYouth after restart");
  EXPECT_TRUE(GetYouth(*env, kAmoCaseworker, bystander, &y).ok());
}

}  // namespace
}  // namespace relais::testing
