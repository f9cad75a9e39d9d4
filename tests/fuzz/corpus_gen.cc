// Writes the committed seed corpora: relais-fuzz-corpus-gen <tests/fuzz/corpus>.
//
// For every target a few valid inputs, named seed_*, replacing the seed_*
// files already there (inputs under other names, e.g. ones a fuzzing run
// found and someone committed, are kept). Run it again after adding, removing
// or reordering a service's methods: a service input names its method by
// index (service_fuzz.h).

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "auth/claims.pb.h"
#include "auth/key_ring.h"
#include "auth/token.h"
#include "common/clock.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "relais/v1/admin.pb.h"
#include "relais/v1/audit.grpc.pb.h"
#include "relais/v1/auth.pb.h"
#include "relais/v1/care.pb.h"
#include "relais/v1/directory.pb.h"
#include "relais/v1/record.pb.h"
#include "services/common/rpc.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/seeded_host.h"
#include "tests/fuzz/service_fuzz.h"

namespace relais::fuzz {
namespace {

namespace fs = std::filesystem;

int Fail(absl::string_view what) {
  std::fprintf(stderr, "relais-fuzz-corpus-gen: %.*s\n", static_cast<int>(what.size()),
               what.data());
  return 1;
}

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}

  // Empties the seed_* files of `target`, once per run.
  void Add(const std::string& target, std::string name, const std::string& bytes) {
    const fs::path dir = root_ / target;
    if (cleaned_.insert(target).second) {
      fs::create_directories(dir);
      for (const auto& file : fs::directory_iterator(dir)) {
        if (absl::StartsWith(file.path().filename().string(), "seed_")) fs::remove(file.path());
      }
    }
    absl::StrReplaceAll({{"/", "_"}, {" ", "_"}}, &name);
    std::string file = absl::StrCat("seed_", name);
    for (int n = 2; fs::exists(dir / file); ++n) file = absl::StrCat("seed_", name, "_", n);
    std::ofstream out(dir / file, std::ios::binary);
    out << bytes;
    ++written_;
  }
  int written() const { return written_; }

 private:
  fs::path root_;
  std::set<std::string> cleaned_;
  int written_ = 0;
};

google::protobuf::Timestamp At(absl::Duration from_epoch) {
  return common::ToProto(SeedEpoch() + from_epoch);
}

