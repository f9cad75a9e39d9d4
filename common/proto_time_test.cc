#include "common/proto_time.h"

#include "common/reason.h"
#include "gtest/gtest.h"

namespace relais::common {
namespace {

TEST(ProtoTime, RoundTripsAtMicrosecondPrecision) {
  const absl::Time t = absl::FromUnixMicros(1'700'000'000'123'456);
  const google::protobuf::Timestamp ts = ToProto(t);
  EXPECT_EQ(ts.seconds(), 1'700'000'000);
  EXPECT_EQ(ts.nanos(), 123'456'000);
  EXPECT_EQ(FromProto(ts), t);
}

TEST(ProtoTime, TimesBeforeTheEpochKeepNanosPositive) {
  const google::protobuf::Timestamp ts = ToProto(absl::FromUnixMicros(-1));
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'000);
  EXPECT_EQ(FromProto(ts), absl::FromUnixMicros(-1));
}

TEST(ProtoTime, RequestTimesOutsideTheTimestampRangeAreRefusedNamingTheField) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253'402'300'800);  // year 10000
  absl::StatusOr<absl::Time> t = TimeFromRequest("consent.valid_until", ts);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(ReasonOf(t.status()), "timestamp_out_of_range");
  EXPECT_EQ(FieldOf(t.status()), "consent.valid_until");
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_FALSE(TimeFromRequest("t", ts).ok());
  ts.set_nanos(5);
  EXPECT_EQ(*TimeFromRequest("t", ts), absl::UnixEpoch() + absl::Nanoseconds(5));
}

}  // namespace
}  // namespace relais::common
