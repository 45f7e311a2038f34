#pragma once

// A loopback TCP port that nothing listens on, for a test server to bind or for a client to be
// refused by.

#include "absl/status/statusor.h"

namespace ma::testing {

// Binds 127.0.0.1:0, reads the port the kernel chose and releases it. Another process may take
// the port before the caller uses it; the kernel does not hand it out again soon, which is what
// tests rely on.
absl::StatusOr<int> FreeLoopbackPort();

}  // namespace ma::testing
