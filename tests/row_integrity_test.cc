// Issue #11, item 8: authenticated access facts. Someone who can write the
// database file but holds no key (a stolen backup restored, a hand edit with
// the sqlite3 shell) inserts or edits the rows the access rule reads; the next
// call that reads them fails closed with integrity_violation, an audited DENY
// and a metric, instead of trusting them.

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

std::string AddSharedEntry(RelaisEnv& env, const std::string& youth) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  req.mutable_entry()->set_body("suivi partagé");
  v1::Entry e;
  grpc::Status s = env.record().AddEntry(env.As(kAmoCaseworker).get(), req, &e);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return e.id();
}

// A consent, granted by the AMO's caseworker, sharing the youth's general
// entries with `service_key` for coordination; its id ("" on error).
std::string ShareGeneralEntries(RelaisEnv& env, const std::string& youth,
                                absl::string_view service_key) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  k->add_recipients()->set_service_id(env.service_id(service_key));
  v1::Consent granted;
  grpc::Status s = env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, &granted);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return granted.id();
}

grpc::Status List(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::ListEntriesResponse* out) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().ListEntries(env.As(login).get(), req, out);
}

// Whether the audit log holds a DENY integrity_violation about the youth.
bool AuditedViolation(RelaisEnv& env, const std::string& youth, absl::string_view member) {
  for (const v1::AuditEvent& ev : EventsOf(env, youth)) {
    if (ev.decision() == v1::DECISION_DENY && ev.reason_code() == "integrity_violation" &&
        ev.actor_member_id() == member) {
      return true;
    }
  }
  return false;
}

// The AMO follows a youth and wrote a shared entry; the SAJ accompanies too
// (vouched by the AMO) but no consent shares anything with it yet.
struct Story {
  std::unique_ptr<RelaisEnv> env;
  std::string youth;
};

Story Begin() {
  Story st;
  st.env = RelaisEnv::Start();
  st.youth = st.env->CreateYouth(15);
  st.env->Accompany(st.youth, kAmoCoordinator, kAmoCaseworker);
  AddSharedEntry(*st.env, st.youth);
  st.env->Accompany(st.youth, kSajCoordinator, kSajCaseworker);
  return st;
}

std::string ForgedConsentSql(RelaisEnv& env, const std::string& youth, absl::string_view id) {
  const int64_t now = absl::ToUnixMicros(env.clock().Now());
  return absl::StrCat(
      "INSERT INTO care_consents (id, youth_id, giver, youth_opinion, categories, "
      "all_non_special, purposes, valid_from_us, valid_until_us, recorded_by_member_id, "
      "recorded_by_service_id, recorded_at_us) VALUES (",
      Q(id), ", ", Q(youth), ", 1, 1, '', 1, '1,2', ", now - 1000000, ", ",
      now + int64_t{86400} * 1000000 * 30, ", ", Q(env.member_id(kAmoCaseworker)), ", ",
      Q(env.service_id("amo")), ", ", now, ");",
      "INSERT INTO care_consent_recipients (consent_id, kind, target_id) VALUES (", Q(id),
      ", 'service', ", Q(env.service_id("saj")), ");");
}

TEST(RowIntegrity, HonestRowsAreReadAndCountNothing) {
  Story st = Begin();
  v1::ListEntriesResponse list;
  grpc::Status s = List(*st.env, kSajCaseworker, st.youth, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list.entries_size(), 0);  // accompanies, but no consent shares anything
  EXPECT_EQ(Violations(*st.env, "care_consents"), 0);
  EXPECT_EQ(Violations(*st.env, "care_accompaniments"), 0);
}

TEST(RowIntegrity, ConsentInsertedThroughSqlIsRefusedAuditedAndCounted) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  Sql(env.db_path(), ForgedConsentSql(env, st.youth, "cns_forged"));
  v1::ListEntriesResponse list;
  grpc::Status s = List(env, kSajCaseworker, st.youth, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_EQ(list.entries_size(), 0);
  EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(kSajCaseworker)));
  EXPECT_EQ(Violations(env, "care_consents"), 1);
}

