#pragma once

// Many instant queries for one request (metrics.k8s.io sends a CPU and a memory query per
// namespace), sent with at most a fixed number in flight, their answers gathered in order.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/async/await.h"
#include "adapter/prometheus/client.h"

namespace ma::handlers {

using QueryAnswers = std::vector<absl::StatusOr<prometheus::QueryResultPtr>>;

// Sends `queries` (evaluated at `time`) through `prometheus`, at most `max_in_flight` (> 0) at a
// time, each answer letting the next query go, and calls `done` exactly once, with one answer per
// query in the same order, when the last answer is in. Answers may come inline or on any thread;
// an inline answer never nests a further call. No queries: `done` is called at once. A cache
// reports to `outcome` how it answered each query (Client::Query).
void SendQueries(prometheus::Client& prometheus, std::chrono::system_clock::time_point time,
                 std::vector<std::string> queries, size_t max_in_flight,
                 async::Completion<QueryAnswers> done,
                 prometheus::CacheOutcomeSink outcome = nullptr);

}  // namespace ma::handlers
