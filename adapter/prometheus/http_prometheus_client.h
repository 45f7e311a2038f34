#pragma once

// The production Prometheus client: the HTTP API over a channel of the process's
// outbound::HttpClient.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/async/cancel_slot.h"
#include "adapter/outbound/http_client.h"
#include "adapter/outbound/token_file.h"
#include "adapter/prometheus/api_request.h"
#include "adapter/prometheus/client.h"

namespace ma::prometheus {

// Upper bound for --prometheus-header entries.
inline constexpr size_t kMaxPrometheusHeaders = 32;

// The --prometheus-* flags.
struct PrometheusOptions {
  std::string url;                                           // --prometheus-url
  std::string verb = "GET";                                  // --prometheus-verb: GET or POST
  std::vector<std::pair<std::string, std::string>> headers;  // --prometheus-header, already split
  std::string token_file;                                    // --prometheus-token-file
  outbound::TlsOptions tls;  // --prometheus-ca-file, --prometheus-client-tls-{cert,key}-file
  std::chrono::milliseconds query_timeout{30000};
  std::chrono::milliseconds series_timeout{60000};
};

// Sends /api/v1/query and /api/v1/series requests, decodes the answers, and calls back on the
// HTTP client's worker thread. Thread-safe: Query and Series may be called from any thread.
// Destroying it completes the calls still in flight with kCancelled (its channel closes).
class HttpPrometheusClient final : public Client {
 public:
  // Validates the options; every error is kInvalidArgument and names the flag at fault. `http`
  // is the process's shared client and must outlive this one.
  static absl::StatusOr<std::unique_ptr<HttpPrometheusClient>> Create(outbound::HttpClient& http,
                                                                      PrometheusOptions options);

  void Series(std::string match, std::chrono::system_clock::time_point start,
              SeriesCallback done) override;

 protected:
  // Attaches no canceller: a sent query is answered (the cache, which shares one query among
  // its readers, never passes a slot down).
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  QueryCallback done, async::CancelSlot* cancel, CacheOutcomeSink outcome) override;

 private:
  HttpPrometheusClient(PrometheusOptions options, BaseUrl base,
                       std::unique_ptr<outbound::TokenFile> token,
                       std::unique_ptr<outbound::Channel> http);

  outbound::OutboundRequest MakeRequest(std::string_view endpoint, Params params,
                                        std::chrono::milliseconds timeout, size_t max_bytes);

  const PrometheusOptions options_;
  const BaseUrl base_;
  const std::unique_ptr<outbound::TokenFile> token_;  // null without --prometheus-token-file
  // Last member: destroyed first, so its cancelled callbacks never see a half-destroyed client.
  const std::unique_ptr<outbound::Channel> http_;
};

}  // namespace ma::prometheus
