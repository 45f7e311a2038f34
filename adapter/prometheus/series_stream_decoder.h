#pragma once

// A push decoder for /api/v1/series bodies, fed chunk by chunk as the transfer delivers them. A
// million-series listing is over 100 MiB of JSON; discovery needs only each series' metric name
// and label names, so the decoder keeps nothing else and merges series of the same shape as they
// arrive: its memory grows with distinct shapes, not with series or bytes.

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/prometheus/response_decoder.h"
#include "queries/model/series.h"

namespace ma::prometheus {

// Body bound for a streamed listing: a few million series at 100-200 bytes each.
inline constexpr size_t kMaxStreamedSeriesResponseBytes = size_t{1} << 30;
// Distinct (metric name, label names) shapes in one listing.
inline constexpr size_t kMaxSeriesShapes = 500000;
// Total bytes of the distinct metric and label names of one listing.
inline constexpr size_t kMaxSeriesNameBytes = size_t{64} << 20;
// Longest string the decoder keeps: a metric name, a label name, the envelope's status, errorType
// and error. Label values are skipped, never kept, so only the body bound applies to them.
inline constexpr size_t kMaxKeptStringBytes = size_t{64} << 10;

// The bounds one decoder enforces; tests lower them to reach them cheaply.
struct SeriesDecoderLimits {
  size_t max_series = kMaxSeries;
  size_t max_labels_per_series = kMaxLabelsPerSeries;
  size_t max_shapes = kMaxSeriesShapes;
  size_t max_name_bytes = kMaxSeriesNameBytes;
  size_t max_kept_string_bytes = kMaxKeptStringBytes;
};

// Not thread-safe: one transfer feeds it, from one thread at a time.
class SeriesStreamDecoder {
 public:
  explicit SeriesStreamDecoder(SeriesDecoderLimits limits = {});
  ~SeriesStreamDecoder();
  SeriesStreamDecoder(const SeriesStreamDecoder&) = delete;
  SeriesStreamDecoder& operator=(const SeriesStreamDecoder&) = delete;

  // Decodes the next bytes of a 2xx response body; a token may be split anywhere between chunks.
  // Malformed JSON, nesting past kMaxJsonDepth included, is kInternal naming the byte offset; a
  // size limit (kMaxSeries, kMaxLabelsPerSeries, kMaxSeriesShapes, kMaxSeriesNameBytes,
  // kMaxKeptStringBytes) is kResourceExhausted. After an error every call returns that error.
  absl::Status Feed(std::string_view chunk);

  // Ends the body. Returns one Series per distinct shape, label values empty, `count` the number
  // of series of that shape, ordered by the last
  // series of each shape in the listing: building a registry from it gives the same result as
  // building it from every series in order. `"status":"error"` envelopes map as
  // DecodeSeriesResponse maps them (ApiErrorStatus).
  absl::StatusOr<std::vector<model::Series>> Finish();

  // Series decoded so far (before merging).
  size_t series_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ma::prometheus
