#include "adapter/server/server.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapter/async/executor.h"
#include "adapter/async/task.h"
#include "adapter/async/task_context.h"
#include "adapter/http/error.h"
#include "adapter/http/url.h"
#include "adapter/server/access_log.h"
#include "adapter/server/client_cert_verifier.h"
#include "adapter/server/connection_slots.h"
#include "adapter/server/log.h"
#include "adapter/server/self_signed_cert.h"
#include "adapter/server/tls_context.h"
#include "queries/base/snapshot.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::server {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
// A connection's executor, and the control one (accept loop, signals, shutdown): an event loop's.
// One thread runs each loop, so what runs on one never runs concurrently, which is what a strand
// would give; an Asio strand on top would only add its own queue and a hop per handler (measured
// in `make bench` (a): p50 0.16 ms with strands, 0.13 ms without).
using Strand = net::io_context::executor_type;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// At most this much is read while a request's task waits (a pipelined request, kept for later).
constexpr std::size_t kConnectionWatchBytes = 4096;

// What Go's apiserver timeout filter says.
constexpr std::string_view kHandlerTimeoutMessage =
    "Timeout: request did not complete within the allotted timeout";

std::string_view Std(beast::string_view s) { return {s.data(), s.size()}; }

// The request's deadline, as the generic apiserver sets it: `limit` (--request-timeout),
// shortened by a client's `?timeout=` (kubectl's --request-timeout sends one). An empty, zero,
// negative or longer value leaves `limit`; one that is no duration is a 400, as in Go.
absl::StatusOr<std::chrono::milliseconds> RequestDeadline(const http::Request& request,
                                                          std::chrono::milliseconds limit) {
  const std::optional<std::string> param = request.QueryParam("timeout");
  if (!param.has_value() || param->empty()) {
    return limit;
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(*param, &timeout)) {
    return absl::InvalidArgumentError("invalid timeout specified in the request URL");
  }
  if (timeout <= absl::ZeroDuration() || timeout >= absl::FromChrono(limit)) {
    return limit;
  }
  return std::max(std::chrono::milliseconds(1), absl::ToChronoMilliseconds(timeout));
}

// "1.234s", for the shutdown log lines.
std::string FormatSeconds(std::chrono::steady_clock::duration d) {
  return absl::StrCat(
      static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) / 1000,
      "s");
}

std::string SignalName(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return absl::StrCat("signal ", signo);
  }
}

std::string EndpointString(const tcp::endpoint& endpoint) {
  const net::ip::address address = endpoint.address();
  // Go's RemoteAddr form: "1.2.3.4:5" and "[::1]:5".
  return address.is_v6() ? absl::StrCat("[", address.to_string(), "]:", endpoint.port())
                         : absl::StrCat(address.to_string(), ":", endpoint.port());
}

void LogIfThrew(const std::exception_ptr& exception, std::string_view what) {
  if (exception == nullptr) {
    return;
  }
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    LogError(absl::StrCat(ToAbsl(what), " failed: ", e.what()));
  } catch (...) {
    LogError(absl::StrCat(ToAbsl(what), " failed with an unknown exception"));
  }
}

// The executor of a connection's tasks: its strand, until the session ends. A backend answer that
// arrives later (on a curl thread) then finds it closed and is dropped; a strand must not be used
// once the io_context is gone. Thread-safe: Post and Close may be called from any thread.
class StrandExecutor final : public async::Executor {
 public:
  explicit StrandExecutor(Strand strand) : strand_(std::move(strand)) {}

  void Post(std::function<void()> work) override {
    absl::MutexLock lock(&mu_);
    if (strand_.has_value()) {
      net::post(*strand_, std::move(work));
    }
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    strand_.reset();
  }

 private:
  absl::Mutex mu_;
  std::optional<Strand> strand_ ABSL_GUARDED_BY(mu_);
};

// A connection's state as the server sees it. `strand` and `executor` are immutable; everything
// else is touched only on that strand.
struct Connection {
  Connection(const Strand& s, ConnectionSlots::Id id)
      : strand(s), executor(std::make_shared<StrandExecutor>(s)), slot(id) {}

  const Strand strand;
  const std::shared_ptr<StrandExecutor> executor;
  const ConnectionSlots::Id slot;
  TlsStream* stream = nullptr;                   // null once the session has ended
  async::TaskContext* active_request = nullptr;  // set while a handler task is suspended
  bool idle = true;                              // before the first request and between requests
  bool draining = false;                         // finish the current request, then close
  bool aborted = false;                          // grace period over: stop now
};

