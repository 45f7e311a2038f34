#include "adapter/app/heap_trimmer.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "adapter/telemetry/log.h"

namespace ma::app {
namespace {

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define MA_GLIBC_MALLOC 1
constexpr bool kGlibcMalloc = true;
#else
constexpr bool kGlibcMalloc = false;
#endif

}  // namespace

size_t FreeHeapBytes() {
#if defined(MA_GLIBC_MALLOC)
  return mallinfo2().fordblks;
#else
  return 0;
#endif
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total_pages = 0;
  size_t resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) {
    return 0;
  }
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t HeapTrimmer::TrimIfWorthIt() {
  const size_t free_bytes = FreeHeapBytes();
  if (free_bytes == 0 || free_bytes < min_bytes_) {
    return 0;
  }
  absl::MutexLock lock(&mu_);
  const size_t resident = ResidentBytes();
  if (resident_after_trim_ != 0 && resident < resident_after_trim_ + min_bytes_) {
    resident_after_trim_ = std::min(resident_after_trim_, resident);
    return 0;
  }
#if defined(MA_GLIBC_MALLOC)
  malloc_trim(0);
#endif
  resident_after_trim_ = std::max<size_t>(ResidentBytes(), 1);
  MA_VLOG(2) << "gave freed memory back to the system: resident " << (resident >> 20) << " MiB -> "
             << (resident_after_trim_ >> 20) << " MiB (" << (free_bytes >> 20)
             << " MiB were free in the heap)";
  return free_bytes;
}

void HeapTrimmer::Start(scheduler::Scheduler& scheduler) {
  if (!kGlibcMalloc) {
    return;
  }
  absl::MutexLock lock(&mu_);
  if (scheduler_ == nullptr) {
    scheduler_ = &scheduler;
    next_ = scheduler.RunAfter(kHeapTrimInterval, [this] { Tick(); });
  }
}

void HeapTrimmer::Tick() {
  TrimIfWorthIt();
  absl::MutexLock lock(&mu_);
  if (scheduler_ != nullptr) {
    next_ = scheduler_->RunAfter(kHeapTrimInterval, [this] { Tick(); });
  }
}

void HeapTrimmer::Stop() {
  scheduler::Scheduler* scheduler = nullptr;
  scheduler::JobId next = 0;
  {
    absl::MutexLock lock(&mu_);
    std::swap(scheduler, scheduler_);
    next = next_;
  }
  if (scheduler != nullptr) {
    // Removes the next tick, or waits for the one running now (which then schedules none).
    scheduler->Cancel(next);
  }
}

}  // namespace ma::app
