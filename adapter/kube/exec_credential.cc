#include "adapter/kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "adapter/json/reader.h"
#include "adapter/json/writer.h"
#include "adapter/telemetry/log.h"
#include "queries/base/strings.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace ma::kube {
namespace {

constexpr int kPollSliceMs = 100;
// An ExecCredential nests three levels.
constexpr int kMaxExecCredentialDepth = 16;

std::string PluginName(const ExecConfig& config) { return GoQuote(config.command); }

// Closes its descriptors on every path out of RunExecPlugin.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
};

absl::Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(Cat("pipe: ", std::strerror(errno)));
  }
  read_end.fd = fds[0];
  write_end.fd = fds[1];
  return absl::OkStatus();
}

std::string ExecInfo(const ExecConfig& config) {
  json::Writer writer;
  writer.StartObject();
  writer.Key("apiVersion");
  writer.String(config.api_version);
  writer.Key("kind");
  writer.String("ExecCredential");
  writer.Key("spec");
  writer.StartObject();
  writer.Key("interactive");
  writer.Bool(false);
  writer.EndObject();
  writer.EndObject();
  return std::move(writer).Finish();
}

// Our environment, then the stanza's variables (which win), then KUBERNETES_EXEC_INFO.
std::vector<std::string> PluginEnvironment(const ExecConfig& config) {
  std::vector<std::string> env;
  const auto overridden = [&](std::string_view entry) {
    const std::string_view name = entry.substr(0, entry.find('='));
    if (name == "KUBERNETES_EXEC_INFO") {
      return true;
    }
    for (const auto& [key, value] : config.env) {
      if (key == name) {
        return true;
      }
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!overridden(*e)) {
      env.emplace_back(*e);
    }
  }
  for (const auto& [key, value] : config.env) {
    env.push_back(Cat(key, "=", value));
  }
  env.push_back(Cat("KUBERNETES_EXEC_INFO=", ExecInfo(config)));
  return env;
}

void LogStderr(const ExecConfig& config, std::string_view err) {
  for (absl::string_view line : absl::StrSplit(ToAbsl(err), '\n', absl::SkipWhitespace())) {
    MA_LOG(WARNING) << "exec plugin " << PluginName(config) << ": " << line;
  }
}

}  // namespace

