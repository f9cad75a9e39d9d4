// Encryption at rest, end to end: what a real relaisd leaves in its database
// files, what happens when ciphertexts are moved between rows behind its back,
// crypto-shredding, and a master key rotation while serving.

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/common/rpc.h"
#include "storage/crypto/field_crypto.h"
#include "storage/crypto/master_key.h"
#include "storage/testing/fresh_database.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

constexpr char kYouthName[] = "Zoé Verhaegen";
constexpr char kBirth[] = "2011-04-02";
constexpr char kGuardianName[] = "Martine Verhaegen";
constexpr char kRelationship[] = "grand-mère maternelle";
constexpr char kNationalNumber[] = "11040212345";
constexpr char kHealthNote[] = "rendez-vous chez le pédopsychiatre le 14 décembre";
constexpr char kSchoolNote[] = "Reprise de l'école à mi-temps après les vacances de Noël";
constexpr char kFamilyNote[] = "Visite au domicile de la grand-mère, cuisine très encombrée";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Everything identifying or confidential the story writes, in UTF-8 as a
// client sends it; none may appear in a database file.
std::vector<std::string> Needles() {
  return {kYouthName,    "Verhaegen",   "Zoé",      kBirth,          "02/04/2011", kGuardianName,
          "Martine",     kRelationship, "grand-m",  kNationalNumber, kHealthNote,  "pédopsychiatre",
          "rendez-vous", kSchoolNote,   "mi-temps", kFamilyNote,     "encombr"};
}

void ExpectNoNeedleIn(const std::string& label, const std::string& bytes) {
  for (const std::string& needle : Needles()) {
    EXPECT_EQ(bytes.find(needle), std::string::npos) << "'" << needle << "' found in " << label;
  }
}

// Collects every log line while alive.
class LogCapture {
 public:
  LogCapture() {
    common::SetLogSink([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      absl::StrAppend(&lines_, line, "\n");
    });
  }
  ~LogCapture() { common::SetLogSink(nullptr); }
  std::string lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  absl::Mutex mu_;
  std::string lines_;
};

struct Story {
  std::string youth_id;
  std::vector<std::string> entry_ids;  // health (private), school (shared), family (shared)
};

