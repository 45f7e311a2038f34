#include "adapter/kube/list_watcher.h"

#include <pthread.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapter/kube/object_decoder.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"
#include "queries/base/url_codec.h"

namespace ma::kube {
namespace {

// LIST page size (client-go's reflector uses 500 too).
constexpr size_t kListPageSize = 500;
// A collection larger than this is not cached: the LIST fails instead of exhausting memory.
constexpr size_t kMaxListObjects = 200000;
// WATCH lines received but not yet handled; beyond this the WATCH is dropped and re-LISTed.
constexpr size_t kMaxQueuedEventBytes = size_t{64} << 20;
// The WATCH's request timeout exceeds timeoutSeconds by this, so the server ends it cleanly.
constexpr std::chrono::seconds kWatchTimeoutMargin{30};
constexpr std::chrono::seconds kMaxWatchTimeout{std::chrono::minutes(9)};
// Backoff grows from initial to max; it starts over after this long without an error
// (client-go's reflector: 2 minutes).
constexpr std::chrono::minutes kBackoffResetAfter{2};
// Backoff waits are sliced so that an injected clock is honoured and Stop is prompt.
constexpr absl::Duration kBackoffSlice = absl::Milliseconds(50);
constexpr double kBackoffJitter = 0.2;

constexpr std::string_view kListAccept =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
constexpr std::string_view kWatchAccept =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

// The watcher threads' name in top -H, ps -L and /proc/<pid>/task/<tid>/comm (at most 15 bytes).
constexpr char kThreadName[] = "ma-listwatch";

// How one WATCH ended.
enum class WatchEnd { kRewatch, kRelist, kBackoff, kStopped };

}  // namespace

class ListWatcher::Impl {
 public:
  Impl(ApiClient& client, ListWatchOptions options, ListWatchHandlers handlers, const Clock& clock)
      : client_(client),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        clock_(clock),
        shared_(std::make_shared<Shared>()),
        random_(std::random_device{}()) {
    options_.watch_timeout = std::min<std::chrono::seconds>(
        std::max<std::chrono::seconds>(options_.watch_timeout, std::chrono::seconds(1)),
        kMaxWatchTimeout);
    options_.initial_backoff = std::max(options_.initial_backoff, std::chrono::milliseconds(1));
    options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
  }

  ~Impl() { Stop(); }