absl::Status ValidateExecConfig(const ExecConfig& config) {
  if (config.api_version != kExecApiV1 && config.api_version != kExecApiV1Beta1) {
    return absl::InvalidArgumentError(
        Cat("apiVersion ", GoQuote(config.api_version), " is not supported: use ", kExecApiV1));
  }
  if (config.command.empty()) {
    return absl::InvalidArgumentError("command is not set");
  }
  if (config.interactive_mode.empty()) {
    if (config.api_version == kExecApiV1) {
      return absl::InvalidArgumentError(
          Cat("interactiveMode must be set for ", kExecApiV1, ": use Never or IfAvailable"));
    }
  } else if (config.interactive_mode == "Always") {
    return absl::InvalidArgumentError(Cat(
        "exec plugin ", PluginName(config),
        " requires interactiveMode Always, but the adapter has no terminal to prompt on: use a "
        "plugin configuration that works without input (interactiveMode Never or IfAvailable)"));
  } else if (config.interactive_mode != "Never" && config.interactive_mode != "IfAvailable") {
    return absl::InvalidArgumentError(Cat("interactiveMode ", GoQuote(config.interactive_mode),
                                          " must be Never, IfAvailable or Always"));
  }
  if (config.args.size() > kMaxExecArgs || config.env.size() > kMaxExecEnv) {
    return absl::InvalidArgumentError(
        Cat("at most ", kMaxExecArgs, " args and ", kMaxExecEnv, " env entries"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExecCredential> DecodeExecCredential(std::string_view json,
                                                    std::string_view api_version) {
  const auto fail = [](std::string_view why) {
    return absl::InvalidArgumentError(Cat("invalid ExecCredential: ", why));
  };
  const absl::StatusOr<rapidjson::Document> parsed =
      json::Parse(json, {.max_bytes = kMaxExecOutputBytes, .max_depth = kMaxExecCredentialDepth});
  if (!parsed.ok()) {
    return fail(ToStd(parsed.status().message()));
  }
  const rapidjson::Document& doc = *parsed;
  if (!doc.IsObject()) {
    return fail("not a JSON object");
  }
  const rapidjson::Value* kind = json::Member(doc, "kind");
  if (kind == nullptr || !kind->IsString() ||
      std::string_view(kind->GetString()) != "ExecCredential") {
    return fail("kind must be ExecCredential");
  }
  const rapidjson::Value* version = json::Member(doc, "apiVersion");
  if (version == nullptr || !version->IsString() ||
      std::string_view(version->GetString(), version->GetStringLength()) != api_version) {
    return fail(Cat("apiVersion must be ", api_version, ", the version the plugin was given"));
  }
  const rapidjson::Value* status = json::Member(doc, "status");
  if (status == nullptr || !status->IsObject()) {
    return fail("status is missing");
  }
  ExecCredential credential;
  for (const auto& [name, field] :
       {std::pair{"token", &credential.token},
        std::pair{"clientCertificateData", &credential.client_certificate_pem},
        std::pair{"clientKeyData", &credential.client_key_pem}}) {
    const rapidjson::Value* value = json::Member(*status, name);
    if (value == nullptr || value->IsNull()) {
      continue;
    }
    if (!value->IsString()) {
      return fail(Cat("status.", name, " must be a string"));
    }
    field->assign(value->GetString(), value->GetStringLength());
  }
  if (credential.client_certificate_pem.empty() != credential.client_key_pem.empty()) {
    return fail("status.clientCertificateData and status.clientKeyData must be given together");
  }
  if (credential.token.empty() && credential.client_certificate_pem.empty()) {
    return fail("status has neither a token nor a client certificate");
  }
  if (const rapidjson::Value* expiry = json::Member(*status, "expirationTimestamp");
      expiry != nullptr && !expiry->IsNull()) {
    absl::Time time;
    std::string error;
    if (!expiry->IsString() ||
        !absl::ParseTime(absl::RFC3339_full, expiry->GetString(), &time, &error)) {
      return fail(Cat("status.expirationTimestamp is not an RFC 3339 time ", error));
    }
    credential.expiration = absl::ToChronoTime(time);
  }
  return credential;
}

absl::StatusOr<ExecCredential> RunExecPlugin(const ExecConfig& config) {
  if (absl::Status s = ValidateExecConfig(config); !s.ok()) {
    return s;
  }
  const std::string name = PluginName(config);
  Fd out_read, out_write, err_read, err_write, null_in;
  if (absl::Status s = MakePipe(out_read, out_write); !s.ok()) {
    return s;
  }
  if (absl::Status s = MakePipe(err_read, err_write); !s.ok()) {
    return s;
  }
  null_in.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_in.fd < 0) {
    return absl::InternalError(Cat("open /dev/null: ", std::strerror(errno)));
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, null_in.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, STDERR_FILENO);

  std::vector<std::string> args = {config.command};
  args.insert(args.end(), config.args.begin(), config.args.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env = PluginEnvironment(config);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  pid_t pid = 0;
  // posix_spawnp searches our PATH when the command has no '/', as kubectl's os/exec does.
  const int spawn_error =
      posix_spawnp(&pid, config.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  out_write.Close();
  err_write.Close();
  null_in.Close();
  if (spawn_error != 0) {
    std::string message =
        Cat("exec plugin ", name, " could not be started: ", std::strerror(spawn_error));
    if (spawn_error == ENOENT && config.command.find('/') == std::string::npos) {
      message = Cat("exec plugin ", name, " was not found on PATH");
    }
    if (!config.install_hint.empty()) {
      absl::StrAppend(&message, ". ", config.install_hint);
    }
    return absl::FailedPreconditionError(message);
  }

  std::string out, err;
  bool too_large = false;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + config.timeout;
  char buffer[16384];
  while (out_read.fd >= 0 || err_read.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0}};
    const int ready = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs)));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      Fd& fd = i == 0 ? out_read : err_read;
      const ssize_t n = read(fd.fd, buffer, sizeof(buffer));
      if (n <= 0) {
        fd.Close();
        continue;
      }
      std::string& sink = i == 0 ? out : err;
      const size_t limit = i == 0 ? kMaxExecOutputBytes : kMaxExecStderrBytes;
      const size_t room = limit - std::min(limit, sink.size());
      sink.append(buffer, std::min(room, static_cast<size_t>(n)));
      if (i == 0 && static_cast<size_t>(n) > room) {
        too_large = true;
      }
    }
    if (too_large) {
      break;
    }
  }
  if (timed_out || too_large) {
    kill(pid, SIGKILL);
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  LogStderr(config, err);
  if (timed_out) {
    return absl::DeadlineExceededError(
        Cat("exec plugin ", name, " did not finish within ", config.timeout.count(), "ms"));
  }
  if (too_large) {
    return absl::ResourceExhaustedError(
        Cat("exec plugin ", name, " wrote more than ", kMaxExecOutputBytes, " bytes"));
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    const std::string how = WIFEXITED(wait_status)
                                ? Cat("exited with status ", WEXITSTATUS(wait_status))
                                : Cat("was killed by signal ", WTERMSIG(wait_status));
    return absl::UnavailableError(
        Cat("exec plugin ", name, " ", how, " (its stderr is in the adapter's log)"));
  }
  absl::StatusOr<ExecCredential> credential = DecodeExecCredential(out, config.api_version);
  if (!credential.ok()) {
    return absl::InvalidArgumentError(
        Cat("exec plugin ", name, ": ", ToStd(credential.status().message())));
  }
  return credential;
}

ExecCredentialCache::ExecCredentialCache(ExecConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

bool ExecCredentialCache::ValidLocked() const {
  return cached_.has_value() &&
         (!cached_->expiration.has_value() || clock_.Now() < *cached_->expiration);
}

std::optional<ExecCredential> ExecCredentialCache::Cached() const {
  absl::MutexLock lock(&mu_);
  if (!ValidLocked()) {
    return std::nullopt;
  }
  return cached_;
}

absl::StatusOr<ExecCredential> ExecCredentialCache::Get() {
  absl::MutexLock run_lock(&run_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (ValidLocked()) {
      return *cached_;
    }
  }
  absl::StatusOr<ExecCredential> fresh = RunExecPlugin(config_);
  if (!fresh.ok()) {
    return fresh.status();
  }
  absl::MutexLock lock(&mu_);
  cached_ = *fresh;
  return fresh;
}

void ExecCredentialCache::Invalidate(std::string_view token) {
  absl::MutexLock lock(&mu_);
  if (cached_.has_value() && cached_->token == token) {
    cached_.reset();
  }
}

}  // namespace ma::kube
