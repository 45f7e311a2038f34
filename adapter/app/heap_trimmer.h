#pragma once

// HeapTrimmer: gives the memory the process has freed back to the system. glibc's malloc keeps
// what is freed inside its heaps for reuse and returns only a free top of a heap beyond its trim
// threshold, so after a burst (connections, each holding TLS state and buffers while open; query
// answers; cache churn) the RSS stays at the burst's peak long after the memory is free: 2,000
// idle TLS connections that came and went left about 85 MiB behind. Every kHeapTrimInterval the
// trimmer checks whether malloc holds at least kHeapTrimMinBytes free and the resident memory
// has grown by as much since its last trim (a trim gives back free pages, which stay free in
// malloc's count: without the second test it would trim again every time for nothing); then it
// calls malloc_trim(0), which returns every free page of every arena. Without glibc, and under a
// sanitizer (whose allocator is its own), it does nothing.

#include <chrono>
#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapter/scheduler/scheduler.h"

namespace ma::app {

inline constexpr std::chrono::seconds kHeapTrimInterval{5};
// Less than this to give back is not worth a trim, which walks every free chunk under its arena's
// lock and so holds up other threads' allocations for a moment.
inline constexpr size_t kHeapTrimMinBytes = size_t{8} << 20;

// Bytes malloc holds free in its heaps (mallinfo2's fordblks), given back to the system or not.
// 0 without glibc or under a sanitizer.
size_t FreeHeapBytes();
// The process's resident memory (/proc/self/statm); 0 when it cannot be read.
size_t ResidentBytes();

// Thread-safe: every method may be called from any thread, Stop but not from a scheduler job.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(size_t min_bytes = kHeapTrimMinBytes) : min_bytes_(min_bytes) {}
  ~HeapTrimmer() { Stop(); }
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Runs TrimIfWorthIt on `scheduler` every kHeapTrimInterval until Stop. `scheduler` must
  // outlive Stop.
  void Start(scheduler::Scheduler& scheduler);
  void Stop();

  // Trims when worth it (see the top of this file); returns the bytes malloc held free before
  // the trim, or 0 when it did not trim.
  size_t TrimIfWorthIt();

 private:
  void Tick();

  const size_t min_bytes_;
  absl::Mutex mu_;
  size_t resident_after_trim_ ABSL_GUARDED_BY(mu_) = 0;             // 0: no trim yet
  scheduler::Scheduler* scheduler_ ABSL_GUARDED_BY(mu_) = nullptr;  // set while started
  scheduler::JobId next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ma::app
