// The mma.sync SageAttention kernel: one CTA per (128-row Q block, Q head, batch), 4 warps of 32
// rows each, K/V tiles of 64 keys double-buffered through cp.async. Stages: qk_softmax.cuh (S,
// masking, online softmax), pv.cuh (P V), the epilogue below (normalise, V mean, LSE, store).
#pragma once

#include <cstdint>

#include "cuda/common/cuda_check.hpp"
#include "cuda/common/element_io.cuh"
#include "cuda/sm80/pv.cuh"

namespace sageattn::cuda::sm80 {

template <int D, PvMode kPv>
__device__ __forceinline__ void store_rows(const AttentionParams& p, std::int64_t b,
                                           std::int64_t head_q, std::int64_t first_row, int lane,
                                           const RowStats& r, OutputAccumulator<D>& o,
                                           const float* v_scales, const float* v_mean) {
  const std::int64_t head = b * p.heads_q + head_q;
#pragma unroll
  for (int f = 0; f < kFragsM; ++f) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float l = r.l[f][h];
      l += __shfl_xor_sync(0xFFFFFFFFu, l, 1);
      l += __shfl_xor_sync(0xFFFFFFFFu, l, 2);
      const std::int64_t row = first_row + f * 16 + h * 8;
      if (row >= p.len_q) continue;
      // Rows whose logits were all NaN keep m at -inf (fmaxf skips NaN) but their l is NaN: they
      // output NaN, not the 0 of rows that see no key.
      const bool seen = r.m[f][h] != -INFINITY || isnan(l);
      auto* out = static_cast<std::uint16_t*>(p.out) + b * p.out_strides.batch +
                  head_q * p.out_strides.head + row * p.out_strides.token;
#pragma unroll
      for (int d8 = 0; d8 < D / 8; ++d8) {
        const int d = d8 * 8 + 2 * (lane % 4);
        float x[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float acc = o[f][d8][2 * h + e];
          const float scaled = kPv == PvMode::kFp8 ? acc * v_scales[d + e] / (quant::kFp8PScale * l)
                                                   : acc / l;
          x[e] = seen ? scaled + v_mean[d + e] : 0.0f;
        }
        const std::uint16_t lo = float_to_element(x[0], p.bf16_out);
        const std::uint16_t hi = float_to_element(x[1], p.bf16_out);
        if (p.out_pairs) {
          *reinterpret_cast<std::uint32_t*>(out + d) = lo | (static_cast<std::uint32_t>(hi) << 16);
        } else {
          out[d] = lo;
          out[d + 1] = hi;
        }
      }
      if (p.lse != nullptr && lane % 4 == 0) {
        p.lse[b * p.lse_strides.batch + head_q * p.lse_strides.head + row * p.lse_strides.token] =
            seen ? quant::kLn2 * (r.m[f][h] + log2f(l)) + p.lse_shift[head * p.len_q + row]
                 : -INFINITY;
      }
    }
  }
}

template <int D, QkCodes kQk, PvMode kPv>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionParams p) {
  using Smem = SmemLayout<D, kQk, kPv>;
  extern __shared__ __align__(16) std::uint8_t smem[];
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  // Causal blocks further down see more keys: launch them first so the tail is short ones.
  const std::int64_t q_block = p.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x;
  const std::int64_t head_q = blockIdx.y;
  const std::int64_t b = blockIdx.z;
  const std::int64_t kv_head = b * p.heads_kv + head_q / (p.heads_q / p.heads_kv);
  const std::int64_t head = b * p.heads_q + head_q;
  const std::int64_t q_first = q_block * kTile.block_q;
  const std::int64_t causal_offset = p.len_kv - p.len_q;

  std::int64_t kv_end = p.len_kv;
  if (p.causal) {
    const std::int64_t last_row = min(q_first + kTile.block_q, p.len_q) - 1;
    kv_end = max(std::int64_t{0}, min(p.len_kv, last_row + causal_offset + 1));
  }
  const int tiles = static_cast<int>((kv_end + kTile.block_k - 1) / kTile.block_k);

  const auto* k_head = reinterpret_cast<const std::uint8_t*>(p.k_codes) +
                       kv_head * p.k_pad * Smem::kCodeBytes;
  const auto* v_head = static_cast<const std::uint8_t*>(p.v) +
                       kv_head * p.k_pad * (Smem::kFp8 ? D : 2 * D);
  auto load_kv = [&](int tile, int stage) {
    const std::int64_t start = static_cast<std::int64_t>(tile) * kTile.block_k;
    load_tile_async<kTile.block_k, Smem::kCodeBytes, Smem::kCodePitch>(
        Smem::k(smem, stage), k_head + start * Smem::kCodeBytes, Smem::kCodeBytes);
    if constexpr (Smem::kFp8) {
      load_tile_async<D, kTile.block_k, Smem::kVPitch>(Smem::v(smem, stage), v_head + start, p.k_pad);
    } else {
      load_tile_async<kTile.block_k, 2 * D, Smem::kVPitch>(Smem::v(smem, stage),
                                                           v_head + start * 2 * D, 2 * D);
    }
  };
  load_tile_async<kTile.block_q, Smem::kCodeBytes, Smem::kCodePitch>(
      Smem::q(smem),
      reinterpret_cast<const std::uint8_t*>(p.q_codes) + (head * p.q_pad + q_first) * Smem::kCodeBytes,
      Smem::kCodeBytes);
  if (tiles > 0) load_kv(0, 0);
  cp_async_commit();

  // Every granularity gives a thread one Q group: its rows share the warp slab and token mod 8.
  const std::int64_t first_row = q_first + warp * kTile.warp_q + lane / 4;
  LogitContext ctx{};
  ctx.causal = p.causal;
  ctx.q_scale = p.q_scales[head * p.q_scale_count + quant::q_scale_group(first_row, p.granularity, kTile)];
  const float* q_mean_logits =
      p.q_mean_logits == nullptr
          ? nullptr
          : p.q_mean_logits + (head * (p.q_pad / kTile.block_q) + q_block) * p.k_pad;
  const std::int64_t warp_first_row = q_first + warp * kTile.warp_q;

  RowStats stats;
#pragma unroll
  for (int f = 0; f < kFragsM; ++f)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      stats.m[f][h] = -INFINITY;
      stats.l[f][h] = 0.0f;
    }
  OutputAccumulator<D> o = {};