TEST(RowIntegrity, RecipientAddedToAnHonestConsentIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  // The AMO shares its general entries with the PMS only.
  const std::string consent = ShareGeneralEntries(env, st.youth, "pms");
  ASSERT_FALSE(consent.empty());
  grpc::Status s;
  // Widened by hand to the SAJ.
  Sql(env.db_path(), absl::StrCat("INSERT INTO care_consent_recipients (consent_id, kind, "
                                  "target_id) VALUES (",
                                  Q(consent), ", 'service', ", Q(env.service_id("saj")), ")"));
  v1::ListEntriesResponse list;
  s = List(env, kSajCaseworker, st.youth, &list);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_EQ(list.entries_size(), 0);
  EXPECT_EQ(Violations(env, "care_consents"), 1);
}

TEST(RowIntegrity, GetEntryThroughAConsentReadsItAuthenticatedAndRefusesItWidened) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  const std::string entry = AddSharedEntry(env, st.youth);
  // The AMO shares its general entries with the SAJ, which accompanies too.
  const std::string consent = ShareGeneralEntries(env, st.youth, "saj");
  ASSERT_FALSE(consent.empty());
  grpc::Status s;
  v1::GetEntryRequest req;
  req.set_entry_id(entry);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry read;
  s = env.record().GetEntry(env.As(kSajCaseworker).get(), req, &read);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read.body(), "suivi partagé");
  // Widened by hand to the PMS: neither the SAJ nor the PMS reads through it.
  Sql(env.db_path(), absl::StrCat("INSERT INTO care_consent_recipients (consent_id, kind, "
                                  "target_id) VALUES (",
                                  Q(consent), ", 'service', ", Q(env.service_id("pms")), ")"));
  for (absl::string_view login : {kSajCaseworker, kPmsCaseworker}) {
    v1::Entry refused;
    s = env.record().GetEntry(env.As(login).get(), req, &refused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << login;
    EXPECT_EQ(ReasonCode(s), "integrity_violation") << login;
    EXPECT_TRUE(refused.body().empty()) << login;
    EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(login))) << login;
  }
  EXPECT_EQ(Violations(env, "care_consents"), 2);
}

TEST(RowIntegrity, AccompanimentInsertedThroughSqlIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  // The PMS never accompanied the youth; a row says it does, vouched.
  const int64_t now = absl::ToUnixMicros(env.clock().Now());
  Sql(env.db_path(),
      absl::StrCat("INSERT INTO care_accompaniments (id, youth_id, service_id, "
                   "referent_member_id, basis, start_us, vouch) VALUES ('acc_forged', ",
                   Q(st.youth), ", ", Q(env.service_id("pms")), ", ",
                   Q(env.member_id(kPmsCaseworker)), ", 1, ", now - 1000000, ", 4)"));
  v1::ListEntriesResponse list;
  grpc::Status s = List(env, kPmsCaseworker, st.youth, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(kPmsCaseworker)));
  EXPECT_EQ(Violations(env, "care_accompaniments"), 1);
}

TEST(RowIntegrity, AccompanimentEditedThroughSqlIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  // An edit of an honest row (its start moved by a microsecond) is not the row
  // the server wrote.
  Sql(env.db_path(), absl::StrCat("UPDATE care_accompaniments SET start_us = start_us - 1 "
                                  "WHERE service_id = ",
                                  Q(env.service_id("saj"))));
  v1::ListEntriesResponse list;
  grpc::Status s = List(env, kSajCaseworker, st.youth, &list);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_EQ(Violations(env, "care_accompaniments"), 1);
}

