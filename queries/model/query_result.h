#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "queries/model/series.h"

namespace ma::model {

// One sample of an instant-query result. `value` may be NaN or +-Inf: Prometheus sends those as
// strings and the planner's result mapping decides what they mean.
struct Sample {
  LabelSet labels;  // includes __name__ when the query keeps it
  double value = 0;
  int64_t timestamp_ms = 0;  // the sample's own evaluation time, milliseconds since the epoch
};

enum class ResultType { kVector, kScalar, kMatrix, kString };

// A decoded /api/v1/query answer. For kScalar, `samples` holds one sample with empty labels.
// kMatrix and kString carry no samples: the planner rejects them.
struct QueryResult {
  ResultType type = ResultType::kVector;
  std::vector<Sample> samples;
};

// What the allocator adds to each block it hands out (glibc's chunk header, rounded): counted by
// the estimate below for every label node and heap-held string.
inline constexpr size_t kAllocationOverheadBytes = 16;

// The memory `result` holds: the vector of samples, each label's map node and the characters of
// strings too long for their short-string buffer, with the allocator's overhead. An estimate for
// budgets (the value cache's --cache-max-bytes), not an exact count.
size_t ApproximateBytes(const QueryResult& result);

}  // namespace ma::model
