// Nothing sensitive in the logs (issue #3, item 6): the handover story runs
// with every log line captured at the most verbose level — relaisd's own
// (common/log.h, kDebug) and gRPC's (gpr_set_log_function, GPR_LOG_SEVERITY_DEBUG)
// — and no line may hold a token (issued, refreshed, forged or garbage), a
// password (right, wrong, or a new member's first one), a password hash, or
// anything about the youth: name, date of birth, guardian, national number,
// entry text, handover reason, break-the-glass justification and review note,
// restriction and erasure reasons. Refusals, validation errors and a DATA_LOSS
// (a body moved onto another row) are part of the story: error paths log too.
//
// gRPC's tracers are not switched on: GRPC_TRACE=http (or all) makes gRPC
// itself print every call's metadata, bearer tokens included (and with "all",
// message payloads), so this test fails if run with it. Never set GRPC_TRACE
// on a relaisd that serves real data.

#include <sqlite3.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "storage/testing/fresh_database.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

// What the story types in, distinctive enough that a hit means a leak.
constexpr char kYouthName[] = "Noémie Vandersmissen";
constexpr char kDateOfBirth[] = "2011-03-14";
constexpr char kGuardianName[] = "Patrice Vandersmissen";
constexpr char kGuardianRelationship[] = "beau-père";
constexpr char kNationalNumber[] = "11031412345";
constexpr char kWrongPassword[] = "Mauvais-Passe-Quetzalcoatl-77";
constexpr char kNewMemberPassword[] = "Premier-Passe-Ornithorynque-42";
constexpr char kNewMemberLogin[] = "amo.nouveau";
constexpr char kSharedText[] = "Entretien avec Noemie sur le harcelement a l'ecole Xylophone-4471";
constexpr char kHealthText[] = "Suivi psychologique: angoisses nocturnes Kumquat-7731";
constexpr char kPrivateText[] = "Note interne: tensions avec le beau-pere Zanzibar-5519";
constexpr char kConcertationText[] = "Concertation AMO-SAJ: plan de retour Quokka-9902";
constexpr char kTamperedText[] = "Bulletin du trimestre Axolotl-3318";
constexpr char kHandoverReason[] = "Mandat du SAJ apres signalement Papaye-6650";
constexpr char kJustification[] = "Hospitalisation en urgence cette nuit Tamarin-2284";
constexpr char kReviewNote[] = "Urgence verifiee aupres de l'hopital Pangolin-7120";
constexpr char kRestrictReason[] = "Le jeune conteste l'exactitude du dossier Capybara-5531";
constexpr char kLiftReason[] = "Verification terminee avec le jeune Okapi-4406";
constexpr char kEraseReason[] = "Demande d'effacement du jeune Lemurien-8812";
// Logged on purpose, through both loggers, by the test itself.
constexpr char kCanary[] = "Canari-Jonquille-0042";

// Every captured line, relaisd's and gRPC's, kept apart.
struct Captured {
  absl::Mutex mu;
  std::vector<std::string> relais ABSL_GUARDED_BY(mu);
  std::vector<std::string> grpc ABSL_GUARDED_BY(mu);
};
Captured& Lines() {
  static Captured* const captured = new Captured();
  return *captured;
}

void CaptureGrpc(gpr_log_func_args* args) {
  Captured& c = Lines();
  absl::MutexLock lock(&c.mu);
  c.grpc.push_back(absl::StrCat(args->file == nullptr ? "" : args->file, ":", args->line, " ",
                                gpr_log_severity_string(args->severity), " ",
                                args->message == nullptr ? "" : args->message));
}

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  sqlite3_close(db);
}

// The spellings under which a secret could show up in a line: as is, lower
// case, JSON-escaped (common/log.h escapes; a \u escape of each non-ASCII
// code point), and with accents dropped.
std::vector<std::string> Spellings(absl::string_view secret) {
  std::vector<std::string> out = {std::string(secret), absl::AsciiStrToLower(secret),
                                  common::JsonEscape(secret)};
  std::string escaped_utf8, folded;
  for (size_t i = 0; i < secret.size();) {
    const unsigned char c = secret[i];
    if (c < 0x80) {
      escaped_utf8.push_back(c);
      folded.push_back(c);
      ++i;
      continue;
    }
    // Two-byte UTF-8 is all the story uses (é, è).
    const unsigned code = ((c & 0x1f) << 6) | (static_cast<unsigned char>(secret[i + 1]) & 0x3f);
    absl::StrAppend(&escaped_utf8, "\\u", absl::Hex(code, absl::kZeroPad4));
    folded.push_back(code == 0xe9 || code == 0xe8 ? 'e' : '?');
    i += 2;
  }
  out.push_back(escaped_utf8);
  out.push_back(folded);
  return out;
}

