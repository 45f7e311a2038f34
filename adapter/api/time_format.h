#pragma once

// metav1.Time text: RFC 3339 in UTC with whole seconds ("2025-03-01T12:00:00Z"), the only form a
// Go server emits for timestamps.

#include <cstdint>
#include <string>

namespace ma::api {

// metav1.Time refuses to marshal years outside [0, 9999]; sample timestamps come from the
// metrics backend, so they are clamped to this range instead of producing invalid documents.
inline constexpr int64_t kMinTimestampMillis = -62167219200000;  // 0000-01-01T00:00:00Z
inline constexpr int64_t kMaxTimestampMillis = 253402300799999;  // 9999-12-31T23:59:59.999Z

// Formats milliseconds since the Unix epoch, truncated to the second towards the past (as Go's
// time formatting does: -1 ms is "1969-12-31T23:59:59Z"). Out-of-range values are clamped to
// kMinTimestampMillis / kMaxTimestampMillis.
std::string FormatTimestamp(int64_t unix_millis);

// metav1.Duration text, as Go's time.Duration.String() writes a whole number of milliseconds:
// "0s", "500ms", "1.5s", "5m0s", "1h0m0s", "-30s". The `window` of metrics.k8s.io objects.
std::string FormatGoDuration(int64_t millis);

}  // namespace ma::api
