#include "test/testing/fake_api_client.h"

#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ma::testing {

template <typename Table>
const typename Table::mapped_type* FakeApiClient::Find(const Table& table,
                                                       const std::string& path) {
  auto it = table.find(path);
  if (it == table.end()) {
    it = table.find(path.substr(0, path.find('?')));
  }
  return it == table.end() ? nullptr : &it->second;
}

void FakeApiClient::Set(std::string path, absl::StatusOr<kube::ApiResponse> response) {
  absl::MutexLock lock(&mu_);
  responses_[std::move(path)] = std::move(response);
}

void FakeApiClient::SetJson(std::string path, std::string body) {
  Set(std::move(path), kube::ApiResponse{200, std::move(body)});
}

void FakeApiClient::SetStream(std::string path, ScriptedStream stream) {
  absl::MutexLock lock(&mu_);
  streams_[std::move(path)] = std::move(stream);
}

void FakeApiClient::SetUnscripted(absl::StatusOr<kube::ApiResponse> response) {
  absl::MutexLock lock(&mu_);
  unscripted_ = std::move(response);
}

void FakeApiClient::Hold() {
  absl::MutexLock lock(&mu_);
  hold_ = true;
}

FakeApiClient::Pending FakeApiClient::Next(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  const auto has_pending = [this]()
                               ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !pending_.empty(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&has_pending), wait)) {
    return Pending{};
  }
  Pending next = std::move(pending_.front());
  pending_.pop_front();
  return next;
}

std::vector<kube::ApiRequest> FakeApiClient::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<std::string> FakeApiClient::paths() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> paths;
  paths.reserve(requests_.size());
  for (const kube::ApiRequest& request : requests_) {
    paths.push_back(request.path);
  }
  return paths;
}

size_t FakeApiClient::calls() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

std::vector<kube::ApiRequest> FakeApiClient::stream_requests() const {
  absl::MutexLock lock(&mu_);
  return stream_requests_;
}

void FakeApiClient::Call(kube::ApiRequest request, kube::ApiCallback done) {
  std::optional<absl::StatusOr<kube::ApiResponse>> response;
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (const auto* scripted = Find(responses_, request.path); scripted != nullptr) {
      response = *scripted;
    } else if (hold_) {
      pending_.push_back(Pending{std::move(request), false, std::move(done), nullptr, nullptr});
      return;
    } else {
      response = unscripted_;
    }
  }
  done(*std::move(response));
}

void FakeApiClient::Stream(kube::ApiRequest request, kube::LineCallback on_line,
                           kube::StreamDone done) {
  std::optional<ScriptedStream> stream;
  {
    absl::MutexLock lock(&mu_);
    stream_requests_.push_back(request);
    if (const auto* scripted = Find(streams_, request.path); scripted != nullptr) {
      stream = *scripted;
    } else if (hold_) {
      pending_.push_back(
          Pending{std::move(request), true, nullptr, std::move(on_line), std::move(done)});
      return;
    }
  }
  if (!stream.has_value()) {
    done(absl::UnimplementedError(absl::StrCat("no stream scripted for ", request.path)), 0);
    return;
  }
  for (const std::string& line : stream->lines) {
    if (absl::Status status = on_line(line); !status.ok()) {
      done(std::move(status), stream->http_status);
      return;
    }
  }
  done(std::move(stream->end), stream->http_status);
}

}  // namespace ma::testing
