#include "adapter/outbound/http_client.h"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::outbound {
namespace {

// The worker's name in top -H, ps -L and /proc/<pid>/task/<tid>/comm (at most 15 bytes).
constexpr char kWorkerThreadName[] = "ma-outbound";

// How long the worker sleeps in curl_multi_poll when nothing happens; curl shortens it by
// itself when a transfer timer is due, and Send wakes it early.
constexpr int kPollIntervalMs = 1000;

CURLcode GlobalInit() {
  // curl_global_init is not reentrant; a function-local static runs it once per process.
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

CURLM* Multi(void* multi) { return static_cast<CURLM*>(multi); }

absl::Status CheckReadable(const std::string& path, std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", ToAbsl(what), " \"", path, "\""));
  }
  std::fclose(f);
  return absl::OkStatus();
}

// "GET https://host/path" without the query string and without user info, for error messages.
std::string Describe(const OutboundRequest& request) {
  std::string_view url = request.url;
  url = url.substr(0, url.find_first_of("?#"));
  std::string out = absl::StrCat(request.method, " ");
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const size_t authority_start = scheme_end + 3;
    const size_t path_start = url.find('/', authority_start);
    const std::string_view authority = url.substr(authority_start, path_start - authority_start);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      absl::StrAppend(&out, ToAbsl(url.substr(0, authority_start)),
                      ToAbsl(authority.substr(at + 1)),
                      path_start == std::string_view::npos ? "" : ToAbsl(url.substr(path_start)));
      return out;
    }
  }
  absl::StrAppend(&out, ToAbsl(url));
  return out;
}

bool HasControlBytes(std::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return true;
    }
  }
  return false;
}

