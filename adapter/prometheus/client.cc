#include "adapter/prometheus/client.h"

namespace ma::prometheus {

std::string_view CacheOutcomeName(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::kNone:
      return "none";
    case CacheOutcome::kHit:
      return "hit";
    case CacheOutcome::kMiss:
      return "miss";
    case CacheOutcome::kStale:
      return "stale";
  }
  return "none";
}

void ReportCacheOutcome(const CacheOutcomeSink& sink, CacheOutcome outcome) {
  if (sink == nullptr) {
    return;
  }
  CacheOutcome current = sink->load(std::memory_order_relaxed);
  while (current < outcome &&
         !sink->compare_exchange_weak(current, outcome, std::memory_order_release,
                                      std::memory_order_relaxed)) {
  }
}

}  // namespace ma::prometheus
