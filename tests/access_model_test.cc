// The access rule checked against a reference model written independently of
// the server: first over the full matrix role x relationship x handover phase x
// consent state x entry through a real server, then over 100k random cases of
// the policy functions the server uses.

#include <array>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

// ---- The reference model --------------------------------------------------

enum class Relationship { kNone, kProposed, kOverlap, kFutureWindow, kEnded, kDirect, kPending };
enum class ConsentState {
  kNone,
  kGeneralFamily,
  kWithdrawn,
  kExpired,
  kNotYetValid,
  kHandoverPurposeOnly,
  kSectorGeneral,
  kHealthNamed,
  kBlanket
};
// kThirdSharedGeneral: written by a third service (the PMS), which recorded no
// consent: the AMO's consents never cover it (holder-scoped sharing).
enum class EntryKind {
  kOtherSharedGeneral,
  kOtherSharedHealth,
  kOtherPrivate,
  kOwnPrivateHealth,
  kThirdSharedGeneral
};

struct Outcome {
  grpc::StatusCode code;
  std::string reason;  // "" when allowed
};

bool RoleMayRead(v1::Role role) {
  return role == v1::ROLE_CASEWORKER || role == v1::ROLE_COORDINATOR;
}

bool AccompaniesNow(Relationship r) {
  return r == Relationship::kOverlap || r == Relationship::kDirect;
}

// Categories and purposes of the consent in force for the reader, if any.
struct ModelConsent {
  bool in_force = false;
  std::vector<v1::DataCategory> categories;
  bool blanket = false;
  std::vector<v1::Purpose> purposes;
};

ModelConsent ConsentFor(ConsentState c) {
  using C = ConsentState;
  switch (c) {
    case C::kGeneralFamily:
    case C::kSectorGeneral:
      return {true,
              {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_FAMILY},
              false,
              {v1::PURPOSE_COORDINATION}};
    case C::kHandoverPurposeOnly:
      return {true,
              {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_FAMILY},
              false,
              {v1::PURPOSE_HANDOVER}};
    case C::kHealthNamed:
      return {true,
              {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_HEALTH},
              false,
              {v1::PURPOSE_COORDINATION}};
    case C::kBlanket:
      return {true, {}, true, {v1::PURPOSE_COORDINATION}};
    default:  // none, withdrawn, expired, not yet valid: nothing in force
      return {};
  }
}

bool Contains(const std::vector<v1::DataCategory>& v, v1::DataCategory c) {
  return std::find(v.begin(), v.end(), c) != v.end();
}

Outcome Model(v1::Role role, Relationship rel, ConsentState consent, EntryKind entry) {
  if (!RoleMayRead(role)) return {grpc::StatusCode::PERMISSION_DENIED, "role_not_permitted"};
  if (rel == Relationship::kPending) {
    return {grpc::StatusCode::PERMISSION_DENIED, "accompaniment_pending"};
  }
  if (!AccompaniesNow(rel)) {
    return {grpc::StatusCode::PERMISSION_DENIED, "no_active_accompaniment"};
  }
  if (entry == EntryKind::kOwnPrivateHealth) return {grpc::StatusCode::OK, ""};
  if (entry == EntryKind::kOtherPrivate) return {grpc::StatusCode::NOT_FOUND, "entry_not_found"};
  if (entry == EntryKind::kThirdSharedGeneral) {
    return {grpc::StatusCode::PERMISSION_DENIED, "no_consent"};
  }
  const v1::DataCategory category =
      entry == EntryKind::kOtherSharedHealth ? v1::DATA_CATEGORY_HEALTH : v1::DATA_CATEGORY_GENERAL;
  const ModelConsent k = ConsentFor(consent);
  if (!k.in_force) return {grpc::StatusCode::PERMISSION_DENIED, "no_consent"};
  const bool special = category == v1::DATA_CATEGORY_HEALTH;
  if (!Contains(k.categories, category) && !(k.blanket && !special)) {
    return {grpc::StatusCode::PERMISSION_DENIED, "consent_category_not_covered"};
  }
  if (std::find(k.purposes.begin(), k.purposes.end(), v1::PURPOSE_COORDINATION) ==
      k.purposes.end()) {
    return {grpc::StatusCode::PERMISSION_DENIED, "consent_purpose_not_covered"};
  }
  return {grpc::StatusCode::OK, ""};
}

