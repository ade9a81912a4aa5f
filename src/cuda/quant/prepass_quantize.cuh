// Pre-pass launch 2: one CTA per tile of Q (block_q rows), of K or of V (block_k rows). Each CTA
// rebuilds its head's statistics from launch 1's partials, then smooths, quantizes and writes its
// tile in the layout of quantized_layout.hpp, with the arithmetic of cpu/emulation_stages.hpp.
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"
#include "quant/fp8_e4m3.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda::prepass {

inline constexpr int kMaxGroupsPerTile = 64;  // q_groups_per_block of kTileSm90 per_thread

template <int D>
struct TileScratch {
  float k_mean[D], v_mean[D], v_scale[D], v_inv[D];
  float amax[kMaxGroupsPerTile];
  float inv[kMaxGroupsPerTile];  // qmax / amax of each group: codes multiply, never divide
  int row_group[kMaxTileRows];  // scale group of each tile row, evaluated once per tile
  double q_sums[D];
  float q_mean[D];
  // Q rows as read (lse_shift needs each row's channels in order), or V's fp8 codes transposed.
  alignas(16) std::uint16_t rows[kMaxTileRows * D];
};

// A tile's rows in registers as the 16-bit inputs (half the registers of floats, which keeps
// the memory-bound kernel at several CTAs per SM): thread row r + i * kRows, channels
// channel()..+7, zero past `len`. Values are rebuilt on demand, minus the thread's 8 channel
// means (registers, read once per tile) on the real rows; the same fp32 subtraction each time,
// so every use sees the same bits.
template <int D>
struct TileValues {
  std::uint32_t words[TileThreads<D>::kMaxIters][kChannelsPerThread / 2];
  std::int64_t first, len;
  int rows;
  bool bf16;
  bool smoothed = false;
  float mean[kChannelsPerThread];
  __device__ int local_row(int i) const { return TileThreads<D>::row() + i * TileThreads<D>::kRows; }
  __device__ bool holds(int i) const { return i * TileThreads<D>::kRows < rows; }
  __device__ bool real(int i) const { return holds(i) && first + local_row(i) < len; }
  // `channel_means` is shared memory, [D].
  __device__ void subtract(const float* channel_means) {
    smoothed = true;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) mean[c] = channel_means[TileThreads<D>::channel() + c];
  }
  __device__ std::uint16_t bits(int i, int c) const { return word_half(words[i], c); }
  __device__ void values(int i, float (&x)[kChannelsPerThread]) const {
    const bool minus = smoothed && real(i);
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
      x[c] = element_to_float(bits(i, c), bf16);
      if (minus) x[c] -= mean[c];
    }
  }
};

// Issues the tile's loads only: the kernel starts them before the work that does not need them
// (the head statistics), so the memory latency overlaps it.
template <int D>
__device__ void load_tile(const StridedInput& in, std::int64_t b, std::int64_t h, bool vector,
                          TileValues<D>& t) {
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
#pragma unroll
    for (int c = 0; c < kChannelsPerThread / 2; ++c) t.words[i][c] = 0;
    if (t.real(i)) load8_words(token_row(in, b, h, t.first + t.local_row(i)) + TileThreads<D>::channel(), vector, t.words[i]);
  }
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
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
    float x[kChannelsPerThread];
    t.values(i, x);
    const float row_max = row_amax<D>(x);
    if (threadIdx.x % TileThreads<D>::kLanesPerRow == 0) atomic_max_nonnegative(&amax[row_group[t.local_row(i)]], row_max);
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
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
    const float row_inv = inv[row_group[t.local_row(i)]];
    float x[kChannelsPerThread];
    t.values(i, x);
    int q[kChannelsPerThread];
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) q[c] = quant::quantize_symmetric(x[c], row_inv, p.qmax);
    std::int8_t* row = codes + static_cast<std::int64_t>(t.local_row(i)) * code_dim;
    if (int4) {
      std::uint32_t packed = 0;
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) packed |= static_cast<std::uint32_t>(q[c] & 0xF) << (4 * c);
      *reinterpret_cast<std::uint32_t*>(row + TileThreads<D>::channel() / 2) = packed;
    } else {
      std::uint32_t lo = 0;
      std::uint32_t hi = 0;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        lo |= static_cast<std::uint32_t>(q[c] & 0xFF) << (8 * c);
        hi |= static_cast<std::uint32_t>(q[c + 4] & 0xFF) << (8 * c);
      }
      *reinterpret_cast<uint2*>(row + TileThreads<D>::channel()) = make_uint2(lo, hi);
    }
  }
}

}  // namespace sageattn::cuda::prepass
