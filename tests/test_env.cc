#include "tests/test_env.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "auth/password.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "relais/v1/common.pb.h"
#include "services/common/rpc.h"
#include "storage/row_mac.h"
#include "storage/testing/fresh_database.h"

namespace relais::testing {

absl::Time TestEpoch() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 25, 9, 0, 0), absl::UTCTimeZone());
}

std::string FreshPath(absl::string_view stem) {
  static std::atomic<int> counter{0};
  // Process ids are reused, and callers derive further names from the path
  // (path + ".sqlite", + "-wal"): a random tag per process keeps a new test
  // from opening a database an earlier process with the same pid left behind.
  static const uint32_t tag = std::random_device()();
  std::string path = absl::StrCat(::testing::TempDir(), "/relais_", stem, "_", ::getpid(), "_",
                                  absl::Hex(tag), "_", counter++);
  std::filesystem::remove_all(path);
  return path;
}

namespace {

struct SeedService {
  const char* key;
  const char* name;
  const char* sector;
  const char* kind;
  bool platform;  // the platform operator's service: its auditor is the DPO
};
constexpr SeedService kServices[] = {
    {"amo", "AMO Le Relais", "aide_jeunesse", "AMO", false},
    {"saj", "SAJ de Charleroi", "aide_jeunesse", "SAJ", false},
    {"pms", "Centre PMS de Charleroi", "enseignement", "PMS", false},
    {"agaj", "AGAJ", "aide_jeunesse", "AGAJ", true},
};
struct SeedMember {
  const char* login;
  const char* service;
  v1::Role role;
};
constexpr SeedMember kMembers[] = {
    {kAmoCaseworker, "amo", v1::ROLE_CASEWORKER},
    {kAmoCoordinator, "amo", v1::ROLE_COORDINATOR},
    {kSajCaseworker, "saj", v1::ROLE_CASEWORKER},
    {kSajCoordinator, "saj", v1::ROLE_COORDINATOR},
    {kPmsCaseworker, "pms", v1::ROLE_CASEWORKER},
    {kAuditor, "agaj", v1::ROLE_AUDITOR},
    {kAdmin, "agaj", v1::ROLE_ADMIN},
};

}  // namespace

