#pragma once

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

}  // namespace ma::model