void ServiceSeeds(Corpus& corpus) {
  auto add = [&](const std::string& target, const std::string& service, const std::string& method,
                 const std::string& caller, const google::protobuf::Message& request) {
    corpus.Add(target, absl::StrCat(method, ".", caller.empty() ? "anonymous" : caller),
               EncodeServiceInput(service, method, caller, request));
  };
  // Every method once with an empty request, so methods added later are seeded too.
  for (const auto& [target, service] :
       std::vector<std::pair<std::string, std::string>>{{"directory", "relais.v1.DirectoryService"},
                                                        {"auth", "relais.v1.AuthService"},
                                                        {"care", "relais.v1.CareService"},
                                                        {"record", "relais.v1.RecordService"},
                                                        {"audit", "relais.v1.AuditService"},
                                                        {"admin", "relais.v1.AdminService"}}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    for (int i = 0; i < d->method_count(); ++i) {
      const google::protobuf::Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(
              d->method(i)->input_type());
      add(target, service, d->method(i)->name(),
          target == "audit"   ? "dpo"
          : target == "admin" ? "admin"
                              : "amo.camille",
          *prototype);
    }
  }

  const std::string dir = "relais.v1.DirectoryService";
  {
    v1::CreateSectorRequest r;
    r.mutable_sector()->set_id("sante_mentale");
    r.mutable_sector()->set_name("Sante mentale");
    add("directory", dir, "CreateSector", "admin", r);
  }
  {
    v1::CreateServiceRequest r;
    r.mutable_service()->set_name("AMO Nouvelle");
    r.mutable_service()->set_sector_id("aide_jeunesse");
    r.mutable_service()->set_kind("AMO");
    add("directory", dir, "CreateService", "admin", r);
  }
  {
    v1::ListServicesRequest r;
    r.set_sector_id("aide_jeunesse");
    r.set_page_size(2);
    add("directory", dir, "ListServices", "saj.sam", r);
  }
  {
    v1::AddMemberRequest r;
    r.mutable_member()->set_service_id("@svc_amo");
    r.mutable_member()->set_display_name("Nouvelle");
    r.mutable_member()->set_login("amo.nouvelle");
    r.mutable_member()->add_roles(v1::ROLE_CASEWORKER);
    add("directory", dir, "AddMember", "amo.coord", r);
    r.mutable_member()->add_roles(v1::ROLE_ADMIN);
    add("directory", dir, "AddMember", "admin", r);
  }
  {
    v1::RemoveMemberRequest r;
    r.set_member_id("@m_pms.pauline");
    add("directory", dir, "RemoveMember", "admin", r);
  }
  {
    v1::GlossaryRequest r;
    r.set_sector_id("enseignement");
    add("directory", dir, "Glossary", "pms.pauline", r);
  }
  {
    // A coordinator resets a caseworker of their service (step-up: the seed's
    // token is a fresh login); the other callers are refused.
    v1::ResetPasswordRequest r;
    r.set_member_id("@m_amo.camille");
    add("directory", dir, "ResetPassword", "amo.coord", r);
    add("directory", dir, "ResetPassword", "saj.coord", r);
  }
  {
    // A coordinator describes their own service; another service's is refused.
    v1::UpdateServiceProfileRequest r;
    r.set_service_id("@svc_amo");
    v1::ServiceProfile* p = r.mutable_profile();
    p->set_mission("Aider les jeunes");
    p->set_offer("Ecoute");
    p->set_min_age(12);
    p->set_max_age(18);
    p->add_needs("school_dropout");
    p->add_communes("Charleroi");
    p->add_languages("fr");
    p->set_contact("accueil@amo.example");
    add("directory", dir, "UpdateServiceProfile", "amo.coord", r);
    add("directory", dir, "UpdateServiceProfile", "saj.coord", r);
  }
  {
    v1::SearchServicesRequest r;
    r.set_need("school_dropout");
    r.set_commune("charleroi");
    r.set_age(15);
    add("directory", dir, "SearchServices", "saj.sam", r);
  }
  {
    v1::DefineTermRequest r;
    r.mutable_definition()->set_term("prevention");
    r.mutable_definition()->set_sector_id("enseignement");
    r.mutable_definition()->set_text("Ce que l'ecole fait tot.");
    add("directory", dir, "DefineTerm", "admin", r);
  }

  const std::string auth = "relais.v1.AuthService";
  {
    v1::LoginRequest r;
    r.set_login("amo.camille");
    r.set_password(SeededHost::kPassword);
    add("auth", auth, "Login", "", r);
    r.set_password("wrong password");
    add("auth", auth, "Login", "", r);
  }
  {
    v1::ChangePasswordRequest r;
    r.set_login("amo.camille");
    r.set_current_password(SeededHost::kPassword);
    r.set_new_password("une phrase de passe toute neuve pour le fuzz");
    add("auth", auth, "ChangePassword", "", r);
    r.set_current_password("wrong password");
    add("auth", auth, "ChangePassword", "", r);
  }
  add("auth", auth, "Refresh", "saj.sam", v1::RefreshRequest());
  add("auth", auth, "PublicKeys", "", v1::PublicKeysRequest());
  add("auth", auth, "Logout", "saj.sam", v1::LogoutRequest());
  {
    v1::UnlockAccountRequest r;
    r.set_member_id("@m_amo.camille");
    add("auth", auth, "UnlockAccount", "amo.coord", r);
    add("auth", auth, "UnlockAccount", "admin", r);
  }

  const std::string care = "relais.v1.CareService";
  {
    v1::OpenAccompanimentRequest r;
    r.set_youth_id("@youth_child");
    r.set_referent_member_id("@m_saj.sam");
    r.set_basis(v1::ACCOMPANIMENT_BASIS_MANDATE);
    add("care", care, "OpenAccompaniment", "saj.coord", r);
  }
  {
    v1::EndAccompanimentRequest r;
    r.set_accompaniment_id("@acc_amo");
    add("care", care, "EndAccompaniment", "amo.coord", r);
  }
  {
    v1::ListAccompanimentsRequest r;
    r.set_youth_id("@youth");
    add("care", care, "ListAccompaniments", "saj.sam", r);
  }
  {
    v1::ProposeHandoverRequest r;
    r.set_youth_id("@youth_child");
    r.set_to_service_id("@svc_saj");
    r.set_reason("Orientation vers le SAJ");
    *r.mutable_overlap_start() = At(absl::Hours(1));
    *r.mutable_overlap_end() = At(absl::Hours(24 * 14));
    add("care", care, "ProposeHandover", "amo.camille", r);
  }
  {
    v1::AcceptHandoverRequest r;
    r.set_handover_id("@handover_pending");
    r.set_referent_member_id("@m_pms.pauline");
    add("care", care, "AcceptHandover", "pms.pauline", r);
  }
  {
    v1::DeclineHandoverRequest r;
    r.set_handover_id("@handover_pending");
    r.set_reason("Pas de place");
    add("care", care, "DeclineHandover", "pms.pauline", r);
  }
  {
    v1::CancelHandoverRequest r;
    r.set_handover_id("@handover_pending");
    r.set_reason("Plus necessaire");
    add("care", care, "CancelHandover", "amo.camille", r);
  }
  for (const char* who : {"amo.coord", "saj.coord"}) {
    v1::CompleteHandoverRequest r;
    r.set_handover_id("@handover");
    add("care", care, "CompleteHandover", who, r);
  }
  {
    v1::GetHandoverRequest r;
    r.set_handover_id("@handover");
    add("care", care, "GetHandover", "saj.sam", r);
  }
  {
    v1::ListHandoversRequest r;
    r.set_youth_id("@youth");
    r.set_ending_within_days(60);
    add("care", care, "ListHandovers", "amo.camille", r);
  }
  {
    v1::ScheduleConcertationRequest r;
    r.set_youth_id("@youth_child");
    r.add_invited_service_ids("@svc_saj");
    *r.mutable_scheduled_at() = At(absl::Hours(24 * 3));
    add("care", care, "ScheduleConcertation", "amo.camille", r);
  }
  {
    v1::RecordConcertationRequest r;
    r.set_concertation_id("cc_unknown");
    r.set_outcome(v1::CONCERTATION_STATE_HELD);
    r.set_youth_participation(v1::YOUTH_PARTICIPATION_PRESENT);
    add("care", care, "RecordConcertation", "amo.camille", r);
  }
  {
    v1::ListConcertationsRequest r;
    r.set_youth_id("@youth_child");
    add("care", care, "ListConcertations", "saj.sam", r);
  }
  {
    v1::GrantConsentRequest r;
    v1::Consent* k = r.mutable_consent();
    k->set_youth_id("@youth_child");
    k->set_giver(v1::CONSENT_GIVER_GUARDIAN);
    k->set_guardian_id("@guardian_child");
    k->set_youth_opinion(v1::YOUTH_OPINION_AGREES);
    k->add_recipients()->set_sector_id("enseignement");
    k->set_all_non_special_categories(true);
    k->add_purposes(v1::PURPOSE_HANDOVER);
    *k->mutable_valid_until() = At(absl::Hours(24 * 90));
    add("care", care, "GrantConsent", "amo.camille", r);
    k->clear_guardian_id();
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->set_youth_id("@youth");
    k->clear_recipients();
    k->add_recipients()->set_service_id("@svc_pms");
    k->add_categories(v1::DATA_CATEGORY_HEALTH);
    add("care", care, "GrantConsent", "amo.camille", r);
  }
  {
    v1::WithdrawConsentRequest r;
    r.set_consent_id("@consent");
    add("care", care, "WithdrawConsent", "amo.camille", r);
  }
  {
    v1::ListConsentsRequest r;
    r.set_youth_id("@youth");
    add("care", care, "ListConsents", "saj.sam", r);
  }
  for (const char* entry : {"@entry_shared", "@entry_health", "@entry_private"}) {
    v1::CheckAccessRequest r;
    r.set_youth_id("@youth");
    r.set_entry_id(entry);
    r.set_purpose(v1::PURPOSE_COORDINATION);
    add("care", care, "CheckAccess", "saj.sam", r);
  }

  const std::string record = "relais.v1.RecordService";
  {
    v1::CreateYouthRequest r;
    r.mutable_youth()->set_display_name("Nouveau");
    r.mutable_youth()->set_date_of_birth("2012-03-04");
    v1::Guardian* g = r.mutable_youth()->add_guardians();
    g->set_display_name("Parent");
    g->set_relationship("mere");
    r.set_national_number("12030412345");
    add("record", record, "CreateYouth", "amo.camille", r);
  }
  {
    v1::FindYouthRequest r;
    r.set_national_number("12030412345");
    add("record", record, "FindYouth", "saj.sam", r);
  }
  for (const char* who : {"saj.sam", "pms.pauline", "amo.camille"}) {
    v1::GetYouthRequest r;
    r.set_youth_id("@youth");
    r.set_purpose(v1::PURPOSE_COORDINATION);
    add("record", record, "GetYouth", who, r);
  }
  {
    v1::AddEntryRequest r;
    v1::Entry* e = r.mutable_entry();
    e->set_youth_id("@youth");
    e->set_kind(v1::ENTRY_KIND_CONCERTATION);
    e->set_category(v1::DATA_CATEGORY_FAMILY);
    e->set_visibility(v1::VISIBILITY_SHARED);
    e->set_body("Concertation");
    e->set_handover_id("@handover");
    add("record", record, "AddEntry", "saj.sam", r);
    e->clear_handover_id();
    e->set_supersedes_entry_id("@entry_shared");
    add("record", record, "AddEntry", "amo.camille", r);
  }
  {
    v1::ListEntriesRequest r;
    r.set_youth_id("@youth");
    r.set_purpose(v1::PURPOSE_COORDINATION);
    r.set_page_size(2);
    add("record", record, "ListEntries", "saj.sam", r);
    r.set_handover_id("@handover");
    add("record", record, "ListEntries", "amo.camille", r);
  }
  for (const char* entry : {"@entry_shared", "@entry_health", "@entry_private"}) {
    v1::GetEntryRequest r;
    r.set_entry_id(entry);
    r.set_purpose(v1::PURPOSE_HANDOVER);
    add("record", record, "GetEntry", "saj.sam", r);
  }
  for (const char* who : {"amo.coord", "saj.coord", "admin"}) {
    v1::ExportYouthRequest r;
    r.set_youth_id("@youth");
    add("record", record, "ExportYouth", who, r);
  }
  // Four-eyes erasure and two-person full export (request ids the world does
  // not hold: the lookup and refusal paths).
  for (const char* who : {"amo.coord", "admin"}) {
    v1::EraseYouthRequest r;
    r.set_youth_id("@youth");
    r.set_reason("Demande d'effacement");
    add("record", record, "EraseYouth", who, r);
    v1::ListErasureRequestsRequest l;
    l.set_youth_id("@youth");
    add("record", record, "ListErasureRequests", who, l);
  }
  for (const char* who : {"saj.coord", "dpo"}) {
    v1::ApproveErasureRequest r;
    r.set_request_id("erq_unknown");
    add("record", record, "ApproveErasure", who, r);
    v1::GetErasureRequestRequest g;
    g.set_request_id("erq_unknown");
    add("record", record, "GetErasureRequest", who, g);
  }
  {
    v1::CancelErasureRequest r;
    r.set_request_id("erq_unknown");
    r.set_reason("Le jeune retire sa demande");
    add("record", record, "CancelErasure", "amo.coord", r);
    v1::RequestFullExportRequest f;
    f.set_youth_id("@youth");
    f.set_reason("Réquisition");
    add("record", record, "RequestFullExport", "admin", f);
    v1::ApproveFullExportRequest a;
    a.set_request_id("fxr_unknown");
    add("record", record, "ApproveFullExport", "dpo", a);
  }
  for (const char* who : {"admin", "amo.coord"}) {
    v1::SweepRetentionRequest r;
    r.set_dry_run(true);
    add("record", record, "SweepRetention", who, r);
  }

  const std::string audit = "relais.v1.AuditService";
  {
    v1::QueryEventsRequest r;
    r.set_youth_id("@youth");
    r.set_decision(v1::DECISION_DENY);
    r.set_page_size(5);
    *r.mutable_start_time() = At(-absl::Hours(1));
    *r.mutable_end_time() = At(absl::Hours(1));
    add("audit", audit, "QueryEvents", "dpo", r);
    r.set_page_token("3");
    add("audit", audit, "QueryEvents", "dpo", r);
  }
  for (const char* who : {"dpo", "amo.coord", "saj.coord"}) {
    v1::AccessReportRequest r;
    r.set_youth_id("@youth");
    add("audit", audit, "AccessReport", who, r);
  }
  add("audit", audit, "VerifyLog", "dpo", v1::VerifyLogRequest());
  {
    v1::ExportEventsRequest r;
    r.set_from_sequence(3);
    add("audit", audit, "ExportEvents", "dpo", r);
  }
  // The backup is the admins' alone: seed refused callers too.
  for (const char* who : {"dpo", "amo.coord", ""}) {
    add("admin", "relais.v1.AdminService", "BackupDatabase", who, v1::BackupDatabaseRequest());
  }
}

