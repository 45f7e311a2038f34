#pragma once

// A kube::ApiClient for tests: answers calls from a table of paths, on the calling thread; streams
// fail at once.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/kube/api_client.h"

namespace ma::objects {

// Thread-safe: the table and the call log are guarded by one mutex.
class FakeApiClient : public kube::ApiClient {
 public:
  void Set(std::string path, absl::StatusOr<kube::ApiResponse> response) {
    std::lock_guard<std::mutex> lock(mutex_);
    responses_[std::move(path)] = std::move(response);
  }
  void SetJson(std::string path, std::string body) {
    Set(std::move(path), kube::ApiResponse{200, std::move(body)});
  }

  std::vector<std::string> paths() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return paths_;
  }

  void Call(kube::ApiRequest request, kube::ApiCallback done) override {
    absl::StatusOr<kube::ApiResponse> response = kube::ApiResponse{404, "{}"};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      paths_.push_back(request.path);
      // An exact path first, then the path without its query (a LIST's limit, say).
      auto it = responses_.find(request.path);
      if (it == responses_.end()) {
        it = responses_.find(request.path.substr(0, request.path.find('?')));
      }
      if (it != responses_.end()) {
        response = it->second;
      }
    }
    done(std::move(response));
  }

  void Stream(kube::ApiRequest, kube::LineCallback, kube::StreamDone done) override {
    done(absl::UnimplementedError("no streams in this fake"), 0);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, absl::StatusOr<kube::ApiResponse>> responses_;
  std::vector<std::string> paths_;
};

}  // namespace ma::objects
