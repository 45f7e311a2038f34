// libFuzzer entry point: arbitrary bodies and status codes must decode or fail cleanly, within
// the named limits, never crash or recurse deeply.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapter/prometheus/response_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the HTTP status among those the decoder treats differently.
  constexpr long kCodes[] = {200, 204, 400, 422, 503, 500, 414};             // NOLINT
  const long code = kCodes[data[0] % (sizeof(kCodes) / sizeof(kCodes[0]))];  // NOLINT
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)ma::prometheus::DecodeQueryResponse(code, body);
  (void)ma::prometheus::DecodeSeriesResponse(code, body);
  return 0;
}
