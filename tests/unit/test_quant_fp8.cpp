// FP8 e4m3 codec (src/quant/fp8_e4m3.hpp): all 256 codes, round trips, ties to even, saturation
// and NaN, and random inputs against a brute-force nearest-value search.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/fp8_e4m3.hpp"
#include "test_support.hpp"

namespace sageattn::quant {
namespace {

// The value of a code from the format's definition, by integer arithmetic only.
double e4m3_value_from_definition(int code) {
  const int sign = code >> 7, exponent = (code >> 3) & 0xF, mantissa = code & 7;
  const double magnitude =
      exponent == 0 ? std::ldexp(mantissa, -9) : std::ldexp(8 + mantissa, exponent - 10);
  return sign ? -magnitude : magnitude;
}

bool is_nan_code(int code) { return (code & 0x7F) == 0x7F; }

// Positive finite values in code order (codes 0x00..0x7E).
std::vector<float> positive_values() {
  std::vector<float> values;
  for (int c = 0; c <= 0x7E; ++c) values.push_back(e4m3_to_float(static_cast<std::uint8_t>(c)));
  return values;
}

TEST(Fp8E4m3, DecodesEveryCodeByDefinition) {
  int nan_codes = 0;
  for (int c = 0; c < 256; ++c) {
    const float decoded = e4m3_to_float(static_cast<std::uint8_t>(c));
    if (is_nan_code(c)) {
      EXPECT_TRUE(std::isnan(decoded)) << "code " << c;
      ++nan_codes;
      continue;
    }
    EXPECT_EQ(static_cast<double>(decoded), e4m3_value_from_definition(c)) << "code " << c;
  }
  EXPECT_EQ(nan_codes, 2);
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_float(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_float(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_to_float(0x08), std::ldexp(1.0f, -6));
}

TEST(Fp8E4m3, PositiveValuesStrictlyIncrease) {
  const std::vector<float> values = positive_values();
  for (std::size_t i = 1; i < values.size(); ++i) EXPECT_LT(values[i - 1], values[i]) << i;
}

TEST(Fp8E4m3, EveryFiniteCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    if (is_nan_code(c)) continue;
    EXPECT_EQ(float_to_e4m3(e4m3_to_float(static_cast<std::uint8_t>(c))), c) << "code " << c;
  }
}

TEST(Fp8E4m3, MidpointsRoundToEvenCodeAndNeighboursToNearest) {
  const std::vector<float> values = positive_values();
  for (int c = 0; c + 1 < static_cast<int>(values.size()); ++c) {
    const float lo = values[c], hi = values[c + 1];
    const float mid = (lo + hi) / 2;  // exact: both have few significant bits
    const int even = (c % 2 == 0) ? c : c + 1;
    EXPECT_EQ(float_to_e4m3(mid), even) << "midpoint of codes " << c << " and " << c + 1;
    EXPECT_EQ(float_to_e4m3(-mid), 0x80 | even);
    EXPECT_EQ(float_to_e4m3(std::nextafter(mid, 0.0f)), c);
    EXPECT_EQ(float_to_e4m3(std::nextafter(mid, 1000.0f)), c + 1);
  }
}

TEST(Fp8E4m3, SaturatesAndMapsNaN) {
  for (float x : {448.0f, 449.0f, 464.0f, 480.0f, 1e6f, INFINITY}) {
    EXPECT_EQ(float_to_e4m3(x), 0x7E) << x;
    EXPECT_EQ(float_to_e4m3(-x), 0xFE) << -x;
  }
  EXPECT_EQ(float_to_e4m3(NAN), 0x7F);
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xFF)));
  EXPECT_EQ(float_to_e4m3(0.0f), 0x00);
  EXPECT_EQ(float_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.0f, -10)), 0x00);  // half the smallest subnormal: even
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.1f, -10)), 0x01);
}

TEST(Fp8E4m3, RandomInputsRoundToNearestValue) {
  auto rng = testing::seeded_rng();
  std::uniform_real_distribution<float> log_magnitude(-12.0f, 9.5f);
  const std::vector<float> values = positive_values();
  for (int i = 0; i < 200000; ++i) {
    const float x = std::exp2(log_magnitude(rng)) * (i % 2 ? -1.0f : 1.0f);
    const float a = std::min(std::fabs(x), 448.0f);
    int best = 0;
    for (int c = 1; c < static_cast<int>(values.size()); ++c) {
      const float d_best = std::fabs(values[best] - a), d_c = std::fabs(values[c] - a);
      if (d_c < d_best || (d_c == d_best && c % 2 == 0)) best = c;
    }
    ASSERT_EQ(float_to_e4m3(x), (x < 0 ? 0x80 : 0) | best) << "x = " << x;
  }
}

}  // namespace
}  // namespace sageattn::quant
