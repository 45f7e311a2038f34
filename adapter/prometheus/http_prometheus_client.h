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
#include "adapter/decode/decode_pool.h"
#include "adapter/outbound/http_client.h"
#include "adapter/outbound/token_file.h"
#include "adapter/prometheus/api_request.h"
#include "adapter/prometheus/byte_budget.h"
#include "adapter/prometheus/client.h"

namespace ma::prometheus {

// Upper bound for --prometheus-header entries.
inline constexpr size_t kMaxPrometheusHeaders = 32;
// A query answer up to this size is decoded on the HTTP client's worker thread (a hop would cost
// more than the decoding); a larger one goes to the decode pool.
inline constexpr size_t kMaxInlineDecodeBytes = size_t{256} << 10;
// Undecoded bytes of one series listing queued on the decode pool; beyond this its transfer waits.
// A few milliseconds of decoding: enough to keep a decode thread busy, and it keeps the memory of
// a relist of a million series near the decoded result rather than the whole answer.
inline constexpr size_t kMaxQueuedListingBytes = size_t{4} << 20;

// The bytes of query answers held at once while they arrive and are decoded, by every client of
// the process together: one answer of the largest size (kMaxQueryResponseBytes) and half as much
// again. Each answer's buffer is taken from it as it grows; an answer that does not fit fails at
// once with kUnavailable (503; the cache serves its stale value if it has one) and a log line,
// and its transfer is dropped. A buffer's bytes stay taken until its answer is decoded. On top:
// the trees of the answers being decoded, about twice their size each: one on the HTTP client's
// worker thread (answers up to kMaxInlineDecodeBytes) and one per decode-pool thread.
inline constexpr size_t kQueryBodyBudgetBytes = size_t{96} << 20;

// The process's budget of kQueryBodyBudgetBytes.
ByteBudget& QueryBodyBudget();

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

// Sends /api/v1/query and /api/v1/series requests, decodes the answers, and calls back: on the
// HTTP client's worker thread, or, with a decode pool, on a pool thread for a series listing
// (its chunks are decoded there as they arrive, in order) and for a query answer larger than
// kMaxInlineDecodeBytes. Thread-safe: Query and Series may be called from any thread.
// Destroying it completes the calls still in flight with kCancelled (its channel closes).
class HttpPrometheusClient final : public Client {
 public:
  // Validates the options; every error is kInvalidArgument and names the flag at fault. `http`
  // is the process's shared client and must outlive this one; so must `decode` (null: decode
  // everything on the HTTP worker), until the last callback has run. `body_budget` bounds the
  // answers held at once and must outlive this one too.
  static absl::StatusOr<std::unique_ptr<HttpPrometheusClient>> Create(
      outbound::HttpClient& http, PrometheusOptions options, decode::DecodePool* decode = nullptr,
      ByteBudget& body_budget = QueryBodyBudget());

  void Series(std::string match, std::chrono::system_clock::time_point start,
              SeriesCallback done) override;

 protected:
  // Attaches no canceller: a sent query is answered (the cache, which shares one query among
  // its readers, never passes a slot down).
  void StartQuery(std::string promql, std::chrono::system_clock::time_point time,
                  QueryCallback done, async::CancelSlot* cancel, CacheOutcomeSink outcome) override;

 private:
  HttpPrometheusClient(PrometheusOptions options, BaseUrl base,
                       std::unique_ptr<outbound::TokenFile> token, decode::DecodePool* decode,
                       ByteBudget& body_budget, std::unique_ptr<outbound::Channel> http);

  // Series with decode_: the chunks are decoded on the pool as they arrive.
  void SeriesOnPool(outbound::OutboundRequest request, SeriesCallback done);

  outbound::OutboundRequest MakeRequest(std::string_view endpoint, Params params,
                                        std::chrono::milliseconds timeout, size_t max_bytes);

  const PrometheusOptions options_;
  const BaseUrl base_;
  const std::unique_ptr<outbound::TokenFile> token_;  // null without --prometheus-token-file
  decode::DecodePool* const decode_;                  // null: decode on the HTTP worker
  ByteBudget& body_budget_;
  // Last member: destroyed first, so its cancelled callbacks never see a half-destroyed client.
  const std::unique_ptr<outbound::Channel> http_;
};

}  // namespace ma::prometheus
