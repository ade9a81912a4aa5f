// Parameters and compile-time variants of the mma.sync attention kernel (Ampere/Ada; runs on
// Hopper too). The kernel reads the pre-pass buffers of quant/quantized_layout.hpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "quant/granularity.hpp"
#include "quant/tile_shapes.hpp"
#include "sageattn/types.hpp"

namespace sageattn::cuda::sm80 {

inline constexpr quant::TileShape kTile = quant::kTileSm80;
inline constexpr int kWarps = kTile.block_q / kTile.warp_q;
inline constexpr int kThreads = kWarps * 32;

enum class QkCodes : int { kInt8, kInt4 };
enum class PvMode : int {
  kFp16Fp32,  // fp16 P and V, fp32 accumulator
  kFp16Fp16,  // fp16 accumulator per KV tile, added into fp32 (two-level)
  kFp8,       // e4m3 P (times kFp8PScale) and V, fp32 accumulator per tile added into fp32
};

struct Strides3 {
  std::int64_t batch, head, token;
};

struct AttentionParams {
  const std::int8_t* q_codes;  // [B, Hq, q_pad, code bytes]
  const float* q_scales;       // [B, Hq, q_scale_count]
  const std::int8_t* k_codes;  // [B, Hkv, k_pad, code bytes]
  const float* k_scales;       // [B, Hkv, k_scale_count]
  const void* v;               // fp8 [B, Hkv, D, k_pad] or fp16 [B, Hkv, k_pad, D]
  const float* v_scales;       // [B, Hkv, D] (fp8)
  const float* v_mean;         // [B, Hkv, D]
  const float* q_mean_logits;  // [B, Hq, q_pad / block_q, k_pad] or null
  const float* lse_shift;      // [B, Hq, len_q] or null (then lse is null)
  void* out;
  Strides3 out_strides;
  float* lse;
  Strides3 lse_strides;
  std::int64_t heads_q, heads_kv, len_q, len_kv, q_pad, k_pad;
  int q_scale_count, k_scale_count;
  quant::Granularity granularity;
  bool causal;  // a runtime flag: its cost (one compare per masked tile element) is not measurable
  bool bf16_out;
  bool out_pairs;  // the output allows 4-byte stores of two adjacent channels
};

template <int D, QkCodes kQk, PvMode kPv>
Status launch_attention(const AttentionParams& params, std::int64_t batch, cudaStream_t stream);

}  // namespace sageattn::cuda::sm80
