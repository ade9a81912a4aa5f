// Pre-pass launch 2, per tile of Q (block_q rows), of K or of V (block_k rows) staged in shared
// memory: smooth, quantize and write the tile in the layout of quantized_layout.hpp, with the
// arithmetic of cpu/emulation_stages.hpp. Each CTA takes several consecutive tiles of one kind and
// head (prepass_tiles.cuh) and rebuilds the head's statistics from launch 1's partials once.
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"
#include "cuda/quant/tile_copy.cuh"
#include "quant/fp8_e4m3.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda::prepass {

inline constexpr int kMaxGroupsPerTile = 64;  // q_groups_per_block of kTileSm90 per_thread

template <int D>
struct TileScratch {
  float k_mean[D], v_mean[D], v_scale[D], v_inv[D];
  float amax[kMaxGroupsPerTile];
  float inv[kMaxGroupsPerTile];  // qmax / amax of each group: codes multiply, never divide
  int row_group[kMaxTileRows];   // scale group of each tile row, evaluated once per tile
  double q_sums[D];
  float q_mean[D];
};

// A tile staged in shared memory ([rows][D] 16-bit, tile_copy.cuh), seen by thread row
// r + i * kRows, channels channel()..+7. Values are rebuilt on demand, minus the thread's 8
// channel means (registers, read once per tile) on the real rows; the same fp32 subtraction each
// time, so every use sees the same bits.
template <int D>
struct TileValues {
  std::uint16_t* stage;  // written back by the V path once the tile is read
  std::int64_t first, len;
  int rows;
  bool bf16;
  bool smoothed = false;
  float mean[kChannelsPerThread];
  __device__ int local_row(int i) const {
    return TileThreads<D>::row() + i * TileThreads<D>::kRows;
  }
  __device__ bool holds(int i) const { return i * TileThreads<D>::kRows < rows; }
  __device__ bool real(int i) const { return holds(i) && first + local_row(i) < len; }
  // `channel_means` is shared memory, [D].
  __device__ void subtract(const float* channel_means) {
    smoothed = true;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c)
      mean[c] = channel_means[TileThreads<D>::channel() + c];
  }
  __device__ void values(int i, float (&x)[kChannelsPerThread]) const {
    const bool minus = smoothed && real(i);
    read8_floats(stage + local_row(i) * D + TileThreads<D>::channel(), bf16, x);
    if (minus) {
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) x[c] -= mean[c];
    }
  }
};

// quant::quantize_symmetric(x, inv, qmax) + 1.5 * 2^23, whose low byte is the code in two's
// complement: for |v| <= 2^22 the fp32 sum keeps v's integer part in the low mantissa bits, and
// its round-to-nearest-even is rint's. Clamping before rounding equals clamping after (rint is
// monotonic, the bounds are integers), NaN clamps to -qmax like fmaxf does there, and inv = 0
// gives code 0. Five fp32 instructions instead of two conversions (F2I/FRND run at 16 per clock
// per SM, an eighth of the fp32 rate: they made the quantize launch instruction-bound).
__device__ __forceinline__ std::uint32_t code_bits(float x, float inv, float qmax) {
  const float v = inv > 0.0f ? fminf(fmaxf(__fmul_rn(x, inv), -qmax), qmax) : 0.0f;
  return __float_as_uint(__fadd_rn(v, 12582912.0f));
}

// Symmetric quantization of the tile: group maxima in shared memory, then codes (INT8 one a byte,
// INT4 two a byte, even channel low) into `codes` (the tile's first row) and the group scales.
// group_of(local row) gives the group within the tile.
template <int D, typename GroupOf>
__device__ void quantize_tile(const PrepassParams& p, const TileValues<D>& t, int groups,
                              GroupOf group_of, float* amax, float* inv, int* row_group,
                              std::int8_t* codes, float* scales, bool fold_sm_scale) {
  for (int g = threadIdx.x; g < groups; g += kThreads) amax[g] = 0.0f;
  // The group rule (64-bit token arithmetic) once per row rather than once per thread and row.
  for (int row = threadIdx.x; row < t.rows; row += kThreads) row_group[row] = group_of(row);
  __syncthreads();
  // The row loops here and in the V paths are unrolled by two, not fully: fully unrolled, each
  // tile kind's copy made the launch 160 KB of code (101 KB now), and its warps stalled on
  // instruction fetch (16 % of stall samples, ncu, H100, hd128 N = 1k).
#pragma unroll 2
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
    float x[kChannelsPerThread];
    t.values(i, x);
    const float row_max = row_amax<D>(x);
    if (threadIdx.x % TileThreads<D>::kLanesPerRow == 0)
      atomic_max_nonnegative(&amax[row_group[t.local_row(i)]], row_max);
  }
  __syncthreads();
  // One division per group, here, instead of one per element.
  for (int g = threadIdx.x; g < groups; g += kThreads) {
    const float scale = quant::symmetric_scale(amax[g], p.qmax);
    scales[g] = fold_sm_scale ? quant::fold_q_scale(scale, p.sm_scale) : scale;
    inv[g] = quant::symmetric_inverse_scale(amax[g], p.qmax);
  }
  __syncthreads();
  const bool int4 = p.qmax == quant::kInt4Max;
  const int code_dim = int4 ? D / 2 : D;
  const auto qmax = static_cast<float>(p.qmax);
#pragma unroll 2
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
    const float row_inv = inv[row_group[t.local_row(i)]];
    float x[kChannelsPerThread];
    t.values(i, x);
    std::uint32_t q[kChannelsPerThread];
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) q[c] = code_bits(x[c], row_inv, qmax);
    std::int8_t* row = codes + static_cast<std::int64_t>(t.local_row(i)) * code_dim;
    if (int4) {
      std::uint32_t packed = 0;
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) packed |= (q[c] & 0xF) << (4 * c);
      *reinterpret_cast<std::uint32_t*>(row + TileThreads<D>::channel() / 2) = packed;
    } else {
      // The low bytes of four codes into one word: two pairs, then the pairs.
      const std::uint32_t lo =
          __byte_perm(__byte_perm(q[0], q[1], 0x0040), __byte_perm(q[2], q[3], 0x0040), 0x5410);
      const std::uint32_t hi =
          __byte_perm(__byte_perm(q[4], q[5], 0x0040), __byte_perm(q[6], q[7], 0x0040), 0x5410);
      *reinterpret_cast<uint2*>(row + TileThreads<D>::channel()) = make_uint2(lo, hi);
    }
  }
}

}  // namespace sageattn::cuda::prepass
