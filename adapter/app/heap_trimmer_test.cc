#include "adapter/app/heap_trimmer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace ma::app {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
constexpr bool kTrims = false;
#else
constexpr bool kTrims = true;
#endif

constexpr size_t kBlocks = 1024;
constexpr size_t kBlockBytes = 32 * 1024;  // below malloc's mmap threshold: from the heap

// Blocks freed between blocks still in use, as connections' buffers are: no free top to give back
// by itself, only holes.
TEST(HeapTrimmerTest, GivesFreedHolesBackToTheSystem) {
  std::vector<std::unique_ptr<char[]>> big;
  std::vector<std::unique_ptr<char[]>> pins;
  for (size_t i = 0; i < kBlocks; ++i) {
    big.emplace_back(new char[kBlockBytes]);
    std::memset(big.back().get(), 1, kBlockBytes);
    pins.emplace_back(new char[64]);
  }
  big.clear();
  const size_t before = ResidentBytes();
  ASSERT_GT(before, 0u);
  HeapTrimmer trimmer;
  if (!kTrims) {
    EXPECT_EQ(FreeHeapBytes(), 0u);
    EXPECT_EQ(trimmer.TrimIfWorthIt(), 0u);
    return;
  }
  EXPECT_GE(FreeHeapBytes(), kBlocks * kBlockBytes);
  HeapTrimmer too_demanding(std::numeric_limits<size_t>::max());
  EXPECT_EQ(too_demanding.TrimIfWorthIt(), 0u);
  EXPECT_GE(ResidentBytes() + kBlocks * kBlockBytes / 2, before);  // nothing given back

  EXPECT_GE(trimmer.TrimIfWorthIt(), kBlocks * kBlockBytes);
  EXPECT_LE(ResidentBytes() + kBlocks * kBlockBytes / 2, before);
  // The freed pages are still free in malloc's count, but nothing more is to be given back.
  EXPECT_GE(FreeHeapBytes(), kHeapTrimMinBytes);
  EXPECT_EQ(trimmer.TrimIfWorthIt(), 0u);

  // Used and freed again: worth a trim again.
  for (size_t i = 0; i < kBlocks; ++i) {
    big.emplace_back(new char[kBlockBytes]);
    std::memset(big.back().get(), 1, kBlockBytes);
  }
  big.clear();
  EXPECT_GE(trimmer.TrimIfWorthIt(), kBlocks * kBlockBytes);
}

TEST(HeapTrimmerTest, StopsWithItsScheduler) {
  scheduler::Scheduler scheduler;
  HeapTrimmer trimmer;
  trimmer.Start(scheduler);
  trimmer.Stop();
  trimmer.Stop();
}

}  // namespace
}  // namespace ma::app
