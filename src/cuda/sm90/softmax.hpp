// Online softmax of one K/V tile on the S = Q K^T accumulator fragment of a consumer thread, in
// the exp2 domain (Q's scale carries sm_scale * log2 e). A thread holds two query rows (g, g+8 of
// its warp's slab) and, per row, 32 of each tile's 128 keys (kernel_traits.hpp: key_of_slot).
//
// The arithmetic follows cpu/emulation.cpp: s = dot * (q_scale * k_scale), masked keys -inf,
// m' = max(m, max s), base = m' (0 if m' = -inf), alpha = exp2(m - base), p = exp2(s - base)
// (here s - base is fused into one FFMA, see step()).
// Here p is produced pre-multiplied by kFp8PScale (exp2(s - base + log2 448)), the value the
// e4m3 conversion needs; the row sum l is kept in the same unit and divided out at the end.
// The softmax does not add up l: the P V wgmma computes the row sums of P in the same pass as P V
// (8 columns of ones after V^T, kernel_traits.hpp), so l sums P as the tensor core read it and
// o = sum p v / l weights V by probabilities that add up to one exactly (cpu/emulation.cpp
// follows). That removes one FADD per probability.
#pragma once

#include <cstdint>
#include <limits>

#include "cuda/sm90/kernel_traits.hpp"
#include "quant/numeric_constants.hpp"

namespace sageattn::cuda::sm90 {

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Stands in for a masked key's dot product when taking the integer tile maximum.
inline constexpr std::int32_t kMaskedDot = std::numeric_limits<std::int32_t>::min();
inline constexpr float kLog2Fp8PScale = 8.807354922057604f;  // log2(448)
inline constexpr int kSFragment = kBlockK / 2;               // S registers per thread (m64n128)
inline constexpr int kPvSteps = kBlockK / kKStep;            // k-steps of the PV wgmma

// S register i of lane l holds column c = 8 (i / 4) + 2 (l % 4) + (i & 1) (wgmma.hpp), which
// holds key key_of_slot(c) = 4 (l % 4) + key_in_fragment(i) (kernel_traits.hpp).
__host__ __device__ constexpr int key_in_fragment(int i) {
  return (i & 1) + 2 * ((i / 4) & 1) + 16 * (i / 8);
}
constexpr bool key_in_fragment_matches_slots() {
  for (int lane_t = 0; lane_t < 4; ++lane_t) {
    for (int i = 0; i < kSFragment; ++i) {
      if (key_of_slot(8 * (i / 4) + 2 * lane_t + (i & 1)) != 4 * lane_t + key_in_fragment(i))
        return false;
    }
  }
  return true;
}
static_assert(key_in_fragment_matches_slots());

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ std::uint32_t pack_e4m3x4(float b0, float b1, float b2, float b3) {
  std::uint16_t low, high;
  // cvt packs its first source into the upper byte.
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(low) : "f"(b1), "f"(b0));
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(high) : "f"(b3), "f"(b2));
  return static_cast<std::uint32_t>(low) | (static_cast<std::uint32_t>(high) << 16);
}

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xFFFFFFFFu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xFFFFFFFFu, x, 2));
}

// Running state of the thread's two rows; l is the whole row's (from the P V wgmma).
struct OnlineSoftmax {
  float m[2] = {kNegInf, kNegInf};
  float l[2] = {0.0f, 0.0f};

