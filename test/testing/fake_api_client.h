#pragma once

// The one fake Kubernetes API for tests. A call is answered at once, on the calling thread, by
// the response scripted for its path; a stream plays its scripted lines and then ends. What has
// no script is answered with a default, or, once the test calls Hold(), kept until the test takes
// it with Next() and answers it itself (the LIST+WATCH loop's tests drive it step by step).

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapter/kube/api_client.h"

namespace ma::testing {

// Thread-safe: scripts, held requests and the call log are guarded by one mutex; callbacks run
// outside it.
class FakeApiClient final : public kube::ApiClient {
 public:
  // A call or stream the test answers by hand (see Hold and Next).
  struct Pending {
    kube::ApiRequest request;
    bool stream = false;
    kube::ApiCallback done;        // a call's
    kube::LineCallback on_line;    // a stream's
    kube::StreamDone stream_done;  // a stream's
  };

  // What a scripted stream sends: its lines, then how it ends.
  struct ScriptedStream {
    std::vector<std::string> lines;
    absl::Status end;
    long http_status = 200;  // NOLINT(google-runtime-int): kube::StreamDone's type
  };

  // Scripts the answer to calls for `path`. A call's path is looked up as sent, then without its
  // query string (so that a LIST's `limit` or `fieldSelector` need not be spelled out).
  void Set(std::string path, absl::StatusOr<kube::ApiResponse> response);
  // Scripts a 200 answer with `body`.
  void SetJson(std::string path, std::string body);
  // Scripts the streams (WATCHes) for `path`, looked up as calls are.
  void SetStream(std::string path, ScriptedStream stream);
  // The answer to calls without a script; a 404 with an empty object unless set.
  void SetUnscripted(absl::StatusOr<kube::ApiResponse> response);
  // From now on, calls and streams without a script wait for the test: see Next.
  void Hold();

  // The oldest held call or stream, waiting up to `wait` for one; an empty Pending (no
  // callbacks, empty path) when none came.
  Pending Next(absl::Duration wait = absl::Seconds(10));

  // The calls made so far (streams excluded), in order.
  std::vector<kube::ApiRequest> requests() const;
  std::vector<std::string> paths() const;
  size_t calls() const;
  // The streams started so far, in order.
  std::vector<kube::ApiRequest> stream_requests() const;

  void Call(kube::ApiRequest request, kube::ApiCallback done) override;
  void Stream(kube::ApiRequest request, kube::LineCallback on_line, kube::StreamDone done) override;

 private:
  template <typename Table>
  static const typename Table::mapped_type* Find(const Table& table, const std::string& path);

  mutable absl::Mutex mu_;
  std::map<std::string, absl::StatusOr<kube::ApiResponse>> responses_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ScriptedStream> streams_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<kube::ApiResponse> unscripted_ ABSL_GUARDED_BY(mu_) = kube::ApiResponse{404, "{}"};
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<kube::ApiRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<kube::ApiRequest> stream_requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::testing
