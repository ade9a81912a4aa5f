// Where the quantization pre-pass puts its outputs inside the workspace, and in which layout the
// attention kernels read them. Every buffer is dense; token ranges are padded to whole tiles and
// the padding is zero (kernels still mask padded keys).
//
// clang-format off
//   q_codes   int8  [B, Hq,  Nq_pad, D]      (INT4: [B, Hq, Nq_pad, D/2], low nibble = even channel)
//   q_scales  fp32  [B, Hq,  q_scale_count]  sm_scale*log2(e) folded in (quant/int_quant.hpp)
//   k_codes   int8  [B, Hkv, Nk_pad, D]      (INT4 packed like Q)
//   k_scales  fp32  [B, Hkv, k_scale_count]
//   k_mean    fp32  [B, Hkv, D]              mean of K over tokens (zeros when smooth_k is off)
//   v_fp8     e4m3  [B, Hkv, D, Nk_pad]      V transposed: tokens contiguous, the K-major B operand
//                                            that fp8 mma.sync and wgmma both require
//   v_fp16    fp16  [B, Hkv, Nk_pad, D]      for the fp16 PV paths (instead of v_fp8)
//   v_scales  fp32  [B, Hkv, D]              per-channel fp8 scales
//   v_mean    fp32  [B, Hkv, D]              smooth_v: added back to the output
//   q_mean_logits fp32 [B, Hq, Nq_pad/BQ, Nk_pad]  smooth_q: (mean_q_block . k_smoothed_j) *
//                                            sm_scale*log2(e), added to the dequantized logits
//   lse_shift fp32  [B, Hq, Nq]              sm_scale * (q_i . k_mean): LSE of the exact logits
//                                            = LSE of the smoothed ones + lse_shift
//   stats     [B, Hkv, stats_chunks, D] x {fp64 K sum, fp64 V sum, fp32 V min, fp32 V max}
//                                            pre-pass scratch (kernels ignore it): the first
//                                            launch's per-chunk partial sums, so the means need
//                                            no atomics, no zeroed memory and no third launch
// clang-format on
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/granularity.hpp"
#include "quant/host_device.hpp"

namespace sageattn::cuda {

struct QuantizedLayout {
  std::int64_t batch, heads_q, heads_kv, len_q, len_kv, q_pad, k_pad;
  int head_dim;
  bool int4;
  // Byte offsets into the workspace; kNone for buffers this configuration does not use.
  static constexpr std::size_t kNone = ~std::size_t{0};
  std::size_t q_codes, q_scales, k_codes, k_scales, k_mean, v_fp8, v_fp16, v_scales, v_mean,
      q_mean_logits, lse_shift, stats, total_bytes;
  int stats_chunks;              // token chunks of the pre-pass statistics launch
  std::int64_t stats_chunk_len;  // tokens per chunk (a multiple of kStatsChunkQuantum)
};

// Chunks of at most 16 keep the second launch's per-CTA re-summation of the partial sums cheap
// (16 x D doubles from L2) while giving the statistics launch B*Hkv*16 CTAs at long lengths; at
// least 128 tokens each, so a CTA's fixed cost (its reduction) stays small next to its reads.
// The launch may merge chunks to fit one wave of the device (prepass.cu, statistics_in_one_wave).
inline constexpr int kMaxStatsChunks = 16;
inline constexpr int kStatsChunkQuantum = 128;

// The buffer at a QuantizedLayout offset inside `workspace`; nullptr for one the configuration
// does not use (kNone).
template <typename T>
const T* workspace_buffer(const void* workspace, std::size_t offset) {
  return offset == QuantizedLayout::kNone
             ? nullptr
             : reinterpret_cast<const T*>(static_cast<const char*>(workspace) + offset);
}

struct LayoutRequest {
  std::int64_t batch, heads_q, heads_kv, len_q, len_kv;
  int head_dim;
  quant::TileShape tile;
  quant::Granularity granularity;
  bool int4, fp8_v, smooth_q, smooth_v, want_lse;
};

// Buffers start on 256-byte boundaries (TMA and 16-byte vector loads need 16).
inline QuantizedLayout plan_quantized_layout(const LayoutRequest& r) {
  QuantizedLayout l{};
  l.batch = r.batch;
  l.heads_q = r.heads_q;
  l.heads_kv = r.heads_kv;
  l.len_q = r.len_q;
  l.len_kv = r.len_kv;
  l.head_dim = r.head_dim;
  l.int4 = r.int4;
  l.q_pad = static_cast<std::int64_t>(quant::ceil_div(r.len_q, r.tile.block_q)) * r.tile.block_q;
  l.k_pad = static_cast<std::int64_t>(quant::ceil_div(r.len_kv, r.tile.block_k)) * r.tile.block_k;
  std::size_t cursor = 0;
  auto take = [&cursor](std::size_t bytes) {
    const std::size_t at = cursor;
    cursor += (bytes + 255) / 256 * 256;
    return at;
  };
  const auto bq = static_cast<std::size_t>(r.batch * r.heads_q);
  const auto bk = static_cast<std::size_t>(r.batch * r.heads_kv);
  const auto d = static_cast<std::size_t>(r.head_dim);
  const std::size_t code_d = r.int4 ? d / 2 : d;
  l.q_codes = take(bq * l.q_pad * code_d);
  l.q_scales = take(bq * quant::q_scale_count(r.len_q, r.granularity, r.tile) * 4);
  l.k_codes = take(bk * l.k_pad * code_d);
  l.k_scales = take(bk * quant::k_scale_count(r.len_kv, r.granularity, r.tile) * 4);
  l.k_mean = take(bk * d * 4);
  l.v_fp8 = r.fp8_v ? take(bk * d * l.k_pad) : QuantizedLayout::kNone;
  l.v_fp16 = r.fp8_v ? QuantizedLayout::kNone : take(bk * l.k_pad * d * 2);
  l.v_scales = take(bk * d * 4);
  l.v_mean = take(bk * d * 4);
  l.q_mean_logits =
      r.smooth_q ? take(bq * (l.q_pad / r.tile.block_q) * l.k_pad * 4) : QuantizedLayout::kNone;
  l.lse_shift = r.want_lse ? take(bq * r.len_q * 4) : QuantizedLayout::kNone;
  const std::int64_t quanta = (r.len_kv + kStatsChunkQuantum - 1) / kStatsChunkQuantum;
  l.stats_chunks = static_cast<int>(quanta < kMaxStatsChunks ? quanta : kMaxStatsChunks);
  l.stats_chunk_len = (quanta + l.stats_chunks - 1) / l.stats_chunks * kStatsChunkQuantum;
  l.stats = take(bk * static_cast<std::size_t>(l.stats_chunks) * d * (8 + 8 + 4 + 4));
  l.total_bytes = cursor;
  return l;
}

}  // namespace sageattn::cuda
