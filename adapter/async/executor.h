#pragma once

// Where a suspended task resumes. The server's executor is a connection's strand; tests use a
// queue they run by hand. Nothing here knows about Asio.

#include <functional>

namespace ma::async {

// Implementations are thread-safe: Post may be called from any thread. Posted work runs later,
// never inside Post, and one piece at a time. A closed executor (its connection is gone) destroys
// work instead of running it.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Post(std::function<void()> work) = 0;
};

}  // namespace ma::async
