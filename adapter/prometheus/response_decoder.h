#pragma once

// Decodes Prometheus HTTP API responses (the JSON envelope and its data) into the domain model,
// with every size bounded. Status mapping follows the Go client: errorType bad_data ->
// kInvalidArgument, timeout -> kDeadlineExceeded, canceled/unavailable -> kUnavailable, anything
// else -> kInternal; messages read "<errorType>: <error>" for the log.

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "queries/model/query_result.h"
#include "queries/model/series.h"

namespace ma::prometheus {

inline constexpr size_t kMaxQueryResponseBytes = size_t{64} << 20;
inline constexpr size_t kMaxSeriesResponseBytes = size_t{512} << 20;
// A well-formed response nests at most 6 levels (matrix values); anything deeper is hostile.
inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kMaxQuerySamples = 500000;
inline constexpr size_t kMaxSeries = 5000000;
inline constexpr size_t kMaxLabelsPerSeries = 512;

// An /api/v1/query response. `http_status` is the HTTP response code.
absl::StatusOr<model::QueryResult> DecodeQueryResponse(long http_status,  // NOLINT
                                                       std::string_view body);

// An /api/v1/series response: `__name__` goes to Series::name, other labels to Series::labels.
// Keeps every series with its label values (`explain --series-file` matches them locally); the
// live client streams through SeriesStreamDecoder instead.
absl::StatusOr<std::vector<model::Series>> DecodeSeriesResponse(long http_status,  // NOLINT
                                                                std::string_view body);

// The status of a `"status":"error"` envelope, mapped as described above. Shared with the
// streaming decoder so that both map errors alike.
absl::Status ApiErrorStatus(std::string_view error_type, std::string_view error);

}  // namespace ma::prometheus
