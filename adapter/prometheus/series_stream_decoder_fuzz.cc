// libFuzzer entry point: any body, cut into chunks anywhere, must decode or fail cleanly within
// the named limits, and give the same answer however it is cut.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "adapter/prometheus/series_stream_decoder.h"

namespace {

absl::StatusOr<std::vector<ma::model::Series>> Decode(std::string_view body,
                                                      const std::vector<size_t>& cuts) {
  ma::prometheus::SeriesStreamDecoder decoder;
  size_t from = 0;
  for (const size_t cut : cuts) {
    if (absl::Status s = decoder.Feed(body.substr(from, cut - from)); !s.ok()) {
      return s;
    }
    from = cut;
  }
  if (absl::Status s = decoder.Feed(body.substr(from)); !s.ok()) {
    return s;
  }
  return decoder.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  // The first two bytes place two cuts in the body.
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t first = body.empty() ? 0 : data[0] % (body.size() + 1);
  size_t second = body.empty() ? 0 : data[1] % (body.size() + 1);
  if (first > second) {
    std::swap(first, second);
  }
  const auto whole = Decode(body, {});
  const auto cut = Decode(body, {first, second});
  if (whole.ok() != cut.ok() || (whole.ok() && *whole != *cut) ||
      (!whole.ok() && whole.status() != cut.status())) {
    std::abort();
  }
  return 0;
}