// ---- Building each situation through the real API ------------------------

constexpr char kSajAuditor[] = "saj.audit";
constexpr char kSajAdmin[] = "saj.admin";

std::string Entry(RelaisEnv& env, absl::string_view login, const std::string& youth,
                  v1::DataCategory category, v1::Visibility visibility) {
  v1::AddEntryRequest req;
  req.mutable_entry()->set_youth_id(youth);
  req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  req.mutable_entry()->set_category(category);
  req.mutable_entry()->set_visibility(visibility);
  req.mutable_entry()->set_body("note");
  v1::Entry out;
  grpc::Status s = env.record().AddEntry(env.As(login).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out.id();
}

void Grant(RelaisEnv& env, const std::string& youth, ConsentState c) {
  if (c == ConsentState::kNone) return;
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  const absl::Time now = env.clock().Now();
  *k->mutable_valid_until() = common::ToProto(now + absl::Hours(24 * 180));
  if (c == ConsentState::kSectorGeneral) {
    k->add_recipients()->set_sector_id("aide_jeunesse");
  } else {
    k->add_recipients()->set_service_id(env.service_id("saj"));
  }
  const ModelConsent shape =
      ConsentFor(c == ConsentState::kWithdrawn || c == ConsentState::kExpired ||
                         c == ConsentState::kNotYetValid
                     ? ConsentState::kGeneralFamily
                     : c);
  for (auto cat : shape.categories) k->add_categories(cat);
  k->set_all_non_special_categories(shape.blanket);
  for (auto p : shape.purposes) k->add_purposes(p);
  if (c == ConsentState::kExpired)
    *k->mutable_valid_until() = common::ToProto(now + absl::Hours(1));
  if (c == ConsentState::kNotYetValid) {
    *k->mutable_valid_from() = common::ToProto(now + absl::Hours(24 * 10));
  }
  v1::Consent out;
  ASSERT_TRUE(env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, &out).ok());
  if (c == ConsentState::kWithdrawn) {
    v1::WithdrawConsentRequest w;
    w.set_consent_id(out.id());
    ASSERT_TRUE(env.care().WithdrawConsent(env.As(kAmoCaseworker).get(), w, &out).ok());
  }
}

