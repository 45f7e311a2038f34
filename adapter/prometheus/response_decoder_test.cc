#include "adapter/prometheus/response_decoder.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::prometheus {
namespace {

using ::testing::HasSubstr;

std::string Envelope(const std::string& data) {
  return absl::StrCat(R"({"status":"success","data":)", data, "}");
}

TEST(DecodeQueryResponseTest, VectorSamplesWithLabelsValuesAndTimestamps) {
  const std::string body = Envelope(R"({"resultType":"vector","result":[
      {"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},
       "value":[1597806407.851,"1"]},
      {"metric":{"job":"node"},"value":[1597806407,"0.25"]}]})");
  auto result = DecodeQueryResponse(200, body);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->type, model::ResultType::kVector);
  ASSERT_EQ(result->samples.size(), 2u);
  EXPECT_EQ(
      result->samples[0].labels,
      (model::LabelSet{{"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "prometheus"}}));
  EXPECT_EQ(result->samples[0].value, 1.0);
  EXPECT_EQ(result->samples[0].timestamp_ms, 1597806407851);
  EXPECT_EQ(result->samples[1].labels, (model::LabelSet{{"job", "node"}}));
  EXPECT_EQ(result->samples[1].value, 0.25);
  EXPECT_EQ(result->samples[1].timestamp_ms, 1597806407000);
}

TEST(DecodeQueryResponseTest, SampleValueSpellings) {
  struct Case {
    std::string text;
    double want;  // NaN means "expect NaN"
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Case> cases = {
      {"NaN", std::nan("")}, {"+Inf", inf}, {"-Inf", -inf}, {"Inf", inf}, {"42", 42},
      {"-1.5", -1.5},        {"1e3", 1000}, {"+2", 2},      {"0", 0},     {"1.5e-7", 1.5e-7},
  };
  for (const Case& c : cases) {
    auto result = DecodeQueryResponse(
        200, Envelope(absl::StrCat(R"({"resultType":"vector","result":[{"metric":{},"value":[1,")",
                                   c.text, R"("]}]})")));
    ASSERT_TRUE(result.ok()) << c.text << ": " << result.status();
    ASSERT_EQ(result->samples.size(), 1u);
    if (std::isnan(c.want)) {
      EXPECT_TRUE(std::isnan(result->samples[0].value)) << c.text;
    } else {
      EXPECT_EQ(result->samples[0].value, c.want) << c.text;
    }
  }
  for (const std::string bad : {"", "abc", "1x", "+-1", "--1", " 1", "0x10"}) {
    auto result = DecodeQueryResponse(
        200, Envelope(absl::StrCat(R"({"resultType":"vector","result":[{"metric":{},"value":[1,")",
                                   bad, R"("]}]})")));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << "'" << bad << "'";
  }
}

TEST(DecodeQueryResponseTest, ResultTypes) {
  struct Case {
    std::string data;
    model::ResultType type;
    size_t samples;
  };
  const std::vector<Case> cases = {
      {R"({"resultType":"vector","result":[]})", model::ResultType::kVector, 0},
      {R"({"resultType":"scalar","result":[1597806407.5,"3"]})", model::ResultType::kScalar, 1},
      {R"({"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"],[2,"2"]]}]})",
       model::ResultType::kMatrix, 0},
      {R"({"resultType":"string","result":[1,"hello"]})", model::ResultType::kString, 0},
  };
  for (const Case& c : cases) {
    auto result = DecodeQueryResponse(200, Envelope(c.data));
    ASSERT_TRUE(result.ok()) << c.data << ": " << result.status();
    EXPECT_EQ(result->type, c.type) << c.data;
    EXPECT_EQ(result->samples.size(), c.samples) << c.data;
  }
  auto scalar = DecodeQueryResponse(200, Envelope(cases[1].data));
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->samples[0].value, 3);
  EXPECT_EQ(scalar->samples[0].timestamp_ms, 1597806407500);
  EXPECT_TRUE(scalar->samples[0].labels.empty());
}

TEST(DecodeQueryResponseTest, ErrorEnvelopesMapToStatusCodes) {
  struct Case {
    long http;
    std::string error_type;
    absl::StatusCode want;
  };
  const std::vector<Case> cases = {
      {400, "bad_data", absl::StatusCode::kInvalidArgument},
      {503, "timeout", absl::StatusCode::kDeadlineExceeded},
      {503, "canceled", absl::StatusCode::kUnavailable},
      {503, "unavailable", absl::StatusCode::kUnavailable},
      {422, "execution", absl::StatusCode::kInternal},
      {422, "internal", absl::StatusCode::kInternal},
      {422, "not_found", absl::StatusCode::kInternal},
      {200, "bad_data", absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    const std::string body = absl::StrCat(R"({"status":"error","errorType":")", c.error_type,
                                          R"(","error":"something specific","warnings":["w"]})");
    auto result = DecodeQueryResponse(c.http, body);
    EXPECT_EQ(result.status().code(), c.want) << c.error_type;
    EXPECT_EQ(result.status().message(), absl::StrCat(c.error_type, ": something specific"));
    auto series = DecodeSeriesResponse(c.http, body);
    EXPECT_EQ(series.status().code(), c.want) << c.error_type;
  }
}

