#pragma once

// Kubernetes resource.Quantity text for metric values: the canonical strings Go's Quantity
// marshals to, so clients parse them back to the same value.

#include <string>

#include "absl/status/statusor.h"

namespace ma::api {

// Go emits DecimalSI values of 10^21 and above without a suffix (silently wrong), so we refuse
// them instead of producing a string that parses back to another value.
inline constexpr double kMaxQuantityMagnitude = 1e21;

// The canonical DecimalSI string of `value` rounded half away from zero to nano precision
// (10^-9), the precision of a Quantity: "0", "16m", "1500", "1200k", "-500m", "250n".
// Magnitudes below 0.5n round to "0" (never "-0"). The rounding uses the exact binary value of the
// double, so 0.1 is "100m" and 0.3 (0.29999999999999998...) is "300m".
// kInvalidArgument for NaN and infinities (apply the NaN policy first); kOutOfRange when
// |value| >= kMaxQuantityMagnitude.
absl::StatusOr<std::string> FormatDecimalQuantity(double value);

// A metric value as served to the HPA: DecimalSI at milli precision (rounded half away from zero),
// which is the precision the HPA reads (Quantity.MilliValue), so "5000152596n" is served as "5".
// A non-zero value that would round to 0 keeps nano precision instead ("250n"): the HPA rounds
// that up to 1m, where a "0" would read as no load at all. Errors as FormatDecimalQuantity.
absl::StatusOr<std::string> FormatMetricValue(double value);

// The canonical BinarySI string of `value` (memory in bytes, as metrics.k8s.io serves it): a whole
// number of at least 1024 bytes is written with the largest binary suffix that divides it ("2Ki",
// "1255272Ki", "3Gi"); anything else falls back to DecimalSI at nano precision as Go does ("1k"
// for 1000, "512", "1500m"). Errors as FormatDecimalQuantity.
absl::StatusOr<std::string> FormatBinaryQuantity(double value);

}  // namespace ma::api