// Puts the SAJ in relationship `rel`; returns the SAJ's own entry id if it
// could write one.
std::string Relate(RelaisEnv& env, const std::string& youth, Relationship rel) {
  const absl::Time now = env.clock().Now();
  auto propose = [&](absl::Time start) {
    v1::ProposeHandoverRequest req;
    req.set_youth_id(youth);
    req.set_to_service_id(env.service_id("saj"));
    req.set_reason("relais");
    *req.mutable_overlap_start() = common::ToProto(start);
    *req.mutable_overlap_end() = common::ToProto(start + absl::Hours(24 * 30));
    v1::Handover h;
    EXPECT_TRUE(env.care().ProposeHandover(env.As(kAmoCaseworker).get(), req, &h).ok());
    return h.id();
  };
  auto accept = [&](const std::string& id) {
    v1::AcceptHandoverRequest req;
    req.set_handover_id(id);
    req.set_referent_member_id(env.member_id(kSajCaseworker));
    v1::Handover h;
    EXPECT_TRUE(env.care().AcceptHandover(env.As(kSajCoordinator).get(), req, &h).ok());
  };
  switch (rel) {
    case Relationship::kNone:
      return "";
    case Relationship::kPending:  // opened, nobody vouched for it
      EXPECT_EQ(env.OpenAccompaniment(youth, kSajCoordinator, kSajCaseworker).vouch(),
                v1::VOUCH_PENDING);
      return "";
    case Relationship::kProposed:
      propose(now);
      return "";
    case Relationship::kFutureWindow:
      accept(propose(now + absl::Hours(24 * 5)));
      return "";
    case Relationship::kOverlap:
      accept(propose(now));
      return Entry(env, kSajCaseworker, youth, v1::DATA_CATEGORY_HEALTH,
                   v1::VISIBILITY_SERVICE_PRIVATE);
    case Relationship::kDirect:
    case Relationship::kEnded: {
      env.Accompany(youth, kSajCoordinator, kSajCaseworker);
      std::string own = Entry(env, kSajCaseworker, youth, v1::DATA_CATEGORY_HEALTH,
                              v1::VISIBILITY_SERVICE_PRIVATE);
      if (rel == Relationship::kEnded) {
        v1::ListAccompanimentsRequest list;
        list.set_youth_id(youth);
        v1::ListAccompanimentsResponse accs;
        EXPECT_TRUE(env.care().ListAccompaniments(env.As(kSajCoordinator).get(), list, &accs).ok());
        for (const auto& a : accs.accompaniments()) {
          if (a.service_id() != env.service_id("saj")) continue;
          v1::EndAccompanimentRequest end;
          end.set_accompaniment_id(a.id());
          v1::Accompaniment out;
          EXPECT_TRUE(env.care().EndAccompaniment(env.As(kSajCoordinator).get(), end, &out).ok());
        }
      }
      return own;
    }
  }
  return "";
}

