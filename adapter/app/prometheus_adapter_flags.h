#pragma once

// Every flag prometheus-adapter accepts (its own, custom-metrics-apiserver's, the Kubernetes
// generic apiserver's and klog's), and what each does here, so that its Deployments start us
// unchanged. docs/migrating.md lists the same table; a unit test keeps the two in step.

#include <span>
#include <string_view>

namespace ma::app {

enum class FlagEffect {
  kHonoured,  // defined here with the same meaning
  kChanged,   // defined here; `note` says what differs
  kNoEffect,  // accepted, one warning at start, otherwise ignored; `note` says why
};

struct PrometheusAdapterFlag {
  std::string_view name;  // as prometheus-adapter's documentation writes it, without dashes
  FlagEffect effect;
  // kNoEffect only: whether `--name value` consumes the next argument (false for booleans,
  // which take their value only as `--name=value`, as in Go's flag packages).
  bool takes_value;
  std::string_view note;
};

std::span<const PrometheusAdapterFlag> PrometheusAdapterFlags();

// The entry for `name` in either spelling (`log-dir` and `log_dir` are the same flag, as for
// Go's flag normalisation), or nullptr.
const PrometheusAdapterFlag* FindPrometheusAdapterFlag(std::string_view name);

}  // namespace ma::app
