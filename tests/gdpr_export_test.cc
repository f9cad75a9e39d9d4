// Issue #4, items 1-2, through gRPC: RecordService.ExportYouth (GDPR art. 15
// and 20), streamed, for a coordinator of an accompanying service or an admin,
// every request audited; and the access report's readable rendering, which
// names members only when the server is configured to.

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/record/youth_export.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct Exported {
  grpc::Status status;
  std::vector<v1::ExportYouthItem> items;
  // Entries by id, and how many items of each kind came.
  std::map<std::string, v1::ExportedEntry> entries;
  std::map<v1::ExportYouthItem::ItemCase, int> kinds;
};

Exported Export(RelaisEnv& env, std::unique_ptr<grpc::ClientContext> ctx,
                const std::string& youth) {
  v1::ExportYouthRequest req;
  req.set_youth_id(youth);
  Exported out;
  auto reader = env.record().ExportYouth(ctx.get(), req);
  for (v1::ExportYouthItem item; reader->Read(&item);) {
    ++out.kinds[item.item_case()];
    if (item.has_entry()) out.entries[item.entry().entry().id()] = item.entry();
    out.items.push_back(std::move(item));
  }
  out.status = reader->Finish();
  return out;
}

std::string Add(RelaisEnv& env, absl::string_view login, const std::string& youth,
                v1::Visibility visibility, v1::DataCategory category, absl::string_view body,
                const std::string& supersedes = "") {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body(std::string(body));
  req.mutable_entry()->set_supersedes_entry_id(supersedes);
  v1::Entry e;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &e);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return e.id();
}

// A consent recorded by `holder`'s service, sharing its entries with `service`.
std::string Consent(RelaisEnv& env, const std::string& youth, const std::string& service,
                    v1::DataCategory category, absl::string_view holder = kAmoCaseworker) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(service);
  k->add_categories(category);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  v1::Consent granted;
  grpc::Status s = env.care().GrantConsent(env.As(holder).get(), req, &granted);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return granted.id();
}

// The export events of the youth, as (member id, decision, reason code).
std::vector<std::tuple<std::string, v1::Decision, std::string>> ExportEvents(
    RelaisEnv& env, const std::string& youth) {
  v1::QueryEventsRequest q;
  q.set_youth_id(youth);
  q.set_page_size(1000);
  v1::QueryEventsResponse resp;
  grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), q, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::tuple<std::string, v1::Decision, std::string>> out;
  for (const v1::AuditEvent& e : resp.events()) {
    if (e.action() == v1::ACTION_EXPORT_YOUTH) {
      out.emplace_back(e.actor_member_id(), e.decision(), e.reason_code());
      EXPECT_TRUE(e.entry_id().empty());  // ids of the youth only, no content
    }
  }
  return out;
}

// The AMO and the SAJ accompany the youth. The AMO wrote a private entry, a
// shared one and its correction; the SAJ a shared general entry (covered by
// the youth's consent to the AMO), a shared health entry (not covered) and a
// private one. A consent to the SAJ was withdrawn; a handover to the PMS is
// proposed.
struct World {
  std::string youth;
  std::string amo_private, amo_v1, amo_v2, saj_shared, saj_health, saj_private;
};

