#pragma once

// The Prometheus HTTP API as the rest of the adapter sees it: two calls, results delivered to a
// callback, and an instant query as a request task's wait (AwaitQuery). Beast-free and
// curl-free, so that the request path, the relister and the cache can all use it, and tests can
// substitute a fake.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/async/await.h"
#include "adapter/async/cancel_slot.h"
#include "queries/model/query_result.h"
#include "queries/model/series.h"

namespace ma::prometheus {

// An instant query's answer, immutable and shared: the value cache (adapter/cache) hands every
// reader of a key the one result it holds instead of a copy, and a reader can tell by the pointer
// whether the value is still the one it saw before (the handler's render memo does).
using QueryResultPtr = std::shared_ptr<const model::QueryResult>;
// On success the pointer is never null.
using QueryCallback = std::function<void(absl::StatusOr<QueryResultPtr>)>;
using SeriesCallback = std::function<void(absl::StatusOr<std::vector<model::Series>>)>;

// How a value cache answered a query, for the request's access log line. Ordered: a request
// that makes several queries reports the last of its outcomes in this order (one stale answer
// makes the request's answer stale).
enum class CacheOutcome : uint8_t {
  kNone,   // no cache between the caller and Prometheus
  kHit,    // a fresh value from memory
  kMiss,   // the answer of a query to Prometheus (made for this caller or shared with others)
  kStale,  // an older value, served because Prometheus failed or was slow
};
// "none", "hit", "miss", "stale".
std::string_view CacheOutcomeName(CacheOutcome outcome);
// Where a cache reports how it answered. Shared and atomic: the cache may report from its own
// thread, and after the caller stopped waiting.
using CacheOutcomeSink = std::shared_ptr<std::atomic<CacheOutcome>>;
// Raises `sink` to `outcome` if that is later in CacheOutcome's order; null `sink`: nothing.
void ReportCacheOutcome(const CacheOutcomeSink& sink, CacheOutcome outcome);

// Implementations are thread-safe: both calls may be made from any thread. Each callback is
// called exactly once, possibly on an internal thread, and must not block.
class Client {
 public:
  virtual ~Client() = default;

  // Instant query: /api/v1/query?query=<promql>&time=<time>. With `cancel`, the caller may take
  // its wait back (async/cancel_slot.h): the implementation then forgets `done` and drops the
  // work only this caller needed, if it can; `done` may still be called. With `outcome`, a cache
  // reports there how it answered (before calling `done`); without a cache it stays as it was.
  void Query(std::string promql, std::chrono::system_clock::time_point time, QueryCallback done,
             async::CancelSlot* cancel = nullptr, CacheOutcomeSink outcome = nullptr) {
    StartQuery(std::move(promql), time, std::move(done), cancel, std::move(outcome));
  }

  // Query as the wait of a request task: `co_await client.AwaitQuery(promql, now)`. It ends
  // without suspending when the answer is in memory, and cancelling the task takes the wait back.
  async::Await<QueryResultPtr> AwaitQuery(std::string promql,
                                          std::chrono::system_clock::time_point time,
                                          CacheOutcomeSink outcome = nullptr) {
    return async::Await<QueryResultPtr>(
        [this, promql = std::move(promql), time, outcome = std::move(outcome)](
            async::Completion<QueryResultPtr> done, async::CancelSlot& cancel) mutable {
          Query(std::move(promql), time, std::move(done), &cancel, std::move(outcome));
        });
  }

  // Series listing: /api/v1/series?match[]=<match>&start=<start> (no end: up to now). Returns
  // what discovery needs and no more: one Series per distinct (metric name, label names) shape,
  // label values empty, series of the same shape merged, in the order of each shape's last
  // series in the listing.
  virtual void Series(std::string match, std::chrono::system_clock::time_point start,
                      SeriesCallback done) = 0;

 protected:
  // Query's implementation; `cancel` and `outcome` may be null. A decorator passes both on.
  virtual void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                          QueryCallback done, async::CancelSlot* cancel,
                          CacheOutcomeSink outcome) = 0;
};

}  // namespace ma::prometheus
