#include "adapter/prometheus/http_prometheus_client.h"

#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapter/prometheus/response_decoder.h"
#include "adapter/prometheus/series_stream_decoder.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::prometheus {
namespace {

constexpr std::string_view kQueryEndpoint = "/api/v1/query";
constexpr std::string_view kSeriesEndpoint = "/api/v1/series";

bool IsHeaderNameChar(unsigned char c) {
  // RFC 9110 token characters.
  return absl::ascii_isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

absl::Status ValidateHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  if (headers.size() > kMaxPrometheusHeaders) {
    return absl::InvalidArgumentError(
        absl::StrCat("--prometheus-header: at most ", kMaxPrometheusHeaders, " headers"));
  }
  for (const auto& [name, value] : headers) {
    bool ok = !name.empty();
    for (const char c : name) {
      ok = ok && IsHeaderNameChar(static_cast<unsigned char>(c));
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("--prometheus-header ", GoQuote(name), ": not a valid HTTP header name"));
    }
    for (const char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return absl::InvalidArgumentError(absl::StrCat("--prometheus-header ", GoQuote(name),
                                                       ": the value contains a line break or NUL"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status WithContext(std::string_view endpoint, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("prometheus ", ToAbsl(endpoint), ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpPrometheusClient>> HttpPrometheusClient::Create(
    outbound::HttpClient& http_client, PrometheusOptions options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError("--prometheus-url is required");
  }
  absl::StatusOr<BaseUrl> base = ParseBaseUrl(options.url);
  if (!base.ok()) {
    return base.status();
  }
  if (options.verb != "GET" && options.verb != "POST") {
    return absl::InvalidArgumentError(
        absl::StrCat("--prometheus-verb ", GoQuote(options.verb), ": must be GET or POST"));
  }
  if (absl::Status s = ValidateHeaders(options.headers); !s.ok()) {
    return s;
  }
  for (const auto timeout : {options.query_timeout, options.series_timeout}) {
    if (timeout <= std::chrono::milliseconds::zero() || timeout > outbound::kMaxRequestTimeout) {
      return absl::InvalidArgumentError(absl::StrCat("Prometheus request timeouts must be in (0, ",
                                                     outbound::kMaxRequestTimeout.count(), "ms]"));
    }
  }
  std::unique_ptr<outbound::TokenFile> token;
  if (!options.token_file.empty()) {
    absl::StatusOr<std::unique_ptr<outbound::TokenFile>> read =
        outbound::TokenFile::Create(options.token_file, "--prometheus-token-file");
    if (!read.ok()) {
      return read.status();
    }
    token = *std::move(read);
  }
  // Name the flag, which the HTTP layer cannot know.
  const outbound::TlsOptions& tls = options.tls;
  if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--prometheus-client-tls-cert-file and --prometheus-client-tls-key-file must be given "
        "together");
  }
  absl::StatusOr<std::unique_ptr<outbound::Channel>> http =
      outbound::Channel::Create(http_client, tls);
  if (!http.ok()) {
    const std::string_view message = ToStd(http.status().message());
    std::string flag = "--prometheus-ca-file";
    if (message.find("client certificate") != std::string_view::npos) {
      flag = "--prometheus-client-tls-cert-file";
    } else if (message.find("client key") != std::string_view::npos) {
      flag = "--prometheus-client-tls-key-file";
    }
    return absl::Status(http.status().code(), absl::StrCat(flag, ": ", http.status().message()));
  }
  return std::unique_ptr<HttpPrometheusClient>(new HttpPrometheusClient(
      std::move(options), *std::move(base), std::move(token), *std::move(http)));
}

HttpPrometheusClient::HttpPrometheusClient(PrometheusOptions options, BaseUrl base,
                                           std::unique_ptr<outbound::TokenFile> token,
                                           std::unique_ptr<outbound::Channel> http)
    : options_(std::move(options)),
      base_(std::move(base)),
      token_(std::move(token)),
      http_(std::move(http)) {}

outbound::OutboundRequest HttpPrometheusClient::MakeRequest(std::string_view endpoint,
                                                            Params params,
                                                            std::chrono::milliseconds timeout,
                                                            size_t max_bytes) {
  ApiRequest api = BuildApiRequest(base_, endpoint, std::move(params), options_.verb == "POST");
  outbound::OutboundRequest request;
  request.method = std::move(api.method);
  request.url = std::move(api.url);
  request.body = std::move(api.body);
  request.timeout = timeout;
  request.max_response_bytes = max_bytes;
  request.headers = options_.headers;
  request.headers.emplace_back("Accept", "application/json");
  if (request.method == "POST") {
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }
  if (token_ != nullptr) {
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", token_->Token()));
  }
  return request;
}

void HttpPrometheusClient::StartQuery(std::string promql,
                                      std::chrono::system_clock::time_point time,
                                      QueryCallback done, async::CancelSlot* /*cancel*/,
                                      CacheOutcomeSink /*outcome: no cache here*/) {
  MA_CHECK(done != nullptr);
  // The timeout parameter lets Prometheus give up when we do (prometheus-adapter sends an empty
  // one, which Prometheus ignores).
  Params params = {{"query", std::move(promql)},
                   {"time", FormatTime(time)},
                   {"timeout", FormatTimeout(options_.query_timeout)}};
  http_->Send(MakeRequest(kQueryEndpoint, std::move(params), options_.query_timeout,
                          kMaxQueryResponseBytes),
              [done = std::move(done)](absl::StatusOr<outbound::OutboundResponse> response) {
                if (!response.ok()) {
                  done(WithContext(kQueryEndpoint, response.status()));
                  return;
                }
                absl::StatusOr<model::QueryResult> result =
                    DecodeQueryResponse(response->status, response->body);
                if (!result.ok()) {
                  done(WithContext(kQueryEndpoint, result.status()));
                  return;
                }
                done(std::make_shared<const model::QueryResult>(*std::move(result)));
              });
}

void HttpPrometheusClient::Series(std::string match, std::chrono::system_clock::time_point start,
                                  SeriesCallback done) {
  MA_CHECK(done != nullptr);
  Params params = {{"match[]", std::move(match)}, {"start", FormatTime(start)}};
  outbound::OutboundRequest request = MakeRequest(
      kSeriesEndpoint, std::move(params), options_.series_timeout, kMaxStreamedSeriesResponseBytes);
  // Both callbacks run on the HTTP client's worker thread, one after the other.
  auto decoder = std::make_shared<SeriesStreamDecoder>();
  request.on_body = [decoder](std::string_view chunk) { return decoder->Feed(chunk); };
  http_->Send(std::move(request), [decoder, done = std::move(done)](
                                      absl::StatusOr<outbound::OutboundResponse> response) {
    if (!response.ok()) {
      done(WithContext(kSeriesEndpoint, response.status()));
      return;
    }
    // Only a 2xx body is streamed; any other is buffered, and its envelope says what went wrong.
    absl::StatusOr<std::vector<model::Series>> result =
        response->status / 100 == 2 ? decoder->Finish()
                                    : DecodeSeriesResponse(response->status, response->body);
    if (!result.ok()) {
      done(WithContext(kSeriesEndpoint, result.status()));
      return;
    }
    done(std::move(result));
  });
}

}  // namespace ma::prometheus
