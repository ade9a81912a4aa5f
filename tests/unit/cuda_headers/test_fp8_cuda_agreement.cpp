// The e4m3 encoder in quant/fp8_e4m3.hpp must produce the same byte as the conversion the kernels
// use (cvt.rn.satfinite.e4m3x2.f32). CUDA's host-side __nv_cvt_float_to_fp8 implements that rule,
// so this runs without a GPU wherever the toolkit headers are installed.
#include <cuda_fp8.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>

#include "quant/fp8_e4m3.hpp"

namespace {

std::uint8_t cuda_encode(float x) { return __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3); }

TEST(Fp8CudaAgreement, StridedSweepOfAllFloatBitPatterns) {
  // Stride 61 (odd, prime) visits every exponent and many mantissa patterns of all 2^32 floats.
  std::int64_t mismatches = 0;
  for (std::uint64_t bits = 0; bits < (1ull << 32); bits += 61) {
    const auto u = static_cast<std::uint32_t>(bits);
    float x;
    std::memcpy(&x, &u, sizeof x);
    if (x != x) continue;  // NaN: both give a NaN code; the sign of NaN is not specified
    mismatches += sageattn::quant::float_to_e4m3(x) != cuda_encode(x);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Fp8CudaAgreement, MidpointsBetweenAdjacentCodesRoundToEven) {
  for (int code = 0; code < 0x7E; ++code) {
    const float lo = sageattn::quant::e4m3_to_float(static_cast<std::uint8_t>(code));
    const float hi = sageattn::quant::e4m3_to_float(static_cast<std::uint8_t>(code + 1));
    for (float sign : {1.0f, -1.0f}) {
      const float mid = sign * (lo + hi) / 2;
      EXPECT_EQ(sageattn::quant::float_to_e4m3(mid), cuda_encode(mid)) << "midpoint " << mid;
    }
  }
}

TEST(Fp8CudaAgreement, RandomScaledInputs) {
  std::mt19937 rng(std::random_device{}());
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-12.0f, 10.0f);
  for (int i = 0; i < 1'000'000; ++i) {
    const float x = normal(rng) * std::exp2(log_scale(rng));
    ASSERT_EQ(sageattn::quant::float_to_e4m3(x), cuda_encode(x)) << "x = " << x;
  }
}

}  // namespace
