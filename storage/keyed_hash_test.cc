#include "storage/keyed_hash.h"

#include <string>

#include "gtest/gtest.h"

namespace relais::storage {
namespace {

TEST(KeyedHash, IsStablePerKeyAndDiffersAcrossKeysAndInputs) {
  const std::string k1(32, 'a'), k2(32, 'b');
  auto a = KeyedHash(k1, "85073100123");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, *KeyedHash(k1, "85073100123"));
  EXPECT_NE(*a, *KeyedHash(k2, "85073100123"));
  EXPECT_NE(*a, *KeyedHash(k1, "85073100124"));
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a->find("85073100123"), std::string::npos);
}

TEST(KeyedHash, RefusesAShortKey) {
  EXPECT_EQ(KeyedHash("short", "x").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace relais::storage
