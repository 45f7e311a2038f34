#pragma once

// The process's one thread for periodic work: the relister's runs and the value cache's
// maintenance ticks are jobs here instead of threads of their own.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace ma::scheduler {

// A job's handle, for Cancel. 0 is never a job.
using JobId = uint64_t;

// One thread ("ma-scheduler") that runs jobs at their time, one at a time. A job must not block:
// it starts asynchronous work (a Prometheus query, say) and returns, and whatever continues that
// work is scheduled again when the work completes. Thread-safe: every method may be called from
// any thread, including from inside a job.
class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using Job = std::function<void()>;

  Scheduler();
  // Drops the jobs not yet run and waits for the running one.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `job` on the scheduler thread once `delay` has passed (zero or negative: as soon as the
  // thread is free). Jobs due at the same time run in the order they were scheduled.
  JobId RunAfter(Clock::duration delay, Job job);
  JobId Post(Job job) { return RunAfter(Clock::duration::zero(), std::move(job)); }

  // Removes the job if it has not run yet; if it is running on another thread, waits until it
  // returns. Called from inside a job (itself or another), it only removes. Unknown or finished
  // ids are ignored.
  void Cancel(JobId id);

 private:
  // Due time, then order of scheduling.
  using Key = std::pair<Clock::time_point, JobId>;

  void Run();

  absl::Mutex mu_;
  absl::CondVar wakeup_;    // a job was scheduled, or stopping
  absl::CondVar finished_;  // the running job returned
  std::map<Key, Job> jobs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<JobId, Clock::time_point> due_ ABSL_GUARDED_BY(mu_);
  JobId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  JobId running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ma::scheduler
