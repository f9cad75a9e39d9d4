#include "services/partnership/partnership_store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "gtest/gtest.h"
#include "services/partnership/partnership_rules.h"
#include "storage/database.h"
#include "storage/row_mac.h"
#include "storage/testing/fresh_database.h"

namespace relais::partnership {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // late 2026
const Actor kAmo{"mbr_amo_coord", "svc_amo"};
const Actor kPms{"mbr_pms_coord", "svc_pms"};

v1::Convention Proposal() {
  v1::Convention c;
  c.set_title("AMO – PMS");
  c.set_purpose("coordination of the follow-up of pupils");
  c.add_party_service_ids("svc_amo");
  c.add_party_service_ids("svc_pms");
  c.mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
  c.mutable_scope()->add_categories(v1::DATA_CATEGORY_EDUCATION);
  c.mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
  c.mutable_scope()->set_max_overlap_days(60);
  *c.mutable_start_time() = common::ToProto(kNow + absl::Hours(24));
  *c.mutable_end_time() = common::ToProto(kNow + absl::Hours(24 * 365));
  *c.mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 180));
  return c;
}

class PartnershipStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    path_ = storage::testing::FreshDatabase(::testing::TempDir() + "/partnership_store_" +
                                            std::to_string(::getpid()) + "_" +
                                            std::to_string(counter++) + ".db");
    auto db = storage::Database::Open({.path = path_});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = PartnershipStore::Create(db_.get(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // The row MAC key relaisd binds (a fixed test key).
    auto mac = storage::RowMac::Derive({std::string(32, 'k')});
    ASSERT_TRUE(mac.ok()) << mac.status();
    auto binding = storage::BindRowMac(*db_, *mac);
    ASSERT_TRUE(binding.ok()) << binding.status();
    row_mac_ = *std::move(binding);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    row_mac_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  v1::Convention Propose() {
    v1::Convention out;
    EXPECT_TRUE(db_->Write([&](storage::Connection& txn) -> absl::Status {
                     absl::StatusOr<v1::Convention> c =
                         store_->InsertConvention(txn, Proposal(), kAmo);
                     if (!c.ok()) return c.status();
                     out = *c;
                     return absl::OkStatus();
                   })
                    .ok());
    return out;
  }
  absl::Status Write(absl::FunctionRef<absl::Status(storage::Connection&)> fn) {
    return db_->Write(fn);
  }
  absl::Status Exec(const std::string& sql) {
    return db_->Write([&](storage::Connection& txn) { return txn.Exec(sql); });
  }

  common::FakeClock clock_{kNow};
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<PartnershipStore> store_;
  std::unique_ptr<storage::RowMacBinding> row_mac_;
};

TEST_F(PartnershipStoreTest, ProposedConventionIsSignedByTheProposerOnly) {
  const v1::Convention c = Propose();
  EXPECT_EQ(c.id().rfind("cnv_", 0), 0u);
  ASSERT_EQ(c.signatures_size(), 1);
  EXPECT_EQ(c.signatures(0).service_id(), "svc_amo");
  EXPECT_EQ(c.signatures(0).member_id(), "mbr_amo_coord");
  EXPECT_EQ(c.state(), v1::CONVENTION_STATE_AWAITING_SIGNATURES);
  EXPECT_EQ(c.party_service_ids_size(), 2);
  EXPECT_EQ(c.scope().max_overlap_days(), 60);
  EXPECT_EQ(c.scope().categories_size(), 2);
}

TEST_F(PartnershipStoreTest, StateFollowsSignaturesAndTheClock) {
  const v1::Convention c = Propose();
  ASSERT_TRUE(Write([&](storage::Connection& txn) {
                return store_->AddSignature(txn, c.id(), kPms);
              }).ok());
  // Signing twice keeps the first signature.
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(Write([&](storage::Connection& txn) {
                return store_->AddSignature(txn, c.id(), kPms);
              }).ok());
  absl::StatusOr<v1::Convention> read = store_->GetConvention(c.id());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->signatures_size(), 2);
  EXPECT_EQ(common::FromProto(read->signatures(1).signed_at()), kNow);
  EXPECT_EQ(read->state(), v1::CONVENTION_STATE_SIGNED);  // starts tomorrow
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(store_->GetConvention(c.id())->state(), v1::CONVENTION_STATE_IN_FORCE);
  EXPECT_FALSE(store_->GetConvention(c.id())->review_due());
  clock_.Advance(absl::Hours(24 * 160));  // within 30 days of the review
  EXPECT_TRUE(store_->GetConvention(c.id())->review_due());
  clock_.Advance(absl::Hours(24 * 300));
  EXPECT_EQ(store_->GetConvention(c.id())->state(), v1::CONVENTION_STATE_EXPIRED);
  EXPECT_FALSE(store_->GetConvention(c.id())->review_due());
}

