#include "services/audit/audit_chain.h"

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"

namespace relais::audit {
namespace {

using google::protobuf::FieldDescriptor;

v1::AuditEvent GoldenEvent() {
  v1::AuditEvent e;
  e.set_sequence(1);
  e.mutable_time()->set_seconds(1700000000);
  e.mutable_time()->set_nanos(123456000);
  e.set_request_id("req-1");
  e.set_actor_member_id("m-1");
  e.set_actor_service_id("s-amo");
  e.set_actor_roles("caseworker");
  e.set_client_identity("CN=amo.example");
  e.set_action(v1::ACTION_READ_ENTRY);
  e.set_youth_id("y-1");
  e.set_entry_id("e-1");
  e.set_purpose(v1::PURPOSE_COORDINATION);
  e.set_decision(v1::DECISION_DENY);
  e.set_reason(v1::ACCESS_REASON_NO_CONSENT);
  e.set_reason_code("no_consent");
  e.set_prev_hash(std::string(kGenesisHash));
  return e;
}

// The second golden event, chained to the first.
v1::AuditEvent SecondGoldenEvent(const std::string& prev_hash) {
  v1::AuditEvent e;
  e.set_sequence(2);
  e.mutable_time()->set_seconds(1700000060);
  e.set_request_id("req-2");
  e.set_action(v1::ACTION_LOGIN);
  e.set_decision(v1::DECISION_DENY);
  e.set_reason(v1::ACCESS_REASON_TOKEN_INVALID);
  e.set_reason_code("token_invalid");
  e.set_break_glass(true);
  e.set_prev_hash(prev_hash);
  return e;
}

std::string Int(int field, int64_t v) {
  std::string out(1, static_cast<char>(field));
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> shift) & 0xff));
  }
  return out;
}

std::string Str(int field, const std::string& v) {
  std::string out(1, static_cast<char>(field));
  out += std::string(3, '\0');
  out.push_back(static_cast<char>(v.size()));  // test strings are < 256 bytes
  return out + v;
}

TEST(CanonicalEncoding, MatchesTheDocumentedLayoutByteForByte) {
  const std::string expected =
      "relais-audit-v1" + Int(1, 1) + Int(2, int64_t{1700000000} * 1000000 + 123456) +
      Str(3, "req-1") + Str(4, "m-1") + Str(5, "s-amo") + Str(6, "caseworker") +
      Str(7, "CN=amo.example") + Int(8, 9) + Str(9, "y-1") + Str(10, "e-1") + Str(11, "") +
      Int(12, 1) + Int(13, 2) + Int(14, 9) + Str(15, "no_consent") + Int(16, 0);
  EXPECT_EQ(CanonicalEncoding(GoldenEvent()), expected);
  EXPECT_EQ(expected.size(), 176u);
}

// Hashes computed by an independent Python implementation written from the
// header's description (hashlib.sha256(bytes(32) + encoding)).
TEST(ComputeEventHash, MatchesAnIndependentImplementation) {
  absl::StatusOr<std::string> first = ComputeEventHash(GoldenEvent());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "9190d628c54b734f7a86804254938935d36477153cd887659dc1eaadf3fa9c04");
  absl::StatusOr<std::string> second = ComputeEventHash(SecondGoldenEvent(*first));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "a3d16b4f8d8f1b3442cd834b3be4ba3bcb1b0ff8d4f8120e161553393b78b7cd");
}

TEST(ComputeEventHash, RefusesAMalformedPrevHash) {
  for (const std::string& bad : {std::string(""), std::string(63, '0'), std::string(65, '0'),
                                 std::string(64, 'A'), std::string(64, 'g')}) {
    v1::AuditEvent e = GoldenEvent();
    e.set_prev_hash(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(ComputeEventHash(e).status())) << bad;
  }
}

