// fp16 and bf16 <-> fp32 on the host, bit-exact with the GPU's cvt.rn instructions: round to
// nearest, ties to even. The CPU backends use these to read fp16/bf16 tensors, to write outputs,
// and to emulate every place where the kernels round a value to 16 bits.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace sageattn::cpu {

inline constexpr float kFp16Max = 65504.0f;

// IEEE binary16. Overflow (|x| >= 65520, the midpoint above 65504) gives +-inf, NaN a quiet NaN.
inline std::uint16_t float_to_fp16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return sign | 0x7E00u;
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;  // 65520 and above, inf included
  if (magnitude < 0x38800000u) {
    // fp16 subnormals are multiples of 2^-24: the product is exact and rintf rounds half to even.
    // A result of 1024 is the smallest normal's code, so the carry needs no special case.
    return sign | static_cast<std::uint16_t>(rintf(std::fabs(x) * 16777216.0f));
  }
  // Normal: drop 13 mantissa bits with round-half-even, then rebias the exponent (127 -> 15).
  const std::uint32_t rounded = magnitude + 0x0FFFu + ((magnitude >> 13) & 1u);
  return sign | static_cast<std::uint16_t>((rounded - (112u << 23)) >> 13);
}

// By bit moves rather than ldexp: the emulation converts an fp16 accumulator on every mma step.
inline float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // subnormal: exact
    return sign ? -magnitude : magnitude;
  }
  // Rebias the exponent (15 -> 127) and widen the mantissa: every fp16 normal is an fp32 normal.
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// The value fp16 rounding gives, as a float: the emulation's model of an fp16 register. Equal to
// fp16_to_float(float_to_fp16(x)) but computed in the fp32 format, as the emulation rounds its
// fp16 accumulator on every mma step.
inline float round_to_fp16(float x) {
  const float magnitude = std::fabs(x);
  if (!(magnitude < 65520.0f)) return x != x ? x : std::copysign(INFINITY, x);
  if (magnitude < 0x1p-14f) return rintf(x * 0x1p24f) * 0x1p-24f;  // subnormal step 2^-24
  // Normal: round half to even at the 10th mantissa bit, clear the 13 bits below it.
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  return std::bit_cast<float>((bits + 0x0FFFu + ((bits >> 13) & 1u)) & ~0x1FFFu);
}

// Like cvt.rn.satfinite.f16.f32: finite overflow and +-inf clamp to +-65504. Used where the
// kernels convert an operand to fp16 for the tensor cores (a bf16 V can exceed the fp16 range).
inline std::uint16_t float_to_fp16_saturate(float x) {
  if (x != x) return 0x7E00u;
  return float_to_fp16(std::fmin(std::fmax(x, -kFp16Max), kFp16Max));
}

// bfloat16: the upper half of an fp32 with round-half-even on the dropped 16 bits.
inline std::uint16_t float_to_bf16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

inline float bf16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace sageattn::cpu