World MakeWorld(RelaisEnv& env) {
  World w;
  w.youth = env.CreateYouth(15);
  env.Accompany(w.youth, kAmoCoordinator, kAmoCaseworker);
  env.Accompany(w.youth, kSajCoordinator, kSajCaseworker);
  Consent(env, w.youth, env.service_id("amo"), v1::DATA_CATEGORY_GENERAL, kSajCaseworker);
  const std::string to_saj = Consent(env, w.youth, env.service_id("saj"), v1::DATA_CATEGORY_FAMILY);
  v1::WithdrawConsentRequest withdraw;
  withdraw.set_consent_id(to_saj);
  v1::Consent withdrawn;
  EXPECT_TRUE(env.care().WithdrawConsent(env.As(kAmoCaseworker).get(), withdraw, &withdrawn).ok());
  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(w.youth);
  propose.set_to_service_id(env.service_id("pms"));
  propose.set_reason("Relais vers le centre PMS");
  *propose.mutable_overlap_start() = common::ToProto(env.clock().Now() + absl::Hours(1));
  *propose.mutable_overlap_end() = common::ToProto(env.clock().Now() + absl::Hours(24 * 7));
  v1::Handover handover;
  grpc::Status s = env.care().ProposeHandover(env.As(kAmoCaseworker).get(), propose, &handover);
  EXPECT_TRUE(s.ok()) << s.error_message();

  w.amo_private = Add(env, kAmoCaseworker, w.youth, v1::VISIBILITY_SERVICE_PRIVATE,
                      v1::DATA_CATEGORY_FAMILY, "AMO privé");
  w.amo_v1 =
      Add(env, kAmoCaseworker, w.youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "AMO v1");
  w.amo_v2 = Add(env, kAmoCaseworker, w.youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
                 "AMO v2", w.amo_v1);
  w.saj_shared = Add(env, kSajCaseworker, w.youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
                     "SAJ partagé");
  w.saj_health = Add(env, kSajCaseworker, w.youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_HEALTH,
                     "SAJ santé");
  w.saj_private = Add(env, kSajCaseworker, w.youth, v1::VISIBILITY_SERVICE_PRIVATE,
                      v1::DATA_CATEGORY_GENERAL, "SAJ privé");
  return w;
}

void ExpectWellFormed(const Exported& e) {
  ASSERT_TRUE(e.status.ok()) << e.status.error_message();
  ASSERT_GE(e.items.size(), 3u);
  EXPECT_TRUE(e.items.front().has_header());
  ASSERT_TRUE(e.items.back().has_trailer());
  // The trailer counts what came: a client detects a stream cut short.
  const v1::ExportTrailer& t = e.items.back().trailer();
  auto count = [&](v1::ExportYouthItem::ItemCase c) {
    auto it = e.kinds.find(c);
    return it == e.kinds.end() ? 0 : it->second;
  };
  EXPECT_EQ(t.identities(), count(v1::ExportYouthItem::kIdentity));
  EXPECT_EQ(t.accompaniments(), count(v1::ExportYouthItem::kAccompaniment));
  EXPECT_EQ(t.handovers(), count(v1::ExportYouthItem::kHandover));
  EXPECT_EQ(t.consents(), count(v1::ExportYouthItem::kConsent));
  EXPECT_EQ(t.entries(), count(v1::ExportYouthItem::kEntry));
  int withheld = 0;
  for (const auto& [id, entry] : e.entries) withheld += entry.withheld();
  EXPECT_EQ(t.withheld_entries(), withheld);
  EXPECT_EQ(count(v1::ExportYouthItem::kHeader), 1);
  EXPECT_EQ(count(v1::ExportYouthItem::kTrailer), 1);
}

