#include "adapter/prometheus/series_stream_decoder.h"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/prometheus/response_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"
#include "queries/config/rules_config.h"
#include "queries/model/resource_mapper.h"
#include "queries/registry/metric_registry.h"
#include "queries/rules/rule_set.h"

namespace ma::prometheus {
namespace {

using ::testing::HasSubstr;

std::string Envelope(std::string_view data) {
  return Cat(R"({"status":"success","data":)", data, "}");
}

// Feeds `chunks` in order and finishes; an error from Feed is the result.
absl::StatusOr<std::vector<model::Series>> DecodeChunks(
    const std::vector<std::string_view>& chunks) {
  SeriesStreamDecoder decoder;
  for (const std::string_view chunk : chunks) {
    if (absl::Status s = decoder.Feed(chunk); !s.ok()) {
      EXPECT_EQ(decoder.Feed("{}"), s) << "errors are sticky";
      return s;
    }
  }
  return decoder.Finish();
}

absl::StatusOr<std::vector<model::Series>> DecodeWhole(std::string_view body) {
  return DecodeChunks({body});
}

absl::StatusOr<std::vector<model::Series>> DecodeWithLimits(const SeriesDecoderLimits& limits,
                                                            std::string_view body) {
  SeriesStreamDecoder decoder(limits);
  MA_RETURN_IF_ERROR(decoder.Feed(body));
  return decoder.Finish();
}

// The DOM decoder's result reduced to what the streaming one keeps: label names only, one series
// per shape counting the series it merges, ordered by each shape's last series.
std::vector<model::Series> MergeByShape(std::vector<model::Series> all) {
  std::map<std::pair<std::string, std::vector<std::string>>, size_t> last;
  std::map<std::pair<std::string, std::vector<std::string>>, size_t> count;
  std::vector<model::Series> shapes;
  for (size_t i = 0; i < all.size(); ++i) {
    std::vector<std::string> names;
    for (auto& [name, value] : all[i].labels) {
      names.push_back(name);
      value.clear();
    }
    last[{all[i].name, names}] = i;
    ++count[{all[i].name, names}];
  }
  std::vector<std::pair<size_t, model::Series>> ordered;
  ordered.reserve(last.size());
  shapes.reserve(last.size());
  for (const auto& [shape, index] : last) {
    ordered.emplace_back(index, all[index]);
    ordered.back().second.count = count[shape];
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [index, series] : ordered) {
    shapes.push_back(std::move(series));
  }
  return shapes;
}

void ExpectSameResult(const absl::StatusOr<std::vector<model::Series>>& got,
                      const absl::StatusOr<std::vector<model::Series>>& want,
                      const std::string& context) {
  ASSERT_EQ(got.ok(), want.ok()) << context << ": " << got.status() << " vs " << want.status();
  if (got.ok()) {
    EXPECT_EQ(*got, *want) << context;
  } else {
    EXPECT_EQ(got.status(), want.status()) << context;
  }
}

// Exercises every token kind: escapes, a surrogate pair, raw UTF-8, numbers, literals, unknown
// fields with nested values, whitespace everywhere, and an error envelope's fields.
const std::string kRichBody = std::string(R"( {
  "status" : "success",
  "warnings": ["w\"1", {"nested": [1, -2.5e+3, 0.0, true, false, null]}],
  "data": [
    {"__name__": "up", "job": "prom\u0065theus", "instance": "a:9090"},
    {"instance": "b:9090", "__name__": "up", "job": "x\ud83d\ude00y"},
    {"__name__": "h\u00e9llo", "na\u006despace": "caf)") +
                              "\xC3\xA9" + R"(", "pod": "\/\\\b\f\n\r\t"},
    {"job": "nameless", "job": "twice"},
    {"__name__": "up", "job": "c", "extra": ""}
  ],
  "infos": {}
} )";

TEST(SeriesStreamDecoderTest, KeepsNamesMergesShapesInLastSeenOrder) {
  auto got = DecodeWhole(kRichBody);
  ASSERT_TRUE(got.ok()) << got.status();
  const std::vector<model::Series> want = {
      {"up", {{"instance", ""}, {"job", ""}}, 2},
      {"h\xC3\xA9llo", {{"namespace", ""}, {"pod", ""}}},
      {"", {{"job", ""}}},
      {"up", {{"extra", ""}, {"job", ""}}},
  };
  EXPECT_EQ(*got, want);
  auto dom = DecodeSeriesResponse(200, kRichBody);
  ASSERT_TRUE(dom.ok()) << dom.status();
  EXPECT_EQ(*got, MergeByShape(*dom));
}

