#pragma once

// A plain HTTP/1.1 server on 127.0.0.1 for testing outbound clients. It answers each request
// with the raw bytes a handler returns, so that a test controls status lines, framing (chunked
// or not) and timing, and it records what it received. Connections are kept alive unless the
// reply says "Connection: close".

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ma::testing {

// One request as received.
struct LoopbackRequest {
  std::string head;  // request line and headers, without the blank line that ends them
  std::string body;

  // "GET /path HTTP/1.1".
  std::string RequestLine() const;
  // The request target ("/path?query").
  std::string Target() const;
  // The value of the first header called `name` (any case), or "".
  std::string Header(std::string_view name) const;
  // The request's bytes as sent.
  std::string Raw() const;
};

// Returns the reply's raw bytes, or nullopt to never answer: the connection is then held until
// the client closes it or the server stops. Runs on the connection's thread.
using LoopbackHandler = std::function<std::optional<std::string>(const LoopbackRequest&)>;

// An HTTP/1.1 response with `body` framed by Content-Length, and `extra_headers` ("Name: value\r\n"
// lines) after Content-Type and Content-Length.
std::string HttpResponseBytes(int code, std::string_view body,
                              std::string_view content_type = "text/plain",
                              std::string_view extra_headers = "");

// Thread-safe: one thread accepts, one thread serves each connection; the log is guarded by a
// mutex. The destructor closes every connection and joins every thread.
class LoopbackHttpServer {
 public:
  // Listens on a free loopback port; a failure fails the current test.
  explicit LoopbackHttpServer(LoopbackHandler handler);
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>".
  std::string Url(std::string_view path = "") const;

  std::vector<LoopbackRequest> requests() const;
  int connections_accepted() const;

 private:
  void AcceptLoop();
  // Serves requests on one connection until the peer closes it, a reply closes it, or the
  // server stops.
  void Serve(int fd);
  void Close(int fd);

  const LoopbackHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int connections_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<LoopbackRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ma::testing