std::string AddEntry(RelaisEnv& env, const std::string& youth_id, v1::DataCategory category,
                     v1::Visibility visibility, const std::string& body,
                     absl::string_view author = kAmoCaseworker) {
  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(youth_id);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(category);
  add.mutable_entry()->set_visibility(visibility);
  add.mutable_entry()->set_body(body);
  v1::Entry out;
  grpc::Status s = env.record().AddEntry(env.As(author).get(), add, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out.id();
}

// Zoé's record at the AMO: identity, guardian, national number, three notes.
Story TellStory(RelaisEnv& env) {
  Story story;
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name(kYouthName);
  create.mutable_youth()->set_date_of_birth(kBirth);
  v1::Guardian* g = create.mutable_youth()->add_guardians();
  g->set_display_name(kGuardianName);
  g->set_relationship(kRelationship);
  create.set_national_number(kNationalNumber);
  v1::Youth youth;
  grpc::Status s = env.record().CreateYouth(env.As(kAmoCaseworker).get(), create, &youth);
  EXPECT_TRUE(s.ok()) << s.error_message();
  story.youth_id = youth.id();
  env.Accompany(story.youth_id, kAmoCoordinator, kAmoCaseworker);
  story.entry_ids.push_back(AddEntry(env, story.youth_id, v1::DATA_CATEGORY_HEALTH,
                                     v1::VISIBILITY_SERVICE_PRIVATE, kHealthNote));
  story.entry_ids.push_back(AddEntry(env, story.youth_id, v1::DATA_CATEGORY_EDUCATION,
                                     v1::VISIBILITY_SHARED, kSchoolNote));
  story.entry_ids.push_back(
      AddEntry(env, story.youth_id, v1::DATA_CATEGORY_FAMILY, v1::VISIBILITY_SHARED, kFamilyNote));
  return story;
}

grpc::Status GetYouth(RelaisEnv& env, const std::string& youth_id, v1::Youth* out,
                      absl::string_view reader = kAmoCaseworker) {
  v1::GetYouthRequest req;
  req.set_youth_id(youth_id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().GetYouth(env.As(reader).get(), req, out);
}

grpc::Status GetEntry(RelaisEnv& env, const std::string& entry_id, v1::Entry* out) {
  v1::GetEntryRequest req;
  req.set_entry_id(entry_id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().GetEntry(env.As(kAmoCaseworker).get(), req, out);
}

grpc::Status ListEntries(RelaisEnv& env, const std::string& youth_id,
                         v1::ListEntriesResponse* out) {
  v1::ListEntriesRequest req;
  req.set_youth_id(youth_id);
  req.set_purpose(v1::PURPOSE_COORDINATION);
  return env.record().ListEntries(env.As(kAmoCaseworker).get(), req, out);
}

// The story reads back in clear through the API.
void ExpectStoryReadable(RelaisEnv& env, const Story& story) {
  v1::Youth youth;
  grpc::Status s = GetYouth(env, story.youth_id, &youth);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(youth.display_name(), kYouthName);
  EXPECT_EQ(youth.date_of_birth(), kBirth);
  ASSERT_EQ(youth.guardians_size(), 1);
  EXPECT_EQ(youth.guardians(0).display_name(), kGuardianName);
  EXPECT_EQ(youth.guardians(0).relationship(), kRelationship);
  v1::ListEntriesResponse list;
  s = ListEntries(env, story.youth_id, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.entries_size(), 3);
  EXPECT_EQ(list.entries(0).body(), kFamilyNote);
  EXPECT_EQ(list.entries(1).body(), kSchoolNote);
  EXPECT_EQ(list.entries(2).body(), kHealthNote);
  v1::Entry entry;
  s = GetEntry(env, story.entry_ids[0], &entry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(entry.body(), kHealthNote);
}

TEST(EncryptionAtRest, NoNameBirthDateGuardianOrNoteReachesTheDatabaseFilesOrLogs) {
  LogCapture logs;
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  ExpectStoryReadable(*env, story);
  const std::string db = env->db_path();
  if (storage::testing::OnPostgres()) {
    // The files of the test's schema as a base backup copies them: every
    // table, index and TOAST table. The ids, stored in clear, show the story
    // is in there.
    const std::string files = SchemaFileBytes(*env);
    ExpectNoNeedleIn("the schema's files on the server", files);
    EXPECT_NE(files.find(story.youth_id), std::string::npos);
    EXPECT_NE(files.find(story.entry_ids[0]), std::string::npos);
    env->Stop();
    ExpectNoNeedleIn("the logs", logs.lines());
    return;
  }

  // While serving: the main file and the write-ahead log, which holds the
  // newest pages.
  ExpectNoNeedleIn("the database file (serving)", Slurp(db));
  ASSERT_TRUE(std::filesystem::exists(db + "-wal"));
  const std::string wal = Slurp(db + "-wal");
  EXPECT_GT(wal.size(), 0u);
  ExpectNoNeedleIn("the WAL file (serving)", wal);

  // The sealed values are really there (the test would pass vacuously if the
  // story had not been written): the ids are stored in clear.
  const std::string all = Slurp(db) + wal;
  EXPECT_NE(all.find(story.youth_id), std::string::npos);
  EXPECT_NE(all.find(story.entry_ids[0]), std::string::npos);

  env->Stop();
  ExpectNoNeedleIn("the database file (stopped)", Slurp(db));
  if (std::filesystem::exists(db + "-wal")) {
    ExpectNoNeedleIn("the WAL file (stopped)", Slurp(db + "-wal"));
  }
  ExpectNoNeedleIn("the logs", logs.lines());
}

TEST(EncryptionAtRest, RestartWithTheSameKeysReadsTheStoryBack) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  EXPECT_TRUE(std::filesystem::exists(keys + "/master.key"));
  env->Stop();
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  ExpectStoryReadable(*env, story);
}

TEST(EncryptionAtRest, BodyCopiedOntoAnotherEntryFailsCleanlyAndTheServerKeepsServing) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  // Two more entries with the same author, category and visibility, so that
  // only the row id tells them apart.
  const std::string source = AddEntry(*env, story.youth_id, v1::DATA_CATEGORY_EDUCATION,
                                      v1::VISIBILITY_SHARED, "bulletin du premier trimestre");
  const std::string target = AddEntry(*env, story.youth_id, v1::DATA_CATEGORY_EDUCATION,
                                      v1::VISIBILITY_SHARED, "inscription en 3e secondaire");

  // Someone with write access to the file, behind relaisd's back.
  Sql(env->db_path(),
      absl::StrCat(storage::testing::DropTrigger("rec_entries_no_update", "rec_entries"),
                   "UPDATE rec_entries SET body = (SELECT body FROM rec_entries "
                   "WHERE id = '",
                   source, "') WHERE id = '", target, "';"));

  v1::Entry entry;
  grpc::Status s = GetEntry(*env, target, &entry);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_EQ(s.error_message(), "internal: the server could not complete the request");
  EXPECT_EQ(ReasonCode(s), "internal");
  EXPECT_TRUE(entry.body().empty());
  // A listing never returns the moved body, under either row.
  v1::ListEntriesResponse list;
  s = ListEntries(*env, story.youth_id, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_EQ(list.entries_size(), 0);

  // The server keeps serving, the untouched rows included.
  s = GetEntry(*env, source, &entry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(entry.body(), "bulletin du premier trimestre");
  v1::Youth youth;
  EXPECT_TRUE(GetYouth(*env, story.youth_id, &youth).ok());
  const std::string other = env->CreateYouth(14);
  EXPECT_FALSE(other.empty());

  // Making a private entry shared in the file does not make it readable: its
  // body is bound to its visibility.
  Sql(env->db_path(),
      absl::StrCat("UPDATE rec_entries SET visibility = ", static_cast<int>(v1::VISIBILITY_SHARED),
                   " WHERE id = '", story.entry_ids[0], "';"));
  s = GetEntry(*env, story.entry_ids[0], &entry);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();

  // Nor does giving one youth another's name.
  Sql(env->db_path(), absl::StrCat("UPDATE rec_youth SET display_name = (SELECT display_name "
                                   "FROM rec_youth WHERE id = '",
                                   story.youth_id, "') WHERE id = '", other, "';"));
  env->Accompany(other, kAmoCoordinator, kAmoCaseworker);
  s = GetYouth(*env, other, &youth);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_TRUE(GetYouth(*env, story.youth_id, &youth).ok());
}

TEST(EncryptionAtRest, DestroyedDataKeyLeavesTheRecordErasedAndNothingCrashes) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  const std::string bystander = env->CreateYouth(13);
  env->Accompany(bystander, kAmoCoordinator, kAmoCaseworker);
  ExpectStoryReadable(*env, story);  // the key is now cached in the server

  ASSERT_TRUE(env->host()
                  .db()
                  .Write([&](storage::Connection& c) {
                    return storage::crypto::DestroyDataKey(c, story.youth_id, absl::Now());
                  })
                  .ok());

  v1::Youth youth;
  grpc::Status s = GetYouth(*env, story.youth_id, &youth);
  // Issue #4: an erased youth (here: its key destroyed) answers NOT_FOUND "erased".
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(ReasonCode(s), "erased");
  EXPECT_TRUE(youth.display_name().empty());
  v1::ListEntriesResponse list;
  s = ListEntries(*env, story.youth_id, &list);
  EXPECT_EQ(ReasonCode(s), "erased") << s.error_message();
  EXPECT_EQ(list.entries_size(), 0);
  for (const std::string& id : story.entry_ids) {
    v1::Entry entry;
    s = GetEntry(*env, id, &entry);
    EXPECT_EQ(ReasonCode(s), "erased") << s.error_message();
    EXPECT_TRUE(entry.body().empty());
  }
  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(story.youth_id);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  add.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  add.mutable_entry()->set_body("after erasure");
  v1::Entry added;
  s = env->record().AddEntry(env->As(kAmoCaseworker).get(), add, &added);
  EXPECT_EQ(ReasonCode(s), "erased") << s.error_message();
  // The care service's decisions about that youth do not crash either.
  v1::OpenAccompanimentRequest open;
  open.set_youth_id(story.youth_id);
  open.set_referent_member_id(env->member_id(kSajCaseworker));
  open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
  v1::Accompaniment acc;
  s = env->care().OpenAccompaniment(env->As(kSajCoordinator).get(), open, &acc);
  EXPECT_FALSE(s.ok());

  // Other youths are untouched, and the audit chain still verifies.
  EXPECT_TRUE(GetYouth(*env, bystander, &youth).ok());
  v1::VerifyLogResponse verify;
  s = env->audit().VerifyLog(env->As(kAuditor).get(), v1::VerifyLogRequest(), &verify);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verify.ok());

  // And after a restart (no cache at all) it stays so.
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  env->Stop();
  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(ReasonCode(GetYouth(*env, story.youth_id, &youth)), "erased");
  EXPECT_TRUE(GetYouth(*env, bystander, &youth).ok());
}

std::string NewKeyFile(const std::string& dir, const std::string& name) {
  auto key = storage::crypto::MasterKey::Generate();
  EXPECT_TRUE(key.ok());
  const std::string path = dir + "/" + name;
  EXPECT_TRUE(key->WriteNewFile(path).ok());
  return path;
}

std::string KeyId(const std::string& path) {
  auto key = storage::crypto::MasterKey::ReadFile(path);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? key->id() : "";
}

absl::Status TryStart(const std::string& db, const std::string& keys_dir,
                      const std::string& master_key_file) {
  host::HostOptions options;
  options.db_path = db;
  options.keys_dir = keys_dir;
  options.master_key_file = master_key_file;
  options.scrypt = auth::FastParamsForTests();
  auto host = host::Host::Start(options);
  if (host.ok()) (*host)->Shutdown(absl::Seconds(1));
  return host.status();
}

// Runs relais-admin; returns its exit status and appends its output to `out`.
int RunAdmin(const std::string& args, std::string* out) {
  const std::string cmd = absl::StrCat(RELAIS_ADMIN, " ", args, " 2>&1");
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out->append(buf);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(EncryptionAtRest, MasterKeyRotationWhileServing) {
  const std::string dir = FreshPath("master_keys");
  std::filesystem::create_directories(dir);
  const std::string old_key = NewKeyFile(dir, "old.key");
  const std::string new_key = NewKeyFile(dir, "new.key");

  // Before: everything under the old key.
  auto env = RelaisEnv::StartWithMasterKeys("", /*seed=*/true, "", old_key);
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  env->Stop();

  // Step 1: restart with the new key, the old one as previous. Old data keys
  // still unwrap; new youths get keys wrapped under the new key.
  env = RelaisEnv::StartWithMasterKeys(db, /*seed=*/false, keys, new_key, old_key);
  ASSERT_NE(env, nullptr);
  ExpectStoryReadable(*env, story);
  const std::string later = env->CreateYouth(16);
  env->Accompany(later, kAmoCoordinator, kAmoCaseworker);

  // Step 2: the tool re-wraps, while relaisd serves.
  std::string out;
  ASSERT_EQ(RunAdmin(absl::StrCat("master-key-status --db='", db, "'"), &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat(KeyId(old_key), " wraps 1 data keys"))) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat(KeyId(new_key), " wraps 1 data keys"))) << out;
  out.clear();
  ASSERT_EQ(RunAdmin(absl::StrCat("rotate-master-key --db='", db, "' --old_key_file=", old_key,
                                  " --new_key_file=", new_key),
                     &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "re-wrapped 1 data keys")) << out;
  EXPECT_TRUE(absl::StrContains(out, "1 were already under it")) << out;
  ExpectStoryReadable(*env, story);
  v1::Youth youth;
  EXPECT_TRUE(GetYouth(*env, later, &youth).ok());
  out.clear();
  ASSERT_EQ(RunAdmin(absl::StrCat("master-key-status --db='", db, "'"), &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat(KeyId(new_key), " wraps 2 data keys"))) << out;
  EXPECT_FALSE(absl::StrContains(out, KeyId(old_key))) << out;
  // Running it again is harmless.
  out.clear();
  ASSERT_EQ(RunAdmin(absl::StrCat("rotate-master-key --db='", db, "' --old_key_file=", old_key,
                                  " --new_key_file=", new_key),
                     &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "re-wrapped 0 data keys")) << out;
  env->Stop();

  // Step 3: the new key alone suffices; the old one alone is refused at start,
  // as is starting with no key at all (no new key is silently generated).
  env = RelaisEnv::StartWithMasterKeys(db, /*seed=*/false, keys, new_key);
  ASSERT_NE(env, nullptr);
  ExpectStoryReadable(*env, story);
  env->Stop();
  absl::Status with_old = TryStart(db, keys, old_key);
  EXPECT_EQ(with_old.code(), absl::StatusCode::kFailedPrecondition) << with_old;
  EXPECT_TRUE(absl::StrContains(with_old.message(), KeyId(new_key))) << with_old;
  absl::Status with_none = TryStart(db, keys, "");
  EXPECT_EQ(with_none.code(), absl::StatusCode::kFailedPrecondition) << with_none;
  EXPECT_FALSE(std::filesystem::exists(keys + "/master.key"));
}

TEST(EncryptionAtRest, MasterKeyFileReadableByOthersIsRefusedAtStart) {
  const std::string dir = FreshPath("loose_key");
  std::filesystem::create_directories(dir);
  const std::string key = NewKeyFile(dir, "master.key");
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  absl::Status s = TryStart(FreshPath("db") + ".sqlite", FreshPath("keys"), key);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), key)) << s;
}