TEST(SeriesStreamDecoderTest, SeriesCountCountsBeforeMerging) {
  SeriesStreamDecoder decoder;
  ASSERT_TRUE(decoder.Feed(kRichBody).ok());
  EXPECT_EQ(decoder.series_count(), 5u);
}

TEST(SeriesStreamDecoderTest, ChunkedEqualsWholeAtEverySplit) {
  const std::vector<std::string> bodies = {
      kRichBody,
      R"({"status":"error","errorType":"bad_data","error":"parse error at char 3: \u00ab"})",
      Envelope(R"([{"__name__":"a","x":1}])"),  // a malformed series
      Envelope(R"([{"__name__":"a"}] trailing)"),
      R"({"status":"success","data":[{"__name__":"a")",  // truncated
  };
  for (const std::string& body : bodies) {
    const auto whole = DecodeWhole(body);
    for (size_t split = 0; split <= body.size(); ++split) {
      const std::string_view view(body);
      ExpectSameResult(DecodeChunks({view.substr(0, split), view.substr(split)}), whole,
                       Cat("split at ", split, " of ", body));
    }
    for (size_t first = 0; first < body.size(); first += 7) {
      for (size_t second = first; second <= body.size(); ++second) {
        const std::string_view view(body);
        ExpectSameResult(DecodeChunks({view.substr(0, first), view.substr(first, second - first),
                                       view.substr(second)}),
                         whole, Cat("split at ", first, ",", second, " of ", body));
      }
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < body.size(); ++i) {
      bytes.push_back(std::string_view(body).substr(i, 1));
    }
    ExpectSameResult(DecodeChunks(bytes), whole, Cat("byte by byte: ", body));
  }
}

TEST(SeriesStreamDecoderTest, StringEscapesDecodeToLabelNames) {
  struct Case {
    std::string json_key;  // between the quotes
    std::string want;
  };
  const std::vector<Case> cases = {
      {R"(\u0041b)", "Ab"},
      {R"(\u00e9)", "\xC3\xA9"},
      {R"(\ud83d\ude00)", "\xF0\x9F\x98\x80"},
      {R"(\uD83D\uDE00)", "\xF0\x9F\x98\x80"},
      {R"(a\ud83d)", "a\xEF\xBF\xBD"},    // lone high surrogate at the end
      {R"(\ud83dx)", "\xEF\xBF\xBDx"},    // high surrogate then a plain character
      {R"(\ud83d\n)", "\xEF\xBF\xBD\n"},  // high surrogate then another escape
      {R"(\ud83d\ud83d\ude00)", "\xEF\xBF\xBD\xF0\x9F\x98\x80"},  // high, then a pair
      {R"(\ude00)", "\xEF\xBF\xBD"},                              // lone low surrogate
      {R"(\"\\\/)", R"("\/)"},
      {"\xE2\x82\xAC", "\xE2\x82\xAC"},  // raw three-byte UTF-8
  };
  for (const Case& c : cases) {
    auto got = DecodeWhole(Envelope(Cat(R"([{"__name__":"m",")", c.json_key, R"(":"v"}])")));
    ASSERT_TRUE(got.ok()) << c.json_key << ": " << got.status();
    ASSERT_EQ(got->size(), 1u) << c.json_key;
    EXPECT_EQ((*got)[0].labels, (model::LabelSet{{c.want, ""}})) << c.json_key;
  }
}