TEST_F(PartnershipStoreTest, TermsForTheCareService) {
  const v1::Convention c = Propose();
  ConventionTerms terms;
  ASSERT_TRUE(db_->Read([&](storage::Connection& conn) -> absl::Status {
                   absl::StatusOr<ConventionTerms> t = store_->GetTerms(conn, c.id());
                   if (!t.ok()) return t.status();
                   terms = *t;
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_TRUE(terms.HasParty("svc_pms"));
  EXPECT_FALSE(terms.HasParty("svc_saj"));
  EXPECT_FALSE(terms.signed_by_all);
  EXPECT_FALSE(terms.InForceAt(kNow + absl::Hours(48)));
  EXPECT_EQ(terms.categories.count(v1::DATA_CATEGORY_EDUCATION), 1u);
  EXPECT_EQ(terms.max_overlap_days, 60);
  const absl::Status missing = db_->Read(
      [&](storage::Connection& conn) { return store_->GetTerms(conn, "cnv_nope").status(); });
  EXPECT_EQ(common::ReasonOf(missing), "convention_not_found");
}

TEST_F(PartnershipStoreTest, TermsSignaturesAndTerminationCannotBeRewritten) {
  const v1::Convention c = Propose();
  EXPECT_FALSE(Exec("UPDATE pship_conventions SET max_overlap_days = 365").ok());
  EXPECT_FALSE(Exec("UPDATE pship_conventions SET end_us = end_us + 1").ok());
  EXPECT_FALSE(Exec("DELETE FROM pship_conventions").ok());
  EXPECT_FALSE(Exec("DELETE FROM pship_parties").ok());
  EXPECT_FALSE(Exec("UPDATE pship_parties SET service_id = 'svc_x'").ok());
  EXPECT_FALSE(Exec("UPDATE pship_signatures SET member_id = 'mbr_other'").ok());
  // Nobody outside the parties signs, even in the database.
  EXPECT_FALSE(
      Exec("INSERT INTO pship_signatures VALUES ('" + c.id() + "', 'svc_saj', 'm', 1)").ok());
  EXPECT_FALSE(Exec("DELETE FROM pship_signatures").ok());
  ASSERT_TRUE(Write([&](storage::Connection& txn) {
                return store_->RecordTermination(txn, c.id(), kPms, "closing");
              }).ok());
  EXPECT_EQ(store_->GetConvention(c.id())->state(), v1::CONVENTION_STATE_TERMINATED);
  const absl::Status again = Write([&](storage::Connection& txn) {
    return store_->RecordTermination(txn, c.id(), kAmo, "again");
  });
  EXPECT_EQ(common::ReasonOf(again), "convention_terminated");
  const absl::Status review = Write([&](storage::Connection& txn) {
    return store_->RecordReview(txn, c.id(), kAmo, kNow + absl::Hours(24 * 10));
  });
  EXPECT_EQ(common::ReasonOf(review), "convention_terminated");
  EXPECT_EQ(store_->GetConvention(c.id())->terminated_by_member_id(), "mbr_pms_coord");
  const absl::Status late =
      Write([&](storage::Connection& txn) { return store_->AddSignature(txn, c.id(), kPms); });
  EXPECT_FALSE(late.ok());
}

TEST_F(PartnershipStoreTest, TermsEditedInTheFileAreRefused) {
  const v1::Convention c = Propose();
  // Someone with the file but not the key drops the guard and widens the terms.
  ASSERT_TRUE(
      Exec(storage::testing::DropTrigger("pship_conventions_terms_fixed", "pship_conventions"))
          .ok());
  ASSERT_TRUE(Exec("UPDATE pship_conventions SET max_overlap_days = 365").ok());
  EXPECT_EQ(common::ReasonOf(store_->GetConvention(c.id()).status()), "integrity_violation");
  EXPECT_EQ(common::ReasonOf(store_->ListConventions("").status()), "integrity_violation");
}

TEST_F(PartnershipStoreTest, ASignatureAddedInTheFileIsRefused) {
  const v1::Convention c = Propose();
  ASSERT_TRUE(
      Exec("INSERT INTO pship_signatures VALUES ('" + c.id() + "', 'svc_pms', 'mbr_x', 1)").ok());
  const absl::Status read =
      db_->Read([&](storage::Connection& conn) { return store_->GetTerms(conn, c.id()).status(); });
  EXPECT_EQ(common::ReasonOf(read), "integrity_violation");
}

TEST_F(PartnershipStoreTest, ReviewMovesTheDateAndKeepsHistory) {
  const v1::Convention c = Propose();
  const absl::Time next = kNow + absl::Hours(24 * 300);
  ASSERT_TRUE(Write([&](storage::Connection& txn) {
                return store_->RecordReview(txn, c.id(), kPms, next);
              }).ok());
  const v1::Convention read = *store_->GetConvention(c.id());
  EXPECT_EQ(common::FromProto(read.review_time()), next);
  EXPECT_EQ(read.last_reviewed_by_member_id(), "mbr_pms_coord");
  EXPECT_FALSE(Exec("DELETE FROM pship_reviews").ok());
}

TEST_F(PartnershipStoreTest, ListsNewestFirstAndByParty) {
  const v1::Convention a = Propose();
  const v1::Convention b = Propose();
  auto all = store_->ListConventions("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id(), b.id());
  EXPECT_EQ(store_->ListConventions("svc_pms")->size(), 2u);
  EXPECT_TRUE(store_->ListConventions("svc_saj")->empty());
}

v1::Protocol NewProtocol() {
  v1::Protocol p;
  p.set_title("Passage de relais");
  p.add_service_ids("svc_amo");
  p.add_roles(v1::ROLE_CASEWORKER);
  *p.mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 90));
  return p;
}

TEST_F(PartnershipStoreTest, ProtocolVersionsAndAcknowledgementsAreHistory) {
  v1::ProtocolVersion first;
  first.set_summary("first");
  first.set_text(std::string(kMaxProtocolTextBytes, 'x'));
  v1::Protocol p;
  ASSERT_TRUE(Write([&](storage::Connection& txn) -> absl::Status {
                absl::StatusOr<v1::Protocol> made =
                    store_->InsertProtocol(txn, NewProtocol(), first, kAmo);
                if (!made.ok()) return made.status();
                p = *made;
                return store_->Acknowledge(txn, p.id(), 1, "mbr_camille");
              }).ok());
  EXPECT_EQ(p.owner_service_id(), "svc_amo");
  EXPECT_EQ(p.current_version().number(), 1);
  EXPECT_TRUE(p.current_version().text().empty());  // no text unless asked
  EXPECT_EQ(store_->GetProtocol(p.id(), true)->current_version().text().size(),
            kMaxProtocolTextBytes);
  v1::ProtocolVersion second;
  second.set_summary("second");
  second.set_link("https://example.org/p2");
  ASSERT_TRUE(
      Write([&](storage::Connection& txn) {
        return store_->InsertVersion(txn, p.id(), second, kNow + absl::Hours(24), kAmo).status();
      }).ok());
  const v1::Protocol now = *store_->GetProtocol(p.id(), false);
  EXPECT_EQ(now.current_version().number(), 2);
  EXPECT_EQ(now.current_version().link(), "https://example.org/p2");
  EXPECT_FALSE(now.lapsed());
  clock_.Advance(absl::Hours(25));
  EXPECT_TRUE(store_->GetProtocol(p.id(), false)->lapsed());
  EXPECT_EQ(store_->AcknowledgedBy("mbr_camille")->count(AckKey(p.id(), 1)), 1u);
  EXPECT_EQ(store_->AcknowledgedBy("mbr_camille")->count(AckKey(p.id(), 2)), 0u);
  EXPECT_FALSE(Exec("UPDATE pship_protocol_versions SET text = 'rewritten'").ok());
  EXPECT_FALSE(Exec("DELETE FROM pship_acknowledgements").ok());
  EXPECT_FALSE(Exec("UPDATE pship_protocols SET current_version = 1").ok());
  EXPECT_FALSE(Exec("UPDATE pship_protocols SET owner_service_id = 'svc_saj'").ok());
  EXPECT_EQ(store_->ProtocolsOf("svc_amo")->size(), 1u);
  EXPECT_TRUE(store_->ProtocolsOf("svc_saj")->empty());
}

TEST(PartnershipRulesTest, ConventionInput) {
  EXPECT_TRUE(CheckConventionInput(Proposal(), kNow).ok());
  v1::Convention one = Proposal();
  one.mutable_party_service_ids()->RemoveLast();
  EXPECT_EQ(common::FieldOf(CheckConventionInput(one, kNow)), "convention.party_service_ids");
  v1::Convention twice = Proposal();
  twice.set_party_service_ids(1, "svc_amo");
  EXPECT_EQ(common::ReasonOf(CheckConventionInput(twice, kNow)), "duplicate_service");
  v1::Convention overlap = Proposal();
  overlap.mutable_scope()->set_max_overlap_days(366);
  EXPECT_EQ(common::FieldOf(CheckConventionInput(overlap, kNow)),
            "convention.scope.max_overlap_days");
  v1::Convention no_scope = Proposal();
  no_scope.mutable_scope()->clear_categories();
  EXPECT_EQ(common::ReasonOf(CheckConventionInput(no_scope, kNow)), "field_required");
  v1::Convention late_review = Proposal();
  *late_review.mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 400));
  EXPECT_EQ(common::FieldOf(CheckConventionInput(late_review, kNow)), "convention.review_time");
  v1::Convention long_one = Proposal();
  *long_one.mutable_end_time() = common::ToProto(kNow + absl::Hours(24 * 365 * 6));
  EXPECT_EQ(common::FieldOf(CheckConventionInput(long_one, kNow)), "convention.end_time");
}