void TokenSeeds(Corpus& corpus) {
  const int64_t now = absl::ToUnixSeconds(SeedEpoch());
  auth::TokenClaims claims;
  claims.set_member_id("m_0123456789abcdef");
  claims.set_service_id("svc_amo_charleroi");
  claims.add_roles("caseworker");
  claims.set_issued_at_unix(now);
  claims.set_expires_at_unix(now + 900);
  claims.set_audience("relais");
  claims.set_token_id("00112233445566778899aabbccddeeff");
  // Mode 1 (signed by the target's key): valid, expired, foreign audience.
  corpus.Add("token", "signed_valid", absl::StrCat("\x01", claims.SerializeAsString()));
  auth::TokenClaims expired = claims;
  expired.set_expires_at_unix(now - 1);
  corpus.Add("token", "signed_expired", absl::StrCat("\x01", expired.SerializeAsString()));
  auth::TokenClaims other = claims;
  other.set_audience("other");
  corpus.Add("token", "signed_audience", absl::StrCat("\x01", other.SerializeAsString()));
  // Mode 2: issue then verify.
  const std::string nul(1, '\0');
  corpus.Add(
      "token", "issue",
      absl::StrCat("\x02", "m_1", nul, "svc_amo_charleroi", nul, "caseworker", nul, "coordinator"));
  // Mode 0: token text (its key is unknown to the target: a rejection).
  common::FakeClock clock(SeedEpoch());
  std::unique_ptr<auth::KeyRing> keys = auth::KeyRing::InMemory();
  auth::TokenIssuer issuer(keys.get(), &clock, "relais");
  absl::StatusOr<std::string> token =
      issuer.Issue("m_0123456789abcdef", "svc_amo_charleroi", {"caseworker"});
  if (token.ok()) corpus.Add("token", "text", absl::StrCat(nul, *token));
  corpus.Add("token", "text_short", absl::StrCat(nul, "v1.AAAA.BBBB"));
}

