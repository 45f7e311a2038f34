#include "test/testing/prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "adapter/outbound/http_client.h"
#include "test/testing/free_port.h"

namespace ma::testing {
namespace {

constexpr std::chrono::milliseconds kPollInterval{100};
constexpr std::chrono::seconds kStopTimeout{10};
constexpr std::chrono::seconds kProbeTimeout{5};
constexpr size_t kLogTailBytes = 4000;

struct HttpResult {
  long status = 0;  // NOLINT(google-runtime-int)
  std::string body;
};

// A blocking GET through the adapter's own outbound client; the helper needs nothing more.
absl::StatusOr<HttpResult> HttpGet(const std::string& url) {
  static absl::StatusOr<std::unique_ptr<outbound::HttpClient>>* const client =
      new absl::StatusOr<std::unique_ptr<outbound::HttpClient>>(
          outbound::HttpClient::Create(outbound::HttpClientOptions{}));
  if (!client->ok()) {
    return client->status();
  }
  outbound::OutboundRequest request;
  request.url = url;
  request.timeout = kProbeTimeout;
  std::promise<absl::StatusOr<outbound::OutboundResponse>> done;
  std::future<absl::StatusOr<outbound::OutboundResponse>> answer = done.get_future();
  (**client)->Send(std::move(request), [&done](absl::StatusOr<outbound::OutboundResponse> r) {
    done.set_value(std::move(r));
  });
  absl::StatusOr<outbound::OutboundResponse> response = answer.get();
  if (!response.ok()) {
    return absl::UnavailableError(absl::StrCat(url, ": ", response.status().message()));
  }
  return HttpResult{response->status, std::move(response->body)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Create(
    PrometheusServerOptions options) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.binary, " is not executable: install Debian's prometheus package"));
  }
  char dir_template[] = "/tmp/ma_prometheus_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) {
    std::filesystem::remove_all(dir_template);
    return port.status();
  }
  std::unique_ptr<PrometheusServer> server(
      new PrometheusServer(std::move(options), dir_template, *port));
  if (absl::Status s = server->WriteConfig(); !s.ok()) {
    return s;
  }
  if (absl::Status s = server->Start(); !s.ok()) {
    return s;
  }
  return server;
}

PrometheusServer::PrometheusServer(PrometheusServerOptions options, std::string dir, int port)
    : options_(std::move(options)), dir_(std::move(dir)), port_(port) {}

PrometheusServer::~PrometheusServer() {
  (void)Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PrometheusServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_, options_.route_prefix);
}

absl::Status PrometheusServer::WriteConfig() const {
  std::ofstream config(dir_ + "/prometheus.yml");
  config << "global:\n"
         << "  scrape_interval: 1s\n"
         << "  evaluation_interval: 1s\n"
         << "scrape_configs:\n"
         << "  - job_name: prometheus\n"
         << "    metrics_path: " << options_.route_prefix << "/metrics\n"
         << "    static_configs:\n"
         << "      - targets: ['127.0.0.1:" << port_ << "']\n";
  if (!options_.extra_targets.empty()) {
    config << "  - job_name: extra\n"
           << "    static_configs:\n"
           << "      - targets: ['" << absl::StrJoin(options_.extra_targets, "', '") << "']\n";
  }
  config.close();
  if (!config) {
    return absl::InternalError(absl::StrCat("cannot write ", dir_, "/prometheus.yml"));
  }
  return absl::OkStatus();
}

absl::Status PrometheusServer::Start() {
  if (pid_ > 0) {
    return absl::FailedPreconditionError("Prometheus is already running");
  }
  std::vector<std::string> args = {
      options_.binary,
      absl::StrCat("--config.file=", dir_, "/prometheus.yml"),
      absl::StrCat("--storage.tsdb.path=", dir_, "/data"),
      absl::StrCat("--web.listen-address=127.0.0.1:", port_),
      "--log.level=warn",
  };
  if (!options_.route_prefix.empty()) {
    args.push_back(absl::StrCat("--web.external-url=", url(), "/"));
    args.push_back(absl::StrCat("--web.route-prefix=", options_.route_prefix));
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const std::string log_path = dir_ + "/prometheus.log";

  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. Dies with the test process.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  if (absl::Status s = WaitUntilReady(); !s.ok()) {
    (void)Stop();
    return absl::Status(s.code(), absl::StrCat(s.message(), "\nprometheus log:\n", LogTail()));
  }
  return absl::OkStatus();
}

absl::Status PrometheusServer::WaitUntilReady() {
  const auto deadline = std::chrono::steady_clock::now() + options_.startup_timeout;
  const std::string ready_url = absl::StrCat(url(), "/-/ready");
  std::string query_url = absl::StrCat(url(), "/api/v1/query?query=");
  for (const char c : options_.wait_for_metric) {
    absl::StrAppend(&query_url, absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'
                                    ? std::string(1, c)
                                    : absl::StrFormat("%%%02X", static_cast<unsigned char>(c)));
  }
  bool ready = false;
  std::string last_problem = "not started";
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("Prometheus exited during startup (status ", wstatus, ")"));
    }
    absl::StatusOr<HttpResult> probe = HttpGet(ready ? query_url : ready_url);
    if (!probe.ok()) {
      last_problem = std::string(probe.status().message());
    } else if (!ready) {
      ready = probe->status == 200;
      last_problem = absl::StrCat("/-/ready answered ", probe->status);
      if (ready) {
        continue;
      }
    } else if (probe->status == 200 && probe->body.find("\"result\":[{") != std::string::npos) {
      return absl::OkStatus();
    } else {
      last_problem = absl::StrCat("no samples yet for ", options_.wait_for_metric);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "Prometheus not ready within ", options_.startup_timeout.count(), "s: ", last_problem));
}

absl::Status PrometheusServer::Stop() {
  if (pid_ <= 0) {
    return absl::OkStatus();
  }
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError("Prometheus ignored SIGTERM; killed");
}

std::string PrometheusServer::LogTail() const {
  std::ifstream log(dir_ + "/prometheus.log");
  std::stringstream content;
  content << log.rdbuf();
  const std::string text = content.str();
  return text.size() > kLogTailBytes ? text.substr(text.size() - kLogTailBytes) : text;
}

}  // namespace ma::testing