TEST(GdprExport, CoordinatorGetsWhatTheirServiceMayReadAndStubsForTheRest) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const World w = MakeWorld(*env);

  Exported e = Export(*env, env->As(kAmoCoordinator), w.youth);
  ExpectWellFormed(e);
  const v1::ExportHeader& h = e.items.front().header();
  EXPECT_EQ(h.format_version(), 1);
  EXPECT_EQ(h.youth_id(), w.youth);
  EXPECT_EQ(h.requested_by_service_id(), env->service_id("amo"));
  EXPECT_EQ(h.requested_by_role(), v1::ROLE_COORDINATOR);
  EXPECT_EQ(h.scope(), v1::EXPORT_SCOPE_SERVICE);
  EXPECT_FALSE(h.restricted());
  ASSERT_TRUE(e.items[1].has_identity());
  EXPECT_EQ(e.items[1].identity().display_name(), "Test Youth");
  ASSERT_EQ(e.items[1].identity().guardians_size(), 1);
  EXPECT_EQ(e.items[1].identity().guardians(0).display_name(), "Test Guardian");

  // Every kind, consents with their history and receipts.
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kAccompaniment], 2);
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kHandover], 1);
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kConsent], 2);
  int withdrawn = 0;
  for (const auto& item : e.items) {
    if (!item.has_consent()) continue;
    EXPECT_FALSE(item.consent().receipt().text().empty());
    if (item.consent().has_withdrawn_at()) {
      ++withdrawn;
      EXPECT_EQ(item.consent().state(), v1::CONSENT_STATE_WITHDRAWN);
      EXPECT_EQ(item.consent().withdrawn_by_member_id(), env->member_id(kAmoCaseworker));
    }
  }
  EXPECT_EQ(withdrawn, 1);

  // Entries: all six versions, oldest first.
  ASSERT_EQ(e.entries.size(), 6u);
  std::vector<std::string> order;
  for (const auto& item : e.items) {
    if (item.has_entry()) order.push_back(item.entry().entry().id());
  }
  EXPECT_THAT(order, ElementsAre(w.amo_private, w.amo_v1, w.amo_v2, w.saj_shared, w.saj_health,
                                 w.saj_private));
  // Own entries, private ones included, and the superseded version.
  EXPECT_EQ(e.entries[w.amo_private].entry().body(), "AMO privé");
  EXPECT_EQ(e.entries[w.amo_v1].entry().body(), "AMO v1");
  EXPECT_EQ(e.entries[w.amo_v1].entry().superseded_by_entry_id(), w.amo_v2);
  EXPECT_EQ(e.entries[w.amo_v2].entry().supersedes_entry_id(), w.amo_v1);
  // Another service's shared entry the youth's consent covers.
  EXPECT_FALSE(e.entries[w.saj_shared].withheld());
  EXPECT_EQ(e.entries[w.saj_shared].entry().body(), "SAJ partagé");
  // The rest: metadata only, and why.
  for (const auto& [id, reason] : std::vector<std::pair<std::string, std::string>>{
           {w.saj_health, "consent_category_not_covered"}, {w.saj_private, "entry_private"}}) {
    const v1::ExportedEntry& x = e.entries[id];
    EXPECT_TRUE(x.withheld()) << id;
    EXPECT_EQ(x.withheld_reason(), reason);
    EXPECT_THAT(x.entry().body(), IsEmpty());
    EXPECT_EQ(x.entry().author_service_id(), env->service_id("saj"));
    EXPECT_NE(x.entry().category(), v1::DATA_CATEGORY_UNSPECIFIED);
    EXPECT_TRUE(x.entry().has_created_at());
  }
  EXPECT_EQ(e.items.back().trailer().withheld_entries(), 2);

  // Audited once, and in the youth's access report.
  EXPECT_THAT(ExportEvents(*env, w.youth),
              ElementsAre(std::tuple(env->member_id(kAmoCoordinator), v1::DECISION_ALLOW,
                                     std::string("allowed"))));
  v1::AccessReportRequest rq;
  rq.set_youth_id(w.youth);
  rq.set_format(v1::ACCESS_REPORT_FORMAT_TEXT);
  v1::AccessReportResponse report;
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAuditor).get(), rq, &report).ok());
  bool listed = false;
  for (const auto& l : report.lines()) listed |= l.action() == v1::ACTION_EXPORT_YOUTH;
  EXPECT_TRUE(listed);
  EXPECT_THAT(report.text(), HasSubstr("export du dossier"));
}

TEST(GdprExport, AdminGetsMetadataOnlyWithoutAnApprovedFullExport) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const World w = MakeWorld(*env);
  Exported e = Export(*env, env->As(kAdmin), w.youth);
  ExpectWellFormed(e);
  EXPECT_EQ(e.items.front().header().scope(), v1::EXPORT_SCOPE_METADATA);
  EXPECT_EQ(e.items.front().header().requested_by_role(), v1::ROLE_ADMIN);
  // No identity, nothing decrypted, no free text.
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kIdentity], 0);
  EXPECT_EQ(e.items.back().trailer().identities(), 0);
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kAccompaniment], 2);
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kConsent], 2);
  for (const auto& item : e.items) {
    if (item.has_handover()) {
      EXPECT_THAT(item.handover().reason(), IsEmpty());
      EXPECT_FALSE(item.handover().id().empty());
    }
    if (item.has_consent()) {
      EXPECT_FALSE(item.consent().has_receipt());
      EXPECT_TRUE(item.consent().has_valid_until());
    }
  }
  ASSERT_EQ(e.entries.size(), 6u);
  for (const auto& [id, entry] : e.entries) {
    EXPECT_TRUE(entry.withheld()) << id;
    EXPECT_EQ(entry.withheld_reason(), "export_metadata_only");
    EXPECT_THAT(entry.entry().body(), IsEmpty()) << id;
    EXPECT_THAT(entry.entry().author_member_id(), IsEmpty()) << id;
    EXPECT_FALSE(entry.entry().author_service_id().empty());
    EXPECT_NE(entry.entry().category(), v1::DATA_CATEGORY_UNSPECIFIED);
    EXPECT_TRUE(entry.entry().has_created_at());
  }
  EXPECT_EQ(e.entries[w.amo_v2].entry().supersedes_entry_id(), w.amo_v1);
  EXPECT_EQ(e.items.back().trailer().withheld_entries(), 6);
  EXPECT_THAT(
      ExportEvents(*env, w.youth),
      ElementsAre(std::tuple(env->member_id(kAdmin), v1::DECISION_ALLOW, std::string("allowed"))));
}

