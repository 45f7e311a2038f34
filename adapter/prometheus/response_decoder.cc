#include "adapter/prometheus/response_decoder.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/json/reader.h"
#include "queries/base/strings.h"

namespace ma::prometheus {
namespace {

using json::Member;
using json::StringOf;
using rapidjson::Value;

// Timestamps beyond this many seconds from the epoch (year ~33658) are garbage, and keeping
// them below it keeps the conversion to milliseconds well-defined.
constexpr double kMaxAbsTimestampSeconds = 1e12;

absl::Status Malformed(std::string_view what) {
  return absl::InternalError(absl::StrCat("malformed Prometheus response: ", ToAbsl(what)));
}

absl::StatusOr<double> ParseSampleValue(std::string_view text) {
  if (text == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (text == "+Inf" || text == "Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (text == "-Inf") {
    return -std::numeric_limits<double>::infinity();
  }
  std::string_view digits = text;
  // from_chars takes no '+'; Go's ParseFloat takes one sign.
  if (digits.starts_with('+') && !digits.substr(1).starts_with('-')) {
    digits.remove_prefix(1);
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Malformed(
        absl::StrCat("sample value ", GoQuote(text.substr(0, 64)), " is not a number"));
  }
  return value;
}

// [<seconds>, "<value>"] -> the sample's value and timestamp.
absl::Status DecodeValuePair(const Value& pair, model::Sample& sample) {
  if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsNumber() || !pair[1].IsString()) {
    return Malformed("a sample is not [<timestamp>, \"<value>\"]");
  }
  const double seconds = pair[0].GetDouble();
  if (!std::isfinite(seconds) || std::fabs(seconds) > kMaxAbsTimestampSeconds) {
    return Malformed("sample timestamp out of range");
  }
  sample.timestamp_ms = std::llround(seconds * 1000.0);
  absl::StatusOr<double> value = ParseSampleValue(StringOf(pair[1]));
  if (!value.ok()) {
    return value.status();
  }
  sample.value = *value;
  return absl::OkStatus();
}

absl::StatusOr<model::LabelSet> DecodeLabels(const Value& object) {
  if (!object.IsObject()) {
    return Malformed("labels are not an object");
  }
  if (object.MemberCount() > kMaxLabelsPerSeries) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a series has ", object.MemberCount(), " labels; the limit is ", kMaxLabelsPerSeries));
  }
  model::LabelSet labels;
  for (const auto& member : object.GetObject()) {
    if (!member.value.IsString()) {
      return Malformed("a label value is not a string");
    }
    labels.insert_or_assign(std::string(StringOf(member.name)),
                            std::string(StringOf(member.value)));
  }
  return labels;
}

absl::StatusOr<model::QueryResult> DecodeQueryData(const Value& data) {
  if (!data.IsObject()) {
    return Malformed("data is not an object");
  }
  const Value* type = Member(data, "resultType");
  const Value* result = Member(data, "result");
  if (type == nullptr || !type->IsString() || result == nullptr) {
    return Malformed("data lacks resultType or result");
  }
  const std::string_view type_name = StringOf(*type);
  model::QueryResult decoded;
  if (type_name == "vector") {
    decoded.type = model::ResultType::kVector;
    if (!result->IsArray()) {
      return Malformed("vector result is not an array");
    }
    if (result->Size() > kMaxQuerySamples) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "query returned ", result->Size(), " samples; the limit is ", kMaxQuerySamples));
    }
    decoded.samples.reserve(result->Size());
    for (const Value& item : result->GetArray()) {
      if (!item.IsObject()) {
        return Malformed("a vector element is not an object");
      }
      const Value* metric = Member(item, "metric");
      const Value* value = Member(item, "value");
      if (value == nullptr) {
        return Malformed("a vector element has no value (native histograms are not supported)");
      }
      model::Sample sample;
      if (metric != nullptr) {
        absl::StatusOr<model::LabelSet> labels = DecodeLabels(*metric);
        if (!labels.ok()) {
          return labels.status();
        }
        sample.labels = *std::move(labels);
      }
      if (absl::Status s = DecodeValuePair(*value, sample); !s.ok()) {
        return s;
      }
      decoded.samples.push_back(std::move(sample));
    }
  } else if (type_name == "scalar") {
    decoded.type = model::ResultType::kScalar;
    model::Sample sample;
    if (absl::Status s = DecodeValuePair(*result, sample); !s.ok()) {
      return s;
    }
    decoded.samples.push_back(std::move(sample));
  } else if (type_name == "matrix") {
    decoded.type = model::ResultType::kMatrix;
    if (!result->IsArray()) {
      return Malformed("matrix result is not an array");
    }
  } else if (type_name == "string") {
    decoded.type = model::ResultType::kString;
  } else {
    return Malformed(absl::StrCat("unknown resultType ", GoQuote(type_name.substr(0, 64))));
  }
  return decoded;
}

