#pragma once

#include "adapter/app/options.h"

namespace ma::app {

// The `serve` subcommand: runs the server until SIGTERM/SIGINT. Returns the exit code.
int Serve(const Options& options);

}  // namespace ma::app