TEST(SeriesStreamDecoderTest, MalformedJsonNamesTheByteOffset) {
  struct Case {
    std::string body;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"", "ends inside the JSON value at byte offset 0"},
      {"  ", "ends inside the JSON value at byte offset 2"},
      {"[]", "not a JSON object at byte offset 0"},
      {R"({"status":"success",})", "expected a string key at byte offset 20"},
      {R"({"status" "success"})", "expected ':' at byte offset 10"},
      {R"({"status":"success"]})", "expected ',' or '}' at byte offset 19"},
      {R"({"data":[1 2]})", "expected ',' or ']' at byte offset 11"},
      {R"({"data":tru})", "invalid literal at byte offset 11"},
      {R"({"data":01})", "expected ',' or '}' at byte offset 9"},
      {R"({"data":-})", "expected a digit at byte offset 9"},
      {R"({"data":1.})", "expected a digit at byte offset 10"},
      {R"({"data":1e})", "expected a digit at byte offset 10"},
      {R"({"data":+1})", "expected a value at byte offset 8"},
      {R"({"a":"\x"})", "invalid escape in a string at byte offset 7"},
      {R"({"a":"\u12G4"})", "invalid \\u escape at byte offset 10"},
      {"{\"a\":\"\x01\"}", "control character in a string at byte offset 6"},
      {"{\"a\":\"\xFF\"}", "invalid UTF-8 at byte offset 6"},
      {"{\"a\":\"\xC3(\"}", "invalid UTF-8 at byte offset 7"},
      {"{\"a\":\"\xE0\x80\x80\"}", "invalid UTF-8 at byte offset 8"},  // overlong
      {"{\"a\":\"\xED\xA0\x80\"}", "invalid UTF-8 at byte offset 8"},  // encoded surrogate
      {R"({"status":"success","data":[]} {})", "data after the JSON value at byte offset 31"},
      {R"({"status":"success","data":[})", "expected a value at byte offset 28"},
  };
  for (const Case& c : cases) {
    auto got = DecodeWhole(c.body);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << c.body;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.message_part)) << c.body;
  }
}

TEST(SeriesStreamDecoderTest, EnvelopeErrorsMapLikeTheDomDecoder) {
  const std::vector<std::string> bodies = {
      R"({"status":"error","errorType":"bad_data","error":"parse error"})",
      R"({"status":"error","errorType":"timeout","error":"query timed out"})",
      R"({"status":"error","errorType":"canceled","error":"x"})",
      R"({"status":"error","errorType":"unavailable","error":"x"})",
      R"({"status":"error","errorType":"execution","error":"x"})",
      R"({"status":"error","error":"no type"})",
      R"({"status":"error","errorType":7,"error":{"a":1}})",
      // The error wins over a malformed data field, wherever it appears.
      R"({"data":[1,2],"status":"error","errorType":"bad_data","error":"late"})",
      R"({"status":"error","errorType":"bad_data","error":"early","data":[[]]})",
      R"({"status":"error","errorType":"bad_data","error":"first","status":"success"})",
  };
  for (const std::string& body : bodies) {
    auto got = DecodeWhole(body);
    auto want = DecodeSeriesResponse(200, body);
    ASSERT_FALSE(want.ok()) << body;
    EXPECT_EQ(got.status(), want.status()) << body;
  }
}

TEST(SeriesStreamDecoderTest, EnvelopeProblemsAreInternal) {
  struct Case {
    std::string body;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {R"({"data":[]})", "no status field"},
      {R"({"status":1,"data":[]})", "no status field"},
      {R"({"status":"weird","data":[]})", R"(status "weird")"},
      {R"({"status":"success"})", "success without data"},
      {R"({"status":"success","data":{}})", "series data is not an array"},
      {R"({"status":"success","data":null})", "series data is not an array"},
      {Envelope(R"([["up"]])"), "labels are not an object (byte offset 28)"},
      {Envelope(R"([{"__name__":1}])"), "a label value is not a string (byte offset 40)"},
      {Envelope(R"([{"job":{"a":"b"}}])"), "a label value is not a string"},
      // Data before status: the problem is reported once the status says success.
      {R"({"data":[{"a":null}],"status":"success"})", "a label value is not a string"},
  };
  for (const Case& c : cases) {
    auto got = DecodeWhole(c.body);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal) << c.body;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.message_part)) << c.body;
    EXPECT_EQ(DecodeSeriesResponse(200, c.body).status().code(), absl::StatusCode::kInternal)
        << c.body;
  }
}

