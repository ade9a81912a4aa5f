// S = Q K^T of one KV tile for one warp's 32 rows (integer codes through mma.sync), its
// dequantization into the exp2 domain, masking, and the online-softmax update.
#pragma once

#include <cstdint>

#include "cuda/common/mma.cuh"
#include "cuda/sm80/smem_tiles.cuh"
#include "quant/int_quant.hpp"

namespace sageattn::cuda::sm80 {

inline constexpr int kFragsM = kTile.warp_q / 16;  // m16 fragments per warp
inline constexpr int kTilesN = kTile.block_k / 8;  // n8 fragments per KV tile

// Logits of the tile: [m fragment][n fragment][c0..c3] (mma C layout, see common/mma.cuh).
using TileLogits = float[kFragsM][kTilesN][4];

template <int D, QkCodes kQk, PvMode kPv>
__device__ __forceinline__ void tile_dot_products(const std::uint8_t* q_smem,
                                                  const std::uint8_t* k_smem, int warp, int lane,
                                                  std::int32_t (&acc)[kFragsM][kTilesN][4]) {
  using Smem = SmemLayout<D, kQk, kPv>;
#pragma unroll
  for (int f = 0; f < kFragsM; ++f)
#pragma unroll
    for (int n = 0; n < kTilesN; ++n)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[f][n][c] = 0;
#pragma unroll
  for (int kb = 0; kb < Smem::kCodeBytes; kb += 32) {
    std::uint32_t a[kFragsM][4];
#pragma unroll
    for (int f = 0; f < kFragsM; ++f) {
      const int row = warp * kTile.warp_q + f * 16 + lane % 8 + ((lane / 8) % 2) * 8;
      ldmatrix_x4(a[f], q_smem + row * Smem::kCodePitch + kb + (lane / 16) * 16);
    }
#pragma unroll
    for (int np = 0; np < kTilesN / 2; ++np) {
      std::uint32_t b[4];
      const int key = np * 16 + lane % 8 + (lane / 16) * 8;
      ldmatrix_x4(b, k_smem + key * Smem::kCodePitch + kb + ((lane / 8) % 2) * 16);
#pragma unroll
      for (int f = 0; f < kFragsM; ++f) {
        if constexpr (kQk == QkCodes::kInt4) {
          mma_s4(acc[f][2 * np], a[f], b[0], b[1]);
          mma_s4(acc[f][2 * np + 1], a[f], b[2], b[3]);
        } else {
          mma_s8(acc[f][2 * np], a[f], b[0], b[1]);
          mma_s8(acc[f][2 * np + 1], a[f], b[2], b[3]);
        }
      }
    }
  }
}

// What a warp needs to turn its dot products into masked exp2-domain logits. Limits are relative
// to the tile's first key, in 32-bit: the per-element mask test stays a single compare.
struct LogitContext {
  float q_scale;               // folded Q scale of this thread's rows (one group, see the kernel)
  float k_scale;               // this thread's K group in the tile
  const float* q_mean_logits;  // smooth_q corrections of this Q block from the tile's first key
  int key_limit;               // keys at or past this are padding
  int causal_limit;            // fragment 0 row g sees keys <= this (rows below see more)
  bool mask;                   // the tile holds padded or causally hidden keys for this warp
  bool causal;
};

__device__ __forceinline__ void dequantize_logits(const std::int32_t (&acc)[kFragsM][kTilesN][4],
                                                  const LogitContext& c, int lane,
                                                  TileLogits& s) {
#pragma unroll
  for (int f = 0; f < kFragsM; ++f) {
#pragma unroll
    for (int n = 0; n < kTilesN; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = n * 8 + 2 * (lane % 4) + e % 2;
        float logit = quant::dequantize_logit(acc[f][n][e], c.q_scale, c.k_scale);
        if (c.q_mean_logits != nullptr) logit += c.q_mean_logits[key];
        if (c.mask) {
          const bool hidden =
              key >= c.key_limit || (c.causal && key > c.causal_limit + f * 16 + (e / 2) * 8);
          if (hidden) logit = -INFINITY;
        }
        s[f][n][e] = logit;
      }
    }
  }
}

// Online softmax of one warp's rows: [fragment][half] = rows g and g + 8 of each fragment.
struct RowStats {
  float m[kFragsM][2];
  float l[kFragsM][2];  // this thread's partial sum; the quad's lanes are added at the end
};

// Replaces the logits by p = exp2(s - base) and returns alpha = exp2(m_old - base) per row; base
// is the new running max, or 0 while the row has seen no key (exp2 never sees -inf - -inf).
__device__ __forceinline__ void softmax_update(TileLogits& s, RowStats& r,
                                               float (&alpha)[kFragsM][2]) {
#pragma unroll
  for (int f = 0; f < kFragsM; ++f) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int n = 0; n < kTilesN; ++n) tile_max = fmaxf(tile_max, fmaxf(s[f][n][2 * h], s[f][n][2 * h + 1]));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xFFFFFFFFu, tile_max, 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xFFFFFFFFu, tile_max, 2));
      const float m_new = fmaxf(r.m[f][h], tile_max);
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      alpha[f][h] = exp2f(r.m[f][h] - base);
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < kTilesN; ++n) {
#pragma unroll
        for (int e = 2 * h; e < 2 * h + 2; ++e) {
          s[f][n][e] = exp2f(s[f][n][e] - base);
          sum += s[f][n][e];
        }
      }
      r.l[f][h] = r.l[f][h] * alpha[f][h] + sum;
      r.m[f][h] = m_new;
    }
  }
}

}  // namespace sageattn::cuda::sm80
