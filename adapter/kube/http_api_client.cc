#include "adapter/kube/http_api_client.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "adapter/kube/object_decoder.h"
#include "adapter/telemetry/log.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::kube {

// One request on its way: a call (done) or a stream (on_line + stream_done).
struct HttpApiClient::Job {
  ApiRequest request;
  ApiCallback done;
  LineCallback on_line;
  StreamDone stream_done;
  bool stream = false;
  bool retried = false;  // a call already re-sent once after a 401 with a fresh exec token
};

namespace {

// The exec thread's name in top -H, ps -L and /proc/<pid>/task/<tid>/comm (at most 15 bytes).
constexpr char kExecThreadName[] = "ma-kube-exec";

bool Is2xx(long status) { return status >= 200 && status < 300; }  // NOLINT(google-runtime-int)

// Delivers complete lines; keeps the unterminated tail for the next chunk.
class LineSplitter {
 public:
  explicit LineSplitter(LineCallback on_line) : on_line_(std::move(on_line)) {}

  absl::Status Feed(std::string_view chunk) {
    while (!chunk.empty()) {
      const size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (partial_.size() + piece.size() > kMaxStreamLineBytes) {
        return absl::ResourceExhaustedError(
            Cat("a WATCH event line is longer than ", kMaxStreamLineBytes, " bytes"));
      }
      if (newline == std::string_view::npos) {
        partial_.append(piece);
        return absl::OkStatus();
      }
      chunk.remove_prefix(newline + 1);
      absl::Status status;
      if (partial_.empty()) {
        status = Deliver(piece);
      } else {
        partial_.append(piece);
        status = Deliver(partial_);
        partial_.clear();
      }
      if (!status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }

  // The stream ended: a last line without its newline still counts.
  absl::Status Finish() {
    std::string last = std::move(partial_);
    partial_.clear();
    return Deliver(last);
  }

 private:
  absl::Status Deliver(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      return absl::OkStatus();
    }
    return on_line_(line);
  }

  LineCallback on_line_;
  std::string partial_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpApiClient>> HttpApiClient::Create(
    outbound::HttpClient& http_client, const ClusterConfig& config, const Clock& clock) {
  const auto fail = [&](const absl::Status& status) {
    return absl::Status(status.code(), Cat(config.source, ": ", status.message()));
  };
  auto pem_files = std::make_unique<PemFiles>();
  absl::StatusOr<outbound::TlsOptions> tls = ClusterTlsOptions(config, *pem_files);
  if (!tls.ok()) {
    return fail(tls.status());
  }
  absl::StatusOr<std::unique_ptr<outbound::Channel>> http =
      outbound::Channel::Create(http_client, *std::move(tls));
  if (!http.ok()) {
    return fail(http.status());
  }
  std::unique_ptr<HttpApiClient> client(new HttpApiClient(config.server, std::move(pem_files)));
  client->http_ = *std::move(http);
  client->static_token_ = config.token;
  if (client->static_token_.empty() && !config.token_file.empty()) {
    absl::StatusOr<std::unique_ptr<outbound::TokenFile>> token_file =
        outbound::TokenFile::Create(config.token_file, "token file");
    if (!token_file.ok()) {
      return fail(token_file.status());
    }
    client->token_file_ = *std::move(token_file);
  }
  if (config.exec.has_value()) {
    if (absl::Status s = ValidateExecConfig(*config.exec); !s.ok()) {
      return fail(s);
    }
    client->exec_ = std::make_unique<ExecCredentialCache>(*config.exec, clock);
    client->exec_thread_ = std::thread([raw = client.get()] {
      pthread_setname_np(pthread_self(), kExecThreadName);
      raw->RunExecThread();
    });
  }
  return client;
}

HttpApiClient::HttpApiClient(std::string server, std::unique_ptr<PemFiles> pem_files)
    : server_(std::move(server)), pem_files_(std::move(pem_files)) {}

HttpApiClient::~HttpApiClient() {
  shutting_down_ = true;
  if (exec_thread_.joinable()) {
    {
      absl::MutexLock lock(&exec_mu_);
      exec_stopping_ = true;
    }
    exec_thread_.join();
  }
  http_.reset();  // closes the channel: in-flight requests complete with kCancelled
}

void HttpApiClient::Call(ApiRequest request, ApiCallback done) {
  MA_CHECK(done != nullptr);
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  job->done = std::move(done);
  Dispatch(std::move(job));
}

void HttpApiClient::Stream(ApiRequest request, LineCallback on_line, StreamDone done) {
  MA_CHECK(on_line != nullptr && done != nullptr);
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  job->on_line = std::move(on_line);
  job->stream_done = std::move(done);
  job->stream = true;
  Dispatch(std::move(job));
}

void HttpApiClient::Fail(const std::shared_ptr<Job>& job, absl::Status status) {
  if (job->stream) {
    job->stream_done(std::move(status), 0);
  } else {
    job->done(std::move(status));
  }
}

void HttpApiClient::Dispatch(std::shared_ptr<Job> job) {
  if (shutting_down_) {
    Fail(job, absl::CancelledError("Kubernetes API client is shutting down"));
    return;
  }
  if (exec_ == nullptr) {
    Send(std::move(job), token_file_ != nullptr ? token_file_->Token() : static_token_, false);
    return;
  }
  if (std::optional<ExecCredential> credential = exec_->Cached(); credential.has_value()) {
    SendWithExecCredential(std::move(job), *credential);
    return;
  }
  absl::Status rejected;
  {
    absl::MutexLock lock(&exec_mu_);
    if (exec_stopping_) {
      rejected = absl::CancelledError("Kubernetes API client is shutting down");
    } else if (exec_queue_.size() >= kMaxPendingExecRequests) {
      rejected = absl::ResourceExhaustedError(
          Cat("more than ", kMaxPendingExecRequests, " requests wait for the exec plugin"));
    } else {
      exec_queue_.push_back(job);
    }
  }
  if (!rejected.ok()) {
    Fail(job, std::move(rejected));
  }
}

void HttpApiClient::SendWithExecCredential(std::shared_ptr<Job> job,
                                           const ExecCredential& credential) {
  if (credential.token.empty()) {
    Fail(job, absl::UnimplementedError(
                  Cat("exec plugin ", GoQuote(exec_->config().command),
                      " returned a client certificate; only plugins that return a token are "
                      "supported")));
    return;
  }
  Send(std::move(job), credential.token, true);
}

void HttpApiClient::RunExecThread() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      absl::MutexLock lock(&exec_mu_);
      exec_mu_.Await(absl::Condition(
          +[](HttpApiClient* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return c->exec_stopping_ || !c->exec_queue_.empty();
          },
          this));
      if (exec_stopping_) {
        break;
      }
      job = std::move(exec_queue_.front());
      exec_queue_.pop_front();
    }
    absl::StatusOr<ExecCredential> credential = exec_->Get();
    if (!credential.ok()) {
      MA_LOG(ERROR) << credential.status();
      Fail(job, credential.status());
      continue;
    }
    // Not Dispatch: a credential that is already expired would send the job round again.
    SendWithExecCredential(std::move(job), *credential);
  }
  std::deque<std::shared_ptr<Job>> left;
  {
    absl::MutexLock lock(&exec_mu_);
    left.swap(exec_queue_);
  }
  for (const std::shared_ptr<Job>& job : left) {
    Fail(job, absl::CancelledError("Kubernetes API client shut down before the exec plugin ran"));
  }
}

