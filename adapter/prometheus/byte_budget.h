#pragma once

// ByteBudget: a bound on the bytes that many concurrent holders may take together, taken and
// given back piece by piece, never waited for: a holder whose next piece does not fit is told so
// at once and gives up. The Prometheus client bounds with one the query answers it holds while
// they arrive and are decoded (kQueryBodyBudgetBytes): up to --backend-max-concurrency answers
// of up to kMaxQueryResponseBytes each may be in flight, far more together than the pod has.

#include <atomic>
#include <cstddef>

namespace ma::prometheus {

// Thread-safe (lock-free).
class ByteBudget {
 public:
  explicit ByteBudget(size_t capacity) : capacity_(capacity) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Takes `n` bytes if the total stays within the capacity; false (nothing taken) otherwise.
  bool TryTake(size_t n);
  // Gives back `n` bytes taken before.
  void Give(size_t n);

  size_t capacity() const { return capacity_; }
  size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  std::atomic<size_t> in_use_{0};
};

}  // namespace ma::prometheus