// Issue #11 item 9: every free-text field of a youth, the handover reasons
// and closing reasons included, is absent in clear from the database, its WAL
// and a backup; after the youth's erasure and the WAL checkpoint, still so.
constexpr char kHandoverReason[] = "placement chez l'oncle Théophile à Namur";
constexpr char kDeclineReason[] = "aucune place libre avant Pâques à Jambes";
constexpr char kCancelReason[] = "le juge Hérode a suspendu la mesure";

std::vector<std::string> YouthStrings() {
  std::vector<std::string> out = Needles();
  for (const char* s :
       {kHandoverReason, kDeclineReason, kCancelReason, "Théophile", "Jambes", "Hérode"}) {
    out.push_back(s);
  }
  return out;
}

void ExpectNoYouthStringIn(const std::string& label, const std::string& bytes) {
  for (const std::string& needle : YouthStrings()) {
    EXPECT_EQ(bytes.find(needle), std::string::npos) << "'" << needle << "' found in " << label;
  }
}

std::string Propose(RelaisEnv& env, const std::string& youth_id, const std::string& reason) {
  v1::ProposeHandoverRequest req;
  req.set_youth_id(youth_id);
  req.set_to_service_id(env.service_id("saj"));
  req.set_reason(reason);
  const absl::Time now = env.clock().Now();
  *req.mutable_overlap_start() = common::ToProto(now + absl::Hours(1));
  *req.mutable_overlap_end() = common::ToProto(now + absl::Hours(24 * 14));
  v1::Handover h;
  grpc::Status s = env.care().ProposeHandover(env.As(kAmoCaseworker).get(), req, &h);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.reason(), reason);
  return h.id();
}

