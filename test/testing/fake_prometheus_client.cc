#include "test/testing/fake_prometheus_client.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"

namespace ma::testing {

FakePrometheusClient::SharedAnswer FakePrometheusClient::Share(QueryAnswer answer) {
  if (!answer.ok()) {
    return answer.status();
  }
  return std::make_shared<const model::QueryResult>(*std::move(answer));
}

void FakePrometheusClient::SetQueryAnswer(std::string promql, QueryAnswer answer) {
  absl::MutexLock lock(&mu_);
  query_answers_.insert_or_assign(std::move(promql), Share(std::move(answer)));
}

void FakePrometheusClient::SetDefaultQueryAnswer(QueryAnswer answer) {
  absl::MutexLock lock(&mu_);
  default_query_answer_ = Share(std::move(answer));
}

void FakePrometheusClient::SetSeriesAnswer(std::string match, SeriesAnswer answer) {
  absl::MutexLock lock(&mu_);
  series_answers_.insert_or_assign(std::move(match), std::move(answer));
}

void FakePrometheusClient::SetDefaultSeriesAnswer(SeriesAnswer answer) {
  absl::MutexLock lock(&mu_);
  default_series_answer_ = std::move(answer);
}

void FakePrometheusClient::Hold() {
  absl::MutexLock lock(&mu_);
  hold_ = true;
}

void FakePrometheusClient::Release(const QueryAnswer& answer) {
  std::map<int, prometheus::QueryCallback> held;
  SharedAnswer shared;
  {
    absl::MutexLock lock(&mu_);
    hold_ = false;
    default_query_answer_ = Share(answer);
    shared = default_query_answer_;
    held.swap(held_);
  }
  for (auto& [id, done] : held) {
    done(shared);
  }
}

std::vector<std::string> FakePrometheusClient::queries() const {
  absl::MutexLock lock(&mu_);
  return queries_;
}

int FakePrometheusClient::calls(const std::string& promql) const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(std::count(queries_.begin(), queries_.end(), promql));
}

int FakePrometheusClient::total_calls() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queries_.size());
}

std::vector<std::string> FakePrometheusClient::series_matches() const {
  absl::MutexLock lock(&mu_);
  return series_matches_;
}

int FakePrometheusClient::series_calls() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(series_matches_.size());
}

std::chrono::system_clock::time_point FakePrometheusClient::last_series_start() const {
  absl::MutexLock lock(&mu_);
  return last_series_start_;
}

void FakePrometheusClient::StartQuery(std::string promql,
                                      std::chrono::system_clock::time_point /*time*/,
                                      prometheus::QueryCallback done, async::CancelSlot* cancel,
                                      prometheus::CacheOutcomeSink /*outcome: no cache here*/) {
  SharedAnswer answer;
  {
    absl::MutexLock lock(&mu_);
    queries_.push_back(promql);
    if (const auto it = query_answers_.find(promql); it != query_answers_.end()) {
      answer = it->second;
    } else if (hold_) {
      const int id = next_held_++;
      held_.emplace(id, std::move(done));
      if (cancel != nullptr) {
        cancel->Attach([this, id] { Withdraw(id); });
      }
      return;
    } else {
      answer = default_query_answer_;
    }
  }
  done(std::move(answer));
}

void FakePrometheusClient::Series(std::string match, std::chrono::system_clock::time_point start,
                                  prometheus::SeriesCallback done) {
  SeriesAnswer answer;
  {
    absl::MutexLock lock(&mu_);
    series_matches_.push_back(match);
    last_series_start_ = start;
    const auto it = series_answers_.find(match);
    answer = it != series_answers_.end() ? it->second : default_series_answer_;
  }
  done(std::move(answer));
}

int FakePrometheusClient::pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(held_.size());
}

void FakePrometheusClient::Withdraw(int id) {
  prometheus::QueryCallback dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  if (const auto it = held_.find(id); it != held_.end()) {
    dropped = std::move(it->second);
    held_.erase(it);
    ++withdrawn_;
  }
}

int FakePrometheusClient::withdrawn() const {
  absl::MutexLock lock(&mu_);
  return withdrawn_;
}

}  // namespace ma::testing