// Walks the message descriptor, so a field added to AuditEvent but forgotten
// in the encoding makes this test fail.
TEST(CanonicalEncoding, ChangesWhenAnySingleFieldChanges) {
  const v1::AuditEvent base = GoldenEvent();
  const std::string base_encoding = CanonicalEncoding(base);
  const auto* descriptor = v1::AuditEvent::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    v1::AuditEvent changed = base;
    const auto* reflection = changed.GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(&changed, field, reflection->GetInt64(base, field) + 1);
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(&changed, field,
                              field->name() == "prev_hash"
                                  ? std::string(64, '1')  // must stay a hash
                                  : reflection->GetString(base, field) + "x");
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        reflection->SetEnumValue(&changed, field, reflection->GetEnumValue(base, field) + 1);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(&changed, field, !reflection->GetBool(base, field));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        ASSERT_EQ(field->name(), "time");
        changed.mutable_time()->set_nanos(base.time().nanos() + 1000);  // one microsecond
        break;
      default:
        FAIL() << "no test value for the type of field " << field->name();
    }
    const bool hashed_separately = field->name() == "prev_hash" || field->name() == "hash";
    if (hashed_separately) {
      EXPECT_EQ(CanonicalEncoding(changed), base_encoding) << field->name();
    } else {
      EXPECT_NE(CanonicalEncoding(changed), base_encoding) << field->name();
    }
    if (field->name() != "hash") {
      EXPECT_NE(*ComputeEventHash(changed), *ComputeEventHash(base)) << field->name();
    }
  }
  v1::AuditEvent later_second = base;
  later_second.mutable_time()->set_seconds(base.time().seconds() + 1);
  EXPECT_NE(CanonicalEncoding(later_second), base_encoding);
}

TEST(CanonicalEncoding, AdjacentStringsCannotTradeBytes) {
  v1::AuditEvent a = GoldenEvent();
  a.set_youth_id("ab");
  a.set_entry_id("c");
  v1::AuditEvent b = GoldenEvent();
  b.set_youth_id("a");
  b.set_entry_id("bc");
  EXPECT_NE(CanonicalEncoding(a), CanonicalEncoding(b));
}

TEST(CanonicalEncoding, KeepsWholeMicrosecondsOnly) {
  // The log stores microseconds; nanoseconds below that are not part of an event.
  v1::AuditEvent a = GoldenEvent();
  v1::AuditEvent b = GoldenEvent();
  b.mutable_time()->set_nanos(a.time().nanos() + 999);
  EXPECT_EQ(CanonicalEncoding(a), CanonicalEncoding(b));
}

// A chain of `n` events built with the public functions, as an exporter would.
std::vector<v1::AuditEvent> Chain(int n) {
  std::vector<v1::AuditEvent> events;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= n; ++i) {
    v1::AuditEvent e = GoldenEvent();
    e.set_sequence(i);
    e.set_entry_id("e-" + std::to_string(i));
    e.set_prev_hash(prev);
    e.set_hash(*ComputeEventHash(e));
    prev = e.hash();
    events.push_back(e);
  }
  return events;
}

VerifyResult VerifyAll(const std::vector<v1::AuditEvent>& events) {
  ChainVerifier verifier;
  for (const auto& e : events) EXPECT_TRUE(verifier.Add(e).ok());
  return verifier.result();
}

TEST(ChainVerifier, AcceptsAnIntactChainAndReportsItsHead) {
  const auto events = Chain(4);
  const VerifyResult r = VerifyAll(events);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.events_checked, 4);
  EXPECT_EQ(r.first_bad_sequence, 0);
  EXPECT_EQ(r.problem, "");
  EXPECT_EQ(r.head_hash, events.back().hash());
  EXPECT_EQ(VerifyAll({}).head_hash, kGenesisHash);
}

TEST(ChainVerifier, ReportsTheFirstMissingSequence) {
  auto events = Chain(5);
  events.erase(events.begin() + 2);  // sequence 3
  const VerifyResult r = VerifyAll(events);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.first_bad_sequence, 3);
  EXPECT_EQ(r.events_checked, 2);
  EXPECT_EQ(r.head_hash, events[1].hash());

  auto headless = Chain(3);
  headless.erase(headless.begin());
  EXPECT_EQ(VerifyAll(headless).first_bad_sequence, 1);
}

TEST(ChainVerifier, ReportsAReorderedExport) {
  auto events = Chain(4);
  std::swap(events[1], events[2]);
  const VerifyResult r = VerifyAll(events);
  EXPECT_EQ(r.problem, "sequence_gap");
  EXPECT_EQ(r.first_bad_sequence, 2);
}

