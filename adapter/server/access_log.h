#pragma once

// The access log: one line per answered request at -v=3 (kAccessLogVerbosity), as the
// Kubernetes components' "HTTP" line, with structured fields in both log formats:
//   I1205 03:12:00.123456   4242 server.cc:801] "HTTP" method="GET"
//     uri="/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue?labelSelector=q%3Dx"
//     user="system:serviceaccount:kube-system:horizontal-pod-autoscaler" status=200
//     duration_seconds=0.000412 cache="hit" remote="10.0.0.7:51234"
// Every string field is quoted, so what a client sends (the URI, a user name from a header or a
// token review) can neither end its field nor start a forged line.

#include <cstddef>
#include <string_view>

#include "adapter/telemetry/log.h"

namespace ma::server {

inline constexpr int kAccessLogVerbosity = 3;
// A request target may be up to the header limit long; the line keeps this much of it.
inline constexpr size_t kMaxAccessLogUriBytes = 2048;

struct AccessLogEntry {
  std::string_view method;
  std::string_view uri;   // the raw request target: path and query
  std::string_view user;  // empty: not authenticated
  int status = 0;
  double duration_seconds = 0;
  std::string_view cache_outcome;  // "hit", "miss", "stale" or "none"
  std::string_view remote_address;
};

// The line's fields, in the order they are written.
telemetry::LogFields AccessLogFields(const AccessLogEntry& entry);

// Writes the line when -v is at least kAccessLogVerbosity (or --vmodule says so for server.cc);
// `file` and `line` are the caller's.
void LogAccess(const AccessLogEntry& entry, const char* file = __builtin_FILE(),
               int line = __builtin_LINE());

}  // namespace ma::server