std::string TakeBackupBytes(RelaisEnv& env) {
  auto stub = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env.host().port()), grpc::InsecureChannelCredentials()));
  auto ctx = env.As(kAdmin);
  auto reader = stub->BackupDatabase(ctx.get(), v1::BackupDatabaseRequest());
  v1::BackupDatabaseChunk chunk;
  std::string data;
  while (reader->Read(&chunk)) {
    if (chunk.has_data()) data += chunk.data();
  }
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  return data;
}

TEST(EncryptionAtRest, HandoverReasonsAndEveryFreeTextStayOutOfTheFilesAndBackupEvenAfterErasure) {
  RELAIS_SQLITE_ONLY("scans the SQLite file, its WAL and an SQLite backup");
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  const std::string declined = Propose(*env, story.youth_id, kHandoverReason);
  v1::DeclineHandoverRequest decline;
  decline.set_handover_id(declined);
  decline.set_reason(kDeclineReason);
  v1::Handover h;
  grpc::Status s = env->care().DeclineHandover(env->As(kSajCoordinator).get(), decline, &h);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.closing_reason(), kDeclineReason);
  EXPECT_EQ(h.reason(), kHandoverReason);
  const std::string cancelled = Propose(*env, story.youth_id, "relais vers le SAJ");
  v1::CancelHandoverRequest cancel;
  cancel.set_handover_id(cancelled);
  cancel.set_reason(kCancelReason);
  s = env->care().CancelHandover(env->As(kAmoCoordinator).get(), cancel, &h);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.closing_reason(), kCancelReason);

  // Read back in clear by a party, through both reads.
  v1::GetHandoverRequest get;
  get.set_handover_id(declined);
  s = env->care().GetHandover(env->As(kSajCoordinator).get(), get, &h);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.reason(), kHandoverReason);
  EXPECT_EQ(h.closing_reason(), kDeclineReason);
  v1::ListHandoversRequest list;
  list.set_youth_id(story.youth_id);
  v1::ListHandoversResponse listed;
  s = env->care().ListHandovers(env->As(kAmoCoordinator).get(), list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.handovers_size(), 2);
  EXPECT_EQ(listed.handovers(1).closing_reason(), kCancelReason);

  const std::string db = env->db_path();
  ExpectNoYouthStringIn("the database file", Slurp(db));
  ASSERT_TRUE(std::filesystem::exists(db + "-wal"));
  const std::string wal = Slurp(db + "-wal");
  ExpectNoYouthStringIn("the WAL file", wal);
  const std::string backup = TakeBackupBytes(*env);
  ASSERT_GT(backup.size(), 0u);
  ExpectNoYouthStringIn("the backup", backup);
  // Not vacuous: the rows are there, by id.
  EXPECT_NE((Slurp(db) + wal).find(declined), std::string::npos);
  EXPECT_NE(backup.find(cancelled), std::string::npos);

  // Erased (four eyes), executed, WAL checkpointed: still nothing.
  v1::EraseYouthRequest erase;
  erase.set_youth_id(story.youth_id);
  erase.set_reason("demande d'effacement");
  v1::ErasureRequest erasure;
  s = env->record().EraseYouth(env->As(kAmoCoordinator).get(), erase, &erasure);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ApproveErasureRequest approve;
  approve.set_request_id(erasure.id());
  s = env->record().ApproveErasure(env->As(kAuditor).get(), approve, &erasure);
  ASSERT_TRUE(s.ok()) << s.error_message();
  env->clock().Advance(absl::Hours(24 * 7) + absl::Minutes(1));
  ASSERT_EQ(env->host().record().ExecuteDueErasures().value_or(-1), 1);
  ExpectNoYouthStringIn("the database file (erased)", Slurp(db));
  if (std::filesystem::exists(db + "-wal")) {
    ExpectNoYouthStringIn("the WAL file (erased)", Slurp(db + "-wal"));
  }
}

