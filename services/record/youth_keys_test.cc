// YouthKeys without a server: sealing binds to the youth, field and row;
// nothing works without a master key; an erased youth's text stays closed.

#include "services/record/youth_keys.h"

#include <string>

#include "gtest/gtest.h"
#include "services/common/rpc.h"
#include "services/record/record_store.h"
#include "services/record/record_test_util.h"

namespace relais::record {
namespace {

TEST(YouthKeys, WithoutAMasterKeyEveryCallFailsClosed) {
  testing::RecordFixture f;
  YouthKeys keys(&f.db(), nullptr);
  EXPECT_EQ(keys.Crypto().status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::string> sealed = keys.Seal("y_1", "care.text", "row_1", "secret");
  EXPECT_EQ(sealed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(sealed.status()), "no_master_key");
}

TEST(YouthKeys, SealedTextOpensOnlyForItsYouthFieldAndRow) {
  testing::RecordFixture f;
  const std::string youth = f.AddYouth("svc_amo");
  const std::string other = f.AddYouth("svc_amo");
  absl::StatusOr<std::string> sealed = f.keys().Seal(youth, "care.text", "row_1", "secret");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("secret"), std::string::npos);
  absl::StatusOr<std::string> opened = f.keys().Open(youth, "care.text", "row_1", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "secret");
  EXPECT_EQ(f.keys().Open(youth, "care.text", "row_2", *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(f.keys().Open(youth, "care.other", "row_1", *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(f.keys().Open(other, "care.text", "row_1", *sealed).ok());
}

TEST(YouthKeys, AnErasedYouthsTextNoLongerOpens) {
  testing::RecordFixture f;
  const std::string youth = f.AddYouth("svc_amo");
  absl::StatusOr<std::string> sealed = f.keys().Seal(youth, "care.text", "row_1", "secret");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(f.db()
                  .Write([&](storage::Connection& c) {
                    return store::EraseYouth(c, youth, f.clock().Now());
                  })
                  .ok());
  f.keys().Forget(youth);
  absl::StatusOr<std::string> opened = f.keys().Open(youth, "care.text", "row_1", *sealed);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(common::ReasonOf(opened.status()), "erased");
  EXPECT_EQ(f.keys().Seal(youth, "care.text", "row_2", "more").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(YouthKeys, NoKeyIsGeneratedOnceDataKeysExist) {
  testing::RecordFixture f;
  // A fresh database: a development key may be made up.
  EXPECT_TRUE(YouthKeys::LoadMasterKeys(&f.db(), {}).ok());
  f.AddYouth("svc_amo");
  // Data keys exist: a made-up key would open nothing, so it is refused.
  EXPECT_EQ(YouthKeys::LoadMasterKeys(&f.db(), {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace relais::record
