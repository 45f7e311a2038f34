#include "adapter/kube/list_watcher.h"

#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapter/decode/decode_pool.h"
#include "adapter/scheduler/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"
#include "test/testing/fake_api_client.h"
#include "test/testing/fake_clock.h"

namespace ma::kube {
namespace {

using ::ma::testing::FakeApiClient;
using ::ma::testing::FakeClock;
using ::testing::HasSubstr;

// Bounds every wait so that a broken watcher fails the test instead of hanging it.
constexpr absl::Duration kWait = absl::Seconds(10);
constexpr std::chrono::system_clock::time_point kStart{std::chrono::hours(24 * 365 * 50)};

struct Recorder {
  absl::Mutex mu;
  std::vector<std::string> log ABSL_GUARDED_BY(mu);

  void Add(std::string entry) {
    absl::MutexLock lock(&mu);
    log.push_back(std::move(entry));
  }
  // Waits until `n` entries were recorded and returns them all.
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu);
    std::pair<std::vector<std::string>*, size_t> arg(&log, n);
    mu.AwaitWithTimeout(absl::Condition(
                            +[](std::pair<std::vector<std::string>*, size_t>* a) {
                              return a->first->size() >= a->second;
                            },
                            &arg),
                        kWait);
    return log;
  }

  ListWatchHandlers Handlers() {
    ListWatchHandlers handlers;
    handlers.replace = [this](std::vector<KubeObject> objects) {
      std::string entry = "replace";
      for (const KubeObject& o : objects) {
        absl::StrAppend(&entry, " ", o.metadata.namespace_name, "/", o.metadata.name);
      }
      Add(entry);
    };
    handlers.event = [this](WatchEventType type, KubeObject object) {
      const char* name = type == WatchEventType::kAdded      ? "added"
                         : type == WatchEventType::kModified ? "modified"
                                                             : "deleted";
      std::string entry = Cat(name, " ", object.metadata.name);
      for (const auto& [k, v] : object.metadata.labels) {
        absl::StrAppend(&entry, " ", k, "=", v);
      }
      for (const auto& [k, v] : object.data) {
        absl::StrAppend(&entry, " data:", k, "=", v);
      }
      Add(entry);
    };
    handlers.error = [this](const absl::Status& status) { Add(Cat("error ", status.message())); };
    return handlers;
  }
};

std::string Pod(std::string_view name, std::string_view rv) {
  return Cat(R"({"metadata":{"namespace":"ns","name":")", name, R"(","resourceVersion":")", rv,
             R"(","labels":{"app":"web"}}})");
}

std::string Event(std::string_view type, std::string_view object) {
  return Cat(R"({"type":")", type, R"(","object":)", object, "}");
}

ApiResponse Ok(std::string body) { return ApiResponse{200, std::move(body)}; }

ListWatchOptions Options() {
  ListWatchOptions options;
  options.collection_path = "/api/v1/pods";
  options.field_selector = "spec.nodeName=n1";
  options.watch_timeout = std::chrono::seconds(300);
  options.initial_backoff = std::chrono::seconds(1);
  options.max_backoff = std::chrono::seconds(4);
  return options;
}

