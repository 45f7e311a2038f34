#pragma once

#include <string>

namespace ma::app {

// "metrics-adapter v0.1.0 (commit abc1234)": the version and commit baked in at build time.
std::string VersionString();
std::string GitVersion();  // "v0.1.0"
std::string GitCommit();   // "abc1234" or "unknown"
// The platform the binary was built for, in Go's GOOS/GOARCH words: "linux/amd64", "linux/arm64".
std::string Platform();

}  // namespace ma::app
