#include "adapter/auth/expiring_cache.h"

#include <chrono>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "test/testing/fake_clock.h"

namespace ma::auth {
namespace {

using ::ma::testing::FakeClock;
using std::chrono::seconds;

TEST(ExpiringCacheTest, EntriesExpireAfterTheirTtl) {
  FakeClock clock;
  ExpiringCache<int> cache(10, clock);
  cache.Put("short", 1, seconds(5));
  cache.Put("long", 2, seconds(20));
  EXPECT_EQ(cache.Get("short"), std::optional<int>(1));
  clock.Advance(seconds(5));
  EXPECT_EQ(cache.Get("short"), std::nullopt);
  EXPECT_EQ(cache.Get("long"), std::optional<int>(2));
  clock.Advance(seconds(15));
  EXPECT_EQ(cache.Get("long"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ExpiringCacheTest, ZeroTtlStoresNothing) {
  FakeClock clock;
  ExpiringCache<int> cache(10, clock);
  cache.Put("k", 1, seconds(0));
  EXPECT_EQ(cache.Get("k"), std::nullopt);
}

TEST(ExpiringCacheTest, FullCacheEvictsTheLeastRecentlyUsed) {
  FakeClock clock;
  ExpiringCache<int> cache(2, clock);
  cache.Put("a", 1, seconds(10));
  cache.Put("b", 2, seconds(10));
  ASSERT_TRUE(cache.Get("a").has_value());  // "b" is now the least recently used
  cache.Put("c", 3, seconds(10));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Get("a"), std::optional<int>(1));
  EXPECT_EQ(cache.Get("b"), std::nullopt);
  EXPECT_EQ(cache.Get("c"), std::optional<int>(3));
}

TEST(ExpiringCacheTest, PutReplacesAndRenews) {
  FakeClock clock;
  ExpiringCache<int> cache(2, clock);
  cache.Put("a", 1, seconds(10));
  clock.Advance(seconds(8));
  cache.Put("a", 2, seconds(10));
  clock.Advance(seconds(8));
  EXPECT_EQ(cache.Get("a"), std::optional<int>(2));
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace ma::auth