TEST(ListWatcherTest, ListsPagesThenWatchesWithBookmarksAndRewatchesFromLastVersion) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  FakeClock clock{kStart};
  ListWatcher watcher(client, {scheduler, decode}, Options(), recorder.Handlers(), clock);
  EXPECT_FALSE(watcher.synced());
  watcher.Start();

  FakeApiClient::Pending list1 = client.Next();
  ASSERT_FALSE(list1.stream);
  EXPECT_EQ(list1.request.path, "/api/v1/pods?limit=500&fieldSelector=spec.nodeName%3Dn1");
  EXPECT_EQ(list1.request.accept,
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json");
  list1.done(Ok(Cat(R"({"metadata":{"resourceVersion":"9","continue":"tok/1"},"items":[)",
                    Pod("a", "3"), ",", Pod("b", "4"), "]}")));
  FakeApiClient::Pending list2 = client.Next();
  EXPECT_EQ(list2.request.path,
            "/api/v1/pods?limit=500&continue=tok%2F1&fieldSelector=spec.nodeName%3Dn1");
  list2.done(Ok(Cat(R"({"metadata":{"resourceVersion":"10"},"items":[)", Pod("c", "5"), "]}")));

  FakeApiClient::Pending watch1 = client.Next();
  ASSERT_TRUE(watch1.stream);
  EXPECT_EQ(recorder.WaitFor(1), std::vector<std::string>{"replace ns/a ns/b ns/c"});
  EXPECT_TRUE(watcher.synced());
  EXPECT_EQ(watch1.request.path,
            "/api/v1/pods?watch=1&resourceVersion=10&allowWatchBookmarks=true&"
            "timeoutSeconds=300&fieldSelector=spec.nodeName%3Dn1");
  EXPECT_EQ(watch1.request.accept,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json");
  EXPECT_GT(watch1.request.timeout, std::chrono::seconds(300));
  EXPECT_TRUE(watch1.on_line(Event("ADDED", Pod("d", "11"))).ok());
  EXPECT_TRUE(watch1.on_line(Event("BOOKMARK", R"({"metadata":{"resourceVersion":"15"}})")).ok());
  EXPECT_TRUE(watch1.on_line(Event("MODIFIED", Pod("a", "12"))).ok());
  EXPECT_TRUE(watch1.on_line(Event("DELETED", Pod("b", "13"))).ok());
  watch1.stream_done(absl::OkStatus(), 200);  // the server's timeoutSeconds

  FakeApiClient::Pending watch2 = client.Next();
  ASSERT_TRUE(watch2.stream);
  EXPECT_THAT(watch2.request.path, HasSubstr("resourceVersion=13&"));
  EXPECT_EQ(recorder.WaitFor(4),
            (std::vector<std::string>{"replace ns/a ns/b ns/c", "added d app=web",
                                      "modified a app=web", "deleted b app=web"}));

  // A bookmark alone moves the version the next WATCH starts from.
  EXPECT_TRUE(watch2.on_line(Event("BOOKMARK", R"({"metadata":{"resourceVersion":"20"}})")).ok());
  watch2.stream_done(absl::OkStatus(), 200);
  FakeApiClient::Pending watch3 = client.Next();
  EXPECT_THAT(watch3.request.path, HasSubstr("resourceVersion=20&"));
  watcher.Stop();
  EXPECT_EQ(recorder.WaitFor(4).size(), 4u);
}

TEST(ListWatcherTest, GoneRelistsWithoutBackoff) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  FakeClock clock{kStart};
  ListWatcher watcher(client, {scheduler, decode}, Options(), recorder.Handlers(), clock);
  watcher.Start();

  client.Next().done(Ok(R"({"metadata":{"resourceVersion":"5"},"items":[]})"));
  FakeApiClient::Pending watch = client.Next();
  ASSERT_TRUE(watch.stream);
  // An ERROR event with 410: the watcher drops the stream (its next line is refused) and lists.
  EXPECT_TRUE(watch
                  .on_line(Event("ERROR", R"j({"kind":"Status","code":410,"reason":"Expired",)j"
                                          R"j("message":"too old resource version: 5 (9)"})j"))
                  .ok());
  FakeApiClient::Pending relist = client.Next();
  ASSERT_FALSE(relist.stream) << relist.request.path;
  EXPECT_THAT(relist.request.path, HasSubstr("limit=500"));
  EXPECT_FALSE(watch.on_line(Event("ADDED", Pod("late", "6"))).ok());
  watch.stream_done(absl::CancelledError("x"), 200);

  relist.done(Ok(R"({"metadata":{"resourceVersion":"30"},"items":[)" + Pod("x", "30") + "]}"));
  FakeApiClient::Pending watch2 = client.Next();
  EXPECT_THAT(watch2.request.path, HasSubstr("resourceVersion=30&"));
  // HTTP 410 on the WATCH itself: list again too.
  watch2.stream_done(absl::FailedPreconditionError("Gone"), 410);
  FakeApiClient::Pending relist2 = client.Next();
  EXPECT_FALSE(relist2.stream);
  EXPECT_EQ(recorder.WaitFor(2), (std::vector<std::string>{"replace", "replace ns/x"}));
}

