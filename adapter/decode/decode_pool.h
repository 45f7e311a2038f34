#pragma once

// The process's few threads for decoding large response bodies (a series listing, a LIST page,
// WATCH events), so that the outbound HTTP worker thread, which drives every request to
// Prometheus and Kubernetes, only moves bytes.

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ma::decode {

// The pool's size: decoding is CPU work, and the adapter's budget is two cores.
inline constexpr size_t kDecodeThreads = 2;
// Bytes of undecoded input queued on the pool (all sequences together). Beyond this TryPost
// refuses, and the caller ends its transfer with an error instead of buffering without bound.
inline constexpr size_t kMaxQueuedDecodeBytes = size_t{64} << 20;

class Sequence;

// A decoding step; it must not block.
using DecodeTask = std::function<void()>;

// `threads` threads named "ma-decode" (top -H, ps -L, /proc/<pid>/task/<tid>/comm) that run the
// sequences' tasks. Thread-safe: every method may be called from any thread.
class DecodePool {
 public:
  explicit DecodePool(size_t threads = kDecodeThreads,
                      size_t max_queued_bytes = kMaxQueuedDecodeBytes);
  // Drops the tasks not yet run and waits for the running ones.
  ~DecodePool();
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  std::shared_ptr<Sequence> NewSequence();

  // Whether a TryPost of `bytes` would be accepted now. A producer whose input can wait (a
  // paused transfer) asks first, and posts only when there is room.
  bool HasRoomFor(size_t bytes) const;
  // Undecoded bytes queued now; for tests and logs.
  size_t queued_bytes() const;
  // The bound on queued_bytes, for error messages.
  size_t max_queued_bytes() const { return max_queued_bytes_; }

 private:
  friend class Sequence;

  bool Enqueue(Sequence& sequence, size_t bytes, DecodeTask task, bool bounded);
  bool HasRoomForLocked(size_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  const size_t max_queued_bytes_;
  mutable absl::Mutex mu_;
  absl::CondVar wakeup_;
  // Sequences with a task to run and none running.
  std::deque<std::shared_ptr<Sequence>> ready_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Tasks that run in the order they were posted, one at a time, on any of the pool's threads: the
// chunks of one response body, or the results of one list-watch. Thread-safe: Post and TryPost
// may be called from any thread, including from inside one of the sequence's tasks. A task still
// queued keeps the sequence alive; the pool must outlive every call to Post and TryPost.
class Sequence : public std::enable_shared_from_this<Sequence> {
 public:
  // Queues `task`, whose input holds `bytes` undecoded bytes, unless that would take the pool's
  // queued bytes past its bound while something else is queued; false then (the task is
  // dropped). A task alone in the pool is always accepted, however large.
  [[nodiscard]] bool TryPost(size_t bytes, DecodeTask task);
  // Queues `task` regardless of the bound: for what must not be lost and adds nothing to memory
  // (the end of a stream, an answer already read whole).
  void Post(DecodeTask task);

 private:
  friend class DecodePool;
  explicit Sequence(DecodePool& pool) : pool_(pool) {}

  struct Item {
    size_t bytes;
    DecodeTask task;
  };

  DecodePool& pool_;
  std::deque<Item> items_ ABSL_GUARDED_BY(pool_.mu_);
  // In the pool's ready queue, or running: a sequence runs on one thread at a time.
  bool scheduled_ ABSL_GUARDED_BY(pool_.mu_) = false;
};

}  // namespace ma::decode
