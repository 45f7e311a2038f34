#pragma once

// The outbound HTTP layer: the only module that includes curl. The process runs one HttpClient
// (one curl multi handle, one worker thread); the Prometheus client and each Kubernetes API
// client send through a Channel of their own on it, which carries their TLS settings.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ma::outbound {

// Requests accepted but not yet handed to curl. Beyond this, Send fails fast.
inline constexpr size_t kMaxQueuedRequests = 10000;
// Connections kept open to all hosts together (curl's connection cache).
inline constexpr size_t kDefaultMaxConnections = 64;
// Upper bound for a caller-chosen per-request timeout.
inline constexpr std::chrono::milliseconds kMaxRequestTimeout{std::chrono::minutes(10)};
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{std::chrono::seconds(30)};
// TCP + TLS connect is bounded separately so that a dead host fails fast.
inline constexpr std::chrono::milliseconds kMaxConnectTimeout{std::chrono::seconds(10)};
inline constexpr size_t kDefaultMaxResponseBytes = size_t{64} << 20;
// Extra request headers and their total size.
inline constexpr size_t kMaxRequestHeaders = 64;
inline constexpr size_t kMaxRequestHeaderBytes = size_t{64} * 1024;
// How often a paused transfer (OutboundRequest::ready_for_chunk said no) is offered its chunk
// again: short, as the consumer drains in about that time, and only while a transfer is paused.
inline constexpr std::chrono::milliseconds kPausedTransferRetryInterval{2};

struct TlsOptions {
  std::string ca_file;           // PEM bundle; empty: the system trust store
  std::string client_cert_file;  // PEM; needs client_key_file as well
  std::string client_key_file;
  bool insecure_skip_verify = false;
};

// Checks what curl would only find at connect time: the files are readable, and a client
// certificate comes with its key. Every error is kInvalidArgument and names the file.
absl::Status ValidateTlsOptions(const TlsOptions& tls);

struct HttpClientOptions {
  TlsOptions tls;  // for requests that carry no TLS settings of their own
  size_t max_connections = kDefaultMaxConnections;
  std::string user_agent = "metrics-adapter";
};

// Receives a 2xx response body chunk by chunk instead of buffering it (a WATCH stream, a large
// series listing). Called on the worker thread, so it must not block; a non-OK return aborts the
// transfer and becomes the request's result.
using BodyChunkCallback = std::function<absl::Status(std::string_view chunk)>;

struct OutboundRequest {
  std::string method = "GET";  // GET or POST
  std::string url;             // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with POST
  std::chrono::milliseconds timeout = kDefaultRequestTimeout;
  size_t max_response_bytes = kDefaultMaxResponseBytes;  // also bounds a streamed body
  // When set, a 2xx body goes here and OutboundResponse::body stays empty. Other statuses are
  // still buffered, for their error message.
  BodyChunkCallback on_body;
  // With on_body: asked on the worker before each 2xx body chunk goes to on_body. False pauses
  // the transfer: curl keeps the chunk, and the worker asks again every
  // kPausedTransferRetryInterval until true. A consumer that queues chunks for another thread
  // bounds that queue this way instead of failing the transfer; the request's timeout still runs.
  std::function<bool(size_t chunk_bytes)> ready_for_chunk;
  // Trust and identity for https:// URLs; null: HttpClientOptions::tls. curl keeps a connection
  // for reuse only by requests whose TLS settings match the ones it was opened with (CA file,
  // client certificate, verification), so requests with different settings never share one.
  std::shared_ptr<const TlsOptions> tls;
  // Ask for a compressed body (Accept-Encoding: every encoding curl decodes). Worth it for large
  // bodies that may cross a network; for small ones it costs more CPU than it saves: Prometheus
  // gzips every answer it is allowed to, which tripled its CPU per instant query in `make bench`.
  bool accept_compressed = true;
};

struct OutboundResponse {
  long status = 0;  // NOLINT(google-runtime-int): curl's type for the response code
  std::string body;
  std::string content_type;
};

// Completion of one request: a response (any HTTP status) or a transport error:
// kDeadlineExceeded (timeout), kUnavailable (connect/TLS/IO failure, with curl's error text),
// kResourceExhausted (body larger than max_response_bytes, or queue full), kInvalidArgument (bad
// request), kCancelled (the client was destroyed first).
using ResponseCallback = std::function<void(absl::StatusOr<OutboundResponse>)>;