Exported ExportFull(RelaisEnv& env, absl::string_view login, const std::string& youth,
                    const std::string& request_id) {
  v1::ExportYouthRequest req;
  req.set_youth_id(youth);
  req.set_full_export_request_id(request_id);
  Exported out;
  auto ctx = env.As(login);
  auto reader = env.record().ExportYouth(ctx.get(), req);
  for (v1::ExportYouthItem item; reader->Read(&item);) {
    ++out.kinds[item.item_case()];
    if (item.has_entry()) out.entries[item.entry().entry().id()] = item.entry();
    out.items.push_back(std::move(item));
  }
  out.status = reader->Finish();
  return out;
}

grpc::Status RequestFull(RelaisEnv& env, absl::string_view login, const std::string& youth,
                         absl::string_view reason, v1::FullExportRequest* out) {
  v1::RequestFullExportRequest req;
  req.set_youth_id(youth);
  req.set_reason(std::string(reason));
  return env.record().RequestFullExport(env.As(login).get(), req, out);
}

grpc::Status ApproveFull(RelaisEnv& env, absl::string_view login, const std::string& id,
                         v1::FullExportRequest* out) {
  v1::ApproveFullExportRequest req;
  req.set_request_id(id);
  return env.record().ApproveFullExport(env.As(login).get(), req, out);
}

