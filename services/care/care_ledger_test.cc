// The access facts a GetEntry reads through its entry (CareFacts::SendFactsOfEntry)
// are the facts of the entry's youth, the same as read by youth, on both back
// ends; a fact of another youth is refused, never counted.

#include "services/care/care_ledger.h"

#include "absl/strings/match.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "services/care/care_test_support.h"

namespace relais::care {
namespace {

using storage::Connection;
using testing::kT0;

class CareLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_.AddService("svc_amo", "aide_jeunesse", "AMO");
    directory_.AddService("svc_pms", "enseignement", "PMS");
    // The record's table the facts find their youth through: only the
    // columns they read.
    ASSERT_TRUE(Write([](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(storage::Statement s,
                                   c.Prepare("CREATE TABLE rec_entries (id TEXT PRIMARY KEY, "
                                             "youth_id TEXT NOT NULL)"));
                  return s.Run();
                }).ok());
    // y_1: the AMO accompanies, the PMS has a consent, a PMS member opened
    // an emergency grant. y_2: nothing.
    ASSERT_TRUE(Write([&](Connection& c) -> absl::Status {
                  for (auto [entry, youth] : {std::pair{"ent_1", "y_1"}, {"ent_2", "y_2"}}) {
                    ASSIGN_OR_RETURN(
                        storage::Statement s,
                        c.Prepare("INSERT INTO rec_entries (id, youth_id) VALUES (?1, ?2)"));
                    RETURN_IF_ERROR(s.Bind(1, entry).Bind(2, youth).Run());
                  }
                  v1::Accompaniment a;
                  a.set_id("acc_1");
                  a.set_youth_id("y_1");
                  a.set_service_id("svc_amo");
                  a.set_referent_member_id("mbr_amo");
                  a.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
                  *a.mutable_start_time() = common::ToProto(kT0 - absl::Hours(24));
                  a.set_vouch(v1::VOUCH_CONFIRMED);
                  RETURN_IF_ERROR(store::InsertAccompaniment(c, a));
                  v1::Consent k;
                  k.set_id("cns_1");
                  k.set_youth_id("y_1");
                  k.set_giver(v1::CONSENT_GIVER_YOUTH);
                  k.add_recipients()->set_service_id("svc_pms");
                  k.add_categories(v1::DATA_CATEGORY_GENERAL);
                  k.add_purposes(v1::PURPOSE_COORDINATION);
                  *k.mutable_valid_from() = common::ToProto(kT0 - absl::Hours(1));
                  *k.mutable_valid_until() = common::ToProto(kT0 + absl::Hours(24));
                  k.set_recorded_by_member_id("mbr_amo");
                  k.set_recorded_by_service_id("svc_amo");
                  *k.mutable_recorded_at() = common::ToProto(kT0 - absl::Hours(1));
                  RETURN_IF_ERROR(store::InsertConsent(c, k));
                  v1::EmergencyAccess g;
                  g.set_id("emg_1");
                  g.set_youth_id("y_1");
                  g.set_service_id("svc_pms");
                  g.set_member_id("mbr_pms");
                  *g.mutable_opened_at() = common::ToProto(kT0 - absl::Minutes(5));
                  *g.mutable_expires_at() = common::ToProto(kT0 + absl::Hours(1));
                  return store::InsertEmergencyGrant(c, g, "sealed");
                }).ok());
  }
  absl::Status Write(absl::FunctionRef<absl::Status(Connection&)> body) {
    return db_.get()->Write([&](Connection& c) { return body(c); });
  }
  // The facts of the entry's youth as GetEntry reads them: the entry's own
  // read (here the youth alone) sent first, the facts sent with it.
  absl::StatusOr<access::AccessFacts> ThroughEntry(absl::string_view service_id,
                                                   absl::string_view entry_id,
                                                   absl::string_view member_id,
                                                   absl::string_view receive_as = "") {
    absl::StatusOr<access::AccessFacts> facts;
    storage::Database::ReadTogether together(db_.get());
    absl::Status read = db_.get()->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(storage::Statement entry,
                       c.Prepare("SELECT youth_id FROM rec_entries WHERE id = ?1"));
      entry.Bind(1, entry_id);
      RETURN_IF_ERROR(entry.Send());
      ASSIGN_OR_RETURN(std::unique_ptr<access::PendingFacts> pending,
                       ledger_.SendFactsOfEntry(c, service_id, entry_id, member_id));
      ASSIGN_OR_RETURN(bool row, entry.Step());
      if (!row) return absl::NotFoundError("no entry");
      facts = pending->Receive(receive_as.empty() ? entry.ColumnText(0) : receive_as);
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    return facts;
  }

