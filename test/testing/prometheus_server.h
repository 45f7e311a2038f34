#pragma once

// Starts Debian's real Prometheus for integration tests: a free loopback port, a temporary
// storage dir, a 1s scrape interval, scraping itself and any extra targets.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ma::testing {

struct PrometheusServerOptions {
  std::string binary = "/usr/bin/prometheus";
  // "host:port" targets scraped as job "extra", besides Prometheus itself (job "prometheus").
  std::vector<std::string> extra_targets;
  // Serve under this path ("/prometheus") via --web.route-prefix; empty serves at "/".
  std::string route_prefix;
  // Start() returns once an instant query for this metric has a sample.
  std::string wait_for_metric = "up";
  std::chrono::seconds startup_timeout{60};
};

// One Prometheus child process; killed and its directory removed by the destructor. Not
// thread-safe: one test thread drives it.
class PrometheusServer {
 public:
  // Starts the server and waits until it is ready and `wait_for_metric` has samples.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Create(PrometheusServerOptions options);
  ~PrometheusServer();

  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // "http://127.0.0.1:<port><route_prefix>".
  std::string url() const;
  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Terminates the process, keeping port and data (for outage tests).
  absl::Status Stop();
  // Starts it again on the same port and data dir and waits as Create does.
  absl::Status Start();

 private:
  PrometheusServer(PrometheusServerOptions options, std::string dir, int port);
  absl::Status WriteConfig() const;
  absl::Status WaitUntilReady();
  std::string LogTail() const;

  const PrometheusServerOptions options_;
  const std::string dir_;
  const int port_;
  pid_t pid_ = -1;
};

}  // namespace ma::testing