TEST(ChainVerifier, ReportsABrokenLinkAndAnAlteredEvent) {
  auto relinked = Chain(4);
  relinked[2].set_prev_hash(relinked[0].hash());
  EXPECT_EQ(VerifyAll(relinked).problem, "chain_broken");
  EXPECT_EQ(VerifyAll(relinked).first_bad_sequence, 3);

  auto altered = Chain(4);
  altered[1].set_reason_code("allowed");
  EXPECT_EQ(VerifyAll(altered).problem, "hash_mismatch");
  EXPECT_EQ(VerifyAll(altered).first_bad_sequence, 2);
  EXPECT_EQ(VerifyAll(altered).events_checked, 1);
}

TEST(ChainVerifier, StopsAtTheFirstProblem) {
  auto events = Chain(5);
  events[1].set_youth_id("y-other");  // first problem: 2
  events[3].set_youth_id("y-other");
  const VerifyResult r = VerifyAll(events);
  EXPECT_EQ(r.first_bad_sequence, 2);
}

TEST(ChainVerifier, TreatsAnUndecodableRowAsAlteredAfterPositionChecks) {
  const auto events = Chain(3);
  ChainVerifier at_place;
  ASSERT_TRUE(at_place.Add(events[0]).ok());
  at_place.AddUndecodable(2, events[0].hash());
  EXPECT_EQ(at_place.result().problem, "hash_mismatch");
  EXPECT_EQ(at_place.result().first_bad_sequence, 2);

  ChainVerifier out_of_place;
  ASSERT_TRUE(out_of_place.Add(events[0]).ok());
  out_of_place.AddUndecodable(3, events[1].hash());
  EXPECT_EQ(out_of_place.result().problem, "sequence_gap");
  EXPECT_EQ(out_of_place.result().first_bad_sequence, 2);
}

TEST(ChainVerifier, ResumesFromATrustedAnchor) {
  const auto events = Chain(5);
  // From checkpoint (2, hash of 2): events 3..5 continue it.
  ChainVerifier resumed(2, events[1].hash());
  for (size_t i = 2; i < events.size(); ++i) ASSERT_TRUE(resumed.Add(events[i]).ok());
  EXPECT_TRUE(resumed.result().ok);
  EXPECT_EQ(resumed.result().events_checked, 3);
  EXPECT_EQ(resumed.result().head_hash, events.back().hash());

  // The anchor's hash is what event 3 must point to.
  ChainVerifier wrong_hash(2, events[0].hash());
  ASSERT_TRUE(wrong_hash.Add(events[2]).ok());
  EXPECT_EQ(wrong_hash.result().problem, "chain_broken");
  EXPECT_EQ(wrong_hash.result().first_bad_sequence, 3);

  // ... and the next sequence is the anchor's + 1.
  ChainVerifier skipped(2, events[1].hash());
  ASSERT_TRUE(skipped.Add(events[3]).ok());
  EXPECT_EQ(skipped.result().problem, "sequence_gap");
  EXPECT_EQ(skipped.result().first_bad_sequence, 3);
}

TEST(ChainVerifier, ReadsFieldsLikeTheEventTheyCameFrom) {
  // AuditLog::Verify feeds borrowed fields, not messages: the same chain, the
  // same verdicts, and an altered field is caught the same way.
  const auto events = Chain(3);
  std::string encoded;
  AppendCanonicalEncoding(FieldsOf(events[1]), encoded);
  EXPECT_EQ(encoded, CanonicalEncoding(events[1]));

  ChainVerifier by_fields;
  for (const auto& e : events) ASSERT_TRUE(by_fields.Add(FieldsOf(e)).ok());
  EXPECT_TRUE(by_fields.result().ok);
  EXPECT_EQ(by_fields.result().head_hash, events.back().hash());

  EventFields altered = FieldsOf(events[1]);
  altered.object_id = "obj-other";
  ChainVerifier caught;
  ASSERT_TRUE(caught.Add(FieldsOf(events[0])).ok());
  ASSERT_TRUE(caught.Add(altered).ok());
  EXPECT_EQ(caught.result().problem, "hash_mismatch");
  EXPECT_EQ(caught.result().first_bad_sequence, 2);
  EXPECT_EQ(caught.result().head_hash, events[0].hash());
}

TEST(ChainVerifier, RefusesAMalformedAnchorInsteadOfHashingFromIt) {
  const auto events = Chain(3);
  const std::string upper = "ABCDEF" + std::string(58, '0');
  ChainVerifier anchored(2, upper);
  v1::AuditEvent third = events[2];
  third.set_prev_hash(upper);
  EXPECT_EQ(anchored.Add(third).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace relais::audit
