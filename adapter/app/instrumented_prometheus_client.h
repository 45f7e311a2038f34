#pragma once

// A prometheus::Client decorator that records the latency and outcome of every call in the
// adapter's metrics.

#include "adapter/prometheus/client.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::app {

// Thread-safe as the client it wraps.
class InstrumentedPrometheusClient final : public prometheus::Client {
 public:
  InstrumentedPrometheusClient(prometheus::Client& inner, telemetry::AdapterMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}

  void Query(std::string promql, std::chrono::system_clock::time_point time,
             prometheus::QueryCallback done) override;
  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override;

 private:
  prometheus::Client& inner_;
  telemetry::AdapterMetrics& metrics_;
};

}  // namespace ma::app
