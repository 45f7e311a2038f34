// libFuzzer target: arbitrary template text is compiled against a fixed field list and, when it
// compiles, rendered against fixed data. Neither step may crash, hang or leak.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queries/template/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static const std::vector<std::string> fields = {"Series", "LabelMatchers", "LabelValuesByName",
                                                  "GroupBy", "GroupBySlice"};
  static const ma::tmpl::Data data = {
      {"Series", std::string("http_requests_total")},
      {"LabelMatchers", std::string(R"(namespace="shop",pod=~"a|b")")},
      {"LabelValuesByName",
       std::map<std::string, std::string>{{"namespace", "shop"}, {"pod", "a|b"}}},
      {"GroupBy", std::string("pod,container")},
      {"GroupBySlice", std::vector<std::string>{"pod", "container"}},
  };
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  auto tmpl = ma::tmpl::Template::Compile(text, fields);
  if (tmpl.ok()) {
    (void)tmpl->Render(data);
    (void)tmpl->References("Series");
  }
  return 0;
}