TEST(GdprExport, AdminFullExportNeedsTheDposApprovalAndIsUsedOnceWithinADay) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const World w = MakeWorld(*env);
  env->AddMember("admin2", "agaj", v1::ROLE_ADMIN);
  // An admin who is also an auditor of the platform still cannot approve alone.
  env->AddMember("admin.auditor", "agaj", {v1::ROLE_ADMIN, v1::ROLE_AUDITOR});

  // Who may ask: an admin, with a reason.
  v1::FullExportRequest fx;
  grpc::Status s = RequestFull(*env, kAmoCoordinator, w.youth, "dossier judiciaire", &fx);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  s = RequestFull(*env, kAdmin, w.youth, "", &fx);
  EXPECT_EQ(ReasonCode(s), "field_required");
  ASSERT_TRUE(RequestFull(*env, kAdmin, w.youth, "Réquisition du parquet", &fx).ok());
  EXPECT_EQ(fx.state(), v1::FULL_EXPORT_STATE_REQUESTED);
  EXPECT_EQ(fx.requested_by_member_id(), env->member_id(kAdmin));

  // Not approved yet.
  Exported e = ExportFull(*env, kAdmin, w.youth, fx.id());
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(e.status), "export_request_not_approved");
  EXPECT_TRUE(e.items.empty());

  // Who may approve: a platform auditor, never the requester.
  s = ApproveFull(*env, kAdmin, fx.id(), &fx);
  EXPECT_EQ(ReasonCode(s), "role_not_permitted");
  v1::FullExportRequest own;
  ASSERT_TRUE(RequestFull(*env, "admin.auditor", w.youth, "Contrôle", &own).ok());
  s = ApproveFull(*env, "admin.auditor", own.id(), &own);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonCode(s), "separation_of_duties");
  ASSERT_TRUE(ApproveFull(*env, kAuditor, fx.id(), &fx).ok());
  EXPECT_EQ(fx.state(), v1::FULL_EXPORT_STATE_APPROVED);
  EXPECT_EQ(fx.approved_by_member_id(), env->member_id(kAuditor));
  EXPECT_EQ(common::FromProto(fx.expires_at()), env->clock().Now() + absl::Hours(24));
  v1::FullExportRequest again;  // idempotent
  ASSERT_TRUE(ApproveFull(*env, kAuditor, fx.id(), &again).ok());
  EXPECT_EQ(again.approved_at().seconds(), fx.approved_at().seconds());

  // Only its admin, for its youth.
  e = ExportFull(*env, kAmoCoordinator, w.youth, fx.id());
  EXPECT_EQ(ReasonCode(e.status), "role_not_permitted");
  e = ExportFull(*env, "admin2", w.youth, fx.id());
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonCode(e.status), "export_request_not_found");

  // The full export: every body, once.
  e = ExportFull(*env, kAdmin, w.youth, fx.id());
  ExpectWellFormed(e);
  EXPECT_EQ(e.items.front().header().scope(), v1::EXPORT_SCOPE_FULL);
  EXPECT_EQ(e.kinds[v1::ExportYouthItem::kIdentity], 1);
  ASSERT_EQ(e.entries.size(), 6u);
  for (const auto& [id, entry] : e.entries) {
    EXPECT_FALSE(entry.withheld()) << id;
    EXPECT_THAT(entry.entry().body(), Not(IsEmpty())) << id;
  }
  EXPECT_EQ(e.entries[w.saj_private].entry().body(), "SAJ privé");
  e = ExportFull(*env, kAdmin, w.youth, fx.id());
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonCode(e.status), "export_request_used");
  EXPECT_TRUE(e.items.empty());

  // An approval older than 24 hours is void.
  v1::FullExportRequest late;
  ASSERT_TRUE(RequestFull(*env, kAdmin, w.youth, "Seconde réquisition", &late).ok());
  ASSERT_TRUE(ApproveFull(*env, kAuditor, late.id(), &late).ok());
  env->clock().Advance(absl::Hours(24) + absl::Minutes(1));
  e = ExportFull(*env, kAdmin, w.youth, late.id());
  EXPECT_EQ(ReasonCode(e.status), "export_request_expired");

  // Every step audited; the reasons never.
  bool requested = false, approved = false, sod = false;
  for (const v1::AuditEvent& ev : EventsOf(*env, w.youth)) {
    requested |= ev.action() == v1::ACTION_REQUEST_FULL_EXPORT &&
                 ev.decision() == v1::DECISION_ALLOW && ev.object_id() == fx.id();
    approved |= ev.action() == v1::ACTION_APPROVE_FULL_EXPORT &&
                ev.decision() == v1::DECISION_ALLOW && ev.object_id() == fx.id();
    sod |=
        ev.action() == v1::ACTION_APPROVE_FULL_EXPORT && ev.reason_code() == "separation_of_duties";
  }
  EXPECT_TRUE(requested);
  EXPECT_TRUE(approved);
  EXPECT_TRUE(sod);
  EXPECT_THAT(
      ExportEvents(*env, w.youth),
      ElementsAre(
          std::tuple(env->member_id(kAdmin), v1::DECISION_DENY,
                     std::string("export_request_not_approved")),
          std::tuple(env->member_id(kAmoCoordinator), v1::DECISION_DENY,
                     std::string("role_not_permitted")),
          std::tuple(env->member_id("admin2"), v1::DECISION_DENY,
                     std::string("export_request_not_found")),
          std::tuple(env->member_id(kAdmin), v1::DECISION_ALLOW, std::string("allowed")),
          std::tuple(env->member_id(kAdmin), v1::DECISION_DENY, std::string("export_request_used")),
          std::tuple(env->member_id(kAdmin), v1::DECISION_DENY,
                     std::string("export_request_expired"))));
}