absl::Status ValidateRequest(const OutboundRequest& request) {
  if (request.method != "GET" && request.method != "POST") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported HTTP method \"", request.method, "\": use GET or POST"));
  }
  const std::string_view url = request.url;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return absl::InvalidArgumentError("request URL must start with http:// or https://");
  }
  if (HasControlBytes(url)) {
    return absl::InvalidArgumentError("request URL contains control characters");
  }
  if (request.timeout <= std::chrono::milliseconds::zero() ||
      request.timeout > kMaxRequestTimeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("request timeout must be in (0, ", kMaxRequestTimeout.count(), "ms]"));
  }
  if (request.tls != nullptr &&
      request.tls->client_cert_file.empty() != request.tls->client_key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate and its key must be given together");
  }
  if (request.headers.size() > kMaxRequestHeaders) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many request headers (limit ", kMaxRequestHeaders, ")"));
  }
  size_t header_bytes = 0;
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || name.find(':') != std::string::npos || HasControlBytes(name) ||
        HasControlBytes(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid request header \"", name, "\": names must be non-empty without ",
                       "':', and names and values must not contain CR, LF or NUL"));
    }
    header_bytes += name.size() + value.size();
  }
  if (header_bytes > kMaxRequestHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("request headers exceed ", kMaxRequestHeaderBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// Receives the response body; returning less than offered makes curl abort the transfer, which
// is how an oversized body is cut off without buffering it.
struct BodySink {
  CURL* easy = nullptr;
  std::string body;
  size_t limit = 0;
  size_t received = 0;
  bool too_large = false;
  const BodyChunkCallback* on_body = nullptr;  // streaming requested
  const std::function<bool(size_t)>* ready_for_chunk = nullptr;
  bool paused = false;  // the last chunk was refused; curl holds it until the transfer resumes
  absl::Status aborted_by_consumer;
};

bool IsSuccess(CURL* easy) {
  long status = 0;  // NOLINT(google-runtime-int): curl's type
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return status >= 200 && status < 300;
}

size_t WriteBody(char* data, size_t size, size_t count, void* user_data) {
  auto* sink = static_cast<BodySink*>(user_data);
  const size_t n = size * count;
  const bool streaming = sink->on_body != nullptr && *sink->on_body && IsSuccess(sink->easy);
  if (streaming && sink->ready_for_chunk != nullptr && *sink->ready_for_chunk &&
      !(*sink->ready_for_chunk)(n)) {
    sink->paused = true;
    return CURL_WRITEFUNC_PAUSE;  // nothing taken: curl offers the same bytes again on resume
  }
  if (n > sink->limit - sink->received) {
    sink->too_large = true;
    return 0;
  }
  sink->received += n;
  if (streaming) {
    absl::Status status = (*sink->on_body)(std::string_view(data, n));
    if (!status.ok()) {
      sink->aborted_by_consumer = std::move(status);
      return 0;
    }
    return n;
  }
  sink->body.append(data, n);
  return n;
}

template <typename T>
absl::Status SetOpt(CURL* easy, CURLoption option, T value, std::string_view name) {
  const CURLcode code = curl_easy_setopt(easy, option, value);
  if (code != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_easy_setopt(", ToAbsl(name), "): ", curl_easy_strerror(code)));
  }
  return absl::OkStatus();
}

}  // namespace

// One easy handle and everything curl keeps pointers into while the transfer runs.
struct HttpClient::Transfer {
  ~Transfer() {
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
    curl_slist_free_all(header_list);
  }

  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  OutboundRequest request;
  ResponseCallback done;
  uint64_t channel = kNoChannel;
  std::string description;
  BodySink sink;
  char error[CURL_ERROR_SIZE] = {};
};

absl::Status ValidateTlsOptions(const TlsOptions& tls) {
  if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate and its key must be given together");
  }
  if (!tls.ca_file.empty()) {
    if (absl::Status s = CheckReadable(tls.ca_file, "CA file"); !s.ok()) {
      return s;
    }
  }
  if (!tls.client_cert_file.empty()) {
    if (absl::Status s = CheckReadable(tls.client_cert_file, "client certificate file"); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckReadable(tls.client_key_file, "client key file"); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// A Channel's close, handed to the worker thread; `done` tells the closing thread it finished.
struct HttpClient::CancelRequest {
  uint64_t channel = kNoChannel;
  absl::Notification done;
};

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  if (absl::Status s = ValidateTlsOptions(options.tls); !s.ok()) {
    return s;
  }
  if (options.max_connections == 0) {
    return absl::InvalidArgumentError("max_connections must be positive");
  }
  if (const CURLcode code = GlobalInit(); code != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_global_init: ", curl_easy_strerror(code)));
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    return absl::InternalError("curl_multi_init failed");
  }
  const long max_connections = static_cast<long>(options.max_connections);
  for (const CURLMoption option : {CURLMOPT_MAX_TOTAL_CONNECTIONS, CURLMOPT_MAXCONNECTS}) {
    if (const CURLMcode code = curl_multi_setopt(multi, option, max_connections);
        code != CURLM_OK) {
      curl_multi_cleanup(multi);
      return absl::InternalError(absl::StrCat("curl_multi_setopt: ", curl_multi_strerror(code)));
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(options), multi));
}

HttpClient::HttpClient(HttpClientOptions options, void* multi)
    : options_(std::move(options)), multi_(multi), worker_([this] { Run(); }) {}

HttpClient::~HttpClient() {
  {
    absl::MutexLock lock(&mu_);
    // A channel left open would close later on a destroyed client.
    MA_CHECK(open_channels_ == 0);
    stopping_ = true;
  }
  curl_multi_wakeup(Multi(multi_));
  worker_.join();
  curl_multi_cleanup(Multi(multi_));
}

void HttpClient::Send(OutboundRequest request, ResponseCallback done) {
  SendOn(kNoChannel, std::move(request), std::move(done));
}

uint64_t HttpClient::OpenChannel() {
  absl::MutexLock lock(&mu_);
  ++open_channels_;
  return next_channel_++;
}

void HttpClient::SendOn(uint64_t channel, OutboundRequest request, ResponseCallback done) {
  MA_CHECK(done != nullptr);
  absl::Status rejected;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || cancelled_all_) {
      rejected = absl::CancelledError("HTTP client is shutting down");
    } else if (closed_channels_.contains(channel)) {
      rejected = absl::CancelledError("the HTTP channel is closed");
    } else if (queue_.size() >= kMaxQueuedRequests) {
      rejected = absl::ResourceExhaustedError(
          absl::StrCat("too many outbound requests queued (limit ", kMaxQueuedRequests, ")"));
    } else {
      queue_.push_back(Pending{std::move(request), std::move(done), channel});
    }
  }
  if (!rejected.ok()) {
    // NOLINTNEXTLINE(bugprone-use-after-move): done was moved only if rejected is OK.
    done(std::move(rejected));
    return;
  }
  curl_multi_wakeup(Multi(multi_));
}