std::unique_ptr<RelaisEnv> RelaisEnv::Start(std::string db_path, bool seed, std::string keys_dir) {
  return Launch(absl::WrapUnique(new RelaisEnv()), std::move(db_path), seed, std::move(keys_dir));
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartWithMasterKeys(std::string db_path, bool seed,
                                                          std::string keys_dir,
                                                          std::string master_key_file,
                                                          std::string previous_master_key_file) {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->master_key_file_ = std::move(master_key_file);
  env->previous_master_key_file_ = std::move(previous_master_key_file);
  return Launch(std::move(env), std::move(db_path), seed, std::move(keys_dir));
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartOnVfs(std::string vfs, absl::Duration busy_timeout) {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->vfs_ = std::move(vfs);
  env->busy_timeout_ = busy_timeout;
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartWithRetention(record::RetentionPolicy retention) {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->retention_ = std::move(retention);
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartWithErasureGracePeriod(absl::Duration grace) {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->erasure_grace_ = grace;
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartNamingMembers() {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->names_members_ = true;
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartWithDiagnostics() {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->diagnostics_ = true;
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::unique_ptr<RelaisEnv> RelaisEnv::StartTls(Tls tls) {
  auto env = absl::WrapUnique(new RelaisEnv());
  env->tls_ = std::move(tls);
  return Launch(std::move(env), "", /*seed=*/true, "");
}

std::shared_ptr<grpc::Channel> RelaisEnv::NewChannel(
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) const {
  return grpc::CreateChannel(absl::StrCat("localhost:", host_->port()), credentials);
}

std::unique_ptr<RelaisEnv> RelaisEnv::Launch(std::unique_ptr<RelaisEnv> env, std::string db_path,
                                             bool seed, std::string keys_dir) {
  env->violations_at_start_ = storage::IntegrityViolationCounts();
  env->db_path_ = db_path.empty() ? storage::testing::FreshDatabase(FreshPath("db") + ".sqlite")
                                  : std::move(db_path);
  env->keys_dir_ = keys_dir.empty() ? FreshPath("keys") : std::move(keys_dir);
  host::HostOptions options;
  options.db_path = env->db_path_;
  options.keys_dir = env->keys_dir_;
  options.clock = &env->clock_;
  options.scrypt = auth::FastParamsForTests();
  options.sweep_interval = absl::Hours(1);  // tests complete handovers explicitly
  if (env->tls_) {
    options.tls = env->tls_->server;
    options.login_gateways = env->tls_->login_gateways;
  }
  options.master_key_file = env->master_key_file_;
  options.previous_master_key_file = env->previous_master_key_file_;
  options.db_vfs = env->vfs_;
  options.db_busy_timeout = env->busy_timeout_;
  options.access_report_names_members = env->names_members_;
  options.diagnostics = env->diagnostics_;
  if (env->retention_) options.retention = *env->retention_;
  if (env->erasure_grace_) options.erasure_grace_period = *env->erasure_grace_;
  auto host = host::Host::Start(options);
  EXPECT_TRUE(host.ok()) << host.status();
  if (!host.ok()) return nullptr;
  env->host_ = *std::move(host);
  for (const SeedMember& m : kMembers) {
    if (seed) break;
    auto found = env->host_->directory().FindCredentials(m.login);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok()) continue;
    env->members_[m.login] = found->member;
    for (const SeedService& s : kServices) {
      if (m.service == std::string(s.key)) env->services_[s.key] = found->member.service_id;
    }
  }
  if (seed) {
    for (const SeedService& s : kServices) {
      directory::ServiceInfo info;
      info.name = s.name;
      info.sector_id = s.sector;
      info.kind = s.kind;
      info.platform = s.platform;
      for (const auto& [key, id] : kTlsServiceIds) {
        if (env->tls_ && key == std::string(s.key)) info.id = id;
      }
      auto created = env->host_->directory().CreateService(info);
      EXPECT_TRUE(created.ok()) << created.status();
      env->services_[s.key] = created->id;
    }
    for (const SeedMember& m : kMembers) {
      directory::MemberInfo info;
      info.service_id = env->services_[m.service];
      info.display_name = absl::StrCat("Member ", m.login);
      info.login = m.login;
      info.roles = {m.role};
      auto added = env->host_->directory().AddMember(info, kPassword);
      EXPECT_TRUE(added.ok()) << added.status();
      env->members_[m.login] = *added;
    }
  }
  env->Connect();
  return env;
}

void RelaisEnv::Connect() {
  auto channel = tls_ ? NewChannel(grpc::SslCredentials(tls_->client))
                      : grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                            grpc::InsecureChannelCredentials());
  directory_ = v1::DirectoryService::NewStub(channel);
  auth_ = v1::AuthService::NewStub(channel);
  care_ = v1::CareService::NewStub(channel);
  partnership_ = v1::PartnershipService::NewStub(channel);
  inbox_ = v1::InboxService::NewStub(channel);
  record_ = v1::RecordService::NewStub(channel);
  audit_ = v1::AuditService::NewStub(channel);
}

RelaisEnv::~RelaisEnv() { Stop(); }

void RelaisEnv::Stop() {
  directory_.reset();
  auth_.reset();
  care_.reset();
  record_.reset();
  audit_.reset();
  if (host_ != nullptr) host_->Shutdown(absl::Seconds(2));
  host_.reset();
}

std::unique_ptr<grpc::ClientContext> RelaisEnv::As(absl::string_view login) {
  auto it = members_.find(login);
  EXPECT_NE(it, members_.end()) << login;
  std::vector<std::string> roles;
  for (v1::Role r : it->second.roles) roles.push_back(access::RoleName(r));
  auto token = host_->issuer().Issue(it->second.id, it->second.service_id, roles);
  EXPECT_TRUE(token.ok()) << token.status();
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

std::unique_ptr<grpc::ClientContext> RelaisEnv::Anonymous(absl::string_view authorization) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!authorization.empty()) ctx->AddMetadata("authorization", std::string(authorization));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

const std::string& RelaisEnv::service_id(absl::string_view key) const {
  auto it = services_.find(key);
  if (it == services_.end()) {
    ADD_FAILURE() << "unknown service " << key;
    static const std::string* const empty = new std::string();
    return *empty;
  }
  return it->second;
}

const std::string& RelaisEnv::member_id(absl::string_view login) const {
  auto it = members_.find(login);
  if (it == members_.end()) {
    ADD_FAILURE() << "unknown member " << login;
    static const std::string* const empty = new std::string();
    return *empty;
  }
  return it->second.id;
}

std::string RelaisEnv::CreateYouth(int age, absl::string_view creator, int days_before_birthday) {
  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  const absl::CivilDay dob =
      absl::CivilDay(today.year() - age, today.month(), today.day()) + days_before_birthday;
  v1::CreateYouthRequest req;
  req.mutable_youth()->set_display_name("Test Youth");
  req.mutable_youth()->set_date_of_birth(absl::FormatCivilTime(dob));
  req.mutable_youth()->add_guardians()->set_display_name("Test Guardian");
  v1::Youth youth;
  grpc::Status s = record_->CreateYouth(As(creator).get(), req, &youth);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return youth.id();
}

void RelaisEnv::AddMember(absl::string_view login, absl::string_view service_key, v1::Role role) {
  AddMember(login, service_key, std::vector<v1::Role>{role});
}

void RelaisEnv::AddMember(absl::string_view login, absl::string_view service_key,
                          std::vector<v1::Role> roles) {
  directory::MemberInfo info;
  info.service_id = service_id(service_key);
  info.display_name = absl::StrCat("Member ", login);
  info.login = std::string(login);
  info.roles = std::move(roles);
  auto added = host_->directory().AddMember(info, kPassword);
  ASSERT_TRUE(added.ok()) << added.status();
  members_[std::string(login)] = *added;
}

void RelaisEnv::AddService(absl::string_view key, absl::string_view name,
                           absl::string_view sector_id, absl::string_view kind) {
  directory::ServiceInfo info{"", std::string(name), std::string(sector_id), std::string(kind)};
  auto created = host_->directory().CreateService(info);
  ASSERT_TRUE(created.ok()) << created.status();
  services_[std::string(key)] = created->id;
}

std::string RelaisEnv::GuardianOf(absl::string_view youth_id, absl::string_view reader) {
  v1::GetYouthRequest req;
  req.set_youth_id(std::string(youth_id));
  req.set_purpose(v1::PURPOSE_COORDINATION);
  v1::Youth youth;
  grpc::Status s = record_->GetYouth(As(reader).get(), req, &youth);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return youth.guardians_size() > 0 ? youth.guardians(0).id() : "";
}

v1::Accompaniment RelaisEnv::OpenAccompaniment(absl::string_view youth_id,
                                               absl::string_view coordinator,
                                               absl::string_view referent,
                                               v1::AccompanimentBasis basis) {
  v1::OpenAccompanimentRequest req;
  req.set_youth_id(std::string(youth_id));
  req.set_referent_member_id(member_id(referent));
  req.set_basis(basis);
  v1::Accompaniment acc;
  grpc::Status s = care_->OpenAccompaniment(As(coordinator).get(), req, &acc);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return acc;
}

void RelaisEnv::Accompany(absl::string_view youth_id, absl::string_view coordinator,
                          absl::string_view referent) {
  const v1::Accompaniment acc = OpenAccompaniment(youth_id, coordinator, referent);
  if (acc.vouch() != v1::VOUCH_PENDING) return;
  // The honest path: a coordinator of a service already accompanying vouches.
  const std::string& opener = member_id(coordinator);
  for (const auto& [login, m] : members_) {
    if (m.service_id == members_.find(coordinator)->second.service_id || m.id == opener) continue;
    if (std::find(m.roles.begin(), m.roles.end(), v1::ROLE_COORDINATOR) == m.roles.end()) {
      continue;
    }
    v1::ConfirmAccompanimentRequest confirm;
    confirm.set_accompaniment_id(acc.id());
    v1::Accompaniment out;
    if (care_->ConfirmAccompaniment(As(login).get(), confirm, &out).ok()) return;
  }
  ADD_FAILURE() << "no coordinator of an accompanying service could vouch for " << acc.id();
}

std::string ReasonCode(const grpc::Status& status) {
  v1::RpcStatus details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    v1::ErrorDetail detail;
    if (any.UnpackTo(&detail)) return detail.reason();
  }
  return "";
}

std::vector<v1::AuditEvent> EventsOf(RelaisEnv& env, const std::string& youth) {
  std::vector<v1::AuditEvent> all;
  std::string token;
  do {
    v1::QueryEventsRequest req;
    req.set_youth_id(youth);
    req.set_page_size(200);
    req.set_page_token(token);
    v1::QueryEventsResponse resp;
    grpc::Status s = env.audit().QueryEvents(env.As(kAuditor).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    for (const auto& e : resp.events()) all.push_back(e);
    token = resp.next_page_token();
  } while (!token.empty());
  return all;
}

// grpc.health.v1.Health/Check by hand (Debian ships no health.proto):
// HealthCheckRequest{service = 1}; HealthCheckResponse{status = 1} with
// SERVING = 1, NOT_SERVING = 2. Returns the status, or -1 if the call failed.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  absl::Mutex mu;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   absl::MutexLock lock(&mu);
                   status = std::move(s);
                   done = true;
                 });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&done));
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!out.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.empty()) return 0;  // UNKNOWN
  if (bytes.size() != 2 || bytes[0] != 0x08) return -1;
  return bytes[1];
}

}  // namespace relais::testing