TEST(GdprExport, RefusalsAreAuditedWithTheirReason) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);
  const World w = MakeWorld(*env);
  // A pending accompaniment does not make an export possible.
  EXPECT_EQ(env->OpenAccompaniment(w.youth, "pms.coord", kPmsCaseworker).vouch(),
            v1::VOUCH_PENDING);

  struct Case {
    std::unique_ptr<grpc::ClientContext> ctx;
    grpc::StatusCode code;
    std::string reason;
    std::string member;
  };
  std::vector<Case> cases;
  cases.push_back({env->As(kAmoCaseworker), grpc::StatusCode::PERMISSION_DENIED,
                   "role_not_permitted", env->member_id(kAmoCaseworker)});
  cases.push_back({env->As("pms.coord"), grpc::StatusCode::PERMISSION_DENIED,
                   "accompaniment_pending", env->member_id("pms.coord")});
  cases.push_back({env->As(kAuditor), grpc::StatusCode::PERMISSION_DENIED, "role_not_permitted",
                   env->member_id(kAuditor)});
  cases.push_back({env->Anonymous(), grpc::StatusCode::UNAUTHENTICATED, "token_missing", ""});
  std::vector<std::tuple<std::string, v1::Decision, std::string>> expected;
  for (Case& c : cases) {
    Exported e = Export(*env, std::move(c.ctx), w.youth);
    EXPECT_EQ(e.status.error_code(), c.code) << c.reason;
    EXPECT_EQ(ReasonCode(e.status), c.reason);
    EXPECT_TRUE(e.items.empty()) << c.reason;  // nothing leaves before the decision
    expected.emplace_back(c.member, v1::DECISION_DENY, c.reason);
  }
  EXPECT_EQ(ExportEvents(*env, w.youth), expected);
}

TEST(GdprExport, RestrictedRecordIsExportedErasedIsNotFound) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(16);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL, "note");
  v1::RestrictYouthRequest restrict;
  restrict.set_youth_id(youth);
  restrict.set_reason("Le jeune conteste l'exactitude des données");
  v1::RecordState state;
  ASSERT_TRUE(env->record().RestrictYouth(env->As(kAmoCoordinator).get(), restrict, &state).ok());

  // Art. 18 does not restrict the data subject's own access.
  Exported e = Export(*env, env->As(kAmoCoordinator), youth);
  ExpectWellFormed(e);
  EXPECT_TRUE(e.items.front().header().restricted());
  EXPECT_EQ(e.items.back().trailer().entries(), 1);

  // Erased through the four-eyes path: request, the DPO's approval, execution.
  v1::EraseYouthRequest erase;
  erase.set_youth_id(youth);
  erase.set_reason("Le jeune demande l'effacement");
  v1::ErasureRequest erasure;
  ASSERT_TRUE(env->record().EraseYouth(env->As(kAmoCoordinator).get(), erase, &erasure).ok());
  v1::ApproveErasureRequest approve;
  approve.set_request_id(erasure.id());
  ASSERT_TRUE(env->record().ApproveErasure(env->As(kAuditor).get(), approve, &erasure).ok());
  env->clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 1);
  for (const char* who : {kAmoCoordinator, kAdmin}) {
    Exported gone = Export(*env, env->As(who), youth);
    EXPECT_EQ(gone.status.error_code(), grpc::StatusCode::NOT_FOUND) << who;
    EXPECT_EQ(ReasonCode(gone.status), "erased") << who;
    EXPECT_TRUE(gone.items.empty());
  }
  auto events = ExportEvents(*env, youth);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<2>(events[1]), "erased");
  EXPECT_EQ(std::get<2>(events[2]), "erased");
}

TEST(GdprExport, LargeRecordStreamsCompletelyReadInPages) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(14);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  constexpr int kEntries = 520;
  for (int i = 0; i < kEntries; ++i) {
    Add(*env, kAmoCaseworker, youth, v1::VISIBILITY_SHARED, v1::DATA_CATEGORY_GENERAL,
        absl::StrCat("note ", i));
  }
  Exported e = Export(*env, env->As(kAmoCoordinator), youth);
  ExpectWellFormed(e);
  EXPECT_EQ(e.items.back().trailer().entries(), kEntries);
  EXPECT_EQ(static_cast<int>(e.entries.size()), kEntries);
  int i = 0;
  for (const auto& item : e.items) {
    if (!item.has_entry()) continue;
    EXPECT_EQ(item.entry().entry().body(), absl::StrCat("note ", i++));
  }

  // The store is read a page at a time, never all at once.
  record::EntryPager pager(&env->host().db(), youth);
  EXPECT_EQ(pager.page_size(), record::kExportEntryPageSize);
  std::vector<size_t> sizes;
  std::string last_id;
  while (true) {
    auto page = pager.Next();
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    sizes.push_back(page->size());
    EXPECT_NE(page->front().entry.id(), last_id);  // keyset: no page repeats
    last_id = page->back().entry.id();
  }
  EXPECT_THAT(sizes, ElementsAre(100, 100, 100, 100, 100, 20));
  EXPECT_EQ(pager.pages_read(), 6);  // the short page ends it: no extra read
  auto after = pager.Next();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  EXPECT_EQ(pager.pages_read(), 6);
}

