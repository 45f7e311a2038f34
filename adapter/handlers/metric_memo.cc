#include "adapter/handlers/metric_memo.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ma::handlers {
namespace {

// Whether two weak_ptrs name the same object (owner equivalence: exact even once it is freed).
template <typename A, typename B>
bool SameOwner(const A& a, const B& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

// Appends `field` length-prefixed, so that no two different field lists give the same key.
void AppendField(std::string& key, std::string_view field) {
  absl::StrAppend(&key, field.size(), ":");
  key.append(field);
}

}  // namespace

MetricMemo::MetricMemo(size_t max_entries) : max_entries_(max_entries) {}

std::string MetricMemo::Key(const Route& route, const QueryParams& query) {
  std::string key;
  key.reserve(128);
  absl::StrAppend(&key, static_cast<int>(route.kind), ";");
  for (const std::string* field : {&route.group, &route.version, &route.namespace_name,
                                   &route.resource, &route.name, &route.metric}) {
    AppendField(key, *field);
  }
  for (const auto& [name, value] : query) {
    AppendField(key, name);
    AppendField(key, value);
  }
  return key;
}

MetricMemo::Entry* MetricMemo::Find(const std::string& key) {
  const auto found = index_.find(std::string_view(key));
  if (found == index_.end()) {
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, found->second);
  return &lru_.front();
}

MetricMemo::PlanPtr MetricMemo::FindPlan(const std::string& key, const RegistryPtr& registry) {
  absl::MutexLock lock(&mu_);
  const Entry* entry = Find(key);
  if (entry == nullptr || registry == nullptr || !SameOwner(entry->registry, registry)) {
    return nullptr;
  }
  return entry->plan;
}

void MetricMemo::PutPlan(const std::string& key, const RegistryPtr& registry, PlanPtr plan) {
  if (max_entries_ == 0 || registry == nullptr || plan == nullptr) {
    return;
  }
  // The entry's old plan, if any, is released outside the lock.
  PlanPtr old;
  absl::MutexLock lock(&mu_);
  Entry* entry = Find(key);
  if (entry == nullptr) {
    if (lru_.size() >= max_entries_) {
      index_.erase(std::string_view(lru_.back().key));
      lru_.pop_back();
    }
    lru_.push_front(Entry{key, {}, {}, {}, {}});
    entry = &lru_.front();
    index_.emplace(std::string_view(entry->key), lru_.begin());
  }
  entry->registry = registry;
  old = std::exchange(entry->plan, std::move(plan));
  entry->rendered_from.reset();
  entry->body.reset();
}

std::shared_ptr<const std::string> MetricMemo::FindBody(const std::string& key, const PlanPtr& plan,
                                                        const prometheus::QueryResultPtr& value) {
  if (plan == nullptr || value == nullptr) {
    return nullptr;
  }
  absl::MutexLock lock(&mu_);
  const Entry* entry = Find(key);
  // `value` is alive (the caller holds it), so owner equivalence with the weak_ptr is identity.
  if (entry == nullptr || entry->plan != plan || entry->body == nullptr ||
      !SameOwner(entry->rendered_from, value)) {
    return nullptr;
  }
  return entry->body;
}

void MetricMemo::PutBody(const std::string& key, const PlanPtr& plan,
                         const prometheus::QueryResultPtr& value, std::string body) {
  if (plan == nullptr || value == nullptr) {
    return;
  }
  auto shared = std::make_shared<const std::string>(std::move(body));
  absl::MutexLock lock(&mu_);
  Entry* entry = Find(key);
  // A request planned afresh since (a new registry) owns the entry now: keep out of its way.
  if (entry == nullptr || entry->plan != plan) {
    return;
  }
  entry->rendered_from = value;
  // The old body is released outside the lock.
  shared.swap(entry->body);
}

size_t MetricMemo::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace ma::handlers