TEST(PartnershipRulesTest, ProtocolInput) {
  EXPECT_TRUE(CheckProtocolInput(NewProtocol(), kNow).ok());
  v1::Protocol auditors = NewProtocol();
  auditors.add_roles(v1::ROLE_AUDITOR);
  EXPECT_EQ(common::ReasonOf(CheckProtocolInput(auditors, kNow)), "role_not_allowed");
  v1::Protocol far = NewProtocol();
  *far.mutable_review_time() = common::ToProto(kNow + absl::Hours(24 * 365 * 3 + 48));
  EXPECT_EQ(common::FieldOf(CheckProtocolInput(far, kNow)), "protocol.review_time");
  v1::ProtocolVersion v;
  v.set_summary("s");
  EXPECT_EQ(common::ReasonOf(CheckVersionInput("v", v)), "field_required");
  v.set_link("http://example.org");
  EXPECT_EQ(common::ReasonOf(CheckVersionInput("v", v)), "link_not_https");
  v.set_link("https://example.org/a b");
  EXPECT_EQ(common::ReasonOf(CheckVersionInput("v", v)), "link_not_https");
  v.set_link("https://example.org/ok");
  EXPECT_TRUE(CheckVersionInput("v", v).ok());
  v.set_text(std::string(kMaxProtocolTextBytes + 1, 'x'));
  EXPECT_EQ(common::FieldOf(CheckVersionInput("v", v)), "v.text");
}

}  // namespace
}  // namespace relais::partnership