TEST(AccessModel, ServerMatchesTheReferenceModelOverTheFullMatrix) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  env->AddMember(kSajAuditor, "saj", v1::ROLE_AUDITOR);
  env->AddMember(kSajAdmin, "saj", v1::ROLE_ADMIN);
  env->AddMember("pms.coord", "pms", v1::ROLE_COORDINATOR);

  const std::vector<Relationship> relationships = {
      Relationship::kNone,         Relationship::kProposed, Relationship::kOverlap,
      Relationship::kFutureWindow, Relationship::kEnded,    Relationship::kDirect,
      Relationship::kPending};
  const std::vector<ConsentState> consents = {
      ConsentState::kNone,          ConsentState::kGeneralFamily,
      ConsentState::kWithdrawn,     ConsentState::kExpired,
      ConsentState::kNotYetValid,   ConsentState::kHandoverPurposeOnly,
      ConsentState::kSectorGeneral, ConsentState::kHealthNamed,
      ConsentState::kBlanket};
  struct Situation {
    Relationship rel;
    ConsentState consent;
    std::map<EntryKind, std::string> entries;
  };
  std::vector<Situation> situations;
  for (Relationship rel : relationships) {
    for (ConsentState consent : consents) {
      Situation s{rel, consent, {}};
      const std::string youth = env->CreateYouth(15);
      env->Accompany(youth, kAmoCoordinator, kAmoCaseworker);
      s.entries[EntryKind::kOtherSharedGeneral] =
          Entry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED);
      s.entries[EntryKind::kOtherSharedHealth] =
          Entry(*env, kAmoCaseworker, youth, v1::DATA_CATEGORY_HEALTH, v1::VISIBILITY_SHARED);
      s.entries[EntryKind::kOtherPrivate] = Entry(
          *env, kAmoCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SERVICE_PRIVATE);
      env->Accompany(youth, "pms.coord", kPmsCaseworker);  // vouched for by the AMO
      s.entries[EntryKind::kThirdSharedGeneral] =
          Entry(*env, kPmsCaseworker, youth, v1::DATA_CATEGORY_GENERAL, v1::VISIBILITY_SHARED);
      Grant(*env, youth, consent);
      const std::string own = Relate(*env, youth, rel);
      if (!own.empty()) s.entries[EntryKind::kOwnPrivateHealth] = own;
      situations.push_back(std::move(s));
    }
  }
  // Two hours on: the short consent has expired, windows are still open.
  env->clock().Advance(absl::Hours(2));

  int cases = 0, wrongly_allowed = 0, mismatches = 0, denied = 0, allowed = 0;
  for (const Situation& s : situations) {
    for (auto [login, role] :
         {std::pair{kSajCaseworker, v1::ROLE_CASEWORKER},
          std::pair{kSajCoordinator, v1::ROLE_COORDINATOR},
          std::pair{kSajAuditor, v1::ROLE_AUDITOR}, std::pair{kSajAdmin, v1::ROLE_ADMIN}}) {
      for (const auto& [kind, entry_id] : s.entries) {
        const Outcome want = Model(role, s.rel, s.consent, kind);
        v1::GetEntryRequest req;
        req.set_entry_id(entry_id);
        req.set_purpose(v1::PURPOSE_COORDINATION);
        v1::Entry out;
        const grpc::Status got = env->record().GetEntry(env->As(login).get(), req, &out);
        ++cases;
        (got.ok() ? allowed : denied)++;
        if (got.ok() && want.code != grpc::StatusCode::OK) ++wrongly_allowed;
        const bool same = got.error_code() == want.code && ReasonCode(got) == want.reason;
        if (!same) {
          ++mismatches;
          ADD_FAILURE() << "rel=" << static_cast<int>(s.rel)
                        << " consent=" << static_cast<int>(s.consent)
                        << " entry=" << static_cast<int>(kind) << " role=" << login << ": server "
                        << got.error_code() << " " << ReasonCode(got) << ", model " << want.code
                        << " " << want.reason;
        }
        if (!got.ok()) {
          EXPECT_TRUE(out.body().empty());
        }
      }
    }
  }
  EXPECT_EQ(wrongly_allowed, 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(cases, 700);
  std::cout << "access matrix: " << cases << " cases, " << allowed << " allowed, " << denied
            << " denied, " << mismatches << " mismatches\n";

  // Audited denials equal returned denials; audited allows equal returned ones.
  int audited_denied = 0, audited_allowed = 0;
  std::string token;
  do {
    v1::QueryEventsRequest q;
    q.set_actor_service_id(env->service_id("saj"));
    q.set_page_size(1000);
    q.set_page_token(token);
    v1::QueryEventsResponse r;
    ASSERT_TRUE(env->audit().QueryEvents(env->As(kAuditor).get(), q, &r).ok());
    for (const auto& e : r.events()) {
      if (e.action() != v1::ACTION_READ_ENTRY) continue;
      (e.decision() == v1::DECISION_DENY ? audited_denied : audited_allowed)++;
    }
    token = r.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(audited_denied, denied);
  EXPECT_EQ(audited_allowed, allowed);
}

// ---- 100k random cases of the policy functions ---------------------------

TEST(AccessModel, PolicyFunctionsMatchTheModelOnRandomCases) {
  std::mt19937_64 rng(20261125);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const v1::DataCategory categories[] = {v1::DATA_CATEGORY_GENERAL, v1::DATA_CATEGORY_EDUCATION,
                                         v1::DATA_CATEGORY_FAMILY,  v1::DATA_CATEGORY_SOCIAL,
                                         v1::DATA_CATEGORY_HEALTH,  v1::DATA_CATEGORY_JUDICIAL};
  int wrongly_allowed = 0, mismatches = 0;
  for (int i = 0; i < 100'000; ++i) {
    access::AccessFacts facts;
    facts.service_id = "svc_reader";
    facts.accompanying = pick(2);
    facts.pending = !facts.accompanying && pick(2);
    facts.break_glass = pick(8) == 0;
    const int n_consents = pick(3);
    for (int k = 0; k < n_consents; ++k) {
      access::ConsentGrant g;
      g.id = absl::StrCat("cst_", k);
      // Consents held by the author, by a third service, or by the reader.
      g.holder_service_id = std::array{"svc_author", "svc_third", "svc_reader"}[pick(3)];
      for (auto c : categories) {
        if (pick(4) == 0) g.categories.insert(c);
      }
      g.all_non_special_categories = pick(3) == 0;
      if (pick(2)) g.purposes.insert(v1::PURPOSE_COORDINATION);
      if (pick(2)) g.purposes.insert(v1::PURPOSE_HANDOVER);
      facts.consents.push_back(g);
    }
    const access::YouthState youth{.restricted = pick(5) == 0, .erased = pick(10) == 0};
    const access::EntryFacts entry{pick(3) == 0 ? "svc_reader" : "svc_author",
                                   pick(2) ? v1::VISIBILITY_SHARED : v1::VISIBILITY_SERVICE_PRIVATE,
                                   categories[pick(6)]};
    const v1::Purpose purpose = pick(2) ? v1::PURPOSE_COORDINATION : v1::PURPOSE_HANDOVER;

    // The model, straight from DESIGN.md's rule (reads: restriction does not
    // block, erasure does; private entries of others never; special categories
    // only when named; only consents held by the entry's author count; an
    // emergency grant never stands in for a vouched accompaniment).
    std::string want;
    if (!facts.accompanying) {
      want = facts.pending ? "accompaniment_pending" : "no_active_accompaniment";
    } else if (entry.author_service_id != "svc_reader") {
      if (entry.visibility != v1::VISIBILITY_SHARED) {
        want = "entry_private";
      } else {
        bool any = false, cat = false, ok = false;
        const bool special = entry.category == v1::DATA_CATEGORY_HEALTH ||
                             entry.category == v1::DATA_CATEGORY_JUDICIAL;
        for (const auto& g : facts.consents) {
          if (g.holder_service_id != entry.author_service_id) continue;
          any = true;
          const bool covers =
              g.categories.count(entry.category) || (g.all_non_special_categories && !special);
          cat = cat || covers;
          ok = ok || (covers && g.purposes.count(purpose));
        }
        if (!any) {
          want = "no_consent";
        } else if (!cat) {
          want = "consent_category_not_covered";
        } else if (!ok) {
          want = "consent_purpose_not_covered";
        }
      }
    }
    // Issue #4: an emergency grant overrides the consent of rule 3 for shared
    // entries (never entry_private); issue #10: not on a restricted record.
    if (facts.break_glass && (want == "no_consent" || want == "consent_category_not_covered" ||
                              want == "consent_purpose_not_covered")) {
      want = youth.erased ? "record_erased" : youth.restricted ? "record_restricted" : "";
    }
    if (want.empty() && youth.erased) want = "record_erased";
    if (want.empty()) want = "allowed";

    const access::Verdict got = access::DecideEntryRead(facts, youth, entry, purpose);
    const std::string got_code = rpc::ReasonCode(got.reason);
    if (got.allowed() && want != "allowed") ++wrongly_allowed;
    if (got_code != want) {
      if (++mismatches < 5) {
        ADD_FAILURE() << "case " << i << ": policy " << got_code << ", model " << want;
      }
    }
    // Writes: accompaniment (never break-the-glass), then restriction/erasure.
    const access::Verdict write = access::DecideRecordWrite(facts, youth);
    std::string want_write = facts.pending         ? "accompaniment_pending"
                             : !facts.accompanying ? "no_active_accompaniment"
                             : youth.erased        ? "record_erased"
                             : youth.restricted    ? "record_restricted"
                                                   : "allowed";
    EXPECT_EQ(rpc::ReasonCode(write.reason), want_write);
  }
  EXPECT_EQ(wrongly_allowed, 0);
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace relais::testing
