#pragma once

// Who gets one of the server's connection slots. A slot is taken at accept, before the TLS
// handshake, so any client that can open TCP connections could otherwise fill every slot with
// idle ones and lock the aggregator out. The policy: a source address holds at most
// max_per_source slots, and when slots run short the connection that gives way is an idle one
// (handshaking, or waiting for its next request) of the source holding the most, oldest first.
// A connection with a request in progress is never taken.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"

namespace ma::server {

// Not thread-safe: the server calls it under its own lock.
class ConnectionSlots {
 public:
  // Ids grow with accept order, so a smaller id is an older connection. 0 is never an id.
  using Id = uint64_t;

  struct Admission {
    Id id = 0;                  // 0: refused (every slot it could take is busy)
    std::optional<Id> evicted;  // the idle connection that must close to make room
  };

  ConnectionSlots(size_t max_connections, size_t max_per_source);

  // A new connection from `source` starts idle. An admission that evicts counts the evicted
  // connection until Release(): the total may run over max_connections by the evictions not yet
  // finished, never by more.
  Admission Admit(std::string_view source);
  // Busy (a request is being read, handled or written) or idle; only idle ones can be evicted.
  void SetIdle(Id id, bool idle);
  void Release(Id id);

  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    std::string source;
    bool idle = true;
    bool evicting = false;
  };
  // Connections that hold a slot and are not being evicted.
  size_t live() const { return slots_.size() - evicting_; }
  std::optional<Id> OldestIdle(std::string_view source) const;
  std::optional<Id> OldestIdleOfLargestSource() const;
  Id Evict(Id id);

  const size_t max_connections_;
  const size_t max_per_source_;
  Id next_id_ = 1;
  size_t evicting_ = 0;
  absl::btree_map<Id, Slot> slots_;                      // in accept order
  absl::flat_hash_map<std::string, size_t> per_source_;  // live slots per source
};

}  // namespace ma::server