#pragma unroll 1
  for (int tile = 0; tile < tiles; ++tile) {
    const int stage = tile % 2;
    if (tile + 1 < tiles) load_kv(tile + 1, 1 - stage);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    const std::int64_t tile_start = static_cast<std::int64_t>(tile) * kTile.block_k;
    // Every thread's keys in a tile share (key mod 8) / 2 = lane mod 4: one K group per tile.
    ctx.k_scale = p.k_scales[kv_head * p.k_scale_count +
                             quant::k_scale_group(tile_start + 2 * (lane % 4), p.granularity, kTile)];
    ctx.q_mean_logits = q_mean_logits == nullptr ? nullptr : q_mean_logits + tile_start;
    const std::int64_t tile_last_key = tile_start + kTile.block_k - 1;
    ctx.mask = tile_last_key >= p.len_kv ||
               (p.causal && tile_last_key > warp_first_row + causal_offset);
    if (ctx.mask) {
      // Clamped into [-1, block_k]: past either end every key compares the same way.
      auto relative = [&](std::int64_t limit) {
        return static_cast<int>(max(std::int64_t{-kTile.warp_q - 1}, min(limit - tile_start, std::int64_t{kTile.block_k})));
      };
      ctx.key_limit = relative(p.len_kv);
      ctx.causal_limit = relative(first_row + causal_offset);
    }

    std::int32_t dots[kFragsM][kTilesN][4];
    tile_dot_products<D, kQk, kPv>(Smem::q(smem), Smem::k(smem, stage), warp, lane, dots);
    TileLogits s;
    dequantize_logits(dots, ctx, lane, s);
    float alpha[kFragsM][2];
    softmax_update(s, stats, alpha);
    accumulate_pv<D, kQk, kPv>(s, Smem::v(smem, stage), alpha, lane, o);
    __syncthreads();  // the stage is overwritten by the load issued in the next iteration
  }
  cp_async_wait<0>();  // no copy may still target shared memory when the CTA exits

  store_rows<D, kPv>(p, b, head_q, first_row, lane, stats, o, p.v_scales + kv_head * D,
                     p.v_mean + kv_head * D);
}

template <int D, QkCodes kQk, PvMode kPv>
Status launch_attention(const AttentionParams& params, std::int64_t batch, cudaStream_t stream) {
  constexpr int kSmem = SmemLayout<D, kQk, kPv>::kTotal;
  auto* kernel = attention_kernel<D, kQk, kPv>;
  if (Status s = cuda_status(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem),
          "cudaFuncSetAttribute(attention_kernel)");
      !s.ok()) {
    return s;
  }
  const dim3 grid(static_cast<unsigned>(params.q_pad / kTile.block_q),
                  static_cast<unsigned>(params.heads_q), static_cast<unsigned>(batch));
  kernel<<<grid, kThreads, kSmem, stream>>>(params);
  return launch_status("sm80 attention_kernel");
}

}  // namespace sageattn::cuda::sm80
