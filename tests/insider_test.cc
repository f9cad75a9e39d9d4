// The insider test (issue #10): no single member, and no single service, can
// obtain access to another service's information about a young person without
// someone else having vouched for it.
//
// The insider is a prevention service whose two members hold every role but
// ADMIN and AUDITOR. It knows the youth's national number (so its id, through
// FindYouth) and whatever ids its own calls show it; to be safe it is also
// handed the ids of the AMO's entries, as if they had leaked. It tries:
//   1. every sequence of up to kMaxDepth state-changing calls, each followed
//      by every read it can make, against the reference model below (what the
//      access rule says each call answers);
//   2. a random sample of kSampled of those sequences through a real relaisd
//      (reads after every step), and kWalks random longer ones (reads
//      after the last step; kLongWalks with RELAIS_LONG_TESTS=1), comparing
//      every answer with the model and, independently of the model, looking in
//      every answer for what it must never obtain: another service's entry
//      body or identity data, a sign that another service accompanies the
//      youth, a role it gave itself, an erasure it made alone.
// The honest paths (confirmation by an accompanying service, an accepted
// handover, a mandate, a holder's consent) are then shown to still work.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "tests/long_tests.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using grpc::StatusCode;

constexpr char kInsider[] = "prev.coord";    // the insider's coordinator
constexpr char kColleague[] = "prev.other";  // a second member of the same service
constexpr int kMaxDepth = 3;
constexpr int kSampled = 1000;
constexpr int kWalks = 2000;
constexpr int kLongWalks = 10000;

// ---- The insider's state-changing calls -------------------------------------

enum Step {
  kOpenVoluntary,      // OpenAccompaniment, basis VOLUNTARY
  kOpenMandate,        // OpenAccompaniment, basis MANDATE
  kConfirmOwn,         // ConfirmAccompaniment of its own pending accompaniment
  kColleagueConfirms,  // the same, by the colleague
  kConsentToSelf,      // GrantConsent naming its own service, every category
  kConsentToSector,    // GrantConsent naming its own sector, every category
  kBreakGlass,         // OpenEmergencyAccess
  kProposeToAmo,       // ProposeHandover to the AMO
  kAddEntry,           // AddEntry of its own
  kSelfAuditor,        // SetMemberRoles on itself, adding AUDITOR
  kColleagueAuditor,   // SetMemberRoles on the colleague, adding AUDITOR
  kEraseYouth,         // EraseYouth (a request: four eyes)
  kApproveErasure,     // ApproveErasure of the AMO's erasure request, by the colleague
  kReassignOwn,        // ReassignReferent of its own accompaniment, to the colleague
  kSignForOthers,      // SignConvention of the AMO–SAJ convention awaiting the SAJ
  kTerminateOthers,    // TerminateConvention of that convention
  kScheduleMeeting,    // ScheduleConcertation about the youth, inviting the AMO
  kStepCount
};

constexpr const char* kStepNames[kStepCount] = {
    "open(voluntary)", "open(mandate)",     "confirm-own",       "colleague-confirms",
    "consent-to-self", "consent-to-sector", "break-glass",       "propose-to-amo",
    "add-entry",       "self-auditor",      "colleague-auditor", "erase",
    "approve-erasure", "reassign-own",      "sign-for-others",   "terminate-others",
    "schedule-meeting"};

struct Answer {
  StatusCode code = StatusCode::OK;
  std::string reason;  // "" when OK
  bool operator==(const Answer&) const = default;
};

std::string Show(const Answer& a) {
  return a.code == StatusCode::OK ? "OK" : absl::StrCat(a.code, "/", a.reason);
}

// ---- The reference model ------------------------------------------------------

// What the insider's relationship to the youth can be. It never reaches
// "vouched" alone: that is what the test shows the server agrees with.
struct Model {
  bool pending = false;          // an open accompaniment waiting to be vouched for
  bool restricted = false;       // the record is restricted (an erasure was requested)
  bool erasure_request = false;  // the insider was shown an erasure request's id
};

Answer Denied(const char* reason) { return {StatusCode::PERMISSION_DENIED, reason}; }

Answer NoNeed(const Model& m) {
  return Denied(m.pending ? "accompaniment_pending" : "no_active_accompaniment");
}