TEST(DecodeQueryResponseTest, HttpCodesWithoutUsableEnvelope) {
  struct Case {
    long http;
    std::string body;
    absl::StatusCode want;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {503, "Service Unavailable", absl::StatusCode::kUnavailable, "503"},
      {503, "", absl::StatusCode::kUnavailable, "503"},
      {500, Envelope(R"({"resultType":"vector","result":[]})"), absl::StatusCode::kInternal,
       "bad_response: unknown response code 500"},
      {414, "URI Too Long", absl::StatusCode::kInternal, "bad_response: unknown response code 414"},
      {302, "", absl::StatusCode::kInternal, "bad_response: unknown response code 302"},
      {200, "<html>", absl::StatusCode::kInternal, "undecodable"},
      {200, "[]", absl::StatusCode::kInternal, "not a JSON object"},
      {200, R"({"data":{}})", absl::StatusCode::kInternal, "no status"},
      {200, R"({"status":"success"})", absl::StatusCode::kInternal, "without data"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[]}} x)",
       absl::StatusCode::kInternal, "undecodable"},
      {400, Envelope(R"({"resultType":"vector","result":[]})"), absl::StatusCode::kInternal,
       "inconsistent body for response code 400"},
      {200, Envelope(R"({"resultType":"histogram","result":[]})"), absl::StatusCode::kInternal,
       "unknown resultType"},
      {200, Envelope(R"({"resultType":"vector","result":[{"metric":{},"value":["1","1"]}]})"),
       absl::StatusCode::kInternal, "malformed"},
      {200, Envelope(R"({"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]})"),
       absl::StatusCode::kInternal, "label value"},
      {200, Envelope(R"({"resultType":"vector","result":[{"metric":{},"value":[1e300,"1"]}]})"),
       absl::StatusCode::kInternal, "timestamp"},
      {200, Envelope(R"({"resultType":"vector","result":[{"metric":{}}]})"),
       absl::StatusCode::kInternal, "no value"},
      {200, "\"\xff\xfe\"", absl::StatusCode::kInternal, "undecodable"},
  };
  for (const Case& c : cases) {
    auto result = DecodeQueryResponse(c.http, c.body);
    EXPECT_EQ(result.status().code(), c.want) << c.http << " " << c.body;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.message_part))
        << c.http << " " << c.body;
  }
}

TEST(DecodeQueryResponseTest, DepthBombIsAnErrorNotACrash) {
  constexpr int kDepth = 100000;
  const std::string arrays = std::string(kDepth, '[') + std::string(kDepth, ']');
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < kDepth; ++i) {
      s += R"({"a":)";
    }
    s += "1";
    s += std::string(kDepth, '}');
    return s;
  }();
  for (const std::string& body : {arrays, objects, Envelope(arrays)}) {
    auto result = DecodeQueryResponse(200, body);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("nested deeper"));
  }
  // A 503 body that is not an envelope is still "unavailable".
  EXPECT_EQ(DecodeQueryResponse(503, arrays).status().code(), absl::StatusCode::kUnavailable);
}

TEST(DecodeQueryResponseTest, SizeAndCountLimits) {
  const std::string oversized(kMaxQueryResponseBytes + 1, ' ');
  EXPECT_EQ(DecodeQueryResponse(200, oversized).status().code(),
            absl::StatusCode::kResourceExhausted);

  std::string many_samples = R"({"resultType":"vector","result":[)";
  for (size_t i = 0; i <= kMaxQuerySamples; ++i) {
    absl::StrAppend(&many_samples, i == 0 ? "" : ",", R"({"value":[1,"1"]})");
  }
  many_samples += "]}";
  EXPECT_EQ(DecodeQueryResponse(200, Envelope(many_samples)).status().code(),
            absl::StatusCode::kResourceExhausted);

  std::string many_labels = "{";
  for (size_t i = 0; i <= kMaxLabelsPerSeries; ++i) {
    absl::StrAppend(&many_labels, i == 0 ? "" : ",", "\"l", i, "\":\"v\"");
  }
  many_labels += "}";
  EXPECT_EQ(DecodeQueryResponse(
                200, Envelope(absl::StrCat(R"({"resultType":"vector","result":[{"metric":)",
                                           many_labels, R"(,"value":[1,"1"]}]})")))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      DecodeSeriesResponse(200, Envelope(absl::StrCat("[", many_labels, "]"))).status().code(),
      absl::StatusCode::kResourceExhausted);
}

TEST(DecodeSeriesResponseTest, NameAndLabelsSplit) {
  const std::string body = Envelope(R"([
      {"__name__":"up","job":"prometheus","instance":"localhost:9090"},
      {"__name__":"http_requests_total","code":"200","namespace":"shop"},
      {"job":"nameless"}])");
  auto series = DecodeSeriesResponse(200, body);
  ASSERT_TRUE(series.ok()) << series.status();
  const std::vector<model::Series> want = {
      {"up", {{"instance", "localhost:9090"}, {"job", "prometheus"}}},
      {"http_requests_total", {{"code", "200"}, {"namespace", "shop"}}},
      {"", {{"job", "nameless"}}},
  };
  EXPECT_EQ(*series, want);
}

TEST(DecodeSeriesResponseTest, MalformedSeries) {
  const std::vector<std::string> bodies = {
      Envelope(R"({"resultType":"vector","result":[]})"),
      Envelope(R"([["up"]])"),
      Envelope(R"([{"__name__":1}])"),
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(DecodeSeriesResponse(200, body).status().code(), absl::StatusCode::kInternal) << body;
  }
  auto empty = DecodeSeriesResponse(200, Envelope("[]"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace ma::prometheus
