#include "adapter/app/version.h"

#ifndef MA_VERSION
#define MA_VERSION "0.0.0"
#endif
#ifndef MA_GIT_COMMIT
#define MA_GIT_COMMIT "unknown"
#endif

namespace ma::app {

std::string GitVersion() { return "v" MA_VERSION; }
std::string GitCommit() { return MA_GIT_COMMIT; }
std::string VersionString() {
  return "metrics-adapter " + GitVersion() + " (commit " + GitCommit() + ")";
}

}  // namespace ma::app
