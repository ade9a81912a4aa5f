// The epilogue: normalises a consumer thread's two output rows and writes them and their LSE.
//   o = O * v_scale[c] / l + v_mean[c]     (l in kFp8PScale units: the P scale cancels)
//   LSE = ln2 * (m + log2(l) - log2(448)) + lse_shift      (natural log of the exact logits)
// A row that sees no key (m = -inf) writes o = 0 and LSE = -inf, as cpu/emulation.cpp.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/sm90/params.hpp"
#include "cuda/sm90/softmax.hpp"

namespace sageattn::cuda::sm90 {

template <typename Out>
__device__ __forceinline__ std::uint32_t pack_output_pair(float a, float b) {
  if constexpr (std::is_same_v<Out, __nv_bfloat16>) {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<const std::uint32_t*>(&pair);
  } else {
    const __half2 pair = __floats2half2_rn(a, b);
    return *reinterpret_cast<const std::uint32_t*>(&pair);
  }
}

// core::TokenStrides::offset is host-only (core has no device code).
__device__ __forceinline__ std::int64_t element_offset(const core::TokenStrides& st, int batch,
                                                       int head, int token) {
  return batch * st.batch + head * st.head + token * st.token;
}

// `rows[h]` is the query token of row half h; `head` is b * heads_q + h_q; `kv_head` likewise.
template <int kHeadDim, typename Out>
__device__ __forceinline__ void store_rows(const KernelParams& p, int head, int kv_head,
                                           const int (&rows)[2], const OnlineSoftmax& softmax,
                                           const float (&o)[kHeadDim / 2], int lane_t) {
  const float(&row_sum)[2] = softmax.l;  // in kFp8PScale units
  const int batch = head / p.heads_q;
  const int head_q = head % p.heads_q;
  // The thread's channel scales and means, all read before the first store: the compiler may not
  // move a load past a store to `out` (it could alias), so read between the stores each cost a
  // dependent L1 round trip.
  constexpr int kChunks = kHeadDim / 8;
  const float* v_scales = p.v_scales + static_cast<std::int64_t>(kv_head) * kHeadDim;
  const float* v_means = p.v_mean + static_cast<std::int64_t>(kv_head) * kHeadDim;
  float2 scale[kChunks], mean[kChunks];
#pragma unroll
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    scale[chunk] = *reinterpret_cast<const float2*>(v_scales + 8 * chunk + 2 * lane_t);
    mean[chunk] = *reinterpret_cast<const float2*>(v_means + 8 * chunk + 2 * lane_t);
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if (rows[h] >= p.len_q) continue;
    // No visible key: m never rose above -inf and l is 0. A row whose logits were all NaN (a NaN
    // Q or K scale: quant/float_max.hpp) also keeps m at -inf, since the softmax's fmaxf skips NaN
    // (a NaN-propagating max there cost 7% at hd128), but its l is NaN: it outputs NaN.
    const bool empty = softmax.m[h] == kNegInf && !isnan(row_sum[h]);
    const float inv_l = empty ? 0.0f : 1.0f / row_sum[h];
    Out* out = static_cast<Out*>(p.out) + element_offset(p.out_strides, batch, head_q, rows[h]);
#pragma unroll
    for (int chunk = 0; chunk < kChunks; ++chunk) {
      const float2 m = empty ? make_float2(0.0f, 0.0f) : mean[chunk];
      const float x0 = o[4 * chunk + 2 * h] * scale[chunk].x * inv_l + m.x;
      const float x1 = o[4 * chunk + 2 * h + 1] * scale[chunk].y * inv_l + m.y;
      *reinterpret_cast<std::uint32_t*>(out + 8 * chunk + 2 * lane_t) =
          pack_output_pair<Out>(x0, x1);
    }
    if (p.lse != nullptr && lane_t == 0) {
      const std::int64_t shift_at = static_cast<std::int64_t>(head) * p.len_q + rows[h];
      p.lse[element_offset(p.lse_strides, batch, head_q, rows[h])] =
          empty ? kNegInf
                : quant::kLn2 * (softmax.m[h] + log2f(row_sum[h]) - kLog2Fp8PScale) +
                      p.lse_shift[shift_at];
    }
  }
}

}  // namespace sageattn::cuda::sm90
