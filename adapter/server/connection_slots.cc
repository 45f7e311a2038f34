#include "adapter/server/connection_slots.h"

#include <string>
#include <utility>

namespace ma::server {

ConnectionSlots::ConnectionSlots(size_t max_connections, size_t max_per_source)
    : max_connections_(max_connections), max_per_source_(max_per_source) {}

ConnectionSlots::Admission ConnectionSlots::Admit(std::string_view source) {
  Admission admission;
  std::string key(source);
  const auto count = per_source_.find(key);
  if (count != per_source_.end() && count->second >= max_per_source_) {
    // A source at its own limit makes room only among its own connections.
    std::optional<Id> own = OldestIdle(source);
    if (!own.has_value()) return admission;
    admission.evicted = Evict(*own);
  } else if (live() >= max_connections_) {
    std::optional<Id> victim = OldestIdleOfLargestSource();
    if (!victim.has_value()) return admission;
    admission.evicted = Evict(*victim);
  }
  admission.id = next_id_++;
  ++per_source_[key];
  slots_.emplace(admission.id, Slot{.source = std::move(key)});
  return admission;
}

void ConnectionSlots::SetIdle(Id id, bool idle) {
  if (auto it = slots_.find(id); it != slots_.end()) it->second.idle = idle;
}

void ConnectionSlots::Release(Id id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  if (it->second.evicting) {
    --evicting_;
  } else if (auto count = per_source_.find(it->second.source); --count->second == 0) {
    per_source_.erase(count);
  }
  slots_.erase(it);
}

std::optional<ConnectionSlots::Id> ConnectionSlots::OldestIdle(std::string_view source) const {
  for (const auto& [id, slot] : slots_) {
    if (slot.idle && !slot.evicting && slot.source == source) return id;
  }
  return std::nullopt;
}

std::optional<ConnectionSlots::Id> ConnectionSlots::OldestIdleOfLargestSource() const {
  // Only runs when every slot is taken, so one pass over them is cheap next to the accept.
  std::optional<Id> victim;
  size_t victim_source_size = 0;
  for (const auto& [id, slot] : slots_) {
    if (!slot.idle || slot.evicting) continue;
    const size_t source_size = per_source_.find(slot.source)->second;
    if (source_size > victim_source_size) {  // strictly: the oldest wins a tie
      victim = id;
      victim_source_size = source_size;
    }
  }
  return victim;
}

ConnectionSlots::Id ConnectionSlots::Evict(Id id) {
  Slot& slot = slots_.at(id);
  slot.evicting = true;
  ++evicting_;
  if (auto count = per_source_.find(slot.source); --count->second == 0) per_source_.erase(count);
  return id;
}

}  // namespace ma::server
