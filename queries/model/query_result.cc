#include "queries/model/query_result.h"

namespace ma::model {
namespace {

// What the allocator hands out for a string's characters: nothing while they fit in the object
// itself (the short-string buffer), else the capacity and its terminator.
size_t HeapBytes(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}

// A std::map node: its two strings, three links and a colour, rounded to the word.
constexpr size_t kLabelNodeBytes = 2 * sizeof(std::string) + 4 * sizeof(void*);

}  // namespace

size_t ApproximateBytes(const QueryResult& result) {
  size_t bytes = sizeof(QueryResult) + result.samples.capacity() * sizeof(Sample);
  for (const Sample& sample : result.samples) {
    bytes += sample.labels.size() * (kLabelNodeBytes + kAllocationOverheadBytes);
    for (const auto& [name, value] : sample.labels) {
      const size_t heap = HeapBytes(name) + HeapBytes(value);
      bytes += heap + (heap > 0 ? kAllocationOverheadBytes : 0);
    }
  }
  return bytes;
}

}  // namespace ma::model
