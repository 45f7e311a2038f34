#include "adapter/app/instrumented_prometheus_client.h"

namespace ma::app {
namespace {

std::string_view Outcome(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kInvalidArgument:
      return "bad_data";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    default:
      return "error";
  }
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void InstrumentedPrometheusClient::StartQuery(std::string promql,
                                              std::chrono::system_clock::time_point time,
                                              prometheus::QueryCallback done,
                                              async::CancelSlot* cancel) {
  const auto start = std::chrono::steady_clock::now();
  inner_.Query(
      std::move(promql), time,
      [this, start, done = std::move(done)](absl::StatusOr<prometheus::QueryResultPtr> result) {
        metrics_.RecordPrometheusCall("query", Outcome(result.status()), SecondsSince(start));
        done(std::move(result));
      },
      cancel);
}

void InstrumentedPrometheusClient::Series(std::string match,
                                          std::chrono::system_clock::time_point start_time,
                                          prometheus::SeriesCallback done) {
  const auto start = std::chrono::steady_clock::now();
  inner_.Series(
      std::move(match), start_time,
      [this, start, done = std::move(done)](absl::StatusOr<std::vector<model::Series>> result) {
        metrics_.RecordPrometheusCall("series", Outcome(result.status()), SecondsSince(start));
        done(std::move(result));
      });
}

}  // namespace ma::app
