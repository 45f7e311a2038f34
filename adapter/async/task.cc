#include "adapter/async/task.h"

#include <exception>
#include <string>

namespace ma::async::internal {

std::string DescribeException(const std::exception_ptr& exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return std::string("the request's code threw: ") + e.what();
  } catch (...) {
    return "the request's code threw an unknown exception";
  }
}

}  // namespace ma::async::internal
