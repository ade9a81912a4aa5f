// Everything the Hopper kernel reads besides the TMA tensor maps: pointers into the pre-pass
// workspace (cuda/quant/quantized_layout.hpp), the output and the problem's shape.
#pragma once

#include <cuda.h>

#include <cstdint>

#include "core/problem.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda::sm90 {

struct TensorMaps {
  CUtensorMap q;  // 2-D: [B*Hq*Nq_pad rows][D bytes], box 128 rows
  CUtensorMap k;  // 5-D permuted view of [B*Hkv*Nk_pad rows][D bytes] (kernel_traits.hpp)
  CUtensorMap v;  // 2-D: [B*Hkv*D rows][Nk_pad bytes], box D rows x 128 keys
};

struct KernelParams {
  const float* q_scales;   // [B, Hq, q_scale_count], sm_scale*log2(e) folded in
  const float* k_scales;   // [B, Hkv, k_scale_count]
  const float* v_scales;   // [B, Hkv, D]
  const float* v_mean;     // [B, Hkv, D] (zeros unless smooth_v)
  const float* lse_shift;  // [B, Hq, Nq], only read when lse is set
  void* out;               // [B, Hq, Nq, D] at out_strides, fp16 or bf16
  float* lse;              // [B, Hq, Nq] at lse_strides, or null
  core::TokenStrides out_strides;
  core::TokenStrides lse_strides;
  int heads_q;
  int heads_kv;
  int len_q;
  int len_kv;
  int q_pad;
  int k_pad;
  int q_scale_count;
  int k_scale_count;
  int q_tiles;     // ceil(len_q / kBlockQ)
  int work_tiles;  // batch * heads_q * q_tiles (tile_scheduler.hpp)
  quant::Granularity granularity;
  bool causal;
};

// The K/V head (b * heads_kv + h_kv) that query head `head` (b * heads_q + h_q) reads (GQA/MQA).
__host__ __device__ inline int kv_head_of(const KernelParams& p, int head) {
  const int batch = head / p.heads_q;
  return batch * p.heads_kv + (head % p.heads_q) / (p.heads_q / p.heads_kv);
}

}  // namespace sageattn::cuda::sm90