TEST(RowIntegrity, EmergencyGrantExtendedThroughSqlIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  v1::OpenEmergencyAccessRequest req;
  req.set_youth_id(st.youth);
  req.set_justification("fugue signalée cette nuit, la police demande le contexte");
  v1::EmergencyAccess grant;
  grpc::Status s = env.care().OpenEmergencyAccess(env.As(kSajCaseworker).get(), req, &grant);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ListEntriesResponse list;
  s = List(env, kSajCaseworker, st.youth, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list.entries_size(), 1);
  // Extended by a year by hand.
  Sql(env.db_path(), absl::StrCat("UPDATE care_emergency_grants SET expires_at_us = "
                                  "expires_at_us + 31536000000000 WHERE id = ",
                                  Q(grant.id())));
  s = List(env, kSajCaseworker, st.youth, &list);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(kSajCaseworker)));
  EXPECT_EQ(Violations(env, "care_emergency_grants"), 1);
}

TEST(RowIntegrity, RestrictionLiftedThroughSqlIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  v1::RestrictYouthRequest req;
  req.set_youth_id(st.youth);
  req.set_reason("le jeune conteste l'exactitude du dossier");
  v1::RecordState state;
  grpc::Status s = env.record().RestrictYouth(env.As(kAmoCoordinator).get(), req, &state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(st.youth);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  add.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  add.mutable_entry()->set_body("écrit pendant la limitation");
  v1::Entry added;
  s = env.record().AddEntry(env.As(kAmoCaseworker).get(), add, &added);
  EXPECT_EQ(ReasonCode(s), "record_restricted");
  // Lifted by hand, without a LiftRestriction call (nor its audit event): the
  // write is still refused, and so is every read of the record.
  Sql(env.db_path(), absl::StrCat("UPDATE rec_youth SET restricted = 0 WHERE id = ", Q(st.youth)));
  s = env.record().AddEntry(env.As(kAmoCaseworker).get(), add, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  v1::ListEntriesResponse list;
  s = List(env, kAmoCaseworker, st.youth, &list);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_EQ(list.entries_size(), 0);
  EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(kAmoCaseworker)));
  EXPECT_EQ(Violations(env, "rec_youth"), 2);
}

// GetEntry reads the entry and the youth's row in one statement: the row's
// integrity is still checked before anything of the entry is decided.
TEST(RowIntegrity, AnEntryOfAYouthWhoseRowWasEditedIsRefused) {
  Story st = Begin();
  RelaisEnv& env = *st.env;
  const std::string entry = AddSharedEntry(env, st.youth);
  v1::GetEntryRequest req;
  req.set_entry_id(entry);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Entry read;
  ASSERT_TRUE(env.record().GetEntry(env.As(kAmoCaseworker).get(), req, &read).ok());
  Sql(env.db_path(), absl::StrCat("UPDATE rec_youth SET legal_hold = 1 WHERE id = ", Q(st.youth)));
  v1::Entry refused;
  grpc::Status s = env.record().GetEntry(env.As(kAmoCaseworker).get(), req, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
  EXPECT_TRUE(refused.body().empty());
  EXPECT_TRUE(AuditedViolation(env, st.youth, env.member_id(kAmoCaseworker)));
  EXPECT_EQ(Violations(env, "rec_youth"), 1);
}

TEST(RowIntegrity, MacsSurviveARestartAndHonestChangesKeepVerifying) {
  const std::string db = FreshPath("row_integrity_restart");
  const std::string keys = FreshPath("row_integrity_keys");
  std::string youth;
  {
    auto env = RelaisEnv::Start(db, true, keys);
    youth = env->CreateYouth(15);
    env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
    AddSharedEntry(*env, youth);
    env->Accompany(youth, kSajCoordinator, kSajCaseworker);
    env->Stop();
  }
  auto env = RelaisEnv::Start(db, false, keys);
  v1::ListEntriesResponse list;
  grpc::Status s = List(*env, kAmoCaseworker, youth, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list.entries_size(), 1);
  // A row inserted while the server was down has no MAC: refused after restart.
  env->Stop();
  Sql(db, ForgedConsentSql(*env, youth, "cns_offline"));
  env = RelaisEnv::Start(db, false, keys);
  s = List(*env, kSajCaseworker, youth, &list);
  EXPECT_EQ(ReasonCode(s), "integrity_violation");
}

}  // namespace
}  // namespace relais::testing
