#pragma once

// A prometheus::Client decorator that records the latency and outcome of every call in the
// adapter's metrics.

#include "adapter/async/cancel_slot.h"
#include "adapter/prometheus/client.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::app {

// Thread-safe as the client it wraps.
class InstrumentedPrometheusClient final : public prometheus::Client {
 public:
  InstrumentedPrometheusClient(prometheus::Client& inner, telemetry::AdapterMetrics& metrics)
      : inner_(inner), metrics_(metrics) {}

  void Series(std::string match, std::chrono::system_clock::time_point start,
              prometheus::SeriesCallback done) override;

 protected:
  // Passes `cancel` on to the wrapped client.
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  prometheus::QueryCallback done, async::CancelSlot* cancel) override;

 private:
  prometheus::Client& inner_;
  telemetry::AdapterMetrics& metrics_;
};

}  // namespace ma::app
