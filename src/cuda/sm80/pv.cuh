// O += P V for one KV tile and one warp, in the three precisions of PvMode. P comes from the
// softmax in the mma C layout; it is converted to A fragments once, then the loop runs over pairs
// of 8-channel output fragments with the tile's keys innermost, so a two-level mode needs only
// one pair's per-tile accumulator in registers.
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

#include "cuda/common/mma.cuh"
#include "cuda/sm80/qk_softmax.cuh"
#include "quant/numeric_constants.hpp"

namespace sageattn::cuda::sm80 {

template <int D>
using OutputAccumulator = float[kFragsM][D / 8][4];

__device__ __forceinline__ std::uint32_t pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&h);
}

// fp16 A fragments of P for each 16-key step: the C fragments of n-tiles 2k and 2k+1 are exactly
// the a0..a3 of the 16-bit A layout.
__device__ __forceinline__ void p_fragments_fp16(const TileLogits& p,
                                                 std::uint32_t (&a)[kTilesN / 2][kFragsM][4]) {
#pragma unroll
  for (int k = 0; k < kTilesN / 2; ++k)
#pragma unroll
    for (int f = 0; f < kFragsM; ++f) {
      a[k][f][0] = pack_half2(p[f][2 * k][0], p[f][2 * k][1]);
      a[k][f][1] = pack_half2(p[f][2 * k][2], p[f][2 * k][3]);
      a[k][f][2] = pack_half2(p[f][2 * k + 1][0], p[f][2 * k + 1][1]);
      a[k][f][3] = pack_half2(p[f][2 * k + 1][2], p[f][2 * k + 1][3]);
    }
}

__device__ __forceinline__ std::uint32_t pack_e4m3x2(float lo, float hi) {
  return __nv_cvt_float2_to_fp8x2(make_float2(lo, hi), __NV_SATFINITE, __NV_E4M3);
}

// fp8 A fragments of P * kFp8PScale for each 32-key step. The C layout gives lane (g, t) keys
// {2t, 2t+1, 8+2t, 9+2t} of each 16 keys, the 8-bit A layout wants keys 4t..4t+3: two shuffles
// inside the quad and a byte permute move them (keys 4t, 4t+1 sit in lane 2t mod 4, keys 4t+2,
// 4t+3 in lane 2t+1 mod 4; in the low half of its word for t < 2, the high half otherwise).
__device__ __forceinline__ std::uint32_t to_a_layout(std::uint32_t word, int lane) {
  const int t = lane % 4;
  const int quad = lane - t;
  const std::uint32_t first = __shfl_sync(0xFFFFFFFFu, word, quad + (2 * t) % 4);
  const std::uint32_t second = __shfl_sync(0xFFFFFFFFu, word, quad + (2 * t + 1) % 4);
  return __byte_perm(first, second, t < 2 ? 0x5410 : 0x7632);
}

__device__ __forceinline__ void p_fragments_fp8(const TileLogits& p, int lane,
                                                std::uint32_t (&a)[kTilesN / 4][kFragsM][4]) {
  constexpr float s = quant::kFp8PScale;
#pragma unroll
  for (int k = 0; k < kTilesN / 4; ++k)
#pragma unroll
    for (int f = 0; f < kFragsM; ++f)
#pragma unroll
      for (int h = 0; h < 2; ++h)      // rows g, g + 8
#pragma unroll
        for (int half = 0; half < 2; ++half) {  // keys 0..15, 16..31 of the step
          const int n = 4 * k + 2 * half;
          const std::uint32_t word =
              pack_e4m3x2(p[f][n][2 * h] * s, p[f][n][2 * h + 1] * s) |
              (pack_e4m3x2(p[f][n + 1][2 * h] * s, p[f][n + 1][2 * h + 1] * s) << 16);
          a[k][f][2 * half + h] = to_a_layout(word, lane);
        }
}

// O = O * alpha before the tile's products are added (the single-level fp32 mode).
template <int D>
__device__ __forceinline__ void rescale(OutputAccumulator<D>& o, const float (&alpha)[kFragsM][2]) {
#pragma unroll
  for (int f = 0; f < kFragsM; ++f)
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[f][d][e] *= alpha[f][e / 2];
}

template <int D, QkCodes kQk, PvMode kPv>
__device__ __forceinline__ void accumulate_pv(const TileLogits& p, const std::uint8_t* v_smem,
                                              const float (&alpha)[kFragsM][2], int lane,
                                              OutputAccumulator<D>& o) {
  using Smem = SmemLayout<D, kQk, kPv>;
  if constexpr (kPv == PvMode::kFp8) {
    std::uint32_t a[kTilesN / 4][kFragsM][4];
    p_fragments_fp8(p, lane, a);
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      float acc[kFragsM][2][4] = {};
#pragma unroll
      for (int k = 0; k < kTilesN / 4; ++k) {
        std::uint32_t b[4];
        const int channel = dp * 16 + lane % 8 + (lane / 16) * 8;
        ldmatrix_x4(b, v_smem + channel * Smem::kVPitch + k * 32 + ((lane / 8) % 2) * 16);
#pragma unroll
        for (int f = 0; f < kFragsM; ++f) {
          mma_e4m3_f32(acc[f][0], a[k][f], b[0], b[1]);
          mma_e4m3_f32(acc[f][1], a[k][f], b[2], b[3]);
        }
      }
#pragma unroll
      for (int f = 0; f < kFragsM; ++f)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            o[f][2 * dp + j][e] = o[f][2 * dp + j][e] * alpha[f][e / 2] + acc[f][j][e];
          }
    }
  } else {
    std::uint32_t a[kTilesN / 2][kFragsM][4];
    p_fragments_fp16(p, a);
    if constexpr (kPv == PvMode::kFp16Fp32) rescale<D>(o, alpha);
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      std::uint32_t acc16[kFragsM][2][2] = {};
#pragma unroll
      for (int k = 0; k < kTilesN / 2; ++k) {
        std::uint32_t b[4];
        const int key = k * 16 + lane % 8 + ((lane / 8) % 2) * 8;
        ldmatrix_x4_trans(b, v_smem + key * Smem::kVPitch + (dp * 16 + (lane / 16) * 8) * 2);
#pragma unroll
        for (int f = 0; f < kFragsM; ++f) {
          if constexpr (kPv == PvMode::kFp16Fp32) {
            mma_f16_f32(o[f][2 * dp], a[k][f], b[0], b[1]);
            mma_f16_f32(o[f][2 * dp + 1], a[k][f], b[2], b[3]);
          } else {
            mma_f16_f16(acc16[f][0], a[k][f], b[0], b[1]);
            mma_f16_f16(acc16[f][1], a[k][f], b[2], b[3]);
          }
        }
      }
      if constexpr (kPv == PvMode::kFp16Fp16) {
#pragma unroll
        for (int f = 0; f < kFragsM; ++f)
#pragma unroll
          for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float2 sum = __half22float2(*reinterpret_cast<const __half2*>(&acc16[f][j][h]));
              float* out = o[f][2 * dp + j] + 2 * h;
              out[0] = out[0] * alpha[f][h] + sum.x;
              out[1] = out[1] * alpha[f][h] + sum.y;
            }
      }
    }
  }
}

}  // namespace sageattn::cuda::sm80
