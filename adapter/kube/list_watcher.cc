#include "adapter/kube/list_watcher.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <random>
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
// The WATCH's request timeout exceeds timeoutSeconds by this, so the server ends it cleanly.
constexpr std::chrono::seconds kWatchTimeoutMargin{30};
constexpr std::chrono::seconds kMaxWatchTimeout{std::chrono::minutes(9)};
// Backoff grows from initial to max; it starts over after this long without an error
// (client-go's reflector: 2 minutes).
constexpr std::chrono::minutes kBackoffResetAfter{2};
// A backoff wait is a scheduler job at most this long, after which the (injectable) clock is
// read again; a few wakeups a second per watcher, and only while it backs off.
constexpr std::chrono::milliseconds kBackoffSlice{250};
constexpr double kBackoffJitter = 0.2;

constexpr std::string_view kListAccept =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
constexpr std::string_view kWatchAccept =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

}  // namespace

// A state machine whose steps are tasks on one decode sequence: an answer, a WATCH line, the end
// of a stream or a backoff tick each arrive as a task, so the steps run one at a time, in order,
// and no thread ever waits for the API server. `generation_` names the request whose results are
// wanted; anything from an older one is dropped.
class ListWatcher::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ApiClient& client, ListWatchRuntime runtime, ListWatchOptions options,
       ListWatchHandlers handlers, const Clock& clock)
      : client_(client),
        scheduler_(runtime.scheduler),
        sequence_(runtime.decode.NewSequence()),
        max_queued_bytes_(runtime.decode.max_queued_bytes()),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        clock_(clock),
        random_(std::random_device{}()) {
    options_.watch_timeout = std::min<std::chrono::seconds>(
        std::max<std::chrono::seconds>(options_.watch_timeout, std::chrono::seconds(1)),
        kMaxWatchTimeout);
    options_.initial_backoff = std::max(options_.initial_backoff, std::chrono::milliseconds(1));
    options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
  }

  void Start() {
    if (started_.exchange(true)) {
      return;
    }
    Step([](Impl& self) {
      self.mu_.AssertHeld();
      self.StartList();
    });
  }

  void Stop() {
    stopping_ = true;
    scheduler::JobId backoff_job = 0;
    {
      // Waits for a step (and its handler) that is running now; later ones see `stopping_`.
      absl::MutexLock lock(&mu_);
      ++generation_;
      backoff_job = std::exchange(backoff_job_, 0);
    }
    scheduler_.Cancel(backoff_job);
  }

  bool synced() const { return synced_; }

 private:
  // Queues `step` on the sequence; it runs with mu_ held (each step asserts it, as the analysis
  // cannot follow the lock into the step), unless the watcher stopped first.
  template <typename F>
  void Step(F step) {
    sequence_->Post([self = shared_from_this(), step = std::move(step)] { self->Run(step); });
  }

  template <typename F>
  void Run(const F& step) {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      step(*this);
    }
  }

  std::string Path(std::string_view params) const {
    std::string path = Cat(options_.collection_path, "?", params);
    if (!options_.field_selector.empty()) {
      absl::StrAppend(&path, "&fieldSelector=", QueryEscape(options_.field_selector));
    }
    return path;
  }

  void StartList() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    list_ = ObjectList{};
    SendListPage("");
  }

  void SendListPage(std::string_view continue_token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t generation = ++generation_;
    ApiRequest request;
    std::string params = Cat("limit=", kListPageSize);
    if (!continue_token.empty()) {
      absl::StrAppend(&params, "&continue=", QueryEscape(continue_token));
    }
    request.path = Path(params);
    request.accept = std::string(options_.metadata_only ? kListAccept : "application/json");
    // The page is in memory already, so it is queued whatever the pool's bound.
    client_.Call(std::move(request),
                 [self = shared_from_this(), generation](absl::StatusOr<ApiResponse> result) {
                   self->Step([generation, result = std::make_shared<absl::StatusOr<ApiResponse>>(
                                               std::move(result))](Impl& impl) {
                     impl.mu_.AssertHeld();
                     if (impl.generation_ == generation) {
                       impl.OnListPage(std::move(*result));
                     }
                   });
                 });
  }

  void OnListPage(absl::StatusOr<ApiResponse> result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string what = Cat("LIST ", options_.collection_path);
    if (!result.ok()) {
      Backoff(absl::Status(result.status().code(), Cat(what, ": ", result.status().message())));
      return;
    }
    if (result->status < 200 || result->status >= 300) {
      Backoff(ResponseError(result->status, result->body, what));
      return;
    }
    absl::StatusOr<ObjectList> page =
        DecodeObjectList(result->body, kMaxListObjects - list_.items.size());
    if (!page.ok()) {
      Backoff(absl::Status(page.status().code(), Cat(what, ": ", page.status().message())));
      return;
    }
    for (KubeObject& object : page->items) {
      list_.items.push_back(std::move(object));
    }
    list_.resource_version = page->resource_version;
    if (!page->continue_token.empty()) {
      SendListPage(page->continue_token);
      return;
    }
    resource_version_ = list_.resource_version;
    std::vector<KubeObject> objects = std::move(list_.items);
    list_ = ObjectList{};
    if (handlers_.replace) {
      handlers_.replace(std::move(objects));
    }
    synced_ = true;
    StartWatch();
  }

  // WATCH from resource_version_ (updated as events arrive) until the stream ends.
  void StartWatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t generation = ++generation_;
    ApiRequest request;
    request.path =
        Path(Cat("watch=1&resourceVersion=", QueryEscape(resource_version_),
                 "&allowWatchBookmarks=true&timeoutSeconds=", options_.watch_timeout.count()));
    request.accept = std::string(options_.metadata_only ? kWatchAccept : "application/json");
    request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.watch_timeout +
                                                                            kWatchTimeoutMargin);
    std::shared_ptr<Impl> self = shared_from_this();
    client_.Stream(
        std::move(request),
        // On the API client's thread: only queues the line for decoding.
        [self, generation](std::string_view line) -> absl::Status {
          if (self->stopping_ || self->generation_ != generation) {
            return absl::CancelledError("watch no longer wanted");
          }
          const bool queued =
              self->sequence_->TryPost(line.size(), [self, generation, line = std::string(line)] {
                self->Run([generation, &line](Impl& impl) {
                  impl.mu_.AssertHeld();
                  if (impl.generation_ == generation) {
                    impl.OnWatchLine(line);
                  }
                });
              });
          if (!queued) {
            return absl::ResourceExhaustedError(
                Cat("more than ", self->max_queued_bytes_,
                    " bytes of responses are waiting to be decoded"));
          }
          return absl::OkStatus();
        },
        // Queued after the stream's lines, so they are handled first.
        [self, generation](absl::Status status, long http_status) {  // NOLINT
          self->Step([generation, status = std::move(status), http_status](Impl& impl) {
            impl.mu_.AssertHeld();
            if (impl.generation_ == generation) {
              impl.OnWatchEnd(status, http_status);
            }
          });
        });
  }

  void OnWatchLine(std::string_view line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string what = Cat("WATCH ", options_.collection_path);
    absl::StatusOr<WatchEvent> event = DecodeWatchEvent(line);
    if (!event.ok()) {
      Backoff(absl::Status(event.status().code(), Cat(what, ": ", event.status().message())));
      return;
    }
    if (event->type == RawWatchEventType::kError) {
      if (event->error_code == 410) {
        MA_VLOG(2) << what << ": " << event->error_message << "; listing again";
        StartList();
        return;
      }
      Backoff(absl::UnavailableError(
          Cat(what, ": error event ", event->error_code, ": ", event->error_message)));
      return;
    }
    if (!event->object.metadata.resource_version.empty()) {
      resource_version_ = event->object.metadata.resource_version;
    }
    if (event->type == RawWatchEventType::kBookmark) {
      return;
    }
    const WatchEventType type = event->type == RawWatchEventType::kAdded ? WatchEventType::kAdded
                                : event->type == RawWatchEventType::kModified
                                    ? WatchEventType::kModified
                                    : WatchEventType::kDeleted;
    if (handlers_.event) {
      handlers_.event(type, std::move(event->object));
    }
  }

  void OnWatchEnd(const absl::Status& status, long http_status)  // NOLINT(google-runtime-int)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string what = Cat("WATCH ", options_.collection_path);
    if (http_status == 410) {
      MA_VLOG(2) << what << ": resourceVersion " << resource_version_
                 << " is too old; listing again";
      StartList();
      return;
    }
    if (status.ok()) {
      StartWatch();  // the server's timeoutSeconds: watch on from the last version
      return;
    }
    Backoff(absl::Status(status.code(), Cat(what, ": ", status.message())));
  }

  // Reports `error`, then lists again after the next backoff step. The deadline is fixed before
  // the report, so whoever sees the error sees a settled deadline.
  void Backoff(const absl::Status& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++generation_;  // a stream still open is no longer wanted: its next line ends it
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
    last_backoff_ = now;
    MA_LOG(WARNING) << error;
    if (handlers_.error) {
      handlers_.error(error);
    }
    MA_VLOG(2) << "LIST/WATCH " << options_.collection_path << ": retrying in " << wait.count()
               << "ms";
    WaitUntil(now + wait, generation_);
  }

  // Lists again once the clock reaches `deadline`, unless something newer happened meanwhile.
  void WaitUntil(std::chrono::system_clock::time_point deadline, uint64_t generation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (clock_.Now() >= deadline) {
      backoff_job_ = 0;
      StartList();
      return;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.Now());
    backoff_job_ = scheduler_.RunAfter(std::min(left, kBackoffSlice),
                                       [self = shared_from_this(), deadline, generation] {
                                         self->Step([deadline, generation](Impl& impl) {
                                           impl.mu_.AssertHeld();
                                           if (impl.generation_ == generation) {
                                             impl.WaitUntil(deadline, generation);
                                           }
                                         });
                                       });
  }

  ApiClient& client_;
  scheduler::Scheduler& scheduler_;
  const std::shared_ptr<decode::Sequence> sequence_;
  const size_t max_queued_bytes_;  // the pool's bound, for the error
  ListWatchOptions options_;
  const ListWatchHandlers handlers_;
  const Clock& clock_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};
  // Held by every step: Stop waits for the one running.
  absl::Mutex mu_;
  // Changed only under mu_; read without it on the API client's thread (is a line still wanted?).
  std::atomic<uint64_t> generation_{0};
  ObjectList list_ ABSL_GUARDED_BY(mu_);  // the pages so far
  std::string resource_version_ ABSL_GUARDED_BY(mu_);
  scheduler::JobId backoff_job_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  std::chrono::milliseconds current_backoff_ ABSL_GUARDED_BY(mu_){0};
  std::optional<std::chrono::system_clock::time_point> last_backoff_ ABSL_GUARDED_BY(mu_);
};

ListWatcher::ListWatcher(ApiClient& client, ListWatchRuntime runtime, ListWatchOptions options,
                         ListWatchHandlers handlers, const Clock& clock)
    : impl_(std::make_shared<Impl>(client, runtime, std::move(options), std::move(handlers),
                                   clock)) {}

ListWatcher::~ListWatcher() { impl_->Stop(); }

void ListWatcher::Start() { impl_->Start(); }

void ListWatcher::Stop() { impl_->Stop(); }

bool ListWatcher::synced() const { return impl_->synced(); }

}  // namespace ma::kube