Answer ModelStep(Model& m, Step step) {
  switch (step) {
    case kOpenVoluntary:
    case kOpenMandate:
      if (m.restricted) return Denied("record_restricted");
      m.pending = true;  // a record the insider did not create: pending
      return {};
    case kConfirmOwn:
    case kColleagueConfirms:
      // One's own service's request is never one's to vouch for.
      return {StatusCode::NOT_FOUND, "accompaniment_not_found"};
    case kConsentToSelf:
      return {StatusCode::INVALID_ARGUMENT, "recipient_is_holder"};
    case kConsentToSector:
    case kBreakGlass:
    case kProposeToAmo:
    case kAddEntry:
    case kEraseYouth:
    case kScheduleMeeting:
      return NoNeed(m);
    case kApproveErasure:  // a second person must accompany the youth, or be the DPO
      if (!m.erasure_request) return {StatusCode::NOT_FOUND, "erasure_request_not_found"};
      return NoNeed(m);
    case kReassignOwn:  // its own service's, and only that: changes no access
      if (!m.pending) return {StatusCode::NOT_FOUND, "accompaniment_not_found"};
      if (m.restricted) return Denied("record_restricted");
      return {};
    case kSignForOthers:  // a convention binds only the services that signed it
    case kTerminateOthers:
      return Denied("wrong_service");
    case kSelfAuditor:
      return Denied("separation_of_duties");
    case kColleagueAuditor:
      return Denied("role_not_permitted");
    case kStepCount:
      break;
  }
  return {StatusCode::INTERNAL, "?"};
}

// The reads, each with what the model answers.
enum Read {
  kListEntries,
  kGetEntryShared,
  kGetEntryHealth,
  kGetEntryPrivate,
  kGetYouth,
  kListAccompaniments,
  kListConsents,
  kListHandovers,
  kListConcertations,
  kAccessReport,
  kCheckAccess,
  kQueryEvents,
  kExportYouth,
  kReadCount
};

Answer ModelRead(const Model& m, Read read) {
  switch (read) {
    case kListHandovers:  // only handovers the insider is party to: none
    case kCheckAccess:    // explains the denial (checked below), answers OK
      return {};
    case kQueryEvents:
      return Denied("role_not_permitted");
    default:
      return NoNeed(m);
  }
}

// ---- The world: one youth the AMO accompanies --------------------------------

struct World {
  std::string youth;
  std::string shared_entry, health_entry, private_entry;
  // An erasure request of the AMO's, waiting for a second person (leaked id).
  std::string erasure_request;
  // Ids the insider has been shown.
  std::string own_accompaniment;
  // A convention the AMO proposed to the SAJ, awaiting the SAJ's signature.
  std::string convention;
};

class Insider {
 public:
  explicit Insider(RelaisEnv& env) : env_(env) { Recruit(); }

  // A new malicious service with two members holding every role but ADMIN
  // and AUDITOR; the first is "prev" (prev.coord, prev.other), later ones are
  // numbered. Each sequence gets a new one, so what one sequence obtained (a
  // role, say) cannot spill into the next.
  void Recruit() {
    const int n = recruited_++;
    service_ = n == 0 ? "prev" : absl::StrCat("prev_", n);
    insider_ = n == 0 ? kInsider : absl::StrCat(kInsider, ".", n);
    colleague_ = n == 0 ? kColleague : absl::StrCat(kColleague, ".", n);
    env_.AddService(service_, absl::StrCat("Service de prévention ", n), "prevention",
                    "Prévention");
    env_.AddMember(insider_, service_, {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR});
    env_.AddMember(colleague_, service_, {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR});
  }

