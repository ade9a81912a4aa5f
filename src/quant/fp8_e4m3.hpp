// FP8 e4m3 ("e4m3fn": no infinities, one NaN code per sign, max 448) conversion, bit-exact with the
// hardware's cvt.rn.satfinite.e4m3x2.f32: round to nearest even, finite overflow and +-inf saturate
// to +-448, NaN becomes 0x7F.
#pragma once

#include <cmath>
#include <cstdint>

#include "quant/host_device.hpp"

namespace sageattn::quant {

SAGE_HD std::uint8_t float_to_e4m3(float x) {
  if (x != x) return 0x7F;
  const std::uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const float a = std::fabs(x);
  if (a >= 448.0f) return sign | 0x7E;
  if (a < 0.015625f) {
    // Subnormals are multiples of 2^-9; rounding may carry into the smallest normal (code 0x08),
    // which the integer code then encodes without special handling.
    return sign | static_cast<std::uint8_t>(rintf(a * 512.0f));
  }
  int exponent = 0;
  const float mantissa = std::frexp(a, &exponent) * 2.0f;  // in [1, 2)
  exponent -= 1;
  int m = static_cast<int>(rintf((mantissa - 1.0f) * 8.0f));  // exact product: RNE on 3 bits
  if (m == 8) {
    m = 0;
    exponent += 1;
  }
  return sign | static_cast<std::uint8_t>(((exponent + 7) << 3) | m);
}

SAGE_HD float e4m3_to_float(std::uint8_t code) {
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  const int exponent = (code >> 3) & 0xF;
  const int mantissa = code & 0x7;
  if (exponent == 0xF && mantissa == 0x7) return NAN;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

}  // namespace sageattn::quant