void HttpClient::CloseChannel(uint64_t channel) {
  auto cancel = std::make_shared<CancelRequest>();
  cancel->channel = channel;
  {
    absl::MutexLock lock(&mu_);
    --open_channels_;
    // From now on SendOn refuses the channel, so nothing new can slip past the cancellation.
    closed_channels_.insert(channel);
    if (std::this_thread::get_id() != worker_.get_id()) {
      cancels_.push_back(cancel);
    }
  }
  if (std::this_thread::get_id() == worker_.get_id()) {
    // Closed from one of its own callbacks: the worker is here, so cancel right away.
    CancelChannelNow(channel);
  } else {
    curl_multi_wakeup(Multi(multi_));
    cancel->done.WaitForNotification();
  }
  // The cancelled callbacks have run, and once the Channel is gone nobody can send on it again:
  // the id need not be remembered.
  absl::MutexLock lock(&mu_);
  closed_channels_.erase(channel);
}

void HttpClient::CancelAll() {
  auto cancel = std::make_shared<CancelRequest>();
  cancel->channel = kAllChannels;
  const bool on_worker = std::this_thread::get_id() == worker_.get_id();
  {
    absl::MutexLock lock(&mu_);
    // From now on SendOn refuses everything, so nothing new can slip past the cancellation.
    cancelled_all_ = true;
    if (!on_worker) {
      cancels_.push_back(cancel);
    }
  }
  if (on_worker) {
    CancelChannelNow(kAllChannels);
    return;
  }
  curl_multi_wakeup(Multi(multi_));
  cancel->done.WaitForNotification();
}

void HttpClient::CancelChannelNow(uint64_t channel) {
  const auto matches = [channel](uint64_t c) { return channel == kAllChannels || c == channel; };
  std::vector<ResponseCallback> cancelled;
  {
    absl::MutexLock lock(&mu_);
    std::erase_if(queue_, [&](Pending& pending) {
      if (!matches(pending.channel)) {
        return false;
      }
      cancelled.push_back(std::move(pending.done));
      return true;
    });
  }
  std::erase_if(batch_, [&](Pending& pending) {
    if (!matches(pending.channel)) {
      return false;
    }
    cancelled.push_back(std::move(pending.done));
    return true;
  });
  std::vector<std::unique_ptr<Transfer>> in_flight;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (!matches(it->second->channel)) {
      ++it;
      continue;
    }
    curl_multi_remove_handle(Multi(multi_), it->second->easy);
    in_flight.push_back(std::move(it->second));
    transfers_.erase(it++);
  }
  for (std::unique_ptr<Transfer>& transfer : in_flight) {
    cancelled.push_back(std::move(transfer->done));
    transfer.reset();
  }
  const absl::Status status =
      channel == kAllChannels
          ? absl::CancelledError("HTTP client is shutting down: request cancelled")
          : absl::CancelledError("the HTTP channel was closed before the response arrived");
  for (ResponseCallback& done : cancelled) {
    done(status);
  }
}

void HttpClient::Run() {
  pthread_setname_np(pthread_self(), kWorkerThreadName);
  while (true) {
    std::vector<std::shared_ptr<CancelRequest>> cancels;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        break;
      }
      for (Pending& pending : queue_) {
        batch_.push_back(std::move(pending));
      }
      queue_.clear();
      cancels.swap(cancels_);
    }
    for (const std::shared_ptr<CancelRequest>& cancel : cancels) {
      CancelChannelNow(cancel->channel);
      cancel->done.Notify();
    }
    // One at a time: a callback run by StartTransfer may close a channel, which edits batch_.
    while (!batch_.empty()) {
      Pending pending = std::move(batch_.front());
      batch_.pop_front();
      StartTransfer(std::move(pending));
    }

    int running = 0;
    curl_multi_perform(Multi(multi_), &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(Multi(multi_), &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      // msg dies with the handle's removal: copy what is needed first.
      const CURLcode result = msg->data.result;
      char* private_data = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private_data);
      FinishTransfer(reinterpret_cast<Transfer*>(private_data), result);
    }
    const bool any_paused = ResumeReadyTransfers();
    curl_multi_poll(
        Multi(multi_), nullptr, 0,
        any_paused ? static_cast<int>(kPausedTransferRetryInterval.count()) : kPollIntervalMs,
        nullptr);
  }

  // Shutdown: everything not finished is cancelled.
  for (auto& [raw, transfer] : transfers_) {
    curl_multi_remove_handle(Multi(multi_), transfer->easy);
  }
  auto in_flight = std::move(transfers_);
  transfers_.clear();
  for (auto& [raw, transfer] : in_flight) {
    ResponseCallback done = std::move(transfer->done);
    transfer.reset();
    done(absl::CancelledError("HTTP client shut down before the response arrived"));
  }
  std::deque<Pending> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (Pending& pending : left) {
    pending.done(absl::CancelledError("HTTP client shut down before the request was sent"));
  }
}

