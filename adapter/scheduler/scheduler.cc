#include "adapter/scheduler/scheduler.h"

#include <pthread.h>

#include <algorithm>

#include "absl/time/time.h"

namespace ma::scheduler {
namespace {

// The name top -H, ps -L and /proc/<pid>/task/<tid>/comm show (at most 15 bytes).
constexpr char kThreadName[] = "ma-scheduler";

}  // namespace

Scheduler::Scheduler() : thread_([this] { Run(); }) {}

Scheduler::~Scheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wakeup_.Signal();
  thread_.join();
}

JobId Scheduler::RunAfter(Clock::duration delay, Job job) {
  const Clock::time_point due = Clock::now() + std::max(delay, Clock::duration::zero());
  JobId id = 0;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    jobs_.emplace(Key{due, id}, std::move(job));
    due_.emplace(id, due);
  }
  // It may be due before the job the thread sleeps for.
  wakeup_.Signal();
  return id;
}

void Scheduler::Cancel(JobId id) {
  absl::MutexLock lock(&mu_);
  if (const auto it = due_.find(id); it != due_.end()) {
    jobs_.erase(Key{it->second, id});
    due_.erase(it);
    return;
  }
  if (std::this_thread::get_id() == thread_.get_id()) {
    return;  // from inside a job: waiting for the running job would wait for itself
  }
  while (running_ == id && id != 0) {
    finished_.Wait(&mu_);
  }
}

void Scheduler::Run() {
  pthread_setname_np(pthread_self(), kThreadName);
  mu_.Lock();
  while (!stopping_) {
    if (jobs_.empty()) {
      wakeup_.Wait(&mu_);
      continue;
    }
    const auto first = jobs_.begin();
    const Clock::time_point now = Clock::now();
    if (first->first.first > now) {
      wakeup_.WaitWithTimeout(&mu_, absl::FromChrono(first->first.first - now));
      continue;
    }
    Job job = std::move(first->second);
    running_ = first->first.second;
    due_.erase(running_);
    jobs_.erase(first);
    mu_.Unlock();
    job();
    job = nullptr;  // its captures die outside the lock too
    mu_.Lock();
    running_ = 0;
    finished_.SignalAll();
  }
  // Jobs not yet run are dropped with the map.
  mu_.Unlock();
}

}  // namespace ma::scheduler