absl::StatusOr<std::vector<model::Series>> DecodeSeriesData(const Value& data) {
  if (!data.IsArray()) {
    return Malformed("series data is not an array");
  }
  if (data.Size() > kMaxSeries) {
    return absl::ResourceExhaustedError(absl::StrCat("series listing returned ", data.Size(),
                                                     " series; the limit is ", kMaxSeries));
  }
  std::vector<model::Series> series;
  series.reserve(data.Size());
  for (const Value& item : data.GetArray()) {
    absl::StatusOr<model::LabelSet> labels = DecodeLabels(item);
    if (!labels.ok()) {
      return labels.status();
    }
    model::Series one;
    if (auto name = labels->find("__name__"); name != labels->end()) {
      one.name = std::move(name->second);
      labels->erase(name);
    }
    one.labels = *std::move(labels);
    series.push_back(std::move(one));
  }
  return series;
}

// Checks the HTTP code and the envelope, then hands `data` to `decode_data`.
template <typename DecodeData>
auto Decode(long http_status, std::string_view body, size_t max_bytes,  // NOLINT
            DecodeData decode_data) -> decltype(decode_data(std::declval<const Value&>())) {
  const bool success_code = http_status / 100 == 2;
  if (!success_code && http_status != 400 && http_status != 422 && http_status != 503) {
    return absl::InternalError(absl::StrCat("bad_response: unknown response code ", http_status));
  }
  if (body.size() > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("response body of ", body.size(), " bytes exceeds the limit of ", max_bytes));
  }
  const auto not_an_envelope = [&](std::string_view why) -> absl::Status {
    if (http_status == 503) {
      return absl::UnavailableError(
          absl::StrCat("unavailable: HTTP 503 without an API response (", ToAbsl(why), ")"));
    }
    return absl::InternalError(
        absl::StrCat("bad_response: undecodable response (HTTP ", http_status, "): ", ToAbsl(why)));
  };
  absl::StatusOr<rapidjson::Document> document =
      json::Parse(body, {.max_bytes = max_bytes, .max_depth = kMaxJsonDepth});
  if (!document.ok()) {
    return not_an_envelope(ToStd(document.status().message()));
  }
  const Value& root = *document;
  if (!root.IsObject()) {
    return not_an_envelope("not a JSON object");
  }
  const Value* status = Member(root, "status");
  if (status == nullptr || !status->IsString()) {
    return not_an_envelope("no status field");
  }
  if (StringOf(*status) == "error") {
    const Value* error_type = Member(root, "errorType");
    const Value* error = Member(root, "error");
    const std::string_view type_text =
        error_type != nullptr && error_type->IsString() ? StringOf(*error_type) : "";
    const std::string_view error_text =
        error != nullptr && error->IsString() ? StringOf(*error) : "";
    if (type_text.empty() && http_status == 503) {
      return absl::UnavailableError(absl::StrCat("unavailable: ", ToAbsl(error_text)));
    }
    return ApiErrorStatus(type_text.empty() ? "bad_response" : type_text, error_text);
  }
  if (StringOf(*status) != "success") {
    return not_an_envelope(absl::StrCat("status ", GoQuote(StringOf(*status).substr(0, 64))));
  }
  if (!success_code) {
    return absl::InternalError(
        absl::StrCat("bad_response: inconsistent body for response code ", http_status));
  }
  const Value* data = Member(root, "data");
  if (data == nullptr) {
    return Malformed("success without data");
  }
  return decode_data(*data);
}

}  // namespace

absl::Status ApiErrorStatus(std::string_view error_type, std::string_view error) {
  const std::string message = absl::StrCat(ToAbsl(error_type), ": ", ToAbsl(error));
  if (error_type == "bad_data") {
    return absl::InvalidArgumentError(message);
  }
  if (error_type == "timeout") {
    return absl::DeadlineExceededError(message);
  }
  if (error_type == "canceled" || error_type == "unavailable") {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::StatusOr<model::QueryResult> DecodeQueryResponse(long http_status,  // NOLINT
                                                       std::string_view body) {
  return Decode(http_status, body, kMaxQueryResponseBytes, DecodeQueryData);
}

absl::StatusOr<std::vector<model::Series>> DecodeSeriesResponse(long http_status,  // NOLINT
                                                                std::string_view body) {
  return Decode(http_status, body, kMaxSeriesResponseBytes, DecodeSeriesData);
}

}  // namespace ma::prometheus
