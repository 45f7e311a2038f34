#pragma once

// A kube::ApiClient for the module's tests: answers each call with the response set for its
// path, on the calling thread, and records what was sent.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/kube/api_client.h"

namespace ma::auth {

// Thread-safe: the table and the call log are guarded by one mutex.
class FakeApiClient final : public kube::ApiClient {
 public:
  void Set(std::string path, absl::StatusOr<kube::ApiResponse> response) {
    std::lock_guard<std::mutex> lock(mutex_);
    responses_[std::move(path)] = std::move(response);
  }

  std::vector<kube::ApiRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  size_t calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }

  void Call(kube::ApiRequest request, kube::ApiCallback done) override {
    absl::StatusOr<kube::ApiResponse> response = absl::UnavailableError("no response set");
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (const auto it = responses_.find(request.path); it != responses_.end()) {
        response = it->second;
      }
      requests_.push_back(std::move(request));
    }
    done(std::move(response));
  }

  void Stream(kube::ApiRequest /*request*/, kube::LineCallback /*on_line*/,
              kube::StreamDone done) override {
    done(absl::UnimplementedError("no streams in this fake"), 0);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, absl::StatusOr<kube::ApiResponse>> responses_;
  std::vector<kube::ApiRequest> requests_;
};

}  // namespace ma::auth
