#include "adapter/api/quantity.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/check.h"
#include "queries/base/strings.h"

namespace ma::api {
namespace {

// A Quantity holds at most nine fractional decimal digits.
constexpr int kNanoDigits = 9;
// Below this magnitude a value rounds to zero nanos. At or above it the double has no binary
// digit below 2^-87, so printing it with kExactFractionDigits digits is exact (no rounding).
constexpr double kSmallestNonZeroCandidate = 1e-10;
constexpr int kExactFractionDigits = 100;
// Room for 22 integer digits (below kMaxQuantityMagnitude), the dot and the fraction.
constexpr size_t kPrintBufferSize = 160;
// DecimalSI suffixes for exponents -9, -6, ..., 18.
constexpr std::string_view kDecimalSuffixes[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
// BinarySI suffixes for powers 1024^0 ... 1024^6.
constexpr std::string_view kBinarySuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
constexpr uint64_t kBinaryBase = 1024;
// Whole numbers below this are read back exactly from the nano digits; a Go Quantity caps binary
// values at 2^63-1 anyway.
constexpr size_t kMaxWholeDigits = 18;

// |value| * 10^9 rounded half away from zero, as decimal digits without leading zeros ("" for
// zero), and the sign.
struct NanoAmount {
  bool negative = false;
  std::string nanos;
};

void IncrementDecimal(std::string& digits) {
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it != '9') {
      ++*it;
      return;
    }
    *it = '0';
  }
  digits.insert(digits.begin(), '1');
}

absl::StatusOr<NanoAmount> ToNanoAmount(double value) {
  if (std::isnan(value)) {
    return absl::InvalidArgumentError(
        "cannot format NaN as a Kubernetes quantity; apply the NaN policy before formatting");
  }
  if (std::isinf(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot format ", value > 0 ? "+" : "-", "Inf as a Kubernetes quantity"));
  }
  const double magnitude = std::fabs(value);
  if (magnitude >= kMaxQuantityMagnitude) {
    return absl::OutOfRangeError(
        absl::StrCat("value ", value, " is too large for a Kubernetes quantity (limit 1e21)"));
  }
  NanoAmount amount;
  if (magnitude < kSmallestNonZeroCandidate) {
    return amount;
  }
  char buffer[kPrintBufferSize];
  const int length = std::snprintf(buffer, sizeof(buffer), "%.*f", kExactFractionDigits, magnitude);
  MA_CHECK(length > 0 && static_cast<size_t>(length) < sizeof(buffer));
  const std::string_view text(buffer, static_cast<size_t>(length));
  const size_t dot = text.find('.');
  MA_CHECK(dot != std::string_view::npos && dot + 1 + kNanoDigits < text.size());

  std::string digits(text.substr(0, dot));
  digits.append(text.substr(dot + 1, kNanoDigits));
  // The printed digits are exact, so the first dropped digit alone decides half away from zero.
  const bool round_up = text[dot + 1 + kNanoDigits] >= '5';
  const size_t first_non_zero = digits.find_first_not_of('0');
  digits.erase(0, first_non_zero == std::string::npos ? digits.size() : first_non_zero);
  if (round_up) {
    IncrementDecimal(digits);
  }
  amount.nanos = std::move(digits);
  amount.negative = value < 0 && !amount.nanos.empty();
  return amount;
}

// The canonical DecimalSI text, as Go's resource.Quantity marshals it.
std::string DecimalSi(const NanoAmount& amount) {
  if (amount.nanos.empty()) {
    return "0";
  }
  std::string mantissa = amount.nanos;
  int exponent = -kNanoDigits;
  while (mantissa.back() == '0') {
    mantissa.pop_back();
    ++exponent;
  }
  while ((exponent % 3 + 3) % 3 != 0) {
    mantissa.push_back('0');
    --exponent;
  }
  const int index = (exponent + kNanoDigits) / 3;
  MA_CHECK(index >= 0 && index < static_cast<int>(std::size(kDecimalSuffixes)));
  return absl::StrCat(amount.negative ? "-" : "", mantissa, ToAbsl(kDecimalSuffixes[index]));
}

}  // namespace

absl::StatusOr<std::string> FormatDecimalQuantity(double value) {
  absl::StatusOr<NanoAmount> amount = ToNanoAmount(value);
  if (!amount.ok()) {
    return amount.status();
  }
  return DecimalSi(*amount);
}

absl::StatusOr<std::string> FormatBinaryQuantity(double value) {
  absl::StatusOr<NanoAmount> amount = ToNanoAmount(value);
  if (!amount.ok()) {
    return amount.status();
  }
  const std::string& nanos = amount->nanos;
  const bool whole = nanos.size() > static_cast<size_t>(kNanoDigits) &&
                     nanos.find_first_not_of('0', nanos.size() - kNanoDigits) == std::string::npos;
  if (!whole || nanos.size() - kNanoDigits > kMaxWholeDigits) {
    return DecimalSi(*amount);
  }
  uint64_t magnitude = std::stoull(nanos.substr(0, nanos.size() - kNanoDigits));
  if (magnitude < kBinaryBase) {
    return DecimalSi(*amount);
  }
  size_t power = 0;
  while (magnitude % kBinaryBase == 0 && power + 1 < std::size(kBinarySuffixes)) {
    magnitude /= kBinaryBase;
    ++power;
  }
  return absl::StrCat(amount->negative ? "-" : "", magnitude, ToAbsl(kBinarySuffixes[power]));
}

absl::StatusOr<std::string> FormatMetricValue(double value) {
  if (!std::isfinite(value)) {
    return FormatDecimalQuantity(value);  // the error
  }
  const double milli = std::round(value * 1000) / 1000;
  return FormatDecimalQuantity(milli == 0 ? value : milli);
}

}  // namespace ma::api
