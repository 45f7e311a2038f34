#pragma once

// A prometheus::Client decorator that records the latency and outcome of every call in the
// adapter's metrics (ours, and prometheus-adapter's histogram for its users' dashboards), and
// logs each call at -v=6.

#include <string>

#include "adapter/async/cancel_slot.h"
#include "adapter/prometheus/client.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::app {

// Thread-safe as the client it wraps.
class InstrumentedPrometheusClient final : public prometheus::Client {
 public:
  // `server` is the --prometheus-url, the `server` label of prometheus-adapter's histogram.
  InstrumentedPrometheusClient(prometheus::Client& inner, telemetry::AdapterMetrics& metrics,
                               std::string server)
      : inner_(inner), metrics_(metrics), server_(std::move(server)) {}

  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override;

 protected:
  // Passes `cancel` and `outcome` on to the wrapped client.
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  prometheus::QueryCallback done, async::CancelSlot* cancel,
                  prometheus::CacheOutcomeSink outcome) override;

 private:
  void Record(std::string_view endpoint, std::string_view argument, const absl::Status& status,
              double seconds);

  prometheus::Client& inner_;
  telemetry::AdapterMetrics& metrics_;
  const std::string server_;
};

}  // namespace ma::app