TEST(ListWatcherTest, BacksOffAfterErrorsOnTheInjectedClock) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  FakeClock clock{kStart};
  ListWatcher watcher(client, {scheduler, decode}, Options(), recorder.Handlers(), clock);
  watcher.Start();

  client.Next().done(ApiResponse{
      403, R"({"kind":"Status","message":"pods is forbidden: User \"x\" cannot list"})"});
  EXPECT_EQ(recorder.WaitFor(1),
            std::vector<std::string>{
                "error LIST /api/v1/pods: HTTP 403: pods is forbidden: User \"x\" cannot list"});
  // No retry happens while the clock stands still; the backoff (1s plus jitter) needs advancing.
  clock.Advance(std::chrono::seconds(2));
  FakeApiClient::Pending second = client.Next();
  ASSERT_FALSE(second.stream);
  second.done(absl::UnavailableError("connection refused"));
  EXPECT_EQ(recorder.WaitFor(2).back(), "error LIST /api/v1/pods: connection refused");
  clock.Advance(std::chrono::seconds(3));  // the second step is 2s plus jitter
  FakeApiClient::Pending third = client.Next();
  ASSERT_FALSE(third.stream);
  EXPECT_THAT(third.request.path, HasSubstr("limit=500"));
  third.done(Ok(R"({"metadata":{"resourceVersion":"1"}})"));

  // A broken WATCH also backs off, then lists again.
  FakeApiClient::Pending watch = client.Next();
  ASSERT_TRUE(watch.stream);
  watch.stream_done(absl::UnavailableError("connection reset"), 0);
  EXPECT_EQ(recorder.WaitFor(4).back(), "error WATCH /api/v1/pods: connection reset");
  clock.Advance(std::chrono::seconds(10));
  FakeApiClient::Pending relist = client.Next();
  EXPECT_FALSE(relist.stream);
  EXPECT_THAT(relist.request.path, HasSubstr("limit=500"));
}

TEST(ListWatcherTest, BadEventLineIsAnError) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  FakeClock clock{kStart};
  ListWatchOptions options = Options();
  options.metadata_only = false;
  options.collection_path = "/api/v1/namespaces/kube-system/configmaps";
  options.field_selector = "";
  ListWatcher watcher(client, {scheduler, decode}, options, recorder.Handlers(), clock);
  watcher.Start();
  FakeApiClient::Pending list = client.Next();
  EXPECT_EQ(list.request.accept, "application/json");
  list.done(Ok(R"({"metadata":{"resourceVersion":"1"}})"));
  FakeApiClient::Pending watch = client.Next();
  EXPECT_EQ(watch.request.path,
            "/api/v1/namespaces/kube-system/configmaps?watch=1&resourceVersion=1&"
            "allowWatchBookmarks=true&timeoutSeconds=300");
  EXPECT_TRUE(watch
                  .on_line(Event("MODIFIED", R"({"metadata":{"name":"auth","resourceVersion":"2"},)"
                                             R"("data":{"client-ca-file":"PEM"}})"))
                  .ok());
  EXPECT_TRUE(watch.on_line("{not json").ok());
  const std::vector<std::string> log = recorder.WaitFor(3);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "modified auth data:client-ca-file=PEM");
  EXPECT_THAT(log[2], HasSubstr("error WATCH /api/v1/namespaces/kube-system/configmaps: invalid "
                                "watch event"));
}

