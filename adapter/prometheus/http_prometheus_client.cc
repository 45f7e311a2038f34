#include "adapter/prometheus/http_prometheus_client.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapter/prometheus/response_decoder.h"
#include "adapter/prometheus/series_stream_decoder.h"
#include "adapter/telemetry/log.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::prometheus {
namespace {

constexpr std::string_view kQueryEndpoint = "/api/v1/query";
constexpr std::string_view kSeriesEndpoint = "/api/v1/series";

static_assert(kQueryBodyBudgetBytes >= kMaxQueryResponseBytes,
              "an answer of the largest size must fit the budget");

// A query answer's body as it arrives, its buffer's capacity taken from a ByteBudget. The buffer
// grows geometrically by moving to a new one of exactly the capacity taken, both taken while the
// bytes move. Not thread-safe: the HTTP client's worker thread feeds it, then decodes it.
class BudgetedBody {
 public:
  explicit BudgetedBody(ByteBudget& budget) : budget_(budget) {}
  ~BudgetedBody() { Release(); }
  BudgetedBody(const BudgetedBody&) = delete;
  BudgetedBody& operator=(const BudgetedBody&) = delete;

  absl::Status Append(std::string_view chunk) {
    const size_t needed = body_.size() + chunk.size();
    if (needed > taken_) {
      const size_t want = std::max(needed, std::min(2 * taken_, kMaxQueryResponseBytes));
      if (!budget_.TryTake(want)) {
        const std::string message =
            absl::StrCat("the answer (", needed,
                         " bytes so far) does not fit the memory budget "
                         "for query answers: answers being received or decoded hold ",
                         budget_.in_use(), " of its ", budget_.capacity(), " bytes");
        MA_LOG(WARNING) << "prometheus " << kQueryEndpoint << ": dropped an answer: " << message;
        Release();
        return absl::UnavailableError(message);
      }
      std::string grown;
      grown.reserve(want);
      grown.append(body_);
      body_.swap(grown);
      budget_.Give(taken_);
      taken_ = want;
    }
    body_.append(chunk);
    return absl::OkStatus();
  }

  std::string_view data() const { return body_; }

  // Frees the buffer and gives its bytes back.
  void Release() {
    std::string().swap(body_);
    budget_.Give(taken_);
    taken_ = 0;
  }

 private:
  ByteBudget& budget_;
  std::string body_;
  size_t taken_ = 0;  // what the buffer may hold, taken from the budget
};

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

ByteBudget& QueryBodyBudget() {
  static ByteBudget* const budget = new ByteBudget(kQueryBodyBudgetBytes);
  return *budget;
}

absl::StatusOr<std::unique_ptr<HttpPrometheusClient>> HttpPrometheusClient::Create(
    outbound::HttpClient& http_client, PrometheusOptions options, decode::DecodePool* decode,
    ByteBudget& body_budget) {
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
  return std::unique_ptr<HttpPrometheusClient>(
      new HttpPrometheusClient(std::move(options), *std::move(base), std::move(token), decode,
                               body_budget, *std::move(http)));
}

HttpPrometheusClient::HttpPrometheusClient(PrometheusOptions options, BaseUrl base,
                                           std::unique_ptr<outbound::TokenFile> token,
                                           decode::DecodePool* decode, ByteBudget& body_budget,
                                           std::unique_ptr<outbound::Channel> http)
    : options_(std::move(options)),
      base_(std::move(base)),
      token_(std::move(token)),
      decode_(decode),
      body_budget_(body_budget),
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

namespace {

absl::StatusOr<QueryResultPtr> DecodeQuery(int status, std::string_view body) {
  absl::StatusOr<model::QueryResult> result = DecodeQueryResponse(status, body);
  if (!result.ok()) {
    return WithContext(kQueryEndpoint, result.status());
  }
  return std::make_shared<const model::QueryResult>(*std::move(result));
}

// A series listing decoded on the pool: its chunks in order on one sequence, then its end.
struct PooledSeriesDecode {
  explicit PooledSeriesDecode(decode::DecodePool& pool)
      : sequence(pool.NewSequence()), max_queued_bytes(pool.max_queued_bytes()) {}

