#include "adapter/handlers/query_window.h"

#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "queries/base/check.h"

namespace ma::handlers {
namespace {

// The state of one SendQueries. Thread-safe: answers arrive on any thread, inline or later.
class QueryWindow : public std::enable_shared_from_this<QueryWindow> {
 public:
  QueryWindow(prometheus::Client& prometheus, std::chrono::system_clock::time_point time,
              std::vector<std::string> queries, size_t max_in_flight,
              async::Completion<QueryAnswers> done, prometheus::CacheOutcomeSink outcome)
      : prometheus_(prometheus),
        time_(time),
        max_in_flight_(max_in_flight),
        queries_(std::move(queries)),
        answers_(queries_.size(), absl::UnknownError("no answer")),
        remaining_(queries_.size()),
        done_(std::move(done)),
        outcome_(std::move(outcome)) {}

  // Sends what the window allows. A call that finds another one sending (on another thread, or
  // further up this thread's stack when an answer came inline) leaves the sending to it.
  void Pump() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (pumping_) {
      pump_again_ = true;
      return;
    }
    pumping_ = true;
    do {
      pump_again_ = false;
      while (in_flight_ < max_in_flight_ && next_ < queries_.size()) {
        const size_t i = next_++;
        ++in_flight_;
        std::string query = std::move(queries_[i]);
        lock.unlock();
        prometheus_.Query(
            std::move(query), time_,
            [self = shared_from_this(), i](absl::StatusOr<prometheus::QueryResultPtr> answer) {
              self->Answer(i, std::move(answer));
            },
            /*cancel=*/nullptr, outcome_);
        lock.lock();
      }
    } while (pump_again_);
    pumping_ = false;
  }

 private:
  void Answer(size_t i, absl::StatusOr<prometheus::QueryResultPtr> answer) {
    std::unique_lock<std::mutex> lock(mutex_);
    answers_[i] = std::move(answer);
    --in_flight_;
    if (--remaining_ == 0) {
      QueryAnswers answers = std::move(answers_);
      lock.unlock();
      done_(std::move(answers));
      return;
    }
    lock.unlock();
    Pump();
  }

  prometheus::Client& prometheus_;
  const std::chrono::system_clock::time_point time_;
  const size_t max_in_flight_;
  std::mutex mutex_;
  std::vector<std::string> queries_;  // guarded by mutex_; each taken once
  QueryAnswers answers_;              // guarded by mutex_
  size_t remaining_;                  // guarded by mutex_
  size_t next_ = 0;                   // guarded by mutex_
  size_t in_flight_ = 0;              // guarded by mutex_
  bool pumping_ = false;              // guarded by mutex_
  bool pump_again_ = false;           // guarded by mutex_
  async::Completion<QueryAnswers> done_;
  const prometheus::CacheOutcomeSink outcome_;
};

}  // namespace

void SendQueries(prometheus::Client& prometheus, std::chrono::system_clock::time_point time,
                 std::vector<std::string> queries, size_t max_in_flight,
                 async::Completion<QueryAnswers> done, prometheus::CacheOutcomeSink outcome) {
  MA_CHECK(max_in_flight > 0);
  if (queries.empty()) {
    done(QueryAnswers());
    return;
  }
  std::make_shared<QueryWindow>(prometheus, time, std::move(queries), max_in_flight,
                                std::move(done), std::move(outcome))
      ->Pump();
}

}  // namespace ma::handlers