TEST(ListWatcherTest, StopReturnsWhileARequestIsOutstanding) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  ListWatcher watcher(client, {scheduler, decode}, Options(), recorder.Handlers());
  watcher.Start();
  FakeApiClient::Pending list = client.Next();
  watcher.Stop();
  // The late answer is dropped: no handler runs after Stop.
  list.done(Ok(R"({"metadata":{"resourceVersion":"1"}})"));
  EXPECT_FALSE(watcher.synced());
  absl::MutexLock lock(&recorder.mu);
  EXPECT_TRUE(recorder.log.empty());
}

// The process's thread count, from the kernel.
size_t ThreadCount() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                           std::filesystem::directory_iterator()));
}

TEST(ListWatcherTest, WatchersShareTheRuntimesThreads) {
  scheduler::Scheduler scheduler;
  decode::DecodePool decode;
  FakeApiClient client;
  client.Hold();  // every LIST stays outstanding
  const size_t before = ThreadCount();
  std::vector<std::unique_ptr<ListWatcher>> watchers;
  std::vector<FakeApiClient::Pending> lists;
  for (int i = 0; i < 20; ++i) {
    watchers.push_back(std::make_unique<ListWatcher>(client, ListWatchRuntime{scheduler, decode},
                                                     Options(), ListWatchHandlers{}));
    watchers.back()->Start();
    lists.push_back(client.Next());
    ASSERT_FALSE(lists.back().request.path.empty()) << "watcher " << i << " sent no LIST";
  }
  EXPECT_EQ(ThreadCount(), before);
  for (auto& watcher : watchers) {
    watcher->Stop();
  }
}

TEST(ListWatcherTest, AWatchThatOutrunsDecodingEndsAndListsAgain) {
  scheduler::Scheduler scheduler;
  constexpr size_t kBound = 150;
  decode::DecodePool decode(1, kBound);
  FakeApiClient client;
  client.Hold();  // the test answers each request itself
  Recorder recorder;
  FakeClock clock{kStart};
  ListWatcher watcher(client, {scheduler, decode}, Options(), recorder.Handlers(), clock);
  watcher.Start();
  client.Next().done(Ok(R"({"metadata":{"resourceVersion":"1"}})"));
  FakeApiClient::Pending watch = client.Next();
  ASSERT_TRUE(watch.stream);
  ASSERT_EQ(recorder.WaitFor(1).size(), 1u);

  // The pool's one thread is busy, so the lines queue up to the bound.
  absl::Notification busy;
  absl::Notification release;
  std::shared_ptr<decode::Sequence> other = decode.NewSequence();
  other->Post([&] {
    busy.Notify();
    (void)release.WaitForNotificationWithTimeout(kWait);
  });
  ASSERT_TRUE(busy.WaitForNotificationWithTimeout(kWait));
  const std::string line = Event("ADDED", Pod("d", "2"));
  ASSERT_LE(line.size(), kBound);
  ASSERT_GT(line.size() * 2, kBound);
  EXPECT_TRUE(watch.on_line(line).ok());
  const absl::Status refused = watch.on_line(Event("ADDED", Pod("e", "3")));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  watch.stream_done(refused, 200);  // as the API client ends a stream whose callback failed
  release.Notify();

  // The line taken is handled, then the WATCH backs off and lists again.
  const std::vector<std::string> log = recorder.WaitFor(3);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "added d app=web");
  EXPECT_THAT(log[2], HasSubstr("error WATCH /api/v1/pods: more than 150 bytes"));
  clock.Advance(std::chrono::seconds(2));
  FakeApiClient::Pending relist = client.Next();
  EXPECT_FALSE(relist.stream);
  EXPECT_THAT(relist.request.path, HasSubstr("limit=500"));
}

}  // namespace
}  // namespace ma::kube