  const std::shared_ptr<decode::Sequence> sequence;
  const size_t max_queued_bytes;        // the pool's bound, for the error
  SeriesStreamDecoder decoder;          // on the sequence only
  absl::Status error;                   // the decoder's first error; on the sequence only
  std::atomic<bool> failed{false};      // the same, for the HTTP worker: stop the transfer
  std::atomic<size_t> queued_bytes{0};  // posted and not yet decoded
};

}  // namespace

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
  outbound::OutboundRequest request = MakeRequest(kQueryEndpoint, std::move(params),
                                                  options_.query_timeout, kMaxQueryResponseBytes);
  // Instant-query answers are mostly small: compressing them would cost Prometheus more CPU than
  // their bytes cost the network. Series listings, which can be large, stay compressed.
  request.accept_compressed = false;
  // Both callbacks run on the HTTP client's worker thread, one after the other. A 2xx body
  // arrives into the budgeted buffer; any other is buffered by the HTTP client, for its message.
  // The buffer's bytes stay taken until the answer is decoded, wherever that happens.
  auto body = std::make_shared<BudgetedBody>(body_budget_);
  request.on_body = [body](std::string_view chunk) { return body->Append(chunk); };
  http_->Send(std::move(request), [decode = decode_, body, done = std::move(done)](
                                      absl::StatusOr<outbound::OutboundResponse> response) {
    if (!response.ok()) {
      body->Release();
      done(WithContext(kQueryEndpoint, response.status()));
      return;
    }
    auto answer = std::make_shared<outbound::OutboundResponse>(*std::move(response));
    auto decode_and_release = [answer, body, done] {
      absl::StatusOr<QueryResultPtr> result =
          DecodeQuery(answer->status, answer->status / 100 == 2 ? body->data() : answer->body);
      body->Release();  // before `done`: its caller may send the next query at once
      done(std::move(result));
    };
    const size_t size = answer->status / 100 == 2 ? body->data().size() : answer->body.size();
    if (decode == nullptr || size <= kMaxInlineDecodeBytes) {
      decode_and_release();
      return;
    }
    // The body is in memory already: queued whatever the pool's bound.
    decode->NewSequence()->Post(std::move(decode_and_release));
  });
}

void HttpPrometheusClient::Series(std::string match, std::chrono::system_clock::time_point start,
                                  SeriesCallback done) {
  MA_CHECK(done != nullptr);
  Params params = {{"match[]", std::move(match)}, {"start", FormatTime(start)}};
  outbound::OutboundRequest request = MakeRequest(
      kSeriesEndpoint, std::move(params), options_.series_timeout, kMaxStreamedSeriesResponseBytes);
  if (decode_ != nullptr) {
    SeriesOnPool(std::move(request), std::move(done));
    return;
  }
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

void HttpPrometheusClient::SeriesOnPool(outbound::OutboundRequest request, SeriesCallback done) {
  auto state = std::make_shared<PooledSeriesDecode>(*decode_);
  // A listing can be far larger than the pool's bound (a million series is over 100 MiB) and
  // arrives faster than it is decoded: the transfer waits while kMaxQueuedListingBytes of it, or
  // the pool's bound, wait to be decoded. Every producer posts from the HTTP worker, so the room
  // seen here is still there in on_body.
  request.ready_for_chunk = [decode = decode_, state](size_t bytes) {
    return (state->queued_bytes == 0 || state->queued_bytes + bytes <= kMaxQueuedListingBytes) &&
           decode->HasRoomFor(bytes);
  };
  // On the HTTP worker: only queues the chunk.
  request.on_body = [state](std::string_view chunk) -> absl::Status {
    if (state->failed) {
      return absl::CancelledError("the series listing could not be decoded");
    }
    state->queued_bytes += chunk.size();  // before the task can run and take it off
    const bool queued = state->sequence->TryPost(chunk.size(), [state, chunk = std::string(chunk)] {
      state->queued_bytes -= chunk.size();
      if (!state->error.ok()) {
        return;
      }
      state->error = state->decoder.Feed(chunk);
      state->failed = !state->error.ok();
    });
    if (!queued) {
      state->queued_bytes -= chunk.size();
      return absl::ResourceExhaustedError(Cat("more than ", state->max_queued_bytes,
                                              " bytes of responses are waiting to be decoded"));
    }
    return absl::OkStatus();
  };
  http_->Send(std::move(request), [state, done = std::move(done)](
                                      absl::StatusOr<outbound::OutboundResponse> response) {
    // Queued after the chunks, so they are decoded first.
    state->sequence->Post([state, done,
                           response = std::make_shared<absl::StatusOr<outbound::OutboundResponse>>(
                               std::move(response))] {
      // The decoder's own error says more than the aborted transfer's.
      if (!state->error.ok()) {
        done(WithContext(kSeriesEndpoint, state->error));
        return;
      }
      if (!response->ok()) {
        done(WithContext(kSeriesEndpoint, response->status()));
        return;
      }
      absl::StatusOr<std::vector<model::Series>> result =
          (*response)->status / 100 == 2
              ? state->decoder.Finish()
              : DecodeSeriesResponse((*response)->status, (*response)->body);
      if (!result.ok()) {
        done(WithContext(kSeriesEndpoint, result.status()));
        return;
      }
      done(std::move(result));
    });
  });
}

}  // namespace ma::prometheus
