#include "adapter/api/quantity.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace ma::api {
namespace {

struct Case {
  double value;
  std::string expected;
};

// DecimalSI strings as Go's resource.Quantity marshals them.
TEST(FormatDecimalQuantityTest, ContractWorkedExamples) {
  const Case cases[] = {
      {0, "0"},
      {1, "1"},
      {999, "999"},
      {1000, "1k"},
      {1500, "1500"},
      {1200000, "1200k"},
      {2000000, "2M"},
      {0.1, "100m"},
      {0.25, "250m"},
      {1.5, "1500m"},
      {123.456, "123456m"},
      {0.0015, "1500u"},
      {0.000001, "1u"},
      {2.5e-7, "250n"},
      {0.224628621, "224628621n"},
      {-0.5, "-500m"},
      {5e18, "5E"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> text = FormatDecimalQuantity(c.value);
    ASSERT_TRUE(text.ok()) << c.value << ": " << text.status();
    EXPECT_EQ(*text, c.expected) << c.value;
  }
}

// Values as a PromQL evaluation produces them, and the rounding to nano precision.
TEST(FormatDecimalQuantityTest, DoublesRoundHalfAwayFromZeroToNano) {
  const Case cases[] = {
      {0.016, "16m"},  // prometheus-adapter's classic example
      {16.5, "16500m"},
      {20.5, "20500m"},
      {3000, "3k"},
      {0.3, "300m"},  // 0.29999999999999998... rounds up at the tenth digit
      {1.0 / 3.0, "333333333n"},
      {2.0 / 3.0, "666666667n"},
      {-2.0 / 3.0, "-666666667n"},
      {1e-10, "0"},   // below half a nano
      {-1e-10, "0"},  // never "-0"
      {4e-10, "0"},
      {6e-10, "1n"},
      {-6e-10, "-1n"},
      {1e-9, "1n"},
      {0.0009765625, "976563n"},  // 2^-10: an exact tie at the tenth digit rounds away from zero
      {-0.0009765625, "-976563n"},
      {0.9999999999, "1"},  // the carry ripples through every digit
      {999999.9999999999, "1M"},
      {1e20, "100E"},
      {123456789012345678.0, "123456789012345680"},  // the nearest double, printed exactly
      {-42, "-42"},
      {-1200000, "-1200k"},
      {1e-3, "1m"},
      {1e15, "1P"},
      {1.5e15, "1500T"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> text = FormatDecimalQuantity(c.value);
    ASSERT_TRUE(text.ok()) << c.value << ": " << text.status();
    EXPECT_EQ(*text, c.expected) << c.value;
  }
}

TEST(FormatDecimalQuantityTest, RejectsWhatAQuantityCannotHold) {
  struct ErrorCase {
    double value;
    absl::StatusCode code;
  };
  const ErrorCase cases[] = {
      {std::numeric_limits<double>::quiet_NaN(), absl::StatusCode::kInvalidArgument},
      {std::numeric_limits<double>::infinity(), absl::StatusCode::kInvalidArgument},
      {-std::numeric_limits<double>::infinity(), absl::StatusCode::kInvalidArgument},
      {1e21, absl::StatusCode::kOutOfRange},
      {-1e21, absl::StatusCode::kOutOfRange},
      {std::numeric_limits<double>::max(), absl::StatusCode::kOutOfRange},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(FormatDecimalQuantity(c.value).status().code(), c.code) << c.value;
  }
  // The largest double below the limit still formats.
  EXPECT_TRUE(FormatDecimalQuantity(std::nextafter(1e21, 0.0)).ok());
}

TEST(FormatMetricValueTest, MilliPrecisionUnlessThatWouldBeZero) {
  const std::pair<double, std::string> cases[] = {
      {5.000152596, "5"}, {0.25, "250m"},   {16.5, "16500m"}, {0.0004, "400u"},
      {2.5e-7, "250n"},   {-0.0015, "-2m"}, {0, "0"},         {1234.5678, "1234568m"},
  };
  for (const auto& [value, want] : cases) {
    auto got = FormatMetricValue(value);
    ASSERT_TRUE(got.ok()) << value;
    EXPECT_EQ(*got, want) << value;
  }
  EXPECT_FALSE(FormatMetricValue(std::nan("")).ok());
}

}  // namespace
}  // namespace ma::api

namespace ma::api {
namespace {

// BinarySI strings as Go's resource.Quantity marshals memory in metrics.k8s.io answers.
TEST(FormatBinaryQuantityTest, GoBinarySiStrings) {
  const Case cases[] = {
      {0, "0"},
      {512, "512"},
      {1000, "1k"},
      {1023, "1023"},
      {1024, "1Ki"},
      {1536, "1536"},
      {2048, "2Ki"},
      {1572864, "1536Ki"},
      {1285398528, "1255272Ki"},
      {3.0 * (1 << 30), "3Gi"},
      {1.5, "1500m"},
      {-2048, "-2Ki"},
      {1024.5, "1024500m"},
  };
  for (const auto& c : cases) {
    const auto text = FormatBinaryQuantity(c.value);
    ASSERT_TRUE(text.ok()) << c.value << ": " << text.status();
    EXPECT_EQ(*text, c.expected) << c.value;
  }
  EXPECT_FALSE(FormatBinaryQuantity(std::nan("")).ok());
  EXPECT_FALSE(FormatBinaryQuantity(1e22).ok());
}

}  // namespace
}  // namespace ma::api