bool HttpClient::ResumeReadyTransfers() {
  bool any_paused = false;
  std::vector<std::pair<Transfer*, CURLcode>> failed;
  for (auto& [raw, transfer] : transfers_) {
    BodySink& sink = transfer->sink;
    if (!sink.paused) {
      continue;
    }
    sink.paused = false;
    // Offers the held chunk at once, through WriteBody, which may pause the transfer again or
    // refuse the chunk (a consumer's error, the size limit): the transfer then ends here.
    if (const CURLcode code = curl_easy_pause(transfer->easy, CURLPAUSE_CONT); code != CURLE_OK) {
      failed.emplace_back(raw, code);
      continue;
    }
    any_paused = any_paused || sink.paused;
  }
  // After the loop: finishing edits transfers_ and runs callbacks.
  for (const auto& [raw, code] : failed) {
    FinishTransfer(raw, code);
  }
  return any_paused;
}

void HttpClient::StartTransfer(Pending pending) {
  if (absl::Status s = ValidateRequest(pending.request); !s.ok()) {
    pending.done(std::move(s));
    return;
  }
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(pending.request);
  transfer->done = std::move(pending.done);
  transfer->channel = pending.channel;
  transfer->description = Describe(transfer->request);
  transfer->easy = curl_easy_init();
  if (transfer->easy == nullptr) {
    transfer->done(absl::ResourceExhaustedError("curl_easy_init failed"));
    return;
  }

  absl::Status status = [&]() -> absl::Status {
    Transfer& t = *transfer;
    const OutboundRequest& r = t.request;
    CURL* easy = t.easy;
    const auto check = [](absl::Status s, absl::Status& first) {
      if (first.ok() && !s.ok()) {
        first = std::move(s);
      }
    };
    absl::Status first;
    check(SetOpt(easy, CURLOPT_URL, r.url.c_str(), "URL"), first);
    check(SetOpt(easy, CURLOPT_PRIVATE, static_cast<void*>(&t), "PRIVATE"), first);
    check(SetOpt(easy, CURLOPT_ERRORBUFFER, t.error, "ERRORBUFFER"), first);
    t.sink.easy = easy;
    t.sink.limit = r.max_response_bytes;
    t.sink.on_body = &r.on_body;
    t.sink.ready_for_chunk = &r.ready_for_chunk;
    check(SetOpt(easy, CURLOPT_WRITEFUNCTION, &WriteBody, "WRITEFUNCTION"), first);
    check(SetOpt(easy, CURLOPT_WRITEDATA, static_cast<void*>(&t.sink), "WRITEDATA"), first);
    check(SetOpt(easy, CURLOPT_NOSIGNAL, 1L, "NOSIGNAL"), first);
    check(SetOpt(easy, CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR"), first);
    check(SetOpt(easy, CURLOPT_FOLLOWLOCATION, 0L, "FOLLOWLOCATION"), first);
    check(SetOpt(easy, CURLOPT_TCP_KEEPALIVE, 1L, "TCP_KEEPALIVE"), first);
    check(SetOpt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()), "TIMEOUT_MS"),
          first);
    const auto connect_timeout = std::min(r.timeout, kMaxConnectTimeout);
    check(SetOpt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()),
                 "CONNECTTIMEOUT_MS"),
          first);
    // Content-Length above the limit fails before any byte is read; the write callback catches
    // chunked and compressed bodies.
    check(SetOpt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_response_bytes),
                 "MAXFILESIZE_LARGE"),
          first);
    if (r.accept_compressed) {
      check(SetOpt(easy, CURLOPT_ACCEPT_ENCODING, "", "ACCEPT_ENCODING"), first);
    }
    if (!options_.user_agent.empty()) {
      check(SetOpt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str(), "USERAGENT"), first);
    }
    const TlsOptions& tls = r.tls != nullptr ? *r.tls : options_.tls;
    check(
        SetOpt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2), "SSLVERSION"),
        first);
    if (!tls.ca_file.empty()) {
      check(SetOpt(easy, CURLOPT_CAINFO, tls.ca_file.c_str(), "CAINFO"), first);
    }
    if (!tls.client_cert_file.empty()) {
      check(SetOpt(easy, CURLOPT_SSLCERT, tls.client_cert_file.c_str(), "SSLCERT"), first);
      check(SetOpt(easy, CURLOPT_SSLKEY, tls.client_key_file.c_str(), "SSLKEY"), first);
    }
    if (tls.insecure_skip_verify) {
      check(SetOpt(easy, CURLOPT_SSL_VERIFYPEER, 0L, "SSL_VERIFYPEER"), first);
      check(SetOpt(easy, CURLOPT_SSL_VERIFYHOST, 0L, "SSL_VERIFYHOST"), first);
    }

    for (const auto& [name, value] : r.headers) {
      // "Name;" is curl's spelling of a header with an empty value.
      const std::string line =
          value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value);
      curl_slist* appended = curl_slist_append(t.header_list, line.c_str());
      if (appended == nullptr) {
        return absl::ResourceExhaustedError("curl_slist_append failed");
      }
      t.header_list = appended;
    }
    if (r.method == "POST") {
      // No "Expect: 100-continue" round trip for small form bodies.
      curl_slist* appended = curl_slist_append(t.header_list, "Expect:");
      if (appended == nullptr) {
        return absl::ResourceExhaustedError("curl_slist_append failed");
      }
      t.header_list = appended;
      check(SetOpt(easy, CURLOPT_POST, 1L, "POST"), first);
      check(SetOpt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()),
                   "POSTFIELDSIZE_LARGE"),
            first);
      check(SetOpt(easy, CURLOPT_POSTFIELDS, r.body.data(), "POSTFIELDS"), first);
    } else {
      check(SetOpt(easy, CURLOPT_HTTPGET, 1L, "HTTPGET"), first);
    }
    if (t.header_list != nullptr) {
      check(SetOpt(easy, CURLOPT_HTTPHEADER, t.header_list, "HTTPHEADER"), first);
    }
    return first;
  }();
  if (!status.ok()) {
    transfer->done(std::move(status));
    return;
  }
  if (const CURLMcode code = curl_multi_add_handle(Multi(multi_), transfer->easy);
      code != CURLM_OK) {
    transfer->done(absl::InternalError(absl::StrCat(
        transfer->description, ": curl_multi_add_handle: ", curl_multi_strerror(code))));
    return;
  }
  Transfer* raw = transfer.get();
  transfers_.emplace(raw, std::move(transfer));
}

