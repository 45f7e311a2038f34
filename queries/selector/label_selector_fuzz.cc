// libFuzzer target: any text either fails to parse or parses to a selector whose canonical form
// re-parses to the same selector (what Go clients rely on when they re-serialise selectors).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "queries/base/check.h"
#include "queries/selector/label_selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ma::selector::LabelSelector::Parse(text);
  if (!parsed.ok()) {
    MA_CHECK(!parsed.status().message().empty());
    return 0;
  }
  const std::string canonical = parsed->String();
  auto reparsed = ma::selector::LabelSelector::Parse(canonical);
  MA_CHECK(reparsed.ok());
  MA_CHECK(reparsed->requirements() == parsed->requirements());
  MA_CHECK(reparsed->String() == canonical);
  parsed->Matches({{"a", "b"}, {"k", "5"}});
  return 0;
}
