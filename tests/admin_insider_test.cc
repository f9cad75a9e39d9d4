// The admin insider (issue #11): one admin, alone, with every directory call
// an admin has and every secret those calls hand out, tries to reach what an
// admin must never reach alone: an entry body (admins read none), a full
// export (it needs the DPO's approval), the DPO's or another admin's account,
// or a caseworker or coordinator of a service that holds records.
//
// What the admin knows only grows (a password learned stays learned), so the
// search runs every step as every identity it can log in as, over and over,
// until a round learns nothing new: the closure of what any sequence of those
// calls reaches. It does so in a fixed order and in kOrders random ones (order
// matters when a step removes what another needs). Then every identity tries
// every read. The honest path (an admin staffs a new service, whose
// coordinator then staffs it) is shown in directory_service_test.

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr int kOrders = 20;
constexpr char kBody[] = "contenu confidentiel de l'AMO";

enum StepKind { kCreateService, kAddMember, kResetPassword, kGrantRole, kRemoveMember };

struct Step {
  StepKind kind;
  std::string target;  // a service key or a login, depending on the kind
  v1::Role role = v1::ROLE_UNSPECIFIED;
};

class AdminInsider {
 public:
  explicit AdminInsider(RelaisEnv& env) : env_(env) {
    known_[kAdmin] = kPassword;
    youth_ = env_.CreateYouth(15);
    env_.Accompany(youth_, kAmoCoordinator, kAmoCaseworker);
    v1::AddEntryRequest req;
    req.mutable_entry()->set_youth_id(youth_);
    req.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    req.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
    req.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
    req.mutable_entry()->set_body(kBody);
    v1::Entry out;
    grpc::Status s = env_.record().AddEntry(env_.As(kAmoCaseworker).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    entry_ = out.id();
  }

  // Every step an admin could try, with the services and members it can name.
  std::vector<Step> Steps() const {
    std::vector<Step> steps = {{kCreateService, ""}};
    std::vector<std::string> services = {"amo", "saj", "agaj"};
    for (const std::string& s : own_services_) services.push_back(s);
    for (const std::string& s : services) {
      for (v1::Role r : {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR, v1::ROLE_AUDITOR}) {
        steps.push_back({kAddMember, s, r});
      }
    }
    std::vector<std::string> members = {kAmoCaseworker, kAmoCoordinator, kSajCoordinator, kAuditor};
    for (const auto& [login, password] : known_) members.push_back(login);
    for (const std::string& m : members) {
      steps.push_back({kResetPassword, m});
      for (v1::Role r : {v1::ROLE_CASEWORKER, v1::ROLE_COORDINATOR, v1::ROLE_AUDITOR}) {
        steps.push_back({kGrantRole, m, r});
      }
    }
    steps.push_back({kRemoveMember, kAmoCoordinator});
    return steps;
  }

  // Runs every step (shuffled if `shuffle`) as every known identity, round
  // after round, until a round learns nothing new.
  void Closure(std::mt19937* shuffle) {
    for (int round = 0; round < 20; ++round) {
      const size_t known_before = known_.size();
      const int grants_before = grants_;
      std::vector<Step> steps = Steps();
      if (shuffle != nullptr) std::shuffle(steps.begin(), steps.end(), *shuffle);
      // The role table refuses every directory change to a member without
      // ADMIN or COORDINATOR (deny_matrix_test): only those act.
      std::vector<std::string> actors;
      for (const auto& [login, password] : known_) {
        auto m = env_.host().directory().FindCredentials(login);
        if (!m.ok()) continue;
        for (v1::Role r : m->member.roles) {
          if (r == v1::ROLE_ADMIN || r == v1::ROLE_COORDINATOR) {
            actors.push_back(login);
            break;
          }
        }
      }
      for (const std::string& actor : actors) {
        for (const Step& step : steps) Do(actor, step);
      }
      if (known_.size() == known_before && grants_ == grants_before) return;
    }
    ADD_FAILURE() << "no fixpoint after 20 rounds";
  }

  // What no identity the admin holds may be, or obtain.
  void CheckNothingGained() {
    for (const auto& [login, password] : known_) {
      auto creds = env_.host().directory().FindCredentials(login);
      ASSERT_TRUE(creds.ok()) << login;
      const directory::MemberInfo& m = creds->member;
      if (!m.active) continue;
      auto service = env_.host().directory().GetService(m.service_id);
      ASSERT_TRUE(service.ok());
      const bool seeded = m.service_id == env_.service_id("amo") ||
                          m.service_id == env_.service_id("saj") ||
                          m.service_id == env_.service_id("pms");
      for (v1::Role r : m.roles) {
        if (login != kAdmin && r == v1::ROLE_ADMIN) Violation(login, "holds another admin");
        if (login != kAdmin && service->platform) Violation(login, "holds a platform member");
        if (seeded && (r == v1::ROLE_CASEWORKER || r == v1::ROLE_COORDINATOR)) {
          Violation(login, "holds a field member of a service with records");
        }
      }
      TryReads(login);
    }
    TryFullExport();
  }

  int violations() const { return violations_; }
  size_t known() const { return known_.size(); }
  int64_t calls() const { return calls_; }

 private:
  void Do(const std::string& actor, const Step& step) {
    const std::string token = TokenOf(actor);
    if (token.empty()) return;
    ++calls_;
    switch (step.kind) {
      case kCreateService: {
        if (own_services_.size() >= 2) return;
        v1::CreateServiceRequest req;
        req.mutable_service()->set_name(absl::StrCat("Service fantôme ", own_services_.size()));
        req.mutable_service()->set_sector_id("prevention");
        v1::Service out;
        if (env_.directory().CreateService(Ctx(token).get(), req, &out).ok()) {
          const std::string key = absl::StrCat("own", own_services_.size());
          service_ids_[key] = out.id();
          own_services_.push_back(key);
        }
        return;
      }
      case kAddMember: {
        v1::AddMemberRequest req;
        const std::string login = absl::StrCat("mole.", next_login_++);
        req.mutable_member()->set_service_id(ServiceId(step.target));
        req.mutable_member()->set_display_name("Taupe");
        req.mutable_member()->set_login(login);
        req.mutable_member()->add_roles(step.role);
        v1::AddMemberResponse out;
        if (env_.directory().AddMember(Ctx(token).get(), req, &out).ok()) {
          Learn(login, out.one_time_password());
        }
        return;
      }
      case kResetPassword: {
        v1::ResetPasswordRequest req;
        req.set_member_id(MemberId(step.target));
        v1::ResetPasswordResponse out;
        if (env_.directory().ResetPassword(Ctx(token).get(), req, &out).ok()) {
          tokens_.erase(step.target);
          Learn(step.target, out.one_time_password());
        }
        return;
      }
      case kGrantRole: {
        auto member = env_.host().directory().FindCredentials(step.target);
        if (!member.ok()) return;
        std::vector<v1::Role> roles = member->member.roles;
        if (std::find(roles.begin(), roles.end(), step.role) != roles.end()) return;
        v1::SetMemberRolesRequest req;
        req.set_member_id(member->member.id);
        for (v1::Role r : roles) req.add_roles(r);
        req.add_roles(step.role);
        v1::Member out;
        if (env_.directory().SetMemberRoles(Ctx(token).get(), req, &out).ok()) {
          tokens_.erase(step.target);
          ++grants_;
        }
        return;
      }
      case kRemoveMember: {
        v1::RemoveMemberRequest req;
        req.set_member_id(MemberId(step.target));
        v1::Member out;
        if (env_.directory().RemoveMember(Ctx(token).get(), req, &out).ok()) {
          tokens_.erase(step.target);
        }
        return;
      }
    }
  }

  // A one-time password only serves to choose one: the admin chooses it. A
  // new member whose roles one the admin already holds in the same service
  // has teaches nothing: dropping it makes the search end.
  void Learn(const std::string& login, const std::string& one_time) {
    auto added = env_.host().directory().FindCredentials(login);
    if (!added.ok()) return;
    for (const auto& [held, password] : known_) {
      auto other = env_.host().directory().FindCredentials(held);
      if (held == login || !other.ok() || !other->member.active ||
          other->member.service_id != added->member.service_id) {
        continue;
      }
      const auto& roles = other->member.roles;
      if (std::all_of(added->member.roles.begin(), added->member.roles.end(), [&](v1::Role r) {
            return std::find(roles.begin(), roles.end(), r) != roles.end();
          })) {
        return;
      }
    }
    v1::ChangePasswordRequest req;
    req.set_login(login);
    req.set_current_password(one_time);
    const std::string chosen = absl::StrCat("choisi par l'admin pour ", login);
    req.set_new_password(chosen);
    v1::LoginResponse out;
    grpc::ClientContext ctx;
    grpc::Status s = env_.auth().ChangePassword(&ctx, req, &out);
    if (s.ok()) known_[login] = chosen;
  }

  // A token of `login`, logging in again after a change to that member
  // (which revokes its tokens). The fake clock stands still, so step-up always passes.
  std::string TokenOf(const std::string& login) {
    auto it = tokens_.find(login);
    if (it != tokens_.end()) return it->second;
    return tokens_[login] = LoginAs(login);
  }

  // A fresh token, or empty if the identity cannot log in.
  std::string LoginAs(const std::string& login) {
    v1::LoginRequest req;
    req.set_login(login);
    req.set_password(known_[login]);
    v1::LoginResponse out;
    grpc::ClientContext ctx;
    return env_.auth().Login(&ctx, req, &out).ok() ? out.token() : std::string();
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return ctx;
  }

  std::string ServiceId(const std::string& key) const {
    auto own = service_ids_.find(key);
    return own != service_ids_.end() ? own->second : env_.service_id(key);
  }

  std::string MemberId(const std::string& login) const {
    auto creds = env_.host().directory().FindCredentials(login);
    return creds.ok() ? creds->member.id : "mbr_unknown";
  }

  void TryReads(const std::string& login) {
    const std::string token = LoginAs(login);
    if (token.empty()) return;
    {
      v1::GetEntryRequest req;
      req.set_entry_id(entry_);
      req.set_purpose(v1::PURPOSE_COORDINATION);
      v1::Entry out;
      if (env_.record().GetEntry(Ctx(token).get(), req, &out).ok() && out.body() == kBody) {
        Violation(login, "read the AMO's entry");
      }
    }
    {
      v1::ListEntriesRequest req;
      req.set_youth_id(youth_);
      req.set_purpose(v1::PURPOSE_COORDINATION);
      v1::ListEntriesResponse out;
      if (env_.record().ListEntries(Ctx(token).get(), req, &out).ok()) {
        for (const v1::Entry& e : out.entries()) {
          if (e.body() == kBody) Violation(login, "listed the AMO's entry");
        }
      }
    }
    ExportLooksForBodies(login, token, "");
  }

  // The admin asks a full export; no identity it holds may approve it.
  void TryFullExport() {
    v1::RequestFullExportRequest ask;
    ask.set_youth_id(youth_);
    ask.set_reason("Contrôle");
    v1::FullExportRequest asked;
    grpc::Status s = env_.record().RequestFullExport(Ctx(LoginAs(kAdmin)).get(), ask, &asked);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& [login, password] : known_) {
      const std::string token = LoginAs(login);
      if (token.empty()) continue;
      v1::ApproveFullExportRequest approve;
      approve.set_request_id(asked.id());
      v1::FullExportRequest approved;
      if (env_.record().ApproveFullExport(Ctx(token).get(), approve, &approved).ok()) {
        Violation(login, "approved the admin's full export");
      }
    }
    ExportLooksForBodies(kAdmin, LoginAs(kAdmin), asked.id());
  }

