#include "adapter/decode/decode_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace ma::decode {
namespace {

// The name top -H, ps -L and /proc/<pid>/task/<tid>/comm show (at most 15 bytes).
constexpr char kThreadName[] = "ma-decode";

}  // namespace

bool Sequence::TryPost(size_t bytes, DecodeTask task) {
  return pool_.Enqueue(*this, bytes, std::move(task), /*bounded=*/true);
}

void Sequence::Post(DecodeTask task) {
  (void)pool_.Enqueue(*this, 0, std::move(task), /*bounded=*/false);
}

DecodePool::DecodePool(size_t threads, size_t max_queued_bytes)
    : max_queued_bytes_(max_queued_bytes) {
  threads_.reserve(std::max<size_t>(threads, 1));
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { Run(); });
    // Named here rather than by the thread itself, so the name is there once the pool is.
    pthread_setname_np(threads_.back().native_handle(), kThreadName);
  }
}

DecodePool::~DecodePool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wakeup_.SignalAll();
  for (std::thread& thread : threads_) {
    thread.join();
  }
  // The dropped tasks' captures (often the sequence itself) die outside the lock.
  std::vector<Sequence::Item> dropped;
  std::deque<std::shared_ptr<Sequence>> sequences;
  {
    absl::MutexLock lock(&mu_);
    sequences.swap(ready_);
    for (const std::shared_ptr<Sequence>& sequence : sequences) {
      sequence->pool_.mu_.AssertHeld();  // it is mu_
      for (Sequence::Item& item : sequence->items_) {
        dropped.push_back(std::move(item));
      }
      sequence->items_.clear();
      sequence->scheduled_ = false;
    }
  }
}

std::shared_ptr<Sequence> DecodePool::NewSequence() {
  return std::shared_ptr<Sequence>(new Sequence(*this));
}

bool DecodePool::HasRoomFor(size_t bytes) const {
  absl::MutexLock lock(&mu_);
  return HasRoomForLocked(bytes);
}

bool DecodePool::HasRoomForLocked(size_t bytes) const {
  return queued_tasks_ == 0 || queued_bytes_ + bytes <= max_queued_bytes_;
}

size_t DecodePool::queued_bytes() const {
  absl::MutexLock lock(&mu_);
  return queued_bytes_;
}

bool DecodePool::Enqueue(Sequence& sequence, size_t bytes, DecodeTask task, bool bounded) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return false;
    }
    if (bounded && !HasRoomForLocked(bytes)) {
      return false;
    }
    queued_bytes_ += bytes;
    ++queued_tasks_;
    sequence.pool_.mu_.AssertHeld();  // it is mu_: every sequence belongs to this pool
    sequence.items_.push_back(Sequence::Item{bytes, std::move(task)});
    if (sequence.scheduled_) {
      return true;  // it runs on after its current task
    }
    sequence.scheduled_ = true;
    ready_.push_back(sequence.shared_from_this());
  }
  wakeup_.Signal();
  return true;
}

void DecodePool::Run() {
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && ready_.empty()) {
      wakeup_.Wait(&mu_);
    }
    if (stopping_) {
      return;
    }
    std::shared_ptr<Sequence> sequence = std::move(ready_.front());
    ready_.pop_front();
    sequence->pool_.mu_.AssertHeld();  // it is mu_
    Sequence::Item item = std::move(sequence->items_.front());
    sequence->items_.pop_front();
    mu_.Unlock();
    item.task();
    item.task = nullptr;  // its captures die outside the lock too
    mu_.Lock();
    queued_bytes_ -= item.bytes;
    --queued_tasks_;
    if (sequence->items_.empty()) {
      sequence->scheduled_ = false;
    } else {
      // To the back: a long body does not starve the other sequences.
      ready_.push_back(std::move(sequence));
      wakeup_.Signal();
    }
    if (stopping_) {
      return;
    }
  }
}

}  // namespace ma::decode
