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
std::string Platform() {
#if defined(__x86_64__)
  return "linux/amd64";
#elif defined(__aarch64__)
  return "linux/arm64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "linux/ppc64le";
#elif defined(__s390x__)
  return "linux/s390x";
#elif defined(__arm__)
  return "linux/arm";
#elif defined(__i386__)
  return "linux/386";
#else
  return "linux/unknown";
#endif
}

std::string VersionString() {
  return "metrics-adapter " + GitVersion() + " (commit " + GitCommit() + ", " + Platform() + ")";
}

}  // namespace ma::app
