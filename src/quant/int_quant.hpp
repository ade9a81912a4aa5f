// Symmetric integer quantization and the smoothing means: the rounding rules every path shares.
//
//   scale = amax / qmax                  (fp32; amax = max |x| over the scale's group)
//   inv   = min(qmax / amax, FLT_MAX)    (fp32, once per group; 0 if amax is 0 or not a number)
//   code  = clamp(rint(x * inv), -qmax, qmax)     (x * inv exact, rounded once, half to even;
//                                                  0 if inv is 0)
//   x    ~= code * scale
//
// Codes multiply by the group's reciprocal rather than divide by its scale: an IEEE division per
// element is a dozen instructions and made the pre-pass instruction-bound. x * inv differs from
// x / scale by at most two fp32 roundings (inv, scale), |error| <= 2 * 2^-24 * qmax in code
// units, so |x - code * scale| <= scale * (0.5 + 1.6e-5).
//
// The product is rounded to an integer directly (no fp32 product first): on the GPU that is one
// FFMA with 1.5 * 2^23 as addend (cuda/quant/prepass_quantize.cuh), here an exact fp64 product.
// For every x of the group |x| <= amax, so |x * inv| <= qmax (1 + 2^-24) and the clamp never
// acts; the GPU leaves it out. inv stops at FLT_MAX: for an amax below qmax / FLT_MAX (fp32
// denormals) qmax / amax would be infinite and x * inv not a number for x = 0.
//
// Means over tokens (K smoothing, Q smoothing, V smoothing) are summed in fp64 and rounded once to
// fp32: for fp16/bf16 inputs whose magnitudes span less than 2^45 the fp64 sum is exact, so the
// mean does not depend on summation order and the CPU and GPU produce the same bits.
#pragma once

#include <cmath>
#include <cstdint>

#include "quant/host_device.hpp"
#include "quant/numeric_constants.hpp"

namespace sageattn::quant {

SAGE_HD float symmetric_scale(float amax, int qmax) { return amax / static_cast<float>(qmax); }
SAGE_HD float symmetric_inverse_scale(float amax, int qmax) {
  return amax > 0.0f ? fminf(static_cast<float>(qmax) / amax, kFloatMax) : 0.0f;
}

SAGE_HD int quantize_symmetric(float x, float inv_scale, int qmax) {
  if (!(inv_scale > 0.0f)) return 0;
  const double r = rint(static_cast<double>(x) * static_cast<double>(inv_scale));
  return static_cast<int>(fmin(fmax(r, -static_cast<double>(qmax)), static_cast<double>(qmax)));
}

// Q's scale carries sm_scale * log2(e), so the dequantized logits are already in the exp2 domain.
SAGE_HD float softmax_log2_factor(float sm_scale) { return sm_scale * kLog2e; }
SAGE_HD float fold_q_scale(float scale, float sm_scale) {
  return scale * softmax_log2_factor(sm_scale);
}

// Dequantized logit of one (query, key) pair in the exp2 domain; the kernels use this order.
SAGE_HD float dequantize_logit(std::int32_t dot, float q_scale_folded, float k_scale) {
  return static_cast<float>(dot) * (q_scale_folded * k_scale);
}

SAGE_HD float mean_from_sum(double sum, std::int64_t count) {
  return static_cast<float>(sum / static_cast<double>(count));
}

// V in fp8: per-channel scale so the channel's largest magnitude maps to 448. Like the integer
// codes, the input is multiplied by the reciprocal (448 / amax, 0 if amax is 0), not divided.
SAGE_HD float fp8_channel_scale(float amax) { return amax / kFp8E4M3Max; }
SAGE_HD float fp8_inverse_scale(float amax) { return amax > 0.0f ? kFp8E4M3Max / amax : 0.0f; }
SAGE_HD float fp8_scaled_input(float x, float inv_scale) { return x * inv_scale; }

}  // namespace sageattn::quant