  void ExportLooksForBodies(const std::string& login, const std::string& token,
                            const std::string& full_export) {
    v1::ExportYouthRequest req;
    req.set_youth_id(youth_);
    req.set_full_export_request_id(full_export);
    auto ctx = Ctx(token);
    auto reader = env_.record().ExportYouth(ctx.get(), req);
    v1::ExportYouthItem item;
    while (reader->Read(&item)) {
      if (item.has_entry() && item.entry().entry().body() == kBody) {
        Violation(login, "exported the AMO's entry");
      }
    }
    reader->Finish();
  }

  void Violation(const std::string& login, absl::string_view what) {
    if (++violations_ <= 10) ADD_FAILURE() << "admin insider, as " << login << ": " << what;
  }

  RelaisEnv& env_;
  std::string youth_, entry_;
  std::map<std::string, std::string> known_;   // login -> password the admin holds
  std::map<std::string, std::string> tokens_;  // login -> a token, until a change
  std::vector<std::string> own_services_;
  std::map<std::string, std::string> service_ids_;
  int next_login_ = 0;
  int grants_ = 0;
  int violations_ = 0;
  int64_t calls_ = 0;
};

TEST(AdminInsider, NoSequenceOfAnAdminsCallsReachesWhatAnAdminMustNot) {
  for (int order = 0; order <= kOrders; ++order) {
    auto env = RelaisEnv::Start();
    ASSERT_NE(env, nullptr);
    AdminInsider admin(*env);
    std::mt19937 shuffle(order);
    admin.Closure(order == 0 ? nullptr : &shuffle);
    admin.CheckNothingGained();
    std::cout << "order " << order << ": " << admin.calls() << " calls, the admin holds "
              << admin.known() << " identities, " << admin.violations() << " violations\n";
    ASSERT_EQ(admin.violations(), 0) << "order " << order;
  }
}

}  // namespace
}  // namespace relais::testing
