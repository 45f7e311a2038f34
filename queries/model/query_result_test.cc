#include "queries/model/query_result.h"

#include <gtest/gtest.h>

#include <string>

namespace ma::model {
namespace {

Sample WithLabels(size_t count, size_t value_length) {
  Sample sample;
  for (size_t i = 0; i < count; ++i) {
    sample.labels.emplace("label_" + std::to_string(i), std::string(value_length, 'v'));
  }
  return sample;
}

TEST(ApproximateBytesTest, EmptyResultIsTheObjectItself) {
  EXPECT_EQ(ApproximateBytes(QueryResult{}), sizeof(QueryResult));
}

TEST(ApproximateBytesTest, GrowsWithSamplesLabelsAndLongValues) {
  QueryResult one;
  one.samples.push_back(WithLabels(2, 4));
  QueryResult more_labels;
  more_labels.samples.push_back(WithLabels(20, 4));
  QueryResult long_values;
  long_values.samples.push_back(WithLabels(2, 1000));
  QueryResult more_samples;
  more_samples.samples.assign(100, WithLabels(2, 4));

  const size_t base = ApproximateBytes(one);
  EXPECT_GT(base, sizeof(QueryResult) + sizeof(Sample));
  EXPECT_GT(ApproximateBytes(more_labels), base + 18 * sizeof(std::string) * 2);
  // Two values of 1,000 characters live on the heap: both are counted.
  EXPECT_GE(ApproximateBytes(long_values), base + 2 * 1000);
  EXPECT_GE(ApproximateBytes(more_samples), 100 * base - 99 * sizeof(QueryResult));
}

}  // namespace
}  // namespace ma::model