// Real exports of a seeded host whose audit key is the fixed fuzz key.
absl::Status ExportSeeds(Corpus& corpus) {
  const fs::path keys = fs::temp_directory_path() / absl::StrCat("relais_corpus_keys_", getpid());
  fs::remove_all(keys);
  absl::Cleanup remove_keys = [&keys] { fs::remove_all(keys); };
  fs::create_directories(keys / "audit");
  fs::permissions(keys, fs::perms::owner_all, fs::perm_options::replace);
  fs::permissions(keys / "audit", fs::perms::owner_all, fs::perm_options::replace);
  const fs::path key_file = keys / "audit" / absl::StrCat("signing-", kFuzzAuditKeyId, ".pem");
  {
    std::ofstream out(key_file);
    out << kFuzzAuditPrivateKeyPem;
  }
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  SeededHostOptions options;
  options.keys_dir = keys.string();
  absl::StatusOr<std::unique_ptr<SeededHost>> host = SeededHost::Start(options);
  if (!host.ok()) return host.status();
  auto stub = v1::AuditService::NewStub((*host)->channel());
  absl::StatusOr<std::string> token = (*host)->Token("dpo");
  if (!token.ok()) return token.status();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  auto reader = stub->ExportEvents(&ctx, v1::ExportEventsRequest());
  std::vector<v1::ExportItem> items;
  for (v1::ExportItem item; reader->Read(&item);) items.push_back(item);
  if (grpc::Status status = reader->Finish(); !status.ok()) {
    return absl::UnknownError(absl::StrCat("ExportEvents: ", status.error_message()));
  }
  auto write = [&](const std::string& name, size_t count) {
    std::ostringstream out;
    for (size_t i = 0; i < count && i < items.size(); ++i) {
      google::protobuf::util::SerializeDelimitedToOstream(items[i], &out);
    }
    corpus.Add("export", name, out.str());
  };
  write("full", items.size());  // verifies: ok, anchored
  write("first_items", 6);      // the key, the head checkpoint, a few events
  write("cut_short", items.size() - 1);
  return absl::OkStatus();
}

}  // namespace
}  // namespace relais::fuzz

int main(int argc, char** argv) {
  using namespace relais::fuzz;
  if (argc != 2) return Fail("usage: relais-fuzz-corpus-gen <corpus dir, e.g. tests/fuzz/corpus>");
  relais::common::SetLogLevel(relais::common::LogLevel::kError);
  Corpus corpus{fs::path(argv[1])};
  ServiceSeeds(corpus);
  TokenSeeds(corpus);
  if (absl::Status s = ExportSeeds(corpus); !s.ok()) return Fail(s.ToString());
  std::printf("wrote %d seed inputs under %s\n", corpus.written(), argv[1]);
  return 0;
}