// Rows written before reasons were sealed (care migration 5): relaisd seals
// them at start-up, re-MACs them, and the clear text leaves the files.
TEST(EncryptionAtRest, HandoverReasonsStoredInClearBeforeAreSealedAtStartUp) {
  RELAIS_SQLITE_ONLY("plaintext rows predate PostgreSQL support, whose columns are BYTEA");
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  const Story story = TellStory(*env);
  const std::string id = Propose(*env, story.youth_id, "relais vers le SAJ");
  v1::DeclineHandoverRequest decline;
  decline.set_handover_id(id);
  decline.set_reason("refus provisoire");
  v1::Handover h;
  ASSERT_TRUE(env->care().DeclineHandover(env->As(kSajCoordinator).get(), decline, &h).ok());
  const std::string db = env->db_path();
  const std::string keys = env->keys_dir();
  env->Stop();
  // As an older relaisd left it: clear text, no MAC yet, never sealed.
  Sql(db, absl::StrCat("UPDATE care_handovers SET reason = '",
                       absl::StrReplaceAll(kHandoverReason, {{"'", "''"}}), "', closing_reason = '",
                       kDeclineReason, "', text_sealed = 0, mac = NULL WHERE id = '", id,
                       "'; DELETE FROM schema_migrations WHERE component = "
                       "'row_mac:care_handovers';"));
  ASSERT_NE((Slurp(db) + Slurp(db + "-wal")).find(kDeclineReason), std::string::npos);

  env = RelaisEnv::Start(db, /*seed=*/false, keys);
  ASSERT_NE(env, nullptr);
  v1::GetHandoverRequest get;
  get.set_handover_id(id);
  grpc::Status s = env->care().GetHandover(env->As(kSajCoordinator).get(), get, &h);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(h.reason(), kHandoverReason);
  EXPECT_EQ(h.closing_reason(), kDeclineReason);
  ExpectNoYouthStringIn("the database file (sealed at start)", Slurp(db));
  if (std::filesystem::exists(db + "-wal")) {
    ExpectNoYouthStringIn("the WAL file (sealed at start)", Slurp(db + "-wal"));
  }
  // Moved onto another handover behind relaisd's back, it is never shown.
  const std::string other = Propose(*env, story.youth_id, "autre relais");
  Sql(db, absl::StrCat("UPDATE care_handovers SET reason = (SELECT reason FROM care_handovers "
                       "WHERE id = '",
                       id, "') WHERE id = '", other, "';"));
  get.set_handover_id(other);
  v1::Handover moved;
  s = env->care().GetHandover(env->As(kSajCoordinator).get(), get, &moved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(moved.reason().empty());
}

}  // namespace
}  // namespace relais::testing
