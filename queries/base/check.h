#pragma once

// MA_CHECK: aborts on a broken invariant of our own code (Envoy's RELEASE_ASSERT). Untrusted
// input must never reach one: that is an error value instead.

#include <cstdio>
#include <cstdlib>

#define MA_CHECK(condition)                                                              \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
