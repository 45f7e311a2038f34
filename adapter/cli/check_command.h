#pragma once

#include <ostream>
#include <string>

namespace ma::cli {

// `metrics-adapter check --config=FILE`: exit 0 with a one-line summary on `out`, or exit 1 with
// every problem as `FILE:LINE:COLUMN: message` on `err`.
int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err);

}  // namespace ma::cli
