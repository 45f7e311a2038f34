#include "adapter/app/instrumented_prometheus_client.h"

#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

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

// prometheus-adapter records a call only when Prometheus answered it (success or an API error),
// not when the request never got an answer.
bool PrometheusAnswered(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return false;
    default:
      return true;
  }
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void InstrumentedPrometheusClient::Record(std::string_view endpoint, std::string_view argument,
                                          const absl::Status& status, double seconds) {
  const std::string_view outcome = Outcome(status);
  metrics_.RecordPrometheusCall(endpoint, outcome, seconds);
  const std::string path = Cat("/api/v1/", endpoint);
  if (PrometheusAnswered(status)) {
    metrics_.RecordPrometheusAdapterCall(path, server_, seconds);
  }
  MA_VLOG(6) << "Prometheus " << path << " " << GoQuote(argument) << ": " << outcome << " in "
             << seconds << "s";
}

void InstrumentedPrometheusClient::StartQuery(std::string promql,
                                              std::chrono::system_clock::time_point time,
                                              prometheus::QueryCallback done,
                                              async::CancelSlot* cancel,
                                              prometheus::CacheOutcomeSink outcome) {
  const auto start = std::chrono::steady_clock::now();
  // The PromQL is kept for the -v=6 line only when that line is written.
  std::string logged = telemetry::VLogIsOn(6, __FILE__) ? promql : std::string();
  inner_.Query(
      std::move(promql), time,
      [this, start, logged = std::move(logged),
       done = std::move(done)](absl::StatusOr<prometheus::QueryResultPtr> result) {
        Record("query", logged, result.status(), SecondsSince(start));
        done(std::move(result));
      },
      cancel, std::move(outcome));
}

void InstrumentedPrometheusClient::Series(std::string match,
                                          std::chrono::system_clock::time_point start_time,
                                          prometheus::SeriesCallback done) {
  const auto start = std::chrono::steady_clock::now();
  std::string logged = telemetry::VLogIsOn(6, __FILE__) ? match : std::string();
  inner_.Series(std::move(match), start_time,
                [this, start, logged = std::move(logged),
                 done = std::move(done)](absl::StatusOr<std::vector<model::Series>> result) {
                  Record("series", logged, result.status(), SecondsSince(start));
                  done(std::move(result));
                });
}

}  // namespace ma::app