// --- The access report's readable form -------------------------------------

TEST(GdprAccessReport, TextNamesNoMemberByDefaultAndJsonLinesAreUnchanged) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::GetYouthRequest get;
  get.set_youth_id(youth);
  get.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Youth y;
  EXPECT_FALSE(env->record().GetYouth(env->As(kPmsCaseworker).get(), get, &y).ok());

  v1::AccessReportRequest rq;
  rq.set_youth_id(youth);
  v1::AccessReportResponse json;
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAmoCoordinator).get(), rq, &json).ok());
  EXPECT_TRUE(json.text().empty());  // the default format: lines only
  rq.set_format(v1::ACCESS_REPORT_FORMAT_TEXT);
  v1::AccessReportResponse text;
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAmoCoordinator).get(), rq, &text).ok());
  // Same lines (the second report adds the first report's own event).
  ASSERT_EQ(text.lines_size(), json.lines_size() + 1);
  for (int i = 0; i < json.lines_size(); ++i) {
    EXPECT_EQ(text.lines(i).SerializeAsString(), json.lines(i).SerializeAsString());
    EXPECT_TRUE(json.lines(i).member().empty());
  }
  EXPECT_EQ(json.lines(0).service_sector(), "aide_jeunesse");
  EXPECT_THAT(text.text(), HasSubstr("Rapport des accès"));
  // A coordinator's report holds their own service's accesses only: the PMS's
  // refused attempt is in the whole report, the platform auditor's (the DPO).
  EXPECT_THAT(text.text(), Not(HasSubstr("Centre PMS de Charleroi")));
  for (const auto& line : text.lines()) EXPECT_EQ(line.service_id(), env->service_id("amo"));
  v1::AccessReportResponse whole;
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAuditor).get(), rq, &whole).ok());
  EXPECT_THAT(whole.text(), HasSubstr("Centre PMS de Charleroi (enseignement), rôle intervenant : "
                                      "consultation de l'identité, pour concertation entre "
                                      "services — refusé : ce service ne t'accompagnait pas."));
  for (const char* login : {kAmoCaseworker, kAmoCoordinator, kPmsCaseworker}) {
    EXPECT_THAT(text.text(), Not(HasSubstr(login)));
    EXPECT_THAT(text.text(), Not(HasSubstr(env->member_id(login))));
    EXPECT_THAT(whole.text(), Not(HasSubstr(login)));
    EXPECT_THAT(whole.text(), Not(HasSubstr(env->member_id(login))));
  }
  rq.set_language("en");
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAmoCoordinator).get(), rq, &text).ok());
  EXPECT_THAT(text.text(), HasSubstr("Access report"));
  rq.set_language("nl");
  grpc::Status s = env->audit().AccessReport(env->As(kAmoCoordinator).get(), rq, &text);
  EXPECT_EQ(ReasonCode(s), "unsupported_language");
}

TEST(GdprAccessReport, NamesMembersWhenConfigured) {
  auto env = RelaisEnv::StartNamingMembers();
  ASSERT_NE(env, nullptr);
  const std::string youth = env->CreateYouth(15);
  env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
  v1::AccessReportRequest rq;
  rq.set_youth_id(youth);
  rq.set_format(v1::ACCESS_REPORT_FORMAT_TEXT);
  v1::AccessReportResponse report;
  ASSERT_TRUE(env->audit().AccessReport(env->As(kAmoCoordinator).get(), rq, &report).ok());
  ASSERT_GE(report.lines_size(), 2);
  EXPECT_EQ(report.lines(0).member(), "Member amo.camille (amo.camille)");  // CreateYouth
  EXPECT_EQ(report.lines(1).member(), "Member amo.coord (amo.coord)");      // Accompany
  EXPECT_THAT(report.text(), HasSubstr("rôle intervenant, par Member amo.camille (amo.camille)"));
}

}  // namespace
}  // namespace relais::testing