// An HTTP/1.1 client with keep-alive connection reuse: one curl multi handle driven by one worker
// thread that owns it. Thread-safe: Send may be called from any thread, including from inside a
// callback.
class HttpClient {
 public:
  // Validates the TLS files (readable; cert and key given together) and starts the worker.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);

  // Stops the worker; requests still queued or in flight complete with kCancelled (on the worker
  // thread, before the destructor returns). Every Channel on this client must be gone by then.
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Enqueues `request`. `done` is called exactly once, on the worker thread, so it must not block:
  // post the result onward. Only when the queue is full (kMaxQueuedRequests) is `done` called
  // inline with kResourceExhausted.
  void Send(OutboundRequest request, ResponseCallback done);

  // Shutdown: every request queued or in flight, on every channel, completes with kCancelled now
  // (a transfer is taken out of curl at once, its connection closed) instead of running into its
  // timeout, and every later Send is refused with kCancelled. Returns once the cancelled
  // callbacks have run. Idempotent; channels stay open until their owners close them.
  void CancelAll();

 private:
  friend class Channel;
  // Requests sent with HttpClient::Send belong to no channel.
  static constexpr uint64_t kNoChannel = 0;
  // CancelChannelNow's "every channel", for CancelAll.
  static constexpr uint64_t kAllChannels = ~uint64_t{0};

  struct Pending {
    OutboundRequest request;
    ResponseCallback done;
    uint64_t channel = kNoChannel;
  };
  struct Transfer;
  struct CancelRequest;

  HttpClient(HttpClientOptions options, void* multi);
  uint64_t OpenChannel();
  void SendOn(uint64_t channel, OutboundRequest request, ResponseCallback done);
  // Completes the channel's requests with kCancelled and refuses its later ones; returns once no
  // callback of the channel runs or will run.
  void CloseChannel(uint64_t channel);
  void Run();
  // Worker thread: removes the channel's requests (queued or in flight; every channel's for
  // kAllChannels) and cancels them.
  void CancelChannelNow(uint64_t channel);
  void StartTransfer(Pending pending);
  // Offers each paused transfer its held chunk again; true if any is still paused.
  bool ResumeReadyTransfers();
  void FinishTransfer(Transfer* transfer, int curl_code);

  const HttpClientOptions options_;
  void* const multi_;  // CURLM*, touched only by the worker thread (and curl_multi_wakeup)

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_all_ ABSL_GUARDED_BY(mu_) = false;  // CancelAll: refuse every Send
  uint64_t next_channel_ ABSL_GUARDED_BY(mu_) = kNoChannel + 1;
  size_t open_channels_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<uint64_t> closed_channels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<CancelRequest>> cancels_ ABSL_GUARDED_BY(mu_);

  // Worker-thread state.
  std::deque<Pending> batch_;  // taken from queue_, not yet started
  absl::flat_hash_map<Transfer*, std::unique_ptr<Transfer>> transfers_;

  std::thread worker_;
};

// One user's share of the process's HttpClient (the Prometheus client, each Kubernetes API
// client): its TLS settings, put on every request it sends, and the scope in which its requests
// are cancelled together when it goes away, so that none of its callbacks outlives it.
// Thread-safe: Send may be called from any thread, including from inside a callback.
class Channel {
 public:
  // Validates `tls` (ValidateTlsOptions). `client` must outlive the channel.
  static absl::StatusOr<std::unique_ptr<Channel>> Create(HttpClient& client, TlsOptions tls);

  // Requests of this channel still queued or in flight complete with kCancelled before this
  // returns (on the worker thread, or on this one when it is the worker).
  ~Channel();

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // HttpClient::Send with this channel's TLS settings (replacing the request's own).
  void Send(OutboundRequest request, ResponseCallback done);

 private:
  Channel(HttpClient& client, std::shared_ptr<const TlsOptions> tls, uint64_t id);

  HttpClient& client_;
  const std::shared_ptr<const TlsOptions> tls_;
  const uint64_t id_;
};

}  // namespace ma::outbound
