#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace ma::cli {

struct ExplainOptions {
  std::string config_path;
  std::string series_file;     // a Prometheus /api/v1/series response body
  std::string prometheus_url;  // or ask this Prometheus for the series
  std::chrono::milliseconds metrics_max_age{std::chrono::minutes(10)};
  std::vector<std::string> object_names;  // stands in for the Kubernetes LIST of a `*` request
  std::string path;  // "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?..."
};

// `metrics-adapter explain`: prints the PromQL query the server would send for `path`, alone on
// one line of `out`; diagnostics go to `err`. Returns the process exit code.
int RunExplain(const ExplainOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ma::cli