  void Start() {
    absl::MutexLock lock(&start_mu_);
    if (started_) {
      return;
    }
    started_ = true;
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), kThreadName);
      Run();
    });
  }

  void Stop() {
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->stopping = true;
    }
    absl::MutexLock lock(&start_mu_);
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  bool synced() const {
    absl::MutexLock lock(&shared_->mu);
    return shared_->synced;
  }

 private:
  // What the ApiClient's callbacks hand to the watcher thread. Shared so that a callback
  // arriving after Stop finds it alive.
  struct Shared {
    mutable absl::Mutex mu;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    bool synced ABSL_GUARDED_BY(mu) = false;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;  // the request whose results are wanted
    std::optional<absl::StatusOr<ApiResponse>> call_result ABSL_GUARDED_BY(mu);
    std::deque<std::string> lines ABSL_GUARDED_BY(mu);
    size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
    bool stream_done ABSL_GUARDED_BY(mu) = false;
    absl::Status stream_status ABSL_GUARDED_BY(mu);
    long http_status ABSL_GUARDED_BY(mu) = 0;  // NOLINT(google-runtime-int)
  };

  std::string Path(std::string_view params) const {
    std::string path = Cat(options_.collection_path, "?", params);
    if (!options_.field_selector.empty()) {
      absl::StrAppend(&path, "&fieldSelector=", QueryEscape(options_.field_selector));
    }
    return path;
  }

  // Sends a call and waits for its answer; nullopt when stopped first.
  std::optional<absl::StatusOr<ApiResponse>> CallAndWait(ApiRequest request) {
    uint64_t generation = 0;
    {
      absl::MutexLock lock(&shared_->mu);
      generation = ++shared_->generation;
      shared_->call_result.reset();
    }
    std::shared_ptr<Shared> shared = shared_;
    client_.Call(std::move(request), [shared, generation](absl::StatusOr<ApiResponse> result) {
      absl::MutexLock lock(&shared->mu);
      if (shared->generation == generation) {
        shared->call_result = std::move(result);
      }
    });
    absl::MutexLock lock(&shared_->mu);
    shared_->mu.Await(absl::Condition(
        +[](Shared* s)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->stopping || s->call_result.has_value(); },
        shared_.get()));
    if (shared_->stopping) {
      return std::nullopt;
    }
    return std::move(shared_->call_result);
  }

  // LIST all pages; on success returns the objects and the list's resourceVersion.
  std::optional<absl::StatusOr<ObjectList>> List() {
    ObjectList all;
    std::string continue_token;
    const std::string what = Cat("LIST ", options_.collection_path);
    do {
      ApiRequest request;
      std::string params = Cat("limit=", kListPageSize);
      if (!continue_token.empty()) {
        absl::StrAppend(&params, "&continue=", QueryEscape(continue_token));
      }
      request.path = Path(params);
      request.accept = std::string(options_.metadata_only ? kListAccept : "application/json");
      std::optional<absl::StatusOr<ApiResponse>> result = CallAndWait(std::move(request));
      if (!result.has_value()) {
        return std::nullopt;
      }
      if (!result->ok()) {
        return absl::StatusOr<ObjectList>(
            absl::Status(result->status().code(), Cat(what, ": ", result->status().message())));
      }
      if ((*result)->status < 200 || (*result)->status >= 300) {
        return absl::StatusOr<ObjectList>(ResponseError((*result)->status, (*result)->body, what));
      }
      absl::StatusOr<ObjectList> page =
          DecodeObjectList((*result)->body, kMaxListObjects - all.items.size());
      if (!page.ok()) {
        return absl::StatusOr<ObjectList>(
            absl::Status(page.status().code(), Cat(what, ": ", page.status().message())));
      }
      for (KubeObject& object : page->items) {
        all.items.push_back(std::move(object));
      }
      all.resource_version = page->resource_version;
      continue_token = page->continue_token;
    } while (!continue_token.empty());
    return absl::StatusOr<ObjectList>(std::move(all));
  }

  // WATCH from `resource_version` (updated as events arrive) until the stream ends.
  WatchEnd Watch(std::string& resource_version) {
    uint64_t generation = 0;
    {
      absl::MutexLock lock(&shared_->mu);
      generation = ++shared_->generation;
      shared_->lines.clear();
      shared_->queued_bytes = 0;
      shared_->stream_done = false;
      shared_->stream_status = absl::OkStatus();
      shared_->http_status = 0;
    }
    ApiRequest request;
    request.path =
        Path(Cat("watch=1&resourceVersion=", QueryEscape(resource_version),
                 "&allowWatchBookmarks=true&timeoutSeconds=", options_.watch_timeout.count()));
    request.accept = std::string(options_.metadata_only ? kWatchAccept : "application/json");
    request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.watch_timeout +
                                                                            kWatchTimeoutMargin);
    std::shared_ptr<Shared> shared = shared_;
    client_.Stream(
        std::move(request),
        [shared, generation](std::string_view line) -> absl::Status {
          absl::MutexLock lock(&shared->mu);
          if (shared->stopping || shared->generation != generation) {
            return absl::CancelledError("watch no longer wanted");
          }
          if (shared->queued_bytes + line.size() > kMaxQueuedEventBytes) {
            return absl::ResourceExhaustedError(
                Cat("more than ", kMaxQueuedEventBytes, " bytes of watch events not yet handled"));
          }
          shared->queued_bytes += line.size();
          shared->lines.emplace_back(line);
          return absl::OkStatus();
        },
        [shared, generation](absl::Status status, long http_status) {  // NOLINT
          absl::MutexLock lock(&shared->mu);
          if (shared->generation == generation) {
            shared->stream_done = true;
            shared->stream_status = std::move(status);
            shared->http_status = http_status;
          }
        });

    const std::string what = Cat("WATCH ", options_.collection_path);
    while (true) {
      std::deque<std::string> batch;
      absl::Status end_status;
      long http_status = 0;  // NOLINT(google-runtime-int)
      bool done = false;
      {
        absl::MutexLock lock(&shared_->mu);
        shared_->mu.Await(absl::Condition(
            +[](Shared* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return s->stopping || s->stream_done || !s->lines.empty();
            },
            shared_.get()));
        if (shared_->stopping) {
          return WatchEnd::kStopped;
        }
        batch.swap(shared_->lines);
        shared_->queued_bytes = 0;
        // Lines queued before the end are handled first.
        if (shared_->stream_done && batch.empty()) {
          done = true;
          end_status = shared_->stream_status;
          http_status = shared_->http_status;
        }
      }
      if (done) {
        if (http_status == 410) {
          MA_VLOG(2) << what << ": resourceVersion " << resource_version
                     << " is too old; listing again";
          return WatchEnd::kRelist;
        }
        if (end_status.ok()) {
          return WatchEnd::kRewatch;
        }
        failure_ = absl::Status(end_status.code(), Cat(what, ": ", end_status.message()));
        return WatchEnd::kBackoff;
      }
      for (const std::string& line : batch) {
        absl::StatusOr<WatchEvent> event = DecodeWatchEvent(line);
        if (!event.ok()) {
          Abandon();
          failure_ = absl::Status(event.status().code(), Cat(what, ": ", event.status().message()));
          return WatchEnd::kBackoff;
        }
        if (event->type == RawWatchEventType::kError) {
          Abandon();
          if (event->error_code == 410) {
            MA_VLOG(2) << what << ": " << event->error_message << "; listing again";
            return WatchEnd::kRelist;
          }
          failure_ = absl::UnavailableError(
              Cat(what, ": error event ", event->error_code, ": ", event->error_message));
          return WatchEnd::kBackoff;
        }
        if (!event->object.metadata.resource_version.empty()) {
          resource_version = event->object.metadata.resource_version;
        }
        if (event->type == RawWatchEventType::kBookmark) {
          continue;
        }
        const WatchEventType type =
            event->type == RawWatchEventType::kAdded      ? WatchEventType::kAdded
            : event->type == RawWatchEventType::kModified ? WatchEventType::kModified
                                                          : WatchEventType::kDeleted;
        if (handlers_.event) {
          handlers_.event(type, std::move(event->object));
        }
      }
    }
  }

  // Stops caring about the current stream: its next line ends it.
  void Abandon() {
    absl::MutexLock lock(&shared_->mu);
    ++shared_->generation;
  }

  void Report(const absl::Status& status) {
    MA_LOG(WARNING) << status;
    if (handlers_.error) {
      handlers_.error(status);
    }
  }

  // Reports `error`, then waits out the next backoff step; false when stopped meanwhile. The
  // deadline is fixed before the report, so whoever sees the error sees a settled deadline.
  bool Backoff(const absl::Status& error) {
    const auto now = clock_.Now();
    if (last_backoff_.has_value() && now - *last_backoff_ > kBackoffResetAfter) {
      current_backoff_ = std::chrono::milliseconds::zero();
    }
    current_backoff_ = current_backoff_ == std::chrono::milliseconds::zero()
                           ? options_.initial_backoff
                           : std::min(current_backoff_ * 2, options_.max_backoff);
    std::uniform_real_distribution<double> jitter(0.0, kBackoffJitter);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        current_backoff_ * (1.0 + jitter(random_)));
    const auto deadline = now + wait;
    last_backoff_ = now;
    Report(error);
    MA_VLOG(2) << "LIST/WATCH " << options_.collection_path << ": retrying in " << wait.count()
               << "ms";
    absl::MutexLock lock(&shared_->mu);
    while (!shared_->stopping && clock_.Now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock_.Now());
      shared_->mu.AwaitWithTimeout(
          absl::Condition(
              +[](Shared* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->stopping; }, shared_.get()),
          std::min(absl::FromChrono(left), kBackoffSlice));
    }
    return !shared_->stopping;
  }

  void Run() {
    while (true) {
      std::optional<absl::StatusOr<ObjectList>> list = List();
      if (!list.has_value()) {
        return;
      }
      if (!list->ok()) {
        if (!Backoff(list->status())) {
          return;
        }
        continue;
      }
      std::string resource_version = (*list)->resource_version;
      if (handlers_.replace) {
        handlers_.replace(std::move((*list)->items));
      }
      {
        absl::MutexLock lock(&shared_->mu);
        shared_->synced = true;
      }
      WatchEnd end = WatchEnd::kRewatch;
      while (end == WatchEnd::kRewatch) {
        end = Watch(resource_version);
      }
      if (end == WatchEnd::kStopped || (end == WatchEnd::kBackoff && !Backoff(failure_))) {
        return;
      }
    }
  }

  ApiClient& client_;
  ListWatchOptions options_;
  const ListWatchHandlers handlers_;
  const Clock& clock_;
  const std::shared_ptr<Shared> shared_;

  absl::Mutex start_mu_;
  bool started_ ABSL_GUARDED_BY(start_mu_) = false;
  std::thread thread_;

  // Watcher-thread state.
  std::mt19937_64 random_;
  std::chrono::milliseconds current_backoff_{0};
  absl::Status failure_;  // why the last WATCH ended with kBackoff
  std::optional<std::chrono::system_clock::time_point> last_backoff_;
};

ListWatcher::ListWatcher(ApiClient& client, ListWatchOptions options, ListWatchHandlers handlers,
                         const Clock& clock)
    : impl_(std::make_unique<Impl>(client, std::move(options), std::move(handlers), clock)) {}

ListWatcher::~ListWatcher() { impl_->Stop(); }

void ListWatcher::Start() { impl_->Start(); }

void ListWatcher::Stop() { impl_->Stop(); }

bool ListWatcher::synced() const { return impl_->synced(); }

}  // namespace ma::kube