void HttpApiClient::Send(std::shared_ptr<Job> job, std::string token, bool token_from_exec) {
  const ApiRequest& r = job->request;
  outbound::OutboundRequest request;
  request.method = r.method;
  request.url = Cat(server_, r.path);
  request.body = r.body;
  request.timeout = std::min(r.timeout, outbound::kMaxRequestTimeout);
  request.headers.emplace_back("Accept", r.accept);
  if (r.method == "POST") {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  if (!token.empty()) {
    request.headers.emplace_back("Authorization", Cat("Bearer ", token));
  }
  if (job->stream) {
    request.max_response_bytes = kMaxStreamBytes;
    auto splitter = std::make_shared<LineSplitter>(job->on_line);
    request.on_body = [splitter](std::string_view chunk) { return splitter->Feed(chunk); };
    http_->Send(std::move(request),
                [this, job, splitter, token = std::move(token),
                 token_from_exec](absl::StatusOr<outbound::OutboundResponse> result) mutable {
                  if (result.ok() && Is2xx(result->status)) {
                    if (absl::Status s = splitter->Finish(); !s.ok()) {
                      job->stream_done(std::move(s), result->status);
                      return;
                    }
                  }
                  OnStreamDone(job, token, token_from_exec, std::move(result));
                });
    return;
  }
  request.max_response_bytes = kMaxCallResponseBytes;
  http_->Send(std::move(request), [this, job, token = std::move(token), token_from_exec](
                                      absl::StatusOr<outbound::OutboundResponse> result) mutable {
    OnCallDone(std::move(job), token, token_from_exec, std::move(result));
  });
}

void HttpApiClient::OnCallDone(std::shared_ptr<Job> job, const std::string& token,
                               bool token_from_exec,
                               absl::StatusOr<outbound::OutboundResponse> result) {
  if (!result.ok()) {
    job->done(result.status());
    return;
  }
  if (result->status == 401 && token_from_exec) {
    // The plugin's token was revoked or expired early: ask the plugin again, once.
    exec_->Invalidate(token);
    if (!job->retried && !shutting_down_) {
      job->retried = true;
      Dispatch(std::move(job));
      return;
    }
  }
  job->done(ApiResponse{result->status, std::move(result->body)});
}

void HttpApiClient::OnStreamDone(const std::shared_ptr<Job>& job, const std::string& token,
                                 bool token_from_exec,
                                 absl::StatusOr<outbound::OutboundResponse> result) {
  const std::string what = Cat("GET ", job->request.path.substr(0, job->request.path.find('?')));
  if (!result.ok()) {
    // A consumer's refusal (kCancelled, kResourceExhausted, ...) happened inside a 2xx body;
    // a transport error had no complete response.
    job->stream_done(result.status(), 0);
    return;
  }
  if (Is2xx(result->status)) {
    job->stream_done(absl::OkStatus(), result->status);
    return;
  }
  if (result->status == 401 && token_from_exec) {
    exec_->Invalidate(token);
  }
  job->stream_done(ResponseError(result->status, result->body, what), result->status);
}

}  // namespace ma::kube