TEST(SeriesStreamDecoderTest, EmptyListingAndDataBeforeStatus) {
  auto empty = DecodeWhole(Envelope("[]"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  auto reordered = DecodeWhole(R"({"data":[{"__name__":"a","b":"c"}],"status":"success"})");
  ASSERT_TRUE(reordered.ok()) << reordered.status();
  EXPECT_EQ(*reordered, (std::vector<model::Series>{{"a", {{"b", ""}}}}));
}

// Feeds `count` copies of `item` as the data array, in chunks, and returns the first error.
absl::Status FeedRepeated(const SeriesDecoderLimits& limits, std::string_view item, size_t count) {
  SeriesStreamDecoder decoder(limits);
  if (absl::Status s = decoder.Feed(R"({"status":"success","data":[)"); !s.ok()) {
    return s;
  }
  std::string chunk;
  for (size_t i = 0; i < count; ++i) {
    chunk += i == 0 ? "" : ",";
    chunk += item;
    if (chunk.size() > 4096 || i + 1 == count) {
      if (absl::Status s = decoder.Feed(chunk); !s.ok()) {
        return s;
      }
      chunk.clear();
    }
  }
  if (absl::Status s = decoder.Feed("]}"); !s.ok()) {
    return s;
  }
  return decoder.Finish().status();
}

TEST(SeriesStreamDecoderTest, DefaultLimitsAreTheNamedConstants) {
  const SeriesDecoderLimits limits;
  EXPECT_EQ(limits.max_series, kMaxSeries);
  EXPECT_EQ(limits.max_labels_per_series, kMaxLabelsPerSeries);
  EXPECT_EQ(limits.max_shapes, kMaxSeriesShapes);
  EXPECT_EQ(limits.max_name_bytes, kMaxSeriesNameBytes);
  EXPECT_EQ(limits.max_kept_string_bytes, kMaxKeptStringBytes);
}

TEST(SeriesStreamDecoderTest, NestingDepthIsBounded) {
  std::string deep = R"({"status":"success","x":)";
  deep += std::string(kMaxJsonDepth, '[');
  auto too_deep = DecodeWhole(deep);
  EXPECT_EQ(too_deep.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(too_deep.status().message()), HasSubstr("nested deeper than"));
  std::string shallow = R"({"status":"success","data":[],"x":)";
  shallow += std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']') + "}";
  EXPECT_TRUE(DecodeWhole(shallow).ok());
}

TEST(SeriesStreamDecoderTest, LabelsPerSeriesAreBounded) {
  // Duplicates count, as they do in the DOM decoder.
  std::string labels = "{";
  for (size_t i = 0; i < kMaxLabelsPerSeries; ++i) {
    labels += Cat(i == 0 ? "" : ",", "\"l", i % 3, "\":\"v\"");
  }
  EXPECT_TRUE(DecodeWhole(Envelope(Cat("[", labels, "}]"))).ok());
  EXPECT_EQ(DecodeWhole(Envelope(Cat("[", labels, R"(,"one_more":""}])"))).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SeriesStreamDecoderTest, KeptStringsAreBoundedSkippedValuesAreNot) {
  const std::string long_text(kMaxKeptStringBytes + 1, 'x');
  const std::vector<std::string> too_long = {
      Envelope(Cat(R"([{")", long_text, R"(":""}])")),
      Envelope(Cat(R"([{"__name__":")", long_text, R"("}])")),
      Cat(R"({"status":"error","error":")", long_text, R"("})"),
  };
  for (const std::string& body : too_long) {
    EXPECT_EQ(DecodeWhole(body).status().code(), absl::StatusCode::kResourceExhausted);
  }
  EXPECT_TRUE(DecodeWhole(Envelope(Cat(R"([{"a":")", long_text, R"("}])"))).ok());
  EXPECT_TRUE(DecodeWhole(Cat(R"({"status":"success","data":[],"w":")", long_text, R"("})")).ok());
}

TEST(SeriesStreamDecoderTest, SeriesShapesAndNameBytesAreBounded) {
  struct Case {
    SeriesDecoderLimits limits;
    std::string item;  // {} holds the series' ordinal
    size_t fits;       // this many series decode; one more fails
    std::string message_part;
  };
  const std::vector<Case> cases = {
      // Merging keeps memory flat, yet the count of series is bounded.
      {{.max_series = 1000}, R"({"__name__":"m","a":"{}"})", 1000, "more than 1000 series"},
      {{.max_shapes = 100}, R"({"__name__":"m{}"})", 100, "shapes"},
      {{.max_shapes = 100}, R"({"l{}":""})", 100, "shapes"},  // label names make shapes too
      // Ten-byte names: "m" and nine digits.
      {{.max_name_bytes = 1000}, R"({"__name__":"m{}"})", 100, "distinct names"},
  };
  for (const Case& c : cases) {
    const auto items = [&](size_t count) {
      std::string body;
      for (size_t i = 0; i < count; ++i) {
        std::string item = c.item;
        item.replace(item.find("{}"), 2, Cat(1000000000 + i).substr(1));
        body += Cat(i == 0 ? "" : ",", item);
      }
      return body;
    };
    auto ok = DecodeWithLimits(c.limits, Envelope(Cat("[", items(c.fits), "]")));
    EXPECT_TRUE(ok.ok()) << c.item << ": " << ok.status();
    auto over = DecodeWithLimits(c.limits, Envelope(Cat("[", items(c.fits + 1), "]")));
    EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << c.item;
    EXPECT_THAT(std::string(over.status().message()), HasSubstr(c.message_part)) << c.item;
  }
  // Fed in chunks, the count runs across them.
  const SeriesDecoderLimits few{.max_series = 5000};
  EXPECT_TRUE(FeedRepeated(few, "{}", 5000).ok());
  EXPECT_EQ(FeedRepeated(few, "{}", 5001).code(), absl::StatusCode::kResourceExhausted);
}

// Building a registry from the merged shapes gives what building it from every series gives,
// including which series serves a metric that several series names map to (the last one).
TEST(SeriesStreamDecoderTest, RegistryFromShapesEqualsRegistryFromAllSeries) {
  constexpr std::string_view kRules = R"yaml(rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_(total|count)$", as: "${1}"}
  metricsQuery: x
externalRules:
- seriesQuery: '{queue!=""}'
  resources: {namespaced: false}
  name: {matches: "^(.*)_(a|b)$", as: "${1}"}
  metricsQuery: x
)yaml";
  auto parsed = config::ParseRulesConfig(kRules);
  ASSERT_TRUE(parsed.problems.empty());
  auto compiled = rules::CompileRules(parsed.config, {.mapper = model::BuiltinResourceMapper()});
  ASSERT_TRUE(compiled.problems.empty());

  const std::string pods = Envelope(R"([
      {"__name__":"req_total","namespace":"a","pod":"p1"},
      {"__name__":"req_count","namespace":"a","pod":"p1"},
      {"__name__":"req_total","namespace":"b","pod":"p2"},
      {"__name__":"cpu_total","namespace":"b"},
      {"__name__":"cpu_total","namespace":"b","pod":"p3"}])");
  const std::string queues = Envelope(R"([
      {"__name__":"depth_b","queue":"q1"},
      {"__name__":"depth_a","queue":"q1"},
      {"__name__":"depth_b","queue":"q2"}])");
  registry::SeriesByQuery all;
  registry::SeriesByQuery shapes;
  for (const auto& [query, body] : {std::pair{std::string(R"({namespace!="",pod!=""})"), pods},
                                    std::pair{std::string(R"({queue!=""})"), queues}}) {
    auto dom = DecodeSeriesResponse(200, body);
    ASSERT_TRUE(dom.ok()) << dom.status();
    all[query] = *dom;
    auto streamed = DecodeWhole(body);
    ASSERT_TRUE(streamed.ok()) << streamed.status();
    EXPECT_LT(streamed->size(), dom->size());
    shapes[query] = *streamed;
  }
  const auto from_all = registry::MetricRegistry::Build(compiled.rule_set, all);
  const auto from_shapes = registry::MetricRegistry::Build(compiled.rule_set, shapes);
  ASSERT_EQ(from_shapes->custom_size(), from_all->custom_size());
  ASSERT_EQ(from_shapes->external_size(), from_all->external_size());
  const auto discovery = from_all->CustomDiscovery();
  ASSERT_FALSE(discovery.empty());
  EXPECT_EQ(from_shapes->CustomDiscovery().size(), discovery.size());
  for (const auto& entry : from_all->ExternalDiscovery()) {
    const auto* want = from_all->FindExternal(entry.name);
    const auto* got = from_shapes->FindExternal(entry.name);
    ASSERT_NE(got, nullptr) << entry.name;
    EXPECT_EQ(got->series_name, want->series_name) << entry.name;
  }
  const auto* depth = from_shapes->FindExternal("depth");
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->series_name, "depth_b");
  for (const std::string metric : {"req", "cpu"}) {
    const registry::CustomMetricKey key{{"", "pods"}, true, metric};
    const auto* want = from_all->FindCustom(key);
    const auto* got = from_shapes->FindCustom(key);
    ASSERT_NE(want, nullptr) << metric;
    ASSERT_NE(got, nullptr) << metric;
    EXPECT_EQ(got->series_name, want->series_name) << metric;
  }
}

}  // namespace
}  // namespace ma::prometheus