// Where a session's coroutine waits for a callback on its strand (its request's task ending,
// the read that watches the connection). Not thread-safe: used on the session's strand only.
class StrandWaiter {
 public:
  explicit StrandWaiter(const Strand& strand) : strand_(strand) {}

  // Resumes Wait, posted rather than called: the session must not run on inside the caller's
  // frame (the task's last frame, a read's handler). A Wake before Wait lets Wait return at once.
  void Wake() {
    woken_ = true;
    if (waiting_.has_value()) {
      net::post(strand_, [resume = *std::move(waiting_)]() mutable {
        std::move(resume)(beast::error_code());
      });
      waiting_.reset();
    }
  }

  net::awaitable<void> Wait() {
    if (!woken_) {
      co_await net::async_initiate<decltype(kUseTuple), void(beast::error_code)>(
          [this](auto handler) { waiting_.emplace(std::move(handler)); }, kUseTuple);
    }
  }

 private:
  Strand strand_;
  bool woken_ = false;
  std::optional<net::any_completion_handler<void(beast::error_code)>> waiting_;
};

// One request's task as the session waits for it; lives in the session's frame, on its strand.
struct RunningRequest {
  RunningRequest(std::shared_ptr<async::Executor> executor, const Strand& strand)
      : context(std::move(executor)), ended(strand) {}

  async::TaskContext context;
  std::optional<absl::StatusOr<http::Response>> result;
  StrandWaiter ended;  // woken when `result` is set
  bool timed_out = false;
  bool client_gone = false;  // the client closed the connection while the task waited
};

// The one read that watches a connection while its request's task waits.
struct ConnectionWatch {
  explicit ConnectionWatch(const Strand& strand) : done(strand) {}

  bool pending = false;
  StrandWaiter done;  // woken when the read completes
};

BeastResponse ToBeast(http::Response response, unsigned version) {
  if (response.status < 100 || response.status > 999) {
    LogError(absl::StrCat("handler answered with invalid HTTP status ", response.status));
    response = http::Response{500, "text/plain; charset=utf-8", "500 Internal Server Error", {}};
  }
  BeastResponse out{static_cast<bhttp::status>(response.status), version};
  if (!response.content_type.empty()) {
    out.set(bhttp::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    // A CR or LF would let a value start a new header line: never write one.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      LogError(absl::StrCat("dropped response header ", GoQuote(name), " with a line break"));
      continue;
    }
    out.insert(name, value);
  }
  out.body() = std::move(response.body);
  return out;
}

