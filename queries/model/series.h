#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ma::model {

// Label name -> value, sorted by name (Go prints and Prometheus orders labels this way).
using LabelSet = std::map<std::string, std::string, std::less<>>;

// One series as listed by Prometheus /api/v1/series: the metric name (the __name__ label) and the
// other labels. Discovery needs only the label names; the values are kept for local series-selector
// matching (`explain --series-file`). The live client merges the series of one shape (name and
// label names) into one entry without values, and `count` says how many series it stands for.
struct Series {
  std::string name;
  LabelSet labels;  // without __name__
  size_t count = 1;

  friend bool operator==(const Series&, const Series&) = default;
};

}  // namespace ma::model
