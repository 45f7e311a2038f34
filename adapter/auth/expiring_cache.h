#pragma once

// A bounded map whose entries expire: the token and SubjectAccessReview caches. When full, the
// least recently used entry makes room, so a flood of distinct keys cannot grow memory.

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "queries/base/clock.h"

namespace ma::auth {

// Thread-safe: every method takes an internal lock.
template <typename Value>
class ExpiringCache {
 public:
  ExpiringCache(size_t max_entries, const Clock& clock)
      : max_entries_(max_entries), clock_(clock) {}
  ExpiringCache(const ExpiringCache&) = delete;
  ExpiringCache& operator=(const ExpiringCache&) = delete;

  // The value stored under `key` if it has not expired.
  std::optional<Value> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    if (clock_.Now() >= it->second.expiry) {
      recency_.erase(it->second.position);
      entries_.erase(it);
      return std::nullopt;
    }
    recency_.splice(recency_.begin(), recency_, it->second.position);
    return it->second.value;
  }

  // Stores `value` for `ttl`; a ttl of zero or less stores nothing.
  void Put(const std::string& key, Value value, std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds(0) || max_entries_ == 0) {
      return;
    }
    absl::MutexLock lock(&mu_);
    const auto expiry = clock_.Now() + ttl;
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second.value = std::move(value);
      it->second.expiry = expiry;
      recency_.splice(recency_.begin(), recency_, it->second.position);
      return;
    }
    while (entries_.size() >= max_entries_) {
      entries_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    entries_.emplace(key, Entry{std::move(value), expiry, recency_.begin()});
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Value value;
    std::chrono::system_clock::time_point expiry;
    std::list<std::string>::iterator position;
  };

  const size_t max_entries_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::list<std::string> recency_ ABSL_GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::auth