  // Consumes one step's dot products (kTiles K/V tiles: 2 at hd128, consumer.hpp): writes P =
  // exp2(s - m' + log2 448) as the e4m3 A fragments of the PV wgmma, and alpha, the factor by
  // which the running output must be rescaled. With kMasked, keys at or past key_limit[tile][row
  // half] (tile-local) are masked; only the steps that cross the causal diagonal or the sequence
  // end instantiate it. A step's second tile past the work tile's last has key_limit <= 0.
  //
  // Cheaper than the emulation's literal order, with the same values up to one rounding: the step
  // maximum is taken on the integer dots of each K scale group (scales are positive, so
  // max(dot) * scale is the largest s, bit for bit), and s - base is one FFMA on the exact dot.
  // The dot converts with one I2FP.F32.S32 (exact below 2^24; the largest INT8 dot of D = 128 is
  // 127^2 * 128 < 2^21), one instruction where the 1.5 * 2^23 bias trick took two (an integer add
  // and a float subtract); measured faster on sm90 (bench/NOTES.md, v6). Folding that bias into
  // the FFMA's addend instead moved the LSE by 3e-4 (the addend rounds to 1.5 * 2^23 * scale).
  //
  // A fragment of k-step kk: chunks J = 4kk..4kk+3; a[0]/a[2] row g from chunks (4kk, 4kk+1) /
  // (4kk+2, 4kk+3), a[1]/a[3] the same for row g+8 (S registers 4J+2, 4J+3).
  template <bool kMasked, int kTiles>
  __device__ __forceinline__ void step(const std::int32_t (&dot)[kTiles][kSFragment],
                                       const float (&qk_scale)[kTiles][2],
                                       const int (&key_limit)[kTiles][2], int lane_t,
                                       std::uint32_t (&p_fp8)[kTiles][kPvSteps][4],
                                       float (&alpha)[2]) {
    // S register i holds key 4 lane_t + key_in_fragment(i): the lane's part moves to the limit,
    // so each test compares with a constant (no per-register key values held).
    int lane_limit[kTiles][2];
#pragma unroll
    for (int t = 0; t < kTiles; ++t) {
      lane_limit[t][0] = key_limit[t][0] - 4 * lane_t;
      lane_limit[t][1] = key_limit[t][1] - 4 * lane_t;
    }
    const auto visible = [&](int t, int i) {
      return !kMasked || key_in_fragment(i) < lane_limit[t][(i >> 1) & 1];
    };
    std::int32_t dot_max[kTiles][2][2];
#pragma unroll
    for (int t = 0; t < kTiles; ++t) {
#pragma unroll
      for (int i = 0; i < 4; ++i) dot_max[t][i / 2][i % 2] = kMaskedDot;
#pragma unroll
      for (int i = 0; i < kSFragment; ++i) {
        const int chunk = i / 4;  // 8-column chunk J; its parity j0 picks the K scale
        const int h = (i >> 1) & 1;
        dot_max[t][h][chunk & 1] =
            max(dot_max[t][h][chunk & 1], visible(t, i) ? dot[t][i] : kMaskedDot);
      }
    }
    float neg_base[2];  // log2 448 - base
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float step_max = kNegInf;
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
#pragma unroll
        for (int j0 = 0; j0 < 2; ++j0) {
          if (dot_max[t][h][j0] != kMaskedDot) {
            step_max = fmaxf(step_max, static_cast<float>(dot_max[t][h][j0]) * qk_scale[t][j0]);
          }
        }
      }
      const float m_new = fmaxf(m[h], quad_max(step_max));
      const float anchor = m_new == kNegInf ? 0.0f : m_new;
      alpha[h] = fast_exp2(m[h] - anchor);
      m[h] = m_new;
      neg_base[h] = kLog2Fp8PScale - anchor;
    }
    const auto p_of = [&](int t, int i) {
      const int h = (i >> 1) & 1;
      const int j0 = (i / 4) & 1;
      const float e = fast_exp2(fmaf(static_cast<float>(dot[t][i]), qk_scale[t][j0], neg_base[h]));
      return kMasked && !visible(t, i) ? 0.0f : e;
    };
#pragma unroll
    for (int t = 0; t < kTiles; ++t) {
#pragma unroll
      for (int kk = 0; kk < kPvSteps; ++kk) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int j0 = 4 * (4 * kk + 2 * half) + 2 * h;
            const int j1 = j0 + 4;
            p_fp8[t][kk][2 * half + h] =
                pack_e4m3x4(p_of(t, j0), p_of(t, j0 + 1), p_of(t, j1), p_of(t, j1 + 1));
          }
        }
      }
    }
  }

  // Once the step's P V is complete: l = l * alpha + the step's row sums of P (the P V
  // accumulator's ones columns of row g and row g + 8).
  __device__ __forceinline__ void add_pv_row_sums(float sum_g, float sum_g8,
                                                  const float (&alpha)[2]) {
    l[0] = fmaf(l[0], alpha[0], sum_g);
    l[1] = fmaf(l[1], alpha[1], sum_g8);
  }
};

}  // namespace sageattn::cuda::sm90
