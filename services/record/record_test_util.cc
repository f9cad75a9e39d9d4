#include "services/record/record_test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "access/roles.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "services/record/record_service.h"
#include "services/record/record_store.h"
#include "storage/testing/fresh_database.h"

namespace relais::record::testing {

using storage::Connection;

namespace {

// Set-up failures end the binary: every test of it needs the fixture.
void Check(const absl::Status& status, absl::string_view what) {
  if (status.ok()) return;
  std::cerr << "record test fixture: " << what << ": " << status << "\n";
  std::abort();
}

template <typename T>
T Check(absl::StatusOr<T> value, absl::string_view what) {
  Check(value.status(), what);
  return *std::move(value);
}

}  // namespace

void FakeCare::Accompany(const std::string& service_id) {
  access::AccessFacts& f = facts[service_id];
  f.service_id = service_id;
  f.accompanying = true;
}

absl::StatusOr<access::AccessFacts> FakeCare::GatherFacts(absl::string_view service_id,
                                                          absl::string_view,
                                                          absl::string_view) const {
  auto it = facts.find(std::string(service_id));
  if (it != facts.end()) return it->second;
  access::AccessFacts none;
  none.service_id = std::string(service_id);
  return none;
}

absl::StatusOr<access::HandoverFacts> FakeCare::GetHandoverFacts(absl::string_view) const {
  return common::NotFound("handover_not_found", "no such handover");
}

absl::StatusOr<access::ConcertationFacts> FakeCare::GetConcertationFacts(absl::string_view) const {
  return common::NotFound("concertation_not_found", "no such concertation");
}

absl::StatusOr<bool> FakeCare::HasActiveMandate(absl::string_view) const { return mandate; }

absl::StatusOr<access::CareExport> FakeCare::ExportCare(absl::string_view, absl::CivilDay,
                                                        const TextOpener&) const {
  return access::CareExport{};
}

absl::StatusOr<access::AccompanimentSpan> FakeCare::GetAccompanimentSpan(Connection&,
                                                                         absl::string_view) const {
  return span;
}

absl::Status FakeCare::EraseCareText(Connection&, absl::string_view) const {
  ++care_text_erased;
  return absl::OkStatus();
}

absl::StatusOr<YouthFacts> StoreRecords::GetYouthFacts(absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(const storage::crypto::FieldCrypto* crypto, keys_->Crypto());
  std::optional<YouthFacts> facts;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(facts, store::GetYouthFacts(c, *crypto, youth_id));
    return absl::OkStatus();
  }));
  if (!facts.has_value()) return common::NotFound("youth_not_found", "no such youth record");
  if (facts->erased) return common::NotFound("erased", "the record has been erased");
  return *std::move(facts);
}

absl::StatusOr<EntryFacts> StoreRecords::GetEntryFacts(absl::string_view) const {
  return absl::UnimplementedError("not needed by these tests");
}

absl::StatusOr<std::string> StoreRecords::OpenForYouth(absl::string_view youth_id,
                                                       absl::string_view field,
                                                       absl::string_view row_id,
                                                       absl::string_view sealed) const {
  return keys_->Open(youth_id, field, row_id, sealed);
}

RecordFixture::RecordFixture()
    : clock_(absl::FromCivil(absl::CivilDay(2026, 11, 25), absl::UTCTimeZone())) {
  static int instance = 0;
  path_ = storage::testing::FreshDatabase(absl::StrCat(::testing::TempDir(), "/record_fixture_",
                                                       ::getpid(), "_", ++instance, ".sqlite"));
  std::filesystem::remove(path_);
  db_ = Check(storage::Database::Open({.path = path_}), "open database");
  Check(RecordServiceImpl::Migrate(db_.get()), "record migrations");
  binding_ = Check(
      storage::BindRowMac(*db_, Check(storage::RowMac::Derive({std::string(32, 'k')}), "row mac")),
      "bind row mac");
  audit_ = Check(audit::AuditLog::Create(db_.get(), &clock_), "audit log");
  gate_ = std::make_unique<rpc::CallGate>(nullptr, audit_.get(), &clock_);
  auto ring = std::make_unique<storage::crypto::MasterKeyRing>(
      Check(storage::crypto::MasterKey::Generate(), "master key"));
  keys_ = std::make_unique<YouthKeys>(db_.get(), std::move(ring));
  records_ = std::make_unique<StoreRecords>(db_.get(), keys_.get());
}

RecordFixture::~RecordFixture() {
  records_.reset();
  keys_.reset();
  gate_.reset();
  audit_.reset();
  binding_.reset();
  db_.reset();
  std::filesystem::remove(path_);
}

rpc::Caller RecordFixture::CallerOf(absl::string_view member_id, absl::string_view service_id,
                                    v1::Role role) {
  rpc::Caller caller;
  caller.principal.member_id = std::string(member_id);
  caller.principal.service_id = std::string(service_id);
  caller.principal.roles = {access::RoleName(role)};
  caller.principal.authenticated_at = clock_.Now();
  caller.request_id = absl::StrCat("req_", ++next_id_);
  return caller;
}

std::string RecordFixture::AddYouth(absl::string_view service_id) {
  v1::Youth y;
  y.set_id(absl::StrCat("y_", ++next_id_));
  y.set_display_name("Youth");
  y.set_date_of_birth("2012-05-01");
  *y.mutable_created_at() = common::ToProto(clock_.Now());
  const storage::crypto::FieldCrypto* crypto = Check(keys_->Crypto(), "crypto");
  Check(
      db_->Write([&](Connection& c) { return store::InsertYouth(c, *crypto, y, "", service_id); }),
      "insert youth");
  return y.id();
}

std::string RecordFixture::AddEntry(absl::string_view youth_id, absl::string_view author_service_id,
                                    v1::Visibility visibility, v1::DataCategory category,
                                    absl::string_view body, absl::string_view supersedes) {
  v1::Entry e;
  e.set_id(absl::StrCat("e_", ++next_id_));
  e.set_youth_id(std::string(youth_id));
  e.set_author_member_id("m_author");
  e.set_author_service_id(std::string(author_service_id));
  e.set_kind(v1::ENTRY_KIND_NOTE);
  e.set_category(category);
  e.set_visibility(visibility);
  e.set_body(std::string(body));
  e.set_supersedes_entry_id(std::string(supersedes));
  *e.mutable_created_at() = common::ToProto(clock_.Now());
  const storage::crypto::FieldCrypto* crypto = Check(keys_->Crypto(), "crypto");
  Check(db_->Write([&](Connection& c) { return store::InsertEntry(c, *crypto, e); }),
        "insert entry");
  return e.id();
}

std::vector<v1::AuditEvent> RecordFixture::Events() const {
  return Check(audit_->Query({}, 0, audit::AuditLog::kMaxQueryLimit), "query audit");
}

}  // namespace relais::record::testing
