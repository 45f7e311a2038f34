#pragma once

// The one fake Prometheus for tests, keyed like prometheus-adapter's fake client: an instant
// query is answered by the result scripted for its exact PromQL, a series listing by the one
// scripted for its exact match[] selector. Unscripted requests get a default answer, and the
// test may hold instant queries to answer them later (single flight, refresh-ahead). Every
// request is recorded.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/prometheus/client.h"
#include "queries/model/query_result.h"
#include "queries/model/series.h"

namespace ma::testing {

// A scripted answer is held as one shared result: every query it answers gets the same pointer
// until the script changes, as readers of a cached key do (prometheus::QueryResultPtr).
// Thread-safe: scripts, held queries and the log are guarded by one mutex; callbacks run
// outside it, on the calling thread (or on the thread that calls Release).
class FakePrometheusClient final : public prometheus::Client {
 public:
  using QueryAnswer = absl::StatusOr<model::QueryResult>;
  using SeriesAnswer = absl::StatusOr<std::vector<model::Series>>;

  void SetQueryAnswer(std::string promql, QueryAnswer answer);
  // The answer to instant queries without a script; kUnavailable unless set.
  void SetDefaultQueryAnswer(QueryAnswer answer);
  void SetSeriesAnswer(std::string match, SeriesAnswer answer);
  // The answer to series listings without a script; kUnavailable unless set.
  void SetDefaultSeriesAnswer(SeriesAnswer answer);

  // From now on, instant queries without a script wait until Release. A held query's caller may
  // take it back through its CancelSlot: it is then forgotten (counted by withdrawn()).
  void Hold();
  // Stops holding, makes `answer` the default and answers every held query with it.
  void Release(const QueryAnswer& answer);
  // Held queries not answered yet, and held queries their callers took back.
  int pending() const;
  int withdrawn() const;

  // The instant queries sent so far, in order.
  std::vector<std::string> queries() const;
  // How many instant queries were sent for `promql`, and in all.
  int calls(const std::string& promql) const;
  int total_calls() const;
  // The series listings sent so far: their selectors in order, and the last one's start.
  std::vector<std::string> series_matches() const;
  int series_calls() const;
  std::chrono::system_clock::time_point last_series_start() const;

  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override;

 protected:
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  prometheus::QueryCallback done, async::CancelSlot* cancel,
                  prometheus::CacheOutcomeSink outcome) override;

 private:
  mutable absl::Mutex mu_;
  using SharedAnswer = absl::StatusOr<prometheus::QueryResultPtr>;
  static SharedAnswer Share(QueryAnswer answer);
  void Withdraw(int id);

  std::map<std::string, SharedAnswer> query_answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SeriesAnswer> series_answers_ ABSL_GUARDED_BY(mu_);
  SharedAnswer default_query_answer_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("no answer scripted for this query");
  SeriesAnswer default_series_answer_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("no answer scripted for this series listing");
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int, prometheus::QueryCallback> held_ ABSL_GUARDED_BY(mu_);  // by arrival
  int next_held_ ABSL_GUARDED_BY(mu_) = 0;
  int withdrawn_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> queries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> series_matches_ ABSL_GUARDED_BY(mu_);
  std::chrono::system_clock::time_point last_series_start_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::testing
