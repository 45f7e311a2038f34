#include "adapter/cache/bulkhead.h"

#include <utility>

#include "queries/base/strings.h"

namespace ma::cache {
namespace {

// The bulkhead whose Drain loop runs on this thread, if any.
thread_local const Bulkhead* draining = nullptr;

}  // namespace

absl::StatusOr<Bulkhead::Ticket> Bulkhead::Submit(Task task) {
  Ticket ticket = 0;
  {
    absl::MutexLock lock(&mu_);
    if (in_flight_ >= options_.max_concurrency || !queue_.empty()) {
      if (queue_.size() >= static_cast<size_t>(options_.max_queue)) {
        metrics_.RecordBackendRejected(backend_);
        return absl::UnavailableError(
            Cat("backend ", backend_, " is overloaded: ", in_flight_, " queries in flight and ",
                queue_.size(), " queued (--backend-max-concurrency, --backend-max-queue)"));
      }
      ticket = next_ticket_++;
      queue_.emplace(ticket, std::move(task));
      PublishLoad();
      return ticket;
    }
    ticket = next_ticket_++;
    ++in_flight_;
    PublishLoad();
  }
  task(MakeRelease());
  return ticket;
}

bool Bulkhead::Withdraw(Ticket ticket) {
  Task dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  const auto it = queue_.find(ticket);
  if (it == queue_.end()) {
    return false;
  }
  dropped = std::move(it->second);
  queue_.erase(it);
  PublishLoad();
  return true;
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
      next = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
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