std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

TEST(LogHygiene, NoTokenPasswordOrYouthContentInAnyLogLine) {
  // Capture everything, at the most verbose level, before the server exists.
  common::SetLogLevel(common::LogLevel::kDebug);
  common::SetLogSink([](absl::string_view line) {
    Captured& c = Lines();
    absl::MutexLock lock(&c.mu);
    c.relais.emplace_back(line);
  });
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  gpr_set_log_function(&CaptureGrpc);

  // A canary through each logger: proves the capture works at the debug
  // level and that the check below finds what it looks for.
  common::LogDebug("log hygiene self-check", {{"canary", kCanary}});
  gpr_log(GPR_DEBUG, "log hygiene self-check %s", kCanary);

  std::vector<std::string> tokens;     // every token the story saw
  std::vector<std::string> passwords;  // every password it typed
  passwords = {kPassword, kWrongPassword, kNewMemberPassword};
  {
    auto env = RelaisEnv::Start();
    ASSERT_NE(env, nullptr);
    const std::string amo = env->service_id("amo");
    const std::string saj = env->service_id("saj");

    // Logins with the real password, through the API.
    auto login = [&](absl::string_view who, absl::string_view password) {
      v1::LoginRequest req;
      req.set_login(std::string(who));
      req.set_password(std::string(password));
      v1::LoginResponse resp;
      grpc::Status s = env->auth().Login(env->Anonymous().get(), req, &resp);
      if (s.ok()) tokens.push_back(resp.token());
      return std::make_pair(s, resp.token());
    };
    auto must_login = [&](absl::string_view who, absl::string_view password) {
      auto [s, token] = login(who, password);
      EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
      return token;
    };
    std::string camille = must_login(kAmoCaseworker, kPassword);
    const std::string amo_coord = must_login(kAmoCoordinator, kPassword);
    const std::string saj_sam = must_login(kSajCaseworker, kPassword);
    const std::string saj_coord = must_login(kSajCoordinator, kPassword);
    const std::string dpo = must_login(kAuditor, kPassword);
    const std::string admin = must_login(kAdmin, kPassword);

    // Failing logins: a wrong password for a real member, an unknown login.
    for (int i = 0; i < 3; ++i) {
      auto [s, token] = login(kAmoCaseworker, kWrongPassword);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }
    EXPECT_EQ(login("personne.inconnue", kWrongPassword).first.error_code(),
              grpc::StatusCode::UNAUTHENTICATED);

    // The AMO's coordinator adds a member, who gets a one-time password,
    // tries it, then chooses their own and logs in with it.
    {
      v1::AddMemberRequest req;
      req.mutable_member()->set_service_id(amo);
      req.mutable_member()->set_display_name("Nouvelle collègue");
      req.mutable_member()->set_login(kNewMemberLogin);
      req.mutable_member()->add_roles(v1::ROLE_CASEWORKER);
      v1::AddMemberResponse added;
      grpc::Status s = env->directory().AddMember(WithToken(amo_coord).get(), req, &added);
      EXPECT_TRUE(s.ok()) << s.error_message();
      passwords.push_back(added.one_time_password());
      EXPECT_EQ(login(kNewMemberLogin, added.one_time_password()).first.error_code(),
                grpc::StatusCode::FAILED_PRECONDITION);
      v1::ChangePasswordRequest change;
      change.set_login(kNewMemberLogin);
      change.set_current_password(added.one_time_password());
      change.set_new_password(kNewMemberPassword);
      v1::LoginResponse changed;
      grpc::ClientContext ctx;
      s = env->auth().ChangePassword(&ctx, change, &changed);
      EXPECT_TRUE(s.ok()) << s.error_message();
      tokens.push_back(changed.token());
      must_login(kNewMemberLogin, kNewMemberPassword);
    }

    // The AMO opens Noémie's record and accompanies her.
    v1::CreateYouthRequest create;
    create.mutable_youth()->set_display_name(kYouthName);
    create.mutable_youth()->set_date_of_birth(kDateOfBirth);
    v1::Guardian* guardian = create.mutable_youth()->add_guardians();
    guardian->set_display_name(kGuardianName);
    guardian->set_relationship(kGuardianRelationship);
    create.set_national_number(kNationalNumber);
    v1::Youth youth;
    grpc::Status s = env->record().CreateYouth(WithToken(camille).get(), create, &youth);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // A refused creation (same national number) and an invalid one.
    s = env->record().CreateYouth(WithToken(camille).get(), create, &youth);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    {
      v1::CreateYouthRequest bad = create;
      bad.clear_national_number();
      bad.mutable_youth()->set_date_of_birth("14/03/2011");
      v1::Youth unused;
      EXPECT_EQ(env->record().CreateYouth(WithToken(camille).get(), bad, &unused).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      v1::FindYouthRequest find;
      find.set_national_number(kNationalNumber);
      v1::FindYouthResponse found;
      s = env->record().FindYouth(WithToken(saj_sam).get(), find, &found);
      EXPECT_TRUE(s.ok()) << s.error_message();
      youth.set_id(found.youth_id());
    }
    const std::string youth_id = youth.id();
    {
      v1::OpenAccompanimentRequest open;
      open.set_youth_id(youth_id);
      open.set_referent_member_id(env->member_id(kAmoCaseworker));
      open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
      v1::Accompaniment acc;
      s = env->care().OpenAccompaniment(WithToken(amo_coord).get(), open, &acc);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    auto add_entry = [&](const std::string& token, v1::DataCategory category,
                         v1::Visibility visibility, absl::string_view body,
                         absl::string_view handover = "") {
      v1::AddEntryRequest req;
      req.mutable_entry()->set_youth_id(youth_id);
      req.mutable_entry()->set_kind(handover.empty() ? v1::ENTRY_KIND_NOTE
                                                     : v1::ENTRY_KIND_CONCERTATION);
      req.mutable_entry()->set_category(category);
      req.mutable_entry()->set_visibility(visibility);
      req.mutable_entry()->set_body(std::string(body));
      req.mutable_entry()->set_handover_id(std::string(handover));
      v1::Entry entry;
      grpc::Status added = env->record().AddEntry(WithToken(token).get(), req, &entry);
      EXPECT_TRUE(added.ok()) << added.error_message();
      return entry.id();
    };
    const std::string shared =
        add_entry(camille, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED, kSharedText);
    add_entry(camille, v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED, kHealthText);
    add_entry(camille, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SERVICE_PRIVATE, kPrivateText);

    // Noémie (15) consents: general and family to the SAJ.
    v1::GrantConsentRequest grant;
    v1::Consent* k = grant.mutable_consent();
    k->set_youth_id(youth_id);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(saj);
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    k->add_categories(v1::DATA_CATEGORY_FAMILY);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = common::ToProto(env->clock().Now() + absl::Hours(24 * 182));
    v1::Consent consent;
    s = env->care().GrantConsent(WithToken(camille).get(), grant, &consent);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // A guardian cannot consent for a 15-year-old: refused.
    {
      v1::GrantConsentRequest by_guardian = grant;
      by_guardian.mutable_consent()->set_giver(v1::CONSENT_GIVER_GUARDIAN);
      v1::Consent unused;
      EXPECT_EQ(
          env->care().GrantConsent(WithToken(camille).get(), by_guardian, &unused).error_code(),
          grpc::StatusCode::FAILED_PRECONDITION);
    }

    // The SAJ is refused before the handover, then the handover happens.
    v1::ListEntriesRequest list;
    list.set_youth_id(youth_id);
    list.set_purpose(v1::PURPOSE_COORDINATION);
    v1::ListEntriesResponse listed;
    EXPECT_EQ(env->record().ListEntries(WithToken(saj_sam).get(), list, &listed).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ProposeHandoverRequest propose;
    propose.set_youth_id(youth_id);
    propose.set_to_service_id(saj);
    propose.set_reason(kHandoverReason);
    *propose.mutable_overlap_start() = common::ToProto(env->clock().Now());
    *propose.mutable_overlap_end() = common::ToProto(env->clock().Now() + absl::Hours(24 * 30));
    v1::Handover handover;
    s = env->care().ProposeHandover(WithToken(camille).get(), propose, &handover);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::AcceptHandoverRequest accept;
    accept.set_handover_id(handover.id());
    accept.set_referent_member_id(env->member_id(kSajCaseworker));
    s = env->care().AcceptHandover(WithToken(saj_coord).get(), accept, &handover);
    ASSERT_TRUE(s.ok()) << s.error_message();
    listed.Clear();
    s = env->record().ListEntries(WithToken(saj_sam).get(), list, &listed);
    EXPECT_TRUE(s.ok()) << s.error_message();
    add_entry(saj_sam, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED, kConcertationText,
              handover.id());
    {
      v1::GetEntryRequest get;
      get.set_entry_id(shared);
      get.set_purpose(v1::PURPOSE_COORDINATION);
      v1::Entry entry;
      s = env->record().GetEntry(WithToken(saj_sam).get(), get, &entry);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(entry.body(), kSharedText);
      v1::GetYouthRequest get_youth;
      get_youth.set_youth_id(youth_id);
      get_youth.set_purpose(v1::PURPOSE_HANDOVER);
      v1::Youth seen;
      s = env->record().GetYouth(WithToken(saj_sam).get(), get_youth, &seen);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(seen.display_name(), kYouthName);
      v1::CheckAccessRequest check;
      check.set_youth_id(youth_id);
      check.set_entry_id(shared);
      check.set_purpose(v1::PURPOSE_HANDOVER);
      v1::CheckAccessResponse explained;
      s = env->care().CheckAccess(WithToken(saj_sam).get(), check, &explained);
      EXPECT_TRUE(s.ok()) << s.error_message();
      v1::ListConsentsRequest consents;
      consents.set_youth_id(youth_id);
      v1::ListConsentsResponse all;
      EXPECT_TRUE(env->care().ListConsents(WithToken(saj_sam).get(), consents, &all).ok());
    }

    // Noémie withdraws the SAJ's consent.
    v1::WithdrawConsentRequest withdraw;
    withdraw.set_consent_id(consent.id());
    s = env->care().WithdrawConsent(WithToken(camille).get(), withdraw, &consent);
    EXPECT_TRUE(s.ok()) << s.error_message();

    // Token use: refresh, then an expired, a forged and a garbage token.
    {
      v1::LoginResponse refreshed;
      s = env->auth().Refresh(WithToken(camille).get(), v1::RefreshRequest(), &refreshed);
      ASSERT_TRUE(s.ok()) << s.error_message();
      tokens.push_back(refreshed.token());
      camille = refreshed.token();  // Refresh rotated the old one out
      std::string forged = refreshed.token();
      forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
      v1::ListSectorsResponse sectors;
      EXPECT_EQ(env->directory()
                    .ListSectors(WithToken(forged).get(), v1::ListSectorsRequest(), &sectors)
                    .error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
      tokens.push_back(forged);
      const std::string garbage = "Zm9yZ2VkLXRva2VuLUNhcmFtYm9sZS0yMjE3";
      EXPECT_EQ(env->directory()
                    .ListSectors(WithToken(garbage).get(), v1::ListSectorsRequest(), &sectors)
                    .error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
      tokens.push_back(garbage);
    }

    // The auditor reads the log, the report, verifies and exports it.
    {
      v1::QueryEventsRequest q;
      q.set_youth_id(youth_id);
      v1::QueryEventsResponse events;
      EXPECT_TRUE(env->audit().QueryEvents(WithToken(dpo).get(), q, &events).ok());
      v1::AccessReportRequest report_req;
      report_req.set_youth_id(youth_id);
      v1::AccessReportResponse report;
      EXPECT_TRUE(env->audit().AccessReport(WithToken(dpo).get(), report_req, &report).ok());
      v1::VerifyLogResponse verified;
      EXPECT_TRUE(
          env->audit().VerifyLog(WithToken(dpo).get(), v1::VerifyLogRequest(), &verified).ok());
      auto ctx = WithToken(dpo);
      auto reader = env->audit().ExportEvents(ctx.get(), v1::ExportEventsRequest());
      v1::ExportItem item;
      int items = 0;
      while (reader->Read(&item)) ++items;
      EXPECT_TRUE(reader->Finish().ok());
      EXPECT_GT(items, 0);
    }

    // Break-the-glass: the PMS, once it accompanies the youth (vouched for by
    // the AMO), opens an emergency grant; the auditor reviews it.
    {
      env->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
      env->Accompany(youth_id, "pms.coord", kPmsCaseworker);
      const std::string pauline = must_login(kPmsCaseworker, kPassword);
      v1::OpenEmergencyAccessRequest open;
      open.set_youth_id(youth_id);
      open.set_justification(kJustification);
      v1::EmergencyAccess grant;
      s = env->care().OpenEmergencyAccess(WithToken(pauline).get(), open, &grant);
      ASSERT_TRUE(s.ok()) << s.error_message();
      v1::ListEntriesResponse seen;
      EXPECT_TRUE(env->record().ListEntries(WithToken(pauline).get(), list, &seen).ok());
      v1::ListEmergencyAccessesRequest pending;
      pending.set_pending_only(true);
      v1::ListEmergencyAccessesResponse grants;
      EXPECT_TRUE(env->audit().ListEmergencyAccesses(WithToken(dpo).get(), pending, &grants).ok());
      v1::ReviewEmergencyAccessRequest review;
      review.set_grant_id(grant.id());
      review.set_verdict(v1::EMERGENCY_VERDICT_JUSTIFIED);
      review.set_note(kReviewNote);
      EXPECT_TRUE(env->audit().ReviewEmergencyAccess(WithToken(dpo).get(), review, &grant).ok());
    }
    // GDPR art. 18: restricted (a refused write meanwhile), then lifted.
    {
      v1::RestrictYouthRequest restrict;
      restrict.set_youth_id(youth_id);
      restrict.set_reason(kRestrictReason);
      v1::RecordState state;
      s = env->record().RestrictYouth(WithToken(amo_coord).get(), restrict, &state);
      EXPECT_TRUE(s.ok()) << s.error_message();
      v1::AddEntryRequest refused;
      refused.mutable_entry()->set_youth_id(youth_id);
      refused.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
      refused.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
      refused.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
      refused.mutable_entry()->set_body(kPrivateText);
      v1::Entry unused;
      EXPECT_EQ(env->record().AddEntry(WithToken(camille).get(), refused, &unused).error_code(),
                grpc::StatusCode::PERMISSION_DENIED);
      v1::LiftRestrictionRequest lift;
      lift.set_youth_id(youth_id);
      lift.set_reason(kLiftReason);
      s = env->record().LiftRestriction(WithToken(amo_coord).get(), lift, &state);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }

    // An entry body moved onto another row behind relaisd's back: the call
    // fails with DATA_LOSS, which relaisd logs (the error path is logged too).
    {
      const std::string source =
          add_entry(camille, v1::DATA_CATEGORY_EDUCATION, v1::VISIBILITY_SHARED, kTamperedText);
      const std::string target = add_entry(camille, v1::DATA_CATEGORY_EDUCATION,
                                           v1::VISIBILITY_SHARED, "Inscription en 3e");
      Sql(env->db_path(),
          absl::StrCat(storage::testing::DropTrigger("rec_entries_no_update", "rec_entries"),
                       "UPDATE rec_entries SET body = (SELECT body FROM "
                       "rec_entries WHERE id = '",
                       source, "') WHERE id = '", target, "';"));
      v1::GetEntryRequest get;
      get.set_entry_id(target);
      get.set_purpose(v1::PURPOSE_COORDINATION);
      v1::Entry entry;
      EXPECT_EQ(env->record().GetEntry(WithToken(camille).get(), get, &entry).error_code(),
                grpc::StatusCode::DATA_LOSS);
    }

    // GDPR art. 17: the AMO erases the record (crypto-shredding).
    {
      v1::EraseYouthRequest erase;
      erase.set_youth_id(youth_id);
      erase.set_reason(kEraseReason);
      v1::ErasureRequest request;
      s = env->record().EraseYouth(WithToken(amo_coord).get(), erase, &request);
      EXPECT_TRUE(s.ok()) << s.error_message();
      // Four eyes: the SAJ's coordinator (accompanying since the handover)
      // approves; the server erases once the grace period has passed.
      v1::ApproveErasureRequest approve;
      approve.set_request_id(request.id());
      s = env->record().ApproveErasure(WithToken(saj_coord).get(), approve, &request);
      EXPECT_TRUE(s.ok()) << s.error_message();
      env->clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
      absl::StatusOr<int> executed = env->host().record().ExecuteDueErasures();
      ASSERT_TRUE(executed.ok()) << executed.status();
      EXPECT_EQ(*executed, 1);
      EXPECT_EQ(env->host().record().GetYouthFacts(youth_id).status().code(),
                absl::StatusCode::kNotFound);
    }

    // Time passes: the story's tokens expire and are refused.
    env->clock().Advance(absl::Minutes(20));
    v1::ListSectorsResponse sectors;
    EXPECT_EQ(env->directory()
                  .ListSectors(WithToken(camille).get(), v1::ListSectorsRequest(), &sectors)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    env->Stop();
  }

  // Stop capturing.
  gpr_set_log_function(nullptr);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  common::SetLogSink(nullptr);
  common::SetLogLevel(common::LogLevel::kInfo);

  // What must never appear.
  struct Secret {
    std::string what;
    std::string value;
  };
  std::vector<Secret> secrets = {
      {"youth name", kYouthName},
      {"youth first name", "Noémie"},
      {"family name", "Vandersmissen"},
      {"guardian name", kGuardianName},
      {"guardian relationship", kGuardianRelationship},
      {"date of birth", kDateOfBirth},
      {"date of birth", "14/03/2011"},
      {"date of birth", "20110314"},
      {"national number", kNationalNumber},
      {"national number", "11.03.14-123.45"},
      {"entry text", kSharedText},
      {"entry text", kHealthText},
      {"entry text", kPrivateText},
      {"entry text", kConcertationText},
      {"entry text", kTamperedText},
      {"handover reason", kHandoverReason},
      {"emergency justification", kJustification},
      {"emergency review note", kReviewNote},
      {"restriction reason", kRestrictReason},
      {"restriction lift reason", kLiftReason},
      {"erasure reason", kEraseReason},
      {"password hash", "scrypt$"},
  };
  // Distinctive fragments too, so a truncated or partial value is caught.
  for (const char* text :
       {kSharedText, kHealthText, kPrivateText, kConcertationText, kTamperedText, kHandoverReason,
        kJustification, kReviewNote, kRestrictReason, kLiftReason, kEraseReason}) {
    secrets.push_back({"entry text fragment", std::string(absl::string_view(text).substr(
                                                  absl::string_view(text).rfind(' ') + 1))});
  }
  for (const std::string& p : passwords) secrets.push_back({"password", p});
  ASSERT_GE(tokens.size(), 9u);
  for (const std::string& t : tokens) {
    secrets.push_back({"token", t});
    // Each part of a token on its own (claims, signature), when it has parts.
    for (absl::string_view part : absl::StrSplit(t, '.')) {
      if (part.size() >= 16) secrets.push_back({"token part", std::string(part)});
    }
  }

  Captured& c = Lines();
  absl::MutexLock lock(&c.mu);
  if (std::getenv("LOG_HYGIENE_DUMP") != nullptr) {
    for (const std::string& line : c.relais) std::cout << "relaisd| " << line << "\n";
    for (const std::string& line : c.grpc) std::cout << "gRPC| " << line << "\n";
  }
  std::cout << "log hygiene: " << c.relais.size() << " relaisd lines, " << c.grpc.size()
            << " gRPC lines captured, " << secrets.size() << " secrets checked\n";
  // The capture worked: relaisd logged its start and stop, and the DATA_LOSS.
  EXPECT_GE(c.relais.size(), 3u);
  bool saw_internal = false;
  for (const std::string& line : c.relais) {
    saw_internal |= absl::StrContains(line, "internal error");
  }
  EXPECT_TRUE(saw_internal) << "the DATA_LOSS was not logged";
  int canaries = 0;
  for (const auto& [source, lines] :
       {std::pair<const char*, const std::vector<std::string>*>{"relaisd", &c.relais},
        std::pair<const char*, const std::vector<std::string>*>{"gRPC", &c.grpc}}) {
    for (const std::string& line : *lines) {
      if (absl::StrContains(line, kCanary)) {
        ++canaries;
        continue;
      }
      for (const Secret& secret : secrets) {
        for (const std::string& spelling : Spellings(secret.value)) {
          if (absl::StrContains(line, spelling) ||
              absl::StrContains(absl::AsciiStrToLower(line), absl::AsciiStrToLower(spelling))) {
            ADD_FAILURE() << source << " logged a " << secret.what << " (\"" << spelling
                          << "\"): " << line;
            break;
          }
        }
      }
    }
  }
  EXPECT_EQ(canaries, 2) << "the canary logged through relaisd's and gRPC's loggers was not "
                            "captured: the capture (or its level) does not work";
}

}  // namespace
}  // namespace relais::testing