// The answer owed to a request that could not be read, if any: nothing for a connection that just
// ended or timed out.
std::optional<absl::Status> ReadError(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) {
    return http::WithHttpCode(absl::InvalidArgumentError("request header fields too large"), 431);
  }
  if (ec == bhttp::error::body_limit) {
    return http::WithHttpCode(absl::InvalidArgumentError("the request body is too large"), 413);
  }
  if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return absl::InvalidArgumentError(absl::StrCat("malformed HTTP request: ", ec.message()));
  }
  return std::nullopt;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, http::Handler handler, http::ErrorRenderer render_error,
       TlsContextOptions tls_options, SslCtxPtr ssl_context, absl::Time not_after,
       ClientCertVerifier verifier)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        render_error_(std::move(render_error)),
        tls_options_(std::move(tls_options)),
        certificate_files_{tls_options_.cert_file, tls_options_.key_file},
        // asio takes ownership of the native context.
        ssl_context_(std::make_shared<ssl::context>(ssl_context.release())),
        not_after_(not_after),
        client_certificates_requested_(tls_options_.request_client_certificate),
        verifier_(std::make_shared<const ClientCertVerifier>(std::move(verifier))),
        // One thread runs each loop: a hint of 1 keeps Asio from waking other threads for it.
        io_context_(1),
        strand_(io_context_.get_executor()),
        acceptor_(strand_),
        signals_(strand_, SIGTERM, SIGINT),
        delay_timer_(strand_),
        drain_timer_(strand_) {
    if (options_.on_reload_signal) {
      signals_.add(SIGHUP);
    }
    for (int i = 1; i < options_.threads; ++i) {
      auto& loop = connection_loops_.emplace_back(std::make_unique<net::io_context>(1));
      // Until the control loop ends, an extra loop without connections waits for the next.
      idle_guards_.emplace_back(loop->get_executor());
    }
  }

  absl::Status Listen() {
    beast::error_code ec;
    net::ip::address address = net::ip::make_address(options_.bind_address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bind-address=", GoQuote(options_.bind_address), " is not an IP address"));
    }
    tcp::endpoint endpoint(address, options_.port);
    std::string where = EndpointString(endpoint);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    return absl::OkStatus();
  }

  uint16_t port() const { return port_; }

  absl::Status UpdateClientCas(std::string_view client_ca_pem,
                               std::string_view requestheader_client_ca_pem) {
    if (!client_certificates_requested_) {
      return absl::FailedPreconditionError(
          "the server does not ask for client certificates: create it with "
          "request_client_certificates");
    }
    MA_ASSIGN_OR_RETURN(
        ClientCertVerifier verifier,
        ClientCertVerifier::CreateFromPem(client_ca_pem, requestheader_client_ca_pem));
    verifier_.Set(std::make_shared<const ClientCertVerifier>(std::move(verifier)));
    return absl::OkStatus();
  }

  const CertificateFiles& serving_certificate_files() const { return certificate_files_; }

  absl::Time serving_certificate_not_after() const {
    absl::MutexLock lock(&tls_mu_);
    return not_after_;
  }

  absl::Status ReloadServingCertificate() {
    MA_ASSIGN_OR_RETURN(SslCtxPtr context, CreateServerSslContext(tls_options_));
    MA_ASSIGN_OR_RETURN(absl::Time not_after, ServingCertificateNotAfter(context.get()));
    auto replacement = std::make_shared<ssl::context>(context.release());
    absl::MutexLock lock(&tls_mu_);
    // Sessions hold the context they started with; the old one goes with the last of them.
    ssl_context_.swap(replacement);
    not_after_ = not_after;
    return absl::OkStatus();
  }

  absl::Status ReloadClientCaFiles() {
    if (options_.client_ca_file.empty() && options_.requestheader_client_ca_file.empty()) {
      return absl::OkStatus();
    }
    MA_ASSIGN_OR_RETURN(
        ClientCertVerifier verifier,
        ClientCertVerifier::Create(options_.client_ca_file, options_.requestheader_client_ca_file));
    verifier_.Set(std::make_shared<const ClientCertVerifier>(std::move(verifier)));
    return absl::OkStatus();
  }

  ServerStats stats() const {
    absl::MutexLock lock(&mu_);
    return ServerStats{.active_connections = connections_.size(),
                       .rejected_connections = rejected_connections_,
                       .evicted_connections = evicted_connections_};
  }

  void Run() {
    net::co_spawn(strand_, AcceptLoop(),
                  [](const std::exception_ptr& e) { LogIfThrew(e, "accept loop"); });
    net::co_spawn(strand_, SignalLoop(),
                  [](const std::exception_ptr& e) { LogIfThrew(e, "signal loop"); });
    std::vector<std::thread> threads;
    for (std::unique_ptr<net::io_context>& loop : connection_loops_) {
      threads.emplace_back([&loop] { RunLoop(*loop); });
    }
    RunLoop(io_context_);
    // Every session has unregistered; what is left on the other loops is their last steps.
    for (auto& guard : idle_guards_) {
      guard.reset();
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  }

  void Shutdown() {
    shutdown_requested_ = true;
    // BeginDrain is idempotent; a post to an io_context that has finished is never run.
    net::post(strand_, [this] { BeginDrain(); });
  }

 private:
  static void RunLoop(net::io_context& loop) {
    try {
      loop.run();
    } catch (const std::exception& e) {
      LogError(absl::StrCat("I/O loop stopped by an exception: ", e.what()));
    }
  }

  // Until the drain begins (which cancels signals_): the first signal begins the shutdown delay,
  // the next one ends it.
  net::awaitable<void> SignalLoop() {
    // A Shutdown() before Run() has already cancelled signals_: do not start a wait it misses.
    if (shutdown_requested_) {
      co_return;
    }
    for (;;) {
      auto [ec, signo] = co_await signals_.async_wait(kUseTuple);
      if (ec) {
        co_return;
      }
      if (signo == SIGHUP) {
        options_.on_reload_signal();
        continue;
      }
      OnSignal(signo);
      if (phase_ == Phase::kDraining) {
        co_return;  // BeginDrain has cancelled signals_ already: a new wait would never end
      }
    }
  }

  // On strand_.
  void OnSignal(int signo) {
    const std::string name = SignalName(signo);
    if (phase_ == Phase::kDelaying) {
      LogInfo(absl::StrCat("shutdown: ", name, " during the shutdown delay, ",
                           FormatSeconds(std::chrono::steady_clock::now() - shutdown_began_),
                           " into it: skipping the rest"));
      delay_timer_.cancel();
      return;
    }
    if (phase_ != Phase::kServing) {
      return;
    }
    shutdown_requested_ = true;
    BeginShutdown();
    if (options_.shutdown_delay <= std::chrono::milliseconds::zero()) {
      LogInfo(absl::StrCat("shutdown: ", name, " received; no shutdown delay"));
      BeginDrain();
      return;
    }
    phase_ = Phase::kDelaying;
    LogInfo(absl::StrCat("shutdown: ", name, " received; not ready from now on, serving for ",
                         FormatSeconds(options_.shutdown_delay),
                         " more (shutdown delay) before closing the listener"));
    net::co_spawn(strand_, DelayThenDrain(),
                  [](const std::exception_ptr& e) { LogIfThrew(e, "shutdown delay"); });
  }

  // On strand_: the first step of every shutdown, whatever began it.
  void BeginShutdown() {
    if (phase_ != Phase::kServing) {
      return;
    }
    phase_ = Phase::kBegun;
    shutdown_began_ = std::chrono::steady_clock::now();
    if (options_.on_shutdown) {
      options_.on_shutdown();
    }
  }

  // On strand_: ends with the drain, when the delay is over or cut short (a second signal,
  // Shutdown()).
  net::awaitable<void> DelayThenDrain() {
    delay_timer_.expires_after(options_.shutdown_delay);
    co_await delay_timer_.async_wait(kUseTuple);
    BeginDrain();
  }

  net::awaitable<void> AcceptLoop() {
    for (;;) {
      Strand strand = NextConnectionLoop().get_executor();
      auto [ec, socket] = co_await acceptor_.async_accept(strand, kUseTuple);
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
          co_return;
        }
        LogError(absl::StrCat("accept failed: ", ec.message()));
        net::steady_timer backoff(strand_, kAcceptErrorBackoff);
        co_await backoff.async_wait(kUseTuple);
        continue;
      }
      // Go clients (the aggregator among them) set TCP_NODELAY; without it here too, Nagle's
      // algorithm meets their delayed ACKs and the first answer on a connection waits ~40 ms.
      beast::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      beast::error_code endpoint_ec;
      std::shared_ptr<Connection> connection =
          Register(strand, socket.remote_endpoint(endpoint_ec).address().to_string());
      if (connection == nullptr) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      net::co_spawn(strand, RunSession(std::move(socket), connection),
                    [](const std::exception_ptr& e) { LogIfThrew(e, "connection"); });
    }
  }

  // Round robin over the loops; on strand_. A connection stays on its loop: its reads, writes,
  // TLS and request tasks never meet another connection's on a lock.
  net::io_context& NextConnectionLoop() {
    const size_t index = next_loop_++ % (connection_loops_.size() + 1);
    return index == 0 ? io_context_ : *connection_loops_[index - 1];
  }

  // `source` is the client's address without the port: what ConnectionSlots counts per source.
  std::shared_ptr<Connection> Register(const Strand& strand, std::string_view source) {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      ++rejected_connections_;
      return nullptr;
    }
    ConnectionSlots::Admission admission = slots_.Admit(source);
    if (admission.id == 0) {
      ++rejected_connections_;
      if (options_.metrics != nullptr) {
        options_.metrics->RecordConnectionRejected();
      }
      return nullptr;
    }
    if (admission.evicted.has_value()) {
      ++evicted_connections_;
      if (options_.metrics != nullptr) {
        options_.metrics->RecordConnectionEvicted();
      }
      CloseWhenIdle(connections_.at(*admission.evicted));
    }
    auto connection = std::make_shared<Connection>(strand, admission.id);
    connections_.emplace(admission.id, connection);
    CountOpenConnections();
    return connection;
  }

  void CountOpenConnections() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (options_.metrics != nullptr) {
      options_.metrics->SetOpenConnections(static_cast<double>(connections_.size()));
    }
  }

  // On the connection's strand, as it starts or stops waiting for a request.
  void SetIdle(Connection& connection, bool idle) {
    connection.idle = idle;
    absl::MutexLock lock(&mu_);
    slots_.SetIdle(connection.slot, idle);
  }

  // The connection finishes the request it is serving, if any, and closes; an idle one closes
  // now. For shutdown, and for an idle connection whose slot a new one takes.
  static void CloseWhenIdle(std::shared_ptr<Connection> connection) {
    Strand strand = connection->strand;
    net::post(strand, [connection = std::move(connection)] {
      connection->draining = true;
      if (connection->idle && connection->stream != nullptr) {
        beast::get_lowest_layer(*connection->stream).cancel();
      }
    });
  }

  void Unregister(const std::shared_ptr<Connection>& connection) {
    absl::MutexLock lock(&mu_);
    connections_.erase(connection->slot);
    slots_.Release(connection->slot);
    CountOpenConnections();
    if (draining_ && connections_.empty()) {
      net::post(strand_, [this] { drain_timer_.cancel(); });
    }
  }

  // On strand_.
  void BeginDrain() {
    std::vector<std::shared_ptr<Connection>> connections;
    {
      absl::MutexLock lock(&mu_);
      if (draining_) {
        return;
      }
      draining_ = true;
      connections = OpenConnections();
    }
    BeginShutdown();
    phase_ = Phase::kDraining;
    beast::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    delay_timer_.cancel();
    drain_began_ = std::chrono::steady_clock::now();
    LogInfo(absl::StrCat(
        "shutdown: closed the listener ", FormatSeconds(drain_began_ - shutdown_began_),
        " after shutdown began; draining ", connections.size(), " open connection(s)"));
    for (std::shared_ptr<Connection>& connection : connections) {
      CloseWhenIdle(std::move(connection));
    }
    net::co_spawn(strand_, AwaitDrain(),
                  [](const std::exception_ptr& e) { LogIfThrew(e, "shutdown"); });
  }

  std::vector<std::shared_ptr<Connection>> OpenConnections() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::shared_ptr<Connection>> open;
    open.reserve(connections_.size());
    for (const auto& [id, connection] : connections_) {
      open.push_back(connection);
    }
    return open;
  }

  bool AllConnectionsClosed() const {
    absl::MutexLock lock(&mu_);
    return connections_.empty();
  }

  // On strand_: waits for the sessions to end, cancels them after the grace period and stops the
  // loop if even that does not end them.
  net::awaitable<void> AwaitDrain() {
    if (!AllConnectionsClosed()) {
      drain_timer_.expires_after(options_.limits.shutdown_grace_period);
      auto [ec] = co_await drain_timer_.async_wait(kUseTuple);
      if (!ec && !AllConnectionsClosed()) {
        co_await AbortConnections();
        co_return;
      }
    }
    LogInfo(absl::StrCat("shutdown: drained in ",
                         FormatSeconds(std::chrono::steady_clock::now() - drain_began_)));
  }

  // On strand_: the grace period is over; cancels what is left.
  net::awaitable<void> AbortConnections() {
    std::vector<std::shared_ptr<Connection>> connections;
    {
      absl::MutexLock lock(&mu_);
      connections = OpenConnections();
    }
    LogError(absl::StrCat("shutdown: the drain's grace period of ",
                          FormatSeconds(options_.limits.shutdown_grace_period),
                          " is over; cancelling ", connections.size(), " open connection(s)"));
    for (const std::shared_ptr<Connection>& connection : connections) {
      net::post(connection->strand, [connection] {
        connection->aborted = true;
        if (connection->stream != nullptr) {
          beast::get_lowest_layer(*connection->stream).cancel();
        }
        if (connection->active_request != nullptr) {
          connection->active_request->Cancel(absl::CancelledError("the server is shutting down"));
        }
      });
    }
    drain_timer_.expires_after(kForcedStopTimeout);
    auto [stop_ec] = co_await drain_timer_.async_wait(kUseTuple);
    if (!stop_ec && !AllConnectionsClosed()) {
      LogError("connections did not end after cancellation; stopping the I/O loops");
      for (auto& loop : connection_loops_) {
        loop->stop();
      }
      io_context_.stop();
    }
  }

  // Runs on the connection's strand; the stream and buffers live in this frame.
  net::awaitable<void> RunSession(tcp::socket socket, std::shared_ptr<Connection> connection) {
    beast::error_code ignored;
    std::string remote_address = EndpointString(socket.remote_endpoint(ignored));
    // The certificate of this connection, even if a reload replaces it meanwhile.
    std::shared_ptr<ssl::context> ssl_context = CurrentSslContext();
    TlsStream stream(std::move(socket), *ssl_context);
    connection->stream = &stream;
    struct Cleanup {
      Impl* impl;
      std::shared_ptr<Connection> connection;
      ~Cleanup() {
        connection->stream = nullptr;
        connection->executor->Close();
        impl->Unregister(connection);
      }
    } cleanup{this, connection};

    if (connection->draining) {
      co_return;
    }
    beast::get_lowest_layer(stream).expires_after(options_.limits.tls_handshake_timeout);
    auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (handshake_ec) {
      co_return;  // Probes, scanners and refused TLS versions end here; not worth a log line.
    }
    std::optional<http::PeerCertificate> peer = verifier_.Get()->VerifyPeer(stream.native_handle());

    beast::flat_buffer buffer;
    bool first_request = true;
    while (!connection->draining && !connection->aborted) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.limits.max_header_bytes));
      parser.body_limit(options_.limits.max_body_bytes);
      SetIdle(*connection, true);
      beast::get_lowest_layer(stream).expires_after(first_request
                                                        ? options_.limits.request_read_timeout
                                                        : options_.limits.idle_keep_alive_timeout);
      first_request = false;
      auto [header_ec, header_bytes] =
          co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
      SetIdle(*connection, false);
      beast::error_code ec = header_ec;
      if (!ec && !parser.is_done()) {
        beast::get_lowest_layer(stream).expires_after(options_.limits.request_read_timeout);
        auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
        ec = body_ec;
      }
      if (ec) {
        if (std::optional<absl::Status> status = ReadError(ec); status.has_value()) {
          std::optional<BeastResponse> error = ToBeast(render_error_(*status), 11);
          error->keep_alive(false);
          error->prepare_payload();
          beast::get_lowest_layer(stream).expires_after(options_.limits.write_timeout);
          co_await bhttp::async_write(stream, *error, kUseTuple);
          co_await Linger(stream);
        }
        break;
      }
      beast::get_lowest_layer(stream).expires_never();

      BeastRequest beast_request = parser.release();
      std::optional<BeastResponse> response =
          co_await Dispatch(beast_request, remote_address, peer, *connection, stream, buffer);
      if (!response.has_value()) {
        break;  // Aborted by shutdown: nothing to write.
      }
      bool keep_alive = beast_request.keep_alive() && !connection->draining;
      response->keep_alive(keep_alive);
      response->prepare_payload();
      beast::get_lowest_layer(stream).expires_after(options_.limits.write_timeout);
      auto [write_ec, written] = co_await bhttp::async_write(stream, *response, kUseTuple);
      if (write_ec || !keep_alive) {
        break;
      }
    }
    // Let the client read what was written, then see EOF rather than a reset.
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream).close();
  }

  std::shared_ptr<ssl::context> CurrentSslContext() const {
    absl::MutexLock lock(&tls_mu_);
    return ssl_context_;
  }

  // After an error response the client may still be sending; closing with unread bytes would
  // reset the connection and could destroy the response in flight (Go's closeWriteAndWait).
  net::awaitable<void> Linger(TlsStream& stream) {
    beast::error_code ec;
    beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
    tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp.expires_after(kLingerTimeout);
    std::array<char, std::size_t{16} * 1024> scratch;
    std::size_t discarded = 0;
    while (!ec && discarded < kMaxLingerBytes) {
      std::size_t n = 0;
      std::tie(ec, n) = co_await tcp.async_read_some(net::buffer(scratch), kUseTuple);
      discarded += n;
    }
  }

  // Answers the request (Answer) and writes its access log line; nothing when aborted.
  net::awaitable<std::optional<BeastResponse>> Dispatch(
      BeastRequest& beast_request, const std::string& remote_address,
      const std::optional<http::PeerCertificate>& peer, Connection& connection, TlsStream& stream,
      beast::flat_buffer& buffer) {
    const auto started = std::chrono::steady_clock::now();
    std::optional<http::Response> response =
        co_await Answer(beast_request, remote_address, peer, connection, stream, buffer);
    if (!response.has_value()) {
      co_return std::nullopt;
    }
    const std::string user = std::move(response->user);
    const std::string_view cache_outcome = response->cache_outcome;
    BeastResponse out = ToBeast(*std::move(response), beast_request.version());
    LogAccess(
        {.method = Std(beast_request.method_string()),
         .uri = Std(beast_request.target()),
         .user = user,
         .status = static_cast<int>(out.result_int()),
         .duration_seconds =
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
         .cache_outcome = cache_outcome,
         .remote_address = remote_address});
    co_return out;
  }

  // Runs the handler's task for the request on this connection's strand and waits for its answer,
  // the handler timeout or an abort. A task that never suspends (an answer from memory) costs no
  // wait at all.
  net::awaitable<std::optional<http::Response>> Answer(
      BeastRequest& beast_request, const std::string& remote_address,
      const std::optional<http::PeerCertificate>& peer, Connection& connection, TlsStream& stream,
      beast::flat_buffer& buffer) {
    absl::StatusOr<http::Request> parsed =
        http::ParseRequestTarget(Std(beast_request.method_string()), Std(beast_request.target()));
    if (!parsed.ok()) {
      co_return render_error_(parsed.status());
    }
    http::Request request = *std::move(parsed);
    for (const auto& field : beast_request) {
      request.headers.emplace_back(absl::AsciiStrToLower(ToAbsl(Std(field.name_string()))),
                                   std::string(Std(field.value())));
    }
    request.body = std::move(beast_request.body());
    request.remote_address = remote_address;
    request.peer_certificate = peer;
    const absl::StatusOr<std::chrono::milliseconds> deadline =
        RequestDeadline(request, options_.limits.handler_timeout);
    if (!deadline.ok()) {
      co_return render_error_(deadline.status());
    }

    RunningRequest running(connection.executor, connection.strand);
    async::Start<http::Response>(running.context, handler_(std::move(request)),
                                 [&running](absl::StatusOr<http::Response> result) {
                                   running.result = std::move(result);
                                   running.ended.Wake();
                                 });
    if (!running.result.has_value()) {
      co_await AwaitSuspendedRequest(running, *deadline, connection, stream, buffer);
    }
    if (connection.aborted || running.client_gone) {
      co_return std::nullopt;
    }
    if (running.timed_out) {
      LogError(absl::StrCat("handler did not answer ", ToAbsl(Std(beast_request.method_string())),
                            " ", GoQuote(Std(beast_request.target())), " within ",
                            deadline->count(), "ms"));
      co_return render_error_(absl::DeadlineExceededError(ToAbsl(kHandlerTimeoutMessage)));
    }
    if (!running.result->ok()) {
      LogError(absl::StrCat(ToAbsl(Std(beast_request.method_string())), " ",
                            GoQuote(Std(beast_request.target())), ": ",
                            running.result->status().ToString()));
      co_return render_error_(running.result->status());
    }
    co_return **std::move(running.result);
  }

  // Waits until the suspended task answers. `timeout` cancels it, and so does an abort
  // at shutdown (through Connection::active_request); a cancelled task ends at once. Meanwhile
  // one read watches the connection, as Go's server does: the client closing it (EOF, a reset, a
  // TLS close) cancels the task too. Bytes that arrive instead (a pipelined request) stay in
  // `buffer` for the session's next read.
  net::awaitable<void> AwaitSuspendedRequest(RunningRequest& running,
                                             std::chrono::milliseconds timeout,
                                             Connection& connection, TlsStream& stream,
                                             beast::flat_buffer& buffer) {
    connection.active_request = &running.context;
    net::steady_timer deadline(connection.strand, timeout);
    // The flag outlives this frame for a timer callback already queued when the task ends.
    auto pending = std::make_shared<bool>(true);
    deadline.async_wait([&running, pending](beast::error_code ec) {
      if (!ec && *pending) {
        running.timed_out = true;
        running.context.Cancel(absl::DeadlineExceededError(ToAbsl(kHandlerTimeoutMessage)));
      }
    });
    // The watch's handler uses this frame; the frame waits for it below before it ends.
    ConnectionWatch watch(connection.strand);
    watch.pending = true;
    stream.async_read_some(
        buffer.prepare(kConnectionWatchBytes),
        [&running, &buffer, &watch](beast::error_code ec, std::size_t n) {
          watch.pending = false;
          buffer.commit(n);
          if (ec && ec != net::error::operation_aborted && !running.result.has_value()) {
            running.client_gone = true;
            running.context.Cancel(absl::CancelledError("the client closed the connection"));
          }
          watch.done.Wake();
        });
    co_await running.ended.Wait();
    *pending = false;
    deadline.cancel();
    connection.active_request = nullptr;
    if (watch.pending) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream).socket().cancel(ignored);
    }
    co_await watch.done.Wait();
  }

  const ServerOptions options_;
  const http::Handler handler_;
  const http::ErrorRenderer render_error_;
  const TlsContextOptions tls_options_;
  const CertificateFiles certificate_files_;
  mutable absl::Mutex tls_mu_;
  // Replaced whole by ReloadServingCertificate; each session holds the one it started with.
  std::shared_ptr<ssl::context> ssl_context_ ABSL_GUARDED_BY(tls_mu_);
  absl::Time not_after_ ABSL_GUARDED_BY(tls_mu_);
  // Whether the TLS context sends a CertificateRequest; fixed at creation.
  const bool client_certificates_requested_;
  // Swapped whole by UpdateClientCas and ReloadClientCaFiles; each connection verifies with the
  // one it took.
  Snapshot<ClientCertVerifier> verifier_;
  mutable absl::Mutex mu_;
  ConnectionSlots slots_ ABSL_GUARDED_BY(mu_){options_.limits.max_connections,
                                              options_.limits.max_connections_per_source};
  absl::flat_hash_map<ConnectionSlots::Id, std::shared_ptr<Connection>> connections_
      ABSL_GUARDED_BY(mu_);
  uint64_t rejected_connections_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_connections_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> shutdown_requested_{false};
  uint16_t port_ = 0;

  // The control loop: the accept loop, signals and shutdown (on strand_), and connections too.
  // Run on the thread that calls Run().
  net::io_context io_context_;
  // options.threads - 1 more loops, a thread each, for connections only.
  std::vector<std::unique_ptr<net::io_context>> connection_loops_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> idle_guards_;
  size_t next_loop_ = 0;  // on strand_
  Strand strand_;         // accept loop, signals and shutdown
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  // Shutdown's progress; all on strand_.
  enum class Phase { kServing, kBegun, kDelaying, kDraining };
  Phase phase_ = Phase::kServing;
  std::chrono::steady_clock::time_point shutdown_began_;
  std::chrono::steady_clock::time_point drain_began_;
  net::steady_timer delay_timer_;
  net::steady_timer drain_timer_;
};

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options, http::Handler handler,
                                                       http::ErrorRenderer render_error) {
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return absl::InvalidArgumentError(absl::StrCat("server threads must be between 1 and ",
                                                   kMaxThreads, ", not ", options.threads));
  }
  if (!handler || !render_error) {
    return absl::InvalidArgumentError("the server needs a request handler and an error renderer");
  }
  if (options.tls_cert_file.empty() != options.tls_private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert-file and --tls-private-key-file must be given together");
  }
  TlsContextOptions tls;
  tls.min_version = options.tls_min_version;
  tls.cipher_suites = options.tls_cipher_suites;
  if (options.tls_cert_file.empty()) {
    MA_ASSIGN_OR_RETURN(CertificateFiles files, EnsureSelfSignedCertificate(options.cert_dir));
    tls.cert_file = std::move(files.cert_file);
    tls.key_file = std::move(files.key_file);
  } else {
    tls.cert_file = options.tls_cert_file;
    tls.key_file = options.tls_private_key_file;
  }
  MA_ASSIGN_OR_RETURN(
      ClientCertVerifier verifier,
      ClientCertVerifier::Create(options.client_ca_file, options.requestheader_client_ca_file));
  tls.request_client_certificate = verifier.enabled() || options.request_client_certificates;
  MA_ASSIGN_OR_RETURN(SslCtxPtr ssl_ctx, CreateServerSslContext(tls));
  MA_ASSIGN_OR_RETURN(absl::Time not_after, ServingCertificateNotAfter(ssl_ctx.get()));
  auto impl =
      std::make_unique<Impl>(std::move(options), std::move(handler), std::move(render_error),
                             std::move(tls), std::move(ssl_ctx), not_after, std::move(verifier));
  MA_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
uint16_t Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Shutdown() { impl_->Shutdown(); }
ServerStats Server::stats() const { return impl_->stats(); }
absl::Status Server::UpdateClientCas(std::string_view client_ca_pem,
                                     std::string_view requestheader_client_ca_pem) {
  return impl_->UpdateClientCas(client_ca_pem, requestheader_client_ca_pem);
}
const CertificateFiles& Server::serving_certificate_files() const {
  return impl_->serving_certificate_files();
}
absl::Time Server::serving_certificate_not_after() const {
  return impl_->serving_certificate_not_after();
}
absl::Status Server::ReloadServingCertificate() { return impl_->ReloadServingCertificate(); }
absl::Status Server::ReloadClientCaFiles() { return impl_->ReloadClientCaFiles(); }

}  // namespace ma::server
