// libFuzzer target: parsing arbitrary seriesQuery text and matching the result against a fixed
// series must neither crash nor leak, and every accepted selector needs a non-empty matcher.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "queries/base/check.h"
#include "queries/promql/series_selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ma::promql::SeriesSelector::Parse(text);
  if (!parsed.ok()) {
    MA_CHECK(!parsed.status().message().empty());
    return 0;
  }
  MA_CHECK(!parsed->matchers().empty());
  static const ma::model::Series kSeries{
      "container_cpu_usage_seconds_total",
      {{"container", "app"}, {"namespace", "default"}, {"pod", "web-1"}, {"x", "a\nb"}}};
  parsed->Matches(kSeries);
  // The selector can never match a series that has no labels and no name.
  MA_CHECK(!parsed->Matches(ma::model::Series{}));
  return 0;
}
