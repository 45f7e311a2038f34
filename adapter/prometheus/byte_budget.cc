#include "adapter/prometheus/byte_budget.h"

#include "queries/base/check.h"

namespace ma::prometheus {

bool ByteBudget::TryTake(size_t n) {
  size_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (n > capacity_ - used) {
      return false;
    }
  } while (!in_use_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  return true;
}

void ByteBudget::Give(size_t n) {
  const size_t before = in_use_.fetch_sub(n, std::memory_order_relaxed);
  MA_CHECK(before >= n);
}

}  // namespace ma::prometheus