void HttpClient::FinishTransfer(Transfer* raw, int curl_code) {
  auto it = transfers_.find(raw);
  if (it == transfers_.end()) {
    return;
  }
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  transfers_.erase(it);
  curl_multi_remove_handle(Multi(multi_), transfer->easy);

  absl::StatusOr<OutboundResponse> result;
  const auto code = static_cast<CURLcode>(curl_code);
  const std::string detail = transfer->error[0] != '\0' ? std::string(transfer->error)
                                                        : std::string(curl_easy_strerror(code));
  if (code == CURLE_OK) {
    OutboundResponse response;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &response.status);
    char* content_type = nullptr;
    curl_easy_getinfo(transfer->easy, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type != nullptr) {
      response.content_type = content_type;
    }
    response.body = std::move(transfer->sink.body);
    result = std::move(response);
  } else if (code == CURLE_WRITE_ERROR && !transfer->sink.aborted_by_consumer.ok()) {
    result = std::move(transfer->sink.aborted_by_consumer);
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    result = absl::DeadlineExceededError(
        absl::StrCat(transfer->description, ": no response within ",
                     transfer->request.timeout.count(), "ms (", detail, ")"));
  } else if (code == CURLE_FILESIZE_EXCEEDED ||
             (code == CURLE_WRITE_ERROR && transfer->sink.too_large)) {
    result = absl::ResourceExhaustedError(
        absl::StrCat(transfer->description, ": response body exceeds the limit of ",
                     transfer->request.max_response_bytes, " bytes"));
  } else if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
    result = absl::InvalidArgumentError(absl::StrCat(transfer->description, ": ", detail));
  } else {
    result = absl::UnavailableError(absl::StrCat(transfer->description, ": ", detail));
  }
  ResponseCallback done = std::move(transfer->done);
  transfer.reset();
  done(std::move(result));
}

absl::StatusOr<std::unique_ptr<Channel>> Channel::Create(HttpClient& client, TlsOptions tls) {
  if (absl::Status s = ValidateTlsOptions(tls); !s.ok()) {
    return s;
  }
  auto shared = std::make_shared<const TlsOptions>(std::move(tls));
  return std::unique_ptr<Channel>(new Channel(client, std::move(shared), client.OpenChannel()));
}

Channel::Channel(HttpClient& client, std::shared_ptr<const TlsOptions> tls, uint64_t id)
    : client_(client), tls_(std::move(tls)), id_(id) {}

Channel::~Channel() { client_.CloseChannel(id_); }

void Channel::Send(OutboundRequest request, ResponseCallback done) {
  request.tls = tls_;
  client_.SendOn(id_, std::move(request), std::move(done));
}

}  // namespace ma::outbound
