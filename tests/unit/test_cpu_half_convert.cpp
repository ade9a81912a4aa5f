// fp16/bf16 host conversions (src/cpu/half_convert.hpp): every 16-bit code round trips, and
// random floats round to nearest even, checked against the neighbouring representable values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

#include "cpu/half_convert.hpp"
#include "test_support.hpp"

namespace sageattn::cpu {
namespace {

bool fp16_is_nan(std::uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }

TEST(HalfConvert, EveryFp16CodeRoundTrips) {
  for (int code = 0; code < 65536; ++code) {
    const auto h = static_cast<std::uint16_t>(code);
    const float x = fp16_to_float(h);
    if (fp16_is_nan(h)) {
      EXPECT_TRUE(std::isnan(x));
      EXPECT_TRUE(fp16_is_nan(float_to_fp16(x)));
      continue;
    }
    ASSERT_EQ(float_to_fp16(x), h) << "code " << code;
  }
  EXPECT_EQ(fp16_to_float(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));
}

TEST(HalfConvert, EveryBf16CodeRoundTrips) {
  for (int code = 0; code < 65536; ++code) {
    const auto b = static_cast<std::uint16_t>(code);
    const float x = bf16_to_float(b);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(x))));
      continue;
    }
    ASSERT_EQ(float_to_bf16(x), b) << "code " << code;
  }
}

// Both 16-bit formats: the result is a nearest representable value, ties go to the even code.
template <typename Encode, typename Decode>
void expect_round_to_nearest_even(float x, Encode encode, Decode decode) {
  const std::uint16_t code = encode(x);
  const double got = decode(code);
  if (std::isinf(got)) return;  // overflow is checked separately
  const double error = std::fabs(got - x);
  for (int step : {-1, 1}) {
    const auto neighbour_code =
        static_cast<std::uint16_t>((code & 0x7FFF) + step) | (code & 0x8000);
    const double neighbour = decode(neighbour_code);
    if (std::isnan(neighbour) || (code & 0x7FFF) + step < 0) continue;
    const double neighbour_error = std::fabs(neighbour - x);
    ASSERT_LE(error, neighbour_error) << "x = " << x;
    if (error == neighbour_error) {
      ASSERT_EQ(code & 1, 0) << "tie not to even, x = " << x;
    }
  }
}

TEST(HalfConvert, RandomFloatsRoundToNearestEven) {
  auto rng = testing::seeded_rng();
  std::uniform_real_distribution<float> log_magnitude(-26.0f, 16.0f);
  std::uniform_int_distribution<std::uint32_t> low_bits(0, 0x1FFF);
  for (int i = 0; i < 200000; ++i) {
    float x = std::exp2(log_magnitude(rng)) * (i % 2 ? -1.0f : 1.0f);
    if (i % 4 == 0) {
      // Force exact ties of both formats: clear the bits below the rounding point, set the half.
      x = std::bit_cast<float>((std::bit_cast<std::uint32_t>(x) & ~0xFFFFu) | 0x8000u);
    } else if (i % 4 == 1) {
      x = std::bit_cast<float>((std::bit_cast<std::uint32_t>(x) & ~0x1FFFu) | 0x1000u);
    } else {
      x = std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) ^ low_bits(rng));
    }
    expect_round_to_nearest_even(x, float_to_fp16, fp16_to_float);
    expect_round_to_nearest_even(x, float_to_bf16, bf16_to_float);
  }
}

TEST(HalfConvert, RoundToFp16AgreesWithEncodeDecode) {
  auto rng = testing::seeded_rng();
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int i = 0; i < 1000000; ++i) {
    // Random bit patterns cover every exponent; half of them are pulled into the fp16 range.
    std::uint32_t bits = any_bits(rng);
    if (i % 2) bits = (bits & 0x80FFFFFFu) | ((0x60u + (bits >> 24) % 0x30u) << 23);
    const float x = std::bit_cast<float>(bits);
    const float expected = fp16_to_float(float_to_fp16(x));
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(round_to_fp16(x)));
      continue;
    }
    ASSERT_EQ(std::bit_cast<std::uint32_t>(round_to_fp16(x)),
              std::bit_cast<std::uint32_t>(expected))
        << "x = " << x;
  }
}

TEST(HalfConvert, OverflowSaturationAndNaN) {
  EXPECT_EQ(float_to_fp16(65519.0f), 0x7BFF);
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7C00);
  EXPECT_EQ(float_to_fp16(-1e6f), 0xFC00);
  EXPECT_EQ(float_to_fp16(INFINITY), 0x7C00);
  EXPECT_EQ(float_to_fp16_saturate(1e6f), 0x7BFF);
  EXPECT_EQ(float_to_fp16_saturate(-INFINITY), 0xFBFF);
  EXPECT_TRUE(fp16_is_nan(float_to_fp16(NAN)));
  EXPECT_TRUE(fp16_is_nan(float_to_fp16_saturate(NAN)));
  EXPECT_EQ(float_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // half the smallest subnormal: even
  EXPECT_EQ(float_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(float_to_bf16(3.4e38f), 0x7F80);  // rounds up past the largest finite bf16
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}

}  // namespace
}  // namespace sageattn::cpu
