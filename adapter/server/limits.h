#pragma once

// Every bound the HTTPS server puts on what a client can make it hold or wait for, in one place.
// Server reads them from a Limits value (defaulted from these constants) so that tests can
// shrink them; production code never changes them.

#include <chrono>
#include <cstddef>

namespace ma::server {

// Request line plus all header fields. Go's default is 1 MiB; our API needs a few KiB.
inline constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;
// The metrics APIs are GET-only; a body is accepted but must be small.
inline constexpr std::size_t kMaxBodyBytes = std::size_t{64} * 1024;
// From the first byte of a request to its last (Go apiserver: ReadHeaderTimeout 32 s).
inline constexpr std::chrono::milliseconds kRequestReadTimeout = std::chrono::seconds(32);
// How long a keep-alive connection may sit between requests (Go apiserver: IdleTimeout 90 s).
inline constexpr std::chrono::milliseconds kIdleKeepAliveTimeout = std::chrono::seconds(90);
// The request deadline (--request-timeout): how long a request may take, authentication,
// authorization and the backend call together, before the client gets a 504 Status. Half of
// kube-apiserver's own 60 s deadline, within which the aggregator proxies to us, so that the
// client hears our answer rather than the aggregator's; longer than the HPA's 15 s sync period
// would be pointless anyway.
inline constexpr std::chrono::milliseconds kHandlerTimeout = std::chrono::seconds(30);
// Bounds for --request-timeout: above the aggregator's deadline our answer would never arrive.
inline constexpr std::chrono::milliseconds kMinRequestTimeout = std::chrono::seconds(1);
inline constexpr std::chrono::milliseconds kMaxRequestTimeout = std::chrono::seconds(60);
// Writing one response to a slow reader.
inline constexpr std::chrono::milliseconds kWriteTimeout = std::chrono::seconds(30);
// When this many are open, a new connection takes the slot of an idle one (the oldest of the
// source holding the most); with none idle it is closed right after accept and counted.
inline constexpr std::size_t kMaxConnections = 1024;
// One source address (a pod, a node) never holds more, so one client cannot crowd out the rest.
// The aggregator needs one connection per concurrent request it proxies; this leaves it plenty.
inline constexpr std::size_t kMaxConnectionsPerSource = 256;
// Go clients finish a handshake in milliseconds on a cluster network; a client that has not
// after this long is holding a slot, not connecting.
inline constexpr std::chrono::milliseconds kTlsHandshakeTimeout = std::chrono::seconds(5);
// From shutdown to cancelling what is still in flight; below Kubernetes' default 30 s
// terminationGracePeriodSeconds so the kubelet never has to SIGKILL us.
inline constexpr std::chrono::milliseconds kShutdownGracePeriod = std::chrono::seconds(20);
// After the grace period: how long cancelled sessions get to unwind before the loop is stopped.
inline constexpr std::chrono::milliseconds kForcedStopTimeout = std::chrono::seconds(2);
// Pause after a failed accept (EMFILE and the like) so the loop does not spin.
inline constexpr std::chrono::milliseconds kAcceptErrorBackoff = std::chrono::milliseconds(100);
// After an error response: how long, and how much, unread input is drained before closing.
inline constexpr std::chrono::milliseconds kLingerTimeout = std::chrono::milliseconds(500);
inline constexpr std::size_t kMaxLingerBytes = std::size_t{256} * 1024;
// I/O threads; more than a handful buys nothing for an adapter.
inline constexpr int kMaxThreads = 64;
// A CA bundle or key file larger than this is a mistake, not a bundle.
inline constexpr std::size_t kMaxPemFileBytes = std::size_t{4} * 1024 * 1024;

struct Limits {
  std::size_t max_header_bytes = kMaxHeaderBytes;
  std::size_t max_body_bytes = kMaxBodyBytes;
  std::chrono::milliseconds request_read_timeout = kRequestReadTimeout;
  std::chrono::milliseconds idle_keep_alive_timeout = kIdleKeepAliveTimeout;
  std::chrono::milliseconds handler_timeout = kHandlerTimeout;
  std::chrono::milliseconds write_timeout = kWriteTimeout;
  std::size_t max_connections = kMaxConnections;
  std::size_t max_connections_per_source = kMaxConnectionsPerSource;
  std::chrono::milliseconds tls_handshake_timeout = kTlsHandshakeTimeout;
  std::chrono::milliseconds shutdown_grace_period = kShutdownGracePeriod;
};

}  // namespace ma::server
