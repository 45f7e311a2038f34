#include "adapter/cache/bulkhead.h"

#include <utility>

#include "queries/base/strings.h"

namespace ma::cache {
namespace {

// The bulkhead whose Drain loop runs on this thread, if any.
thread_local const Bulkhead* draining = nullptr;

}  // namespace

absl::Status Bulkhead::Submit(Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (in_flight_ >= options_.max_concurrency || !queue_.empty()) {
      if (queue_.size() >= static_cast<size_t>(options_.max_queue)) {
        metrics_.RecordBackendRejected(backend_);
        return absl::UnavailableError(
            Cat("backend ", backend_, " is overloaded: ", in_flight_, " queries in flight and ",
                queue_.size(), " queued (--backend-max-concurrency, --backend-max-queue)"));
      }
      queue_.push_back(std::move(task));
      PublishLoad();
      return absl::OkStatus();
    }
    ++in_flight_;
    PublishLoad();
  }
  task(MakeRelease());
  return absl::OkStatus();
}

int Bulkhead::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

size_t Bulkhead::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

Bulkhead::Release Bulkhead::MakeRelease() {
  return [this] { ReleaseSlot(); };
}

void Bulkhead::ReleaseSlot() {
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    PublishLoad();
  }
  Drain();
}

void Bulkhead::Drain() {
  if (draining == this) {
    return;
  }
  const Bulkhead* const outer = draining;
  draining = this;
  while (true) {
    Task next;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty() || in_flight_ >= options_.max_concurrency) {
        break;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
      PublishLoad();
    }
    next(MakeRelease());
  }
  draining = outer;
}

void Bulkhead::PublishLoad() {
  metrics_.SetBackendLoad(backend_, in_flight_, static_cast<double>(queue_.size()));
}

}  // namespace ma::cache
