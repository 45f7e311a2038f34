#pragma once

// A bulkhead in front of one backend: at most `max_concurrency` calls in flight, at most
// `max_queue` waiting for a slot (first in, first out), and beyond that an immediate refusal, so
// that a slow or dead backend costs bounded memory and its callers learn at once. A queued task
// whose callers are all gone can be withdrawn: it never runs, so its call is never sent.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::cache {

// Upper bounds for the flags; a larger value would not be a bound any more.
inline constexpr int kMaxBackendConcurrency = 10000;
inline constexpr int kMaxBackendQueue = 1000000;

struct BulkheadOptions {
  int max_concurrency = 32;
  int max_queue = 1000;
};

// Thread-safe: Submit, Withdraw and the release functions may be called from any thread.
class Bulkhead {
 public:
  // Ends one call: frees its slot and starts the next queued task. Call it exactly once.
  using Release = std::function<void()>;
  // Starts one backend call and arranges for `release` to be called when it completes.
  using Task = std::function<void(Release release)>;
  // Names one submitted task, for Withdraw. Never reused.
  using Ticket = uint64_t;

  Bulkhead(std::string backend, BulkheadOptions options, telemetry::AdapterMetrics& metrics)
      : backend_(std::move(backend)), options_(options), metrics_(metrics) {}
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // Runs `task` now, on this thread, when a slot is free; queues it otherwise (it then runs on
  // the thread that releases a slot). kUnavailable, and `task` is dropped without running, when
  // the queue is full.
  absl::StatusOr<Ticket> Submit(Task task);
  // Drops the task if it is still queued, and says whether it was; a task that has started (or
  // never was admitted) is left alone.
  bool Withdraw(Ticket ticket);

  int in_flight() const;
  size_t queued() const;

 private:
  void ReleaseSlot();
  // Starts queued tasks while slots are free. Re-entrant calls (a task that completes
  // synchronously) return at once and leave the work to the outer loop, so the stack stays flat.
  void Drain();
  void PublishLoad() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Release MakeRelease();

  const std::string backend_;
  const BulkheadOptions options_;
  telemetry::AdapterMetrics& metrics_;
  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  Ticket next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  // Tickets rise with each Submit, so the first queued is the oldest.
  std::map<Ticket, Task> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::cache
