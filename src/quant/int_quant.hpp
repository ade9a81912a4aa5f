// Symmetric integer quantization and the smoothing means: the rounding rules every path shares.
//
//   scale = amax / qmax                  (fp32; amax = max |x| over the scale's group)
//   code  = clamp(rint(x / scale), -qmax, qmax)   (IEEE division, round half to even; 0 if scale 0)
//   x    ~= code * scale
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

SAGE_HD int quantize_symmetric(float x, float scale, int qmax) {
  if (!(scale > 0.0f)) return 0;
  const float r = rintf(x / scale);
  return static_cast<int>(fminf(fmaxf(r, -static_cast<float>(qmax)), static_cast<float>(qmax)));
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

// V in fp8: per-channel scale so the channel's largest magnitude maps to 448.
SAGE_HD float fp8_channel_scale(float amax) { return amax / kFp8E4M3Max; }
SAGE_HD float fp8_scaled_input(float x, float scale) { return scale > 0.0f ? x / scale : 0.0f; }

}  // namespace sageattn::quant
