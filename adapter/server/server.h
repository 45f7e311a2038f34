#pragma once

// The HTTPS/1.1 server of the adapter: TLS, keep-alive, limits, client certificates and graceful
// shutdown. Handlers see only adapter/http/message.h; Beast and Asio stay inside server.cc.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapter/http/message.h"
#include "adapter/server/limits.h"
#include "adapter/server/self_signed_cert.h"
#include "adapter/telemetry/adapter_metrics.h"

namespace ma::server {

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 6443;  // 0 picks a free port; see Server::port()
  // Both or neither; with neither, a self-signed pair is kept in cert_dir.
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string cert_dir;
  std::string tls_min_version = "VersionTLS12";  // or "VersionTLS13"
  std::vector<std::string> tls_cipher_suites;    // Go's names; empty: Go's defaults
  std::string client_ca_file;
  std::string requestheader_client_ca_file;
  // Ask TLS clients for a certificate even when no CA bundle is known yet (delegated
  // authentication, whose bundles arrive later through UpdateClientCas).
  bool request_client_certificates = false;
  int threads = 2;  // event loops, a thread each; connections are spread over them
  // Where the connection counts go (open, rejected, evicted); none when null.
  telemetry::AdapterMetrics* metrics = nullptr;
  Limits limits;  // tests shrink these; production keeps the defaults
  // Called on SIGHUP, on the server's own strand, so it must not block (the rules reload posts
  // its work to the scheduler). Unset: SIGHUP keeps its default action.
  std::function<void()> on_reload_signal;
  // --shutdown-delay-duration: after SIGTERM or SIGINT the server goes on serving as before for
  // this long, so that endpoints and load balancers stop sending here before the listener
  // closes. A second signal ends the delay at once.
  std::chrono::milliseconds shutdown_delay{0};
  // Called once when shutdown begins (a signal, or Shutdown()), before the delay, on a server
  // thread: readiness turns false here. Must not block.
  std::function<void()> on_shutdown;
};

struct ServerStats {
  uint64_t active_connections = 0;
  // Closed right after accept: every slot they could take was busy.
  uint64_t rejected_connections = 0;
  // Idle connections closed to make room for a new one (see adapter/server/connection_slots.h).
  uint64_t evicted_connections = 0;
};

// Thread-safe: every method but Run may be called from any thread; Run is called once. The
// handler is called on a connection's strand, and its task runs there from start to end (a
// suspended task resumes there too), so it must never block.
class Server {
 public:
  // Loads or generates the certificate, loads the client CA bundles and binds the port; every
  // failure is an error naming the flag or file at fault.
  // `render_error` answers what fails outside the handler: a malformed request, a request over
  // the limits, a handler that does not answer within limits.handler_timeout (or the shorter
  // `?timeout=` of the request, as the generic apiserver honours it; a malformed one is a 400).
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options,
                                                        http::Handler handler,
                                                        http::ErrorRenderer render_error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  // Serves on options.threads threads (this one included) until Shutdown() or SIGTERM/SIGINT,
  // then drains and returns within limits.shutdown_grace_period (and kForcedStopTimeout). A
  // signal begins with options.shutdown_delay of normal serving; each phase is logged with its
  // duration.
  void Run();
  // Stops accepting now (ending a shutdown delay under way), lets in-flight requests finish
  // (their responses carry Connection: close), closes idle connections. Idempotent; callable
  // before, during or after Run().
  void Shutdown();
  ServerStats stats() const;
  // Replaces both client CA bundles (PEM text; empty: none) for connections accepted from now
  // on, as the extension-apiserver-authentication ConfigMap changes. On error (named bundle)
  // the current ones stay.
  absl::Status UpdateClientCas(std::string_view client_ca_pem,
                               std::string_view requestheader_client_ca_pem);

  // The files the serving certificate and key are read from: the flags', or the pair generated
  // in cert_dir. A file watcher follows them and calls ReloadServingCertificate.
  const CertificateFiles& serving_certificate_files() const;
  // When the certificate that new connections are served with expires.
  absl::Time serving_certificate_not_after() const;
  // Reads the serving certificate and key again for connections accepted from now on; open
  // connections keep the one they started with. A missing, half-written or mismatched pair is an
  // error naming the file, and the current pair stays.
  absl::Status ReloadServingCertificate();
  // Reads options.client_ca_file and options.requestheader_client_ca_file again for connections
  // accepted from now on; on error (naming the file) the current bundles stay.
  absl::Status ReloadClientCaFiles();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ma::server