  // A youth created and accompanied by the AMO, with a shared general entry, a
  // shared health entry, a private one, and the AMO's consent sharing its
  // general entries with the SAJ.
  World NewWorld(bool erasure_requested = false) {
    World w;
    w.youth = env_.CreateYouth(15);
    env_.Accompany(w.youth, kAmoCoordinator, kAmoCaseworker);
    w.shared_entry = Entry(w.youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED);
    w.health_entry = Entry(w.youth, v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED);
    w.private_entry = Entry(w.youth, v1::DATA_CATEGORY_FAMILY, v1::VISIBILITY_SERVICE_PRIVATE);
    v1::GrantConsentRequest req;
    v1::Consent* k = req.mutable_consent();
    k->set_youth_id(w.youth);
    k->set_giver(v1::CONSENT_GIVER_YOUTH);
    k->add_recipients()->set_service_id(env_.service_id("saj"));
    k->add_categories(v1::DATA_CATEGORY_GENERAL);
    k->add_purposes(v1::PURPOSE_COORDINATION);
    *k->mutable_valid_until() = common::ToProto(env_.clock().Now() + absl::Hours(24 * 180));
    v1::Consent out;
    grpc::Status s = env_.care().GrantConsent(env_.As(kAmoCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    w.convention = Convention();
    if (erasure_requested) {  // restricts the record: after the set-up
      v1::EraseYouthRequest erase;
      erase.set_youth_id(w.youth);
      erase.set_reason("Demande du jeune");
      v1::ErasureRequest request;
      s = env_.record().EraseYouth(env_.As(kAmoCoordinator).get(), erase, &request);
      EXPECT_TRUE(s.ok()) << s.error_message();
      w.erasure_request = request.id();
    }
    return w;
  }

  // An AMO–SAJ convention proposed by the AMO's coordinator.
  std::string Convention() {
    v1::ProposeConventionRequest req;
    v1::Convention* c = req.mutable_convention();
    c->set_title("AMO – SAJ");
    c->set_purpose("Coordination");
    c->add_party_service_ids(env_.service_id("amo"));
    c->add_party_service_ids(env_.service_id("saj"));
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_purposes(v1::PURPOSE_HANDOVER);
    c->mutable_scope()->set_max_overlap_days(30);
    const absl::Time now = env_.clock().Now();
    *c->mutable_start_time() = common::ToProto(now);
    *c->mutable_end_time() = common::ToProto(now + absl::Hours(24 * 365));
    *c->mutable_review_time() = common::ToProto(now + absl::Hours(24 * 180));
    v1::Convention out;
    grpc::Status s =
        env_.partnership().ProposeConvention(env_.As(kAmoCoordinator).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.id();
  }

  // The convention still awaits the SAJ alone and was never terminated.
  void ExpectConventionUntouched(const World& w) {
    v1::GetConventionRequest req;
    req.set_convention_id(w.convention);
    v1::Convention c;
    grpc::Status s = env_.partnership().GetConvention(env_.As(kAmoCoordinator).get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(c.signatures_size(), 1) << "the insider signed a convention it is no party to";
    EXPECT_EQ(c.state(), v1::CONVENTION_STATE_AWAITING_SIGNATURES);
  }

  Answer Do(World& w, Step step) {
    grpc::Status s;
    switch (step) {
      case kOpenVoluntary:
      case kOpenMandate: {
        v1::OpenAccompanimentRequest req;
        req.set_youth_id(w.youth);
        req.set_referent_member_id(env_.member_id(insider_));
        req.set_basis(step == kOpenMandate ? v1::ACCOMPANIMENT_BASIS_MANDATE
                                           : v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
        v1::Accompaniment out;
        s = env_.care().OpenAccompaniment(env_.As(insider_).get(), req, &out);
        if (s.ok()) {
          w.own_accompaniment = out.id();
          // The answer must not tell it more than that it waits.
          if (out.vouch() != v1::VOUCH_PENDING) Violation(w, "accompaniment not pending");
        }
        break;
      }
      case kConfirmOwn:
      case kColleagueConfirms: {
        v1::ConfirmAccompanimentRequest req;
        req.set_accompaniment_id(w.own_accompaniment.empty() ? "acc_unknown" : w.own_accompaniment);
        v1::Accompaniment out;
        s = env_.care().ConfirmAccompaniment(
            env_.As(step == kConfirmOwn ? insider_ : colleague_).get(), req, &out);
        break;
      }
      case kReassignOwn: {
        v1::ReassignReferentRequest req;
        req.set_accompaniment_id(w.own_accompaniment.empty() ? "acc_unknown" : w.own_accompaniment);
        req.set_referent_member_id(env_.member_id(colleague_));
        v1::Accompaniment out;
        s = env_.care().ReassignReferent(env_.As(insider_).get(), req, &out);
        if (s.ok() && out.vouch() != v1::VOUCH_PENDING) Violation(w, "reassigned into access");
        break;
      }
      case kConsentToSelf:
      case kConsentToSector: {
        v1::GrantConsentRequest req;
        v1::Consent* k = req.mutable_consent();
        k->set_youth_id(w.youth);
        k->set_giver(v1::CONSENT_GIVER_YOUTH);
        if (step == kConsentToSelf) {
          k->add_recipients()->set_service_id(env_.service_id(service_));
        } else {
          k->add_recipients()->set_sector_id("prevention");
        }
        for (auto c : {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_FAMILY,
                       v1::DATA_CATEGORY_HEALTH, v1::DATA_CATEGORY_JUDICIAL}) {
          k->add_categories(c);
        }
        k->add_purposes(v1::PURPOSE_COORDINATION);
        *k->mutable_valid_until() = common::ToProto(env_.clock().Now() + absl::Hours(24 * 30));
        v1::Consent out;
        s = env_.care().GrantConsent(env_.As(insider_).get(), req, &out);
        break;
      }
      case kBreakGlass: {
        v1::OpenEmergencyAccessRequest req;
        req.set_youth_id(w.youth);
        req.set_justification("Urgence vitale signalée, besoin du dossier complet");
        v1::EmergencyAccess out;
        s = env_.care().OpenEmergencyAccess(env_.As(insider_).get(), req, &out);
        break;
      }
      case kProposeToAmo: {
        v1::ProposeHandoverRequest req;
        req.set_youth_id(w.youth);
        req.set_to_service_id(env_.service_id("amo"));
        req.set_reason("Relais");
        *req.mutable_overlap_start() = common::ToProto(env_.clock().Now());
        *req.mutable_overlap_end() = common::ToProto(env_.clock().Now() + absl::Hours(24 * 10));
        v1::Handover out;
        s = env_.care().ProposeHandover(env_.As(insider_).get(), req, &out);
        break;
      }
      case kScheduleMeeting: {
        v1::ScheduleConcertationRequest req;
        req.set_youth_id(w.youth);
        req.add_invited_service_ids(env_.service_id("amo"));
        *req.mutable_scheduled_at() = common::ToProto(env_.clock().Now() + absl::Hours(24));
        v1::Concertation out;
        s = env_.care().ScheduleConcertation(env_.As(insider_).get(), req, &out);
        break;
      }
      case kAddEntry: {
        v1::AddEntryRequest req;
        req.mutable_entry()->set_youth_id(w.youth);
        req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
        req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
        req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
        req.mutable_entry()->set_body("note de la prévention");
        v1::Entry out;
        s = env_.record().AddEntry(env_.As(insider_).get(), req, &out);
        break;
      }
      case kSelfAuditor:
      case kColleagueAuditor: {
        v1::SetMemberRolesRequest req;
        req.set_member_id(env_.member_id(step == kSelfAuditor ? insider_ : colleague_));
        req.add_roles(v1::ROLE_CASEWORKER);
        req.add_roles(v1::ROLE_COORDINATOR);
        req.add_roles(v1::ROLE_AUDITOR);
        v1::Member out;
        s = env_.directory().SetMemberRoles(env_.As(insider_).get(), req, &out);
        break;
      }
      case kEraseYouth: {
        v1::EraseYouthRequest req;
        req.set_youth_id(w.youth);
        req.set_reason("Demande d'effacement");
        v1::ErasureRequest out;
        s = env_.record().EraseYouth(env_.As(insider_).get(), req, &out);
        break;
      }
      case kApproveErasure: {
        v1::ApproveErasureRequest req;
        req.set_request_id(w.erasure_request.empty() ? "era_unknown" : w.erasure_request);
        v1::ErasureRequest out;
        s = env_.record().ApproveErasure(env_.As(colleague_).get(), req, &out);
        break;
      }
      case kSignForOthers: {
        v1::SignConventionRequest req;
        req.set_convention_id(w.convention);
        v1::Convention out;
        s = env_.partnership().SignConvention(env_.As(insider_).get(), req, &out);
        ExpectConventionUntouched(w);
        break;
      }
      case kTerminateOthers: {
        v1::TerminateConventionRequest req;
        req.set_convention_id(w.convention);
        req.set_reason("Fin");
        v1::Convention out;
        s = env_.partnership().TerminateConvention(env_.As(insider_).get(), req, &out);
        ExpectConventionUntouched(w);
        break;
      }
      case kStepCount:
        break;
    }
    ++calls_;
    return {s.error_code(), s.ok() ? "" : ReasonCode(s)};
  }

  // Runs one read and looks in its answer for what must never be there.
  Answer Look(World& w, Read read) {
    const std::string prev = env_.service_id(service_);
    grpc::Status s;
    auto as = [&] { return env_.As(insider_); };
    switch (read) {
      case kListEntries: {
        v1::ListEntriesRequest req;
        req.set_youth_id(w.youth);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        v1::ListEntriesResponse out;
        s = env_.record().ListEntries(as().get(), req, &out);
        for (const auto& e : out.entries()) {
          if (e.author_service_id() != prev) Violation(w, "listed another service's entry");
        }
        break;
      }
      case kGetEntryShared:
      case kGetEntryHealth:
      case kGetEntryPrivate: {
        v1::GetEntryRequest req;
        req.set_entry_id(read == kGetEntryShared   ? w.shared_entry
                         : read == kGetEntryHealth ? w.health_entry
                                                   : w.private_entry);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        v1::Entry out;
        s = env_.record().GetEntry(as().get(), req, &out);
        if (s.ok() || !out.body().empty()) Violation(w, "read another service's entry");
        break;
      }
      case kGetYouth: {
        v1::GetYouthRequest req;
        req.set_youth_id(w.youth);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        v1::Youth out;
        s = env_.record().GetYouth(as().get(), req, &out);
        if (s.ok() || !out.display_name().empty()) Violation(w, "read the youth's identity");
        break;
      }
      case kListAccompaniments: {
        v1::ListAccompanimentsRequest req;
        req.set_youth_id(w.youth);
        v1::ListAccompanimentsResponse out;
        s = env_.care().ListAccompaniments(as().get(), req, &out);
        for (const auto& a : out.accompaniments()) {
          if (a.service_id() != prev) Violation(w, "saw another service's accompaniment");
        }
        break;
      }
      case kListConsents: {
        v1::ListConsentsRequest req;
        req.set_youth_id(w.youth);
        v1::ListConsentsResponse out;
        s = env_.care().ListConsents(as().get(), req, &out);
        for (const auto& k : out.consents()) {
          if (k.recorded_by_service_id() != prev) Violation(w, "saw another service's consent");
        }
        break;
      }
      case kListHandovers: {
        v1::ListHandoversRequest req;
        req.set_youth_id(w.youth);
        v1::ListHandoversResponse out;
        s = env_.care().ListHandovers(as().get(), req, &out);
        for (const auto& h : out.handovers()) {
          if (h.from_service_id() != prev && h.to_service_id() != prev) {
            Violation(w, "saw a handover between other services");
          }
        }
        break;
      }
      case kListConcertations: {
        v1::ListConcertationsRequest req;
        req.set_youth_id(w.youth);
        v1::ListConcertationsResponse out;
        s = env_.care().ListConcertations(as().get(), req, &out);
        if (out.concertations_size() > 0) Violation(w, "saw a meeting it was not invited to");
        break;
      }
      case kAccessReport: {
        v1::AccessReportRequest req;
        req.set_youth_id(w.youth);
        v1::AccessReportResponse out;
        s = env_.audit().AccessReport(as().get(), req, &out);
        for (const auto& line : out.lines()) {
          if (line.service_id() != prev) Violation(w, "access report shows another service");
        }
        break;
      }
      case kCheckAccess: {
        v1::CheckAccessRequest req;
        req.set_youth_id(w.youth);
        req.set_entry_id(w.shared_entry);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        v1::CheckAccessResponse out;
        s = env_.care().CheckAccess(as().get(), req, &out);
        if (out.decision() == v1::DECISION_ALLOW) Violation(w, "CheckAccess allowed");
        break;
      }
      case kQueryEvents: {
        v1::QueryEventsRequest req;
        req.set_youth_id(w.youth);
        v1::QueryEventsResponse out;
        s = env_.audit().QueryEvents(as().get(), req, &out);
        for (const auto& e : out.events()) {
          if (e.actor_service_id() != prev) Violation(w, "read another service's audit events");
        }
        break;
      }
      case kExportYouth: {
        v1::ExportYouthRequest req;
        req.set_youth_id(w.youth);
        auto ctx = as();
        auto reader = env_.record().ExportYouth(ctx.get(), req);
        v1::ExportYouthItem item;
        while (reader->Read(&item)) {
          if (item.has_identity() || item.has_entry()) Violation(w, "exported the record");
          if (item.has_accompaniment() && item.accompaniment().service_id() != prev) {
            Violation(w, "export shows another service's accompaniment");
          }
        }
        s = reader->Finish();
        break;
      }
      case kReadCount:
        break;
    }
    ++calls_;
    return {s.error_code(), s.ok() ? "" : ReasonCode(s)};
  }

  // After a sequence: no role gained, the record not erased.
  void CheckAftermath(World& w) {
    for (const std::string& login : {insider_, colleague_}) {
      auto m = env_.host().directory().GetMember(env_.member_id(login));
      ASSERT_TRUE(m.ok()) << m.status();
      for (v1::Role r : m->roles) {
        if (r == v1::ROLE_AUDITOR || r == v1::ROLE_ADMIN) Violation(w, "gained a role");
      }
    }
    auto facts = env_.host().record().GetYouthFacts(w.youth);
    if (!facts.ok() && facts.status().code() == absl::StatusCode::kNotFound) {
      Violation(w, "erased the record");
    }
    if (!w.erasure_request.empty()) {
      v1::GetErasureRequestRequest req;
      req.set_request_id(w.erasure_request);
      v1::ErasureRequest out;
      grpc::Status s = env_.record().GetErasureRequest(env_.As(kAmoCoordinator).get(), req, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (out.state() != v1::ERASURE_STATE_REQUESTED) Violation(w, "approved an erasure");
    }
  }

  int violations() const { return violations_; }
  int64_t calls() const { return calls_; }

 private:
  std::string Entry(const std::string& youth, v1::DataCategory category, v1::Visibility vis) {
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(category);
    req.mutable_entry()->set_visibility(vis);
    req.mutable_entry()->set_body("contenu de l'AMO");
    v1::Entry out;
    grpc::Status s = env_.record().AddEntry(env_.As(kAmoCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.id();
  }

  void Violation(const World& w, absl::string_view what) {
    if (++violations_ <= 10) ADD_FAILURE() << "insider violation on " << w.youth << ": " << what;
  }

  RelaisEnv& env_;
  int recruited_ = 0;
  std::string service_, insider_, colleague_;
  int violations_ = 0;
  int64_t calls_ = 0;
};

std::unique_ptr<RelaisEnv> StartWithInsider() {
  // On tmpfs when there is one: the test makes tens of thousands of calls,
  // each with a durable audit event; durability is the crash tests' subject.
  std::string db;
  if (std::filesystem::is_directory("/dev/shm")) {
    db = absl::StrCat("/dev/shm/relais_insider_", ::getpid(), "_", std::random_device()(),
                      ".sqlite");
  }
  return RelaisEnv::Start(db);
}

// Stops the server and removes a database left on tmpfs.
void Discard(std::unique_ptr<RelaisEnv>& env) {
  const std::string db = env->db_path();
  env.reset();
  if (db.rfind("/dev/shm/", 0) == 0) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  }
}

// Every sequence of 1..depth steps, in lexicographic order.
std::vector<std::vector<Step>> AllSequences(int depth) {
  std::vector<std::vector<Step>> out;
  std::vector<std::vector<Step>> frontier = {{}};
  for (int d = 1; d <= depth; ++d) {
    std::vector<std::vector<Step>> next;
    for (const auto& prefix : frontier) {
      for (int s = 0; s < kStepCount; ++s) {
        auto seq = prefix;
        seq.push_back(static_cast<Step>(s));
        out.push_back(seq);
        next.push_back(std::move(seq));
      }
    }
    frontier = std::move(next);
  }
  return out;
}

std::string Describe(const std::vector<Step>& seq) {
  std::string out;
  for (Step s : seq) absl::StrAppend(&out, out.empty() ? "" : " > ", kStepNames[s]);
  return out;
}

// Runs `seq` as a newly recruited insider on `world` (shared between
// sequences: the honest services' data), reading everything after each step
// (`every_step`) or after the last one, and compares with the model.
int RunOnServer(Insider& insider, World world, const std::vector<Step>& seq, bool every_step) {
  insider.Recruit();
  world.own_accompaniment.clear();
  int mismatches = 0;
  Model m;
  m.restricted = m.erasure_request = !world.erasure_request.empty();
  auto look = [&] {
    for (int r = 0; r < kReadCount; ++r) {
      const Answer want_read = ModelRead(m, static_cast<Read>(r));
      const Answer got_read = insider.Look(world, static_cast<Read>(r));
      if (!(got_read == want_read) && ++mismatches <= 3) {
        ADD_FAILURE() << Describe(seq) << ": read " << r << " answered " << Show(got_read)
                      << ", model " << Show(want_read);
      }
    }
  };
  for (Step step : seq) {
    const Answer want = ModelStep(m, step);
    const Answer got = insider.Do(world, step);
    if (!(got == want) && ++mismatches <= 3) {
      ADD_FAILURE() << Describe(seq) << ": " << kStepNames[step] << " answered " << Show(got)
                    << ", model " << Show(want);
    }
    if (every_step) look();
  }
  if (!every_step) look();
  insider.CheckAftermath(world);
  return mismatches;
}

TEST(Insider, NoSequenceOfUpToThreeCallsGivesOneServiceAccessAlone) {
  auto env = StartWithInsider();
  ASSERT_NE(env, nullptr);
  Insider insider(*env);

  // 1. Exhaustively against the model: every sequence, every read after every
  //    step; no read may answer OK with another service's data.
  const std::vector<std::vector<Step>> all = AllSequences(kMaxDepth);
  int64_t model_reads = 0, model_grants = 0;
  for (const auto& seq : all) {
    Model m;
    for (Step step : seq) {
      ModelStep(m, step);
      for (int r = 0; r < kReadCount; ++r) {
        ++model_reads;
        const Answer a = ModelRead(m, static_cast<Read>(r));
        // OK reads of the model are only the empty listing and the explanation.
        if (a.code == StatusCode::OK && r != kListHandovers && r != kCheckAccess) ++model_grants;
      }
    }
  }
  EXPECT_EQ(model_grants, 0);

  // 2. A random sample of those through the server, then longer random walks.
  std::mt19937_64 rng(20261202);
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const int sampled = std::min<int>(kSampled, static_cast<int>(all.size()));
  constexpr int kSequencesPerWorld = 50;
  int mismatches = 0;
  World world;
  for (int i = 0; i < sampled; ++i) {
    // Every other world has an erasure request of the AMO's (so it is restricted).
    if (i % kSequencesPerWorld == 0) {
      world = insider.NewWorld(/*erasure_requested=*/(i / kSequencesPerWorld) % 2 == 1);
    }
    mismatches += RunOnServer(insider, world, all[order[i]], /*every_step=*/true);
  }
  std::cout << "insider: " << all.size() << " sequences of up to " << kMaxDepth
            << " calls checked against the model (" << model_reads << " reads); " << sampled
            << " of them through relaisd (" << insider.calls()
            << " calls): " << insider.violations() << " violations, " << mismatches
            << " mismatches with the model\n";
  EXPECT_EQ(insider.violations(), 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GE(all.size(), 1000u);
  Discard(env);
}

// Longer random walks (4 to 8 calls, every read after the last) through
// relaisd, in two halves that ctest runs side by side. Each walk costs about
// 0.13 s under the sanitizers, so CI runs kWalks and RELAIS_LONG_TESTS=1
// kLongWalks; RELAIS_INSIDER_WALKS sets the number of walks of each half.
void LongerWalks(uint64_t seed) {
  auto env = StartWithInsider();
  ASSERT_NE(env, nullptr);
  Insider insider(*env);
  std::mt19937_64 rng(seed);
  int walks = (LongTests() ? kLongWalks : kWalks) / 2;
  if (const char* n = std::getenv("RELAIS_INSIDER_WALKS")) walks = std::atoi(n);
  constexpr int kWalksPerWorld = 50;
  int mismatches = 0;
  World world;
  for (int i = 0; i < walks; ++i) {
    if (i % kWalksPerWorld == 0) {
      world = insider.NewWorld(/*erasure_requested=*/(i / kWalksPerWorld) % 2 == 1);
    }
    std::vector<Step> seq(4 + rng() % 5);
    for (Step& s : seq) s = static_cast<Step>(rng() % kStepCount);
    mismatches += RunOnServer(insider, world, seq, /*every_step=*/false);
  }
  std::cout << "insider: " << walks << " random walks of 4 to 8 calls through relaisd ("
            << insider.calls() << " calls): " << insider.violations() << " violations, "
            << mismatches << " mismatches with the model\n";
  EXPECT_EQ(insider.violations(), 0);
  EXPECT_EQ(mismatches, 0);
  Discard(env);
}

TEST(Insider, LongerRandomWalksFirstHalf) { LongerWalks(20261202); }
TEST(Insider, LongerRandomWalksSecondHalf) { LongerWalks(20261203); }

// ---- The honest paths still work ---------------------------------------------

// Reads the AMO's entries as the insider: which of them it obtained.
std::vector<std::string> EntriesSeen(RelaisEnv& env, const World& w) {
  v1::ListEntriesRequest req;
  req.set_youth_id(w.youth);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::ListEntriesResponse out;
  grpc::Status s = env.record().ListEntries(env.As(kInsider).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> ids;
  for (const auto& e : out.entries()) ids.push_back(e.id());
  return ids;
}

// The AMO, the holder, shares its general entries with the prevention service.
void HolderShares(RelaisEnv& env, const World& w) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(w.youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  k->add_recipients()->set_service_id(env.service_id("prev"));
  k->add_categories(v1::DATA_CATEGORY_GENERAL);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  v1::Consent out;
  grpc::Status s = env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.recorded_by_service_id(), env.service_id("amo"));
}

TEST(Insider, HonestPathsStillGiveAccess) {
  auto env = StartWithInsider();
  ASSERT_NE(env, nullptr);
  Insider insider(*env);

  // Confirmation by a coordinator of the accompanying AMO, found in its list
  // of pending requests.
  {
    World w = insider.NewWorld();
    ASSERT_TRUE(insider.Do(w, kOpenVoluntary) == Answer{});
    HolderShares(*env, w);
    EXPECT_EQ(insider.Look(w, kListEntries).reason, "accompaniment_pending");
    v1::ListPendingAccompanimentsRequest list;
    v1::ListPendingAccompanimentsResponse pending;
    ASSERT_TRUE(
        env->care().ListPendingAccompaniments(env->As(kAmoCoordinator).get(), list, &pending).ok());
    ASSERT_EQ(pending.accompaniments_size(), 1);
    EXPECT_EQ(pending.accompaniments(0).id(), w.own_accompaniment);
    v1::ConfirmAccompanimentRequest confirm;
    confirm.set_accompaniment_id(w.own_accompaniment);
    v1::Accompaniment out;
    ASSERT_TRUE(
        env->care().ConfirmAccompaniment(env->As(kAmoCoordinator).get(), confirm, &out).ok());
    EXPECT_EQ(out.vouch(), v1::VOUCH_CONFIRMED);
    EXPECT_EQ(out.vouched_by_member_id(), env->member_id(kAmoCoordinator));
    // The holder's consent covers general entries: exactly the shared general one.
    EXPECT_EQ(EntriesSeen(*env, w), std::vector<std::string>{w.shared_entry});
  }
  // An accepted handover from the AMO.
  {
    World w = insider.NewWorld();
    v1::ProposeHandoverRequest propose;
    propose.set_youth_id(w.youth);
    propose.set_to_service_id(env->service_id("prev"));
    propose.set_reason("Relais vers la prévention");
    *propose.mutable_overlap_start() = common::ToProto(env->clock().Now());
    *propose.mutable_overlap_end() = common::ToProto(env->clock().Now() + absl::Hours(24 * 10));
    v1::Handover h;
    ASSERT_TRUE(env->care().ProposeHandover(env->As(kAmoCaseworker).get(), propose, &h).ok());
    v1::AcceptHandoverRequest accept;
    accept.set_handover_id(h.id());
    accept.set_referent_member_id(env->member_id(kInsider));
    ASSERT_TRUE(env->care().AcceptHandover(env->As(kInsider).get(), accept, &h).ok());
    EXPECT_TRUE(EntriesSeen(*env, w).empty()) << "no consent of the holder yet";
    HolderShares(*env, w);
    EXPECT_EQ(EntriesSeen(*env, w), std::vector<std::string>{w.shared_entry});
  }
  // A mandate confirmed by the SAJ (a mandating service), which does not
  // accompany the youth itself.
  {
    World w = insider.NewWorld();
    ASSERT_TRUE(insider.Do(w, kOpenMandate) == Answer{});
    v1::ConfirmAccompanimentRequest confirm;
    confirm.set_accompaniment_id(w.own_accompaniment);
    v1::Accompaniment out;
    ASSERT_TRUE(
        env->care().ConfirmAccompaniment(env->As(kSajCoordinator).get(), confirm, &out).ok());
    EXPECT_EQ(out.vouch(), v1::VOUCH_MANDATE);
    HolderShares(*env, w);
    EXPECT_EQ(EntriesSeen(*env, w), std::vector<std::string>{w.shared_entry});
  }
  // The SAJ cannot vouch for a voluntary accompaniment it has no part in, and
  // cannot tell it from an unknown id.
  {
    World w = insider.NewWorld();
    ASSERT_TRUE(insider.Do(w, kOpenVoluntary) == Answer{});
    v1::ConfirmAccompanimentRequest confirm;
    confirm.set_accompaniment_id(w.own_accompaniment);
    v1::Accompaniment out;
    grpc::Status s =
        env->care().ConfirmAccompaniment(env->As(kSajCoordinator).get(), confirm, &out);
    EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(ReasonCode(s), "accompaniment_not_found");
    // A declined request ends, and the insider still sees nothing.
    v1::DeclineAccompanimentRequest decline;
    decline.set_accompaniment_id(w.own_accompaniment);
    ASSERT_TRUE(
        env->care().DeclineAccompaniment(env->As(kAmoCoordinator).get(), decline, &out).ok());
    EXPECT_EQ(out.vouch(), v1::VOUCH_DECLINED);
    EXPECT_FALSE(out.active());
    EXPECT_EQ(insider.Look(w, kListEntries).reason, "no_active_accompaniment");
    // Confirming after declining is refused; declining again is idempotent.
    s = env->care().ConfirmAccompaniment(env->As(kAmoCoordinator).get(), confirm, &out);
    EXPECT_EQ(ReasonCode(s), "not_pending");
    EXPECT_TRUE(
        env->care().DeclineAccompaniment(env->As(kAmoCoordinator).get(), decline, &out).ok());
  }
  EXPECT_EQ(insider.violations(), 0);
  Discard(env);
}

}  // namespace
}  // namespace relais::testing
