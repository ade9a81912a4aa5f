// Maxima that propagate NaN. The quantizers' group maximum |x| uses them (and the CPU emulation's
// row maximum), so a NaN or infinite input makes its group's scale NaN and reaches every output
// that depends on it as NaN, as with exact attention. With fmaxf a NaN element was skipped and
// left a finite, wrong result (a NaN in K, through its mean, made every K scale 0 and the
// attention uniform). The kernels keep fmaxf in their row maxima (the NaN-propagating form cost
// 7% at hd128 on sm90) and tell a row of NaN logits from an empty one by its NaN row sum.
#pragma once

#include <cmath>

#include "quant/host_device.hpp"

namespace sageattn::quant {

SAGE_HD float max_nan(float a, float b) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("max.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));  // sm80+: one FMNMX, like fmaxf
  return r;
#else
  return (a > b || a != a) ? a : b;
#endif
}

// The running maximum |x| of a quantization group.
SAGE_HD float amax_update(float amax, float x) { return max_nan(amax, std::fabs(x)); }

}  // namespace sageattn::quant