  testing::CareDatabase db_;
  testing::FakeDirectory directory_;
  common::FakeClock clock_{kT0};
  CareLedger ledger_{db_.get(), &clock_, &directory_, /*self_consent_age=*/12};
};

void ExpectSameFacts(const access::AccessFacts& got, const access::AccessFacts& want) {
  EXPECT_EQ(got.service_id, want.service_id);
  EXPECT_EQ(got.sector_id, want.sector_id);
  EXPECT_EQ(got.accompanying, want.accompanying);
  EXPECT_EQ(got.pending, want.pending);
  EXPECT_EQ(got.break_glass, want.break_glass);
  EXPECT_EQ(got.break_glass_grant_id, want.break_glass_grant_id);
  ASSERT_EQ(got.consents.size(), want.consents.size());
  for (size_t i = 0; i < got.consents.size(); ++i) {
    EXPECT_EQ(got.consents[i].id, want.consents[i].id);
  }
}

TEST_F(CareLedgerTest, FactsReadThroughAnEntryAreThoseOfItsYouth) {
  // The accompanying service.
  absl::StatusOr<access::AccessFacts> amo = ThroughEntry("svc_amo", "ent_1", "mbr_amo");
  ASSERT_TRUE(amo.ok()) << amo.status();
  EXPECT_TRUE(amo->accompanying);
  EXPECT_EQ(amo->sector_id, "aide_jeunesse");
  absl::StatusOr<access::AccessFacts> by_youth = ledger_.GatherFacts("svc_amo", "y_1", "mbr_amo");
  ASSERT_TRUE(by_youth.ok()) << by_youth.status();
  ExpectSameFacts(*amo, *by_youth);
  // The consent's recipient, whose member opened the grant.
  absl::StatusOr<access::AccessFacts> pms = ThroughEntry("svc_pms", "ent_1", "mbr_pms");
  ASSERT_TRUE(pms.ok()) << pms.status();
  EXPECT_FALSE(pms->accompanying);
  ASSERT_EQ(pms->consents.size(), 1u);
  EXPECT_EQ(pms->consents[0].id, "cns_1");
  EXPECT_TRUE(pms->break_glass);
  EXPECT_EQ(pms->break_glass_grant_id, "emg_1");
  by_youth = ledger_.GatherFacts("svc_pms", "y_1", "mbr_pms");
  ASSERT_TRUE(by_youth.ok()) << by_youth.status();
  ExpectSameFacts(*pms, *by_youth);
  // The grant covers its opener only.
  pms = ThroughEntry("svc_pms", "ent_1", "mbr_other");
  ASSERT_TRUE(pms.ok()) << pms.status();
  EXPECT_FALSE(pms->break_glass);
  EXPECT_EQ(pms->consents.size(), 1u);
}

TEST_F(CareLedgerTest, AnEntryOfAnotherYouthBringsNoneOfTheseFacts) {
  for (const char* service : {"svc_amo", "svc_pms"}) {
    absl::StatusOr<access::AccessFacts> facts = ThroughEntry(service, "ent_2", "mbr_pms");
    ASSERT_TRUE(facts.ok()) << facts.status();
    EXPECT_FALSE(facts->accompanying) << service;
    EXPECT_FALSE(facts->pending) << service;
    EXPECT_FALSE(facts->break_glass) << service;
    EXPECT_TRUE(facts->consents.empty()) << service;
  }
}

TEST_F(CareLedgerTest, TimeStillDecides) {
  // After the consent and the grant expired, neither counts through the entry.
  clock_.Advance(absl::Hours(25));
  absl::StatusOr<access::AccessFacts> pms = ThroughEntry("svc_pms", "ent_1", "mbr_pms");
  ASSERT_TRUE(pms.ok()) << pms.status();
  EXPECT_FALSE(pms->break_glass);
  EXPECT_TRUE(pms->consents.empty());
}

TEST_F(CareLedgerTest, AFactOfAnotherYouthThanTheCallersIsRefused) {
  // Received as another youth than the one the reads found: refused whole,
  // whichever fact it is (accompaniment, grant, consent).
  for (auto [service, member] :
       {std::pair{"svc_amo", ""}, {"svc_pms", "mbr_pms"}, {"svc_pms", "mbr_other"}}) {
    absl::StatusOr<access::AccessFacts> facts = ThroughEntry(service, "ent_1", member, "y_2");
    EXPECT_EQ(facts.status().code(), absl::StatusCode::kInternal) << service;
    EXPECT_TRUE(absl::StrContains(facts.status().message(), "another youth")) << service;
  }
}

}  // namespace
}  // namespace relais::care
