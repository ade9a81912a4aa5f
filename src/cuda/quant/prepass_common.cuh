// Shared pieces of the two pre-pass launches: the thread layout over a token tile, addressing of
// the strided inputs and of the workspace, and the per-head statistics.
#pragma once

#include <cstdint>

#include "cuda/common/dependent_launch.hpp"
#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_params.hpp"
#include "quant/float_max.hpp"
#include "quant/int_quant.hpp"

namespace sageattn::cuda::prepass {

inline constexpr int kThreads = 256;
inline constexpr int kChannelsPerThread = 8;  // one 16-byte load of 16-bit elements
inline constexpr int kMaxTileRows = 128;      // the largest block_q / block_k of any tile shape

// A row of D channels is read by D/8 consecutive lanes; a pass of the CTA covers kRows rows.
template <int D>
struct TileThreads {
  static constexpr int kLanesPerRow = D / kChannelsPerThread;
  static constexpr int kRows = kThreads / kLanesPerRow;
  static __device__ int channel() { return (threadIdx.x % kLanesPerRow) * kChannelsPerThread; }
  static __device__ int row() { return threadIdx.x / kLanesPerRow; }
};

// The rows of one (batch, head) of a strided input: token n starts at first_row + n * token.
struct HeadRows {
  const std::uint16_t* first_row;
  std::int64_t token;
};

__device__ inline HeadRows head_rows(const StridedInput& in, std::int64_t b, std::int64_t h) {
  return {in.data + b * in.batch + h * in.head, in.token};
}

__device__ inline const std::uint16_t* token_row(const StridedInput& in, std::int64_t b,
                                                 std::int64_t h, std::int64_t n) {
  const HeadRows rows = head_rows(in, b, h);
  return rows.first_row + n * rows.token;
}

// Eight 16-bit elements packed two to a register (an array of uint16_t takes one register each).
__device__ inline void load8_words(const std::uint16_t* src, bool vector,
                                   std::uint32_t (&words)[kChannelsPerThread / 2]) {
  std::uint16_t bits[kChannelsPerThread];
  load8_bits(src, vector, bits);
#pragma unroll
  for (int c = 0; c < kChannelsPerThread / 2; ++c) {
    words[c] = bits[2 * c] | (static_cast<std::uint32_t>(bits[2 * c + 1]) << 16);
  }
}

template <typename T>
__device__ inline T* buffer(const PrepassParams& p, std::size_t offset) {
  return reinterpret_cast<T*>(p.workspace + offset);
}

// The statistics launch's partial results, [B*Hkv, chunks, D] each.
struct StatsView {
  double* k_sum;
  double* v_sum;
  float* v_min;
  float* v_max;
};

__device__ inline StatsView stats_view(const PrepassParams& p) {
  const std::size_t n = static_cast<std::size_t>(p.layout.batch * p.layout.heads_kv) *
                        p.layout.stats_chunks * p.layout.head_dim;
  auto* k_sum = buffer<double>(p, p.layout.stats);
  auto* v_min = reinterpret_cast<float*>(k_sum + 2 * n);
  return {k_sum, k_sum + n, v_min, v_min + n};
}

// Per-channel statistics of one (batch, kv head), from the partials: fp64 sums are exact for
// 16-bit inputs, so summing the chunks in any order gives the CPU's bits (quant/int_quant.hpp).
// Fills k_mean (need_k) and v_mean with the fp8 channel scales of smoothed V and their
// reciprocals (need_v) in shared memory; reading only what a tile kind uses keeps this L2 traffic
// small next to the tensors.
// The kThreads / D threads of a channel read disjoint chunks, so every thread has all its loads in
// flight at once (a channel's chunks read one after the other cost a dependent L2 round trip
// each: ~10 us per CTA at 16 chunks); `partials` (kThreads x 24 bytes of shared memory) combines
// them. The caller synchronises before reading the results or reusing `partials`.
template <int D>
__device__ void head_statistics(const PrepassParams& p, std::int64_t kv_head, bool need_k,
                                bool need_v, float* k_mean, float* v_mean, float* v_scale,
                                float* v_inv, void* partials) {
  constexpr int kLanes = kThreads / D;
  const StatsView stats = stats_view(p);
  const int chunks = p.layout.stats_chunks;
  const int d = threadIdx.x % D;
  const int lane = threadIdx.x / D;
  const std::size_t first = static_cast<std::size_t>(kv_head * chunks) * D + d;
  const bool sum_k = need_k && p.smooth_k;
  const bool sum_v = need_v && p.smooth_v;
  const bool range_v = need_v && p.fp8_v;
  double k_sum = 0.0;
  double v_sum = 0.0;
  float v_min = INFINITY;
  float v_max = -INFINITY;
  for (int c = lane; c < chunks; c += kLanes) {
    if (sum_k) k_sum += stats.k_sum[first + c * D];
    if (sum_v) v_sum += stats.v_sum[first + c * D];
    if (range_v) {
      v_min = fminf(v_min, stats.v_min[first + c * D]);
      v_max = fmaxf(v_max, stats.v_max[first + c * D]);
    }
  }
  auto* k_part = static_cast<double*>(partials);
  auto* v_part = k_part + kThreads;
  auto* min_part = reinterpret_cast<float*>(v_part + kThreads);
  auto* max_part = min_part + kThreads;
  k_part[threadIdx.x] = k_sum;
  v_part[threadIdx.x] = v_sum;
  min_part[threadIdx.x] = v_min;
  max_part[threadIdx.x] = v_max;
  __syncthreads();
  if (lane != 0) return;
  for (int l = 1; l < kLanes; ++l) {
    k_sum += k_part[threadIdx.x + l * D];
    v_sum += v_part[threadIdx.x + l * D];
    v_min = fminf(v_min, min_part[threadIdx.x + l * D]);
    v_max = fmaxf(v_max, max_part[threadIdx.x + l * D]);
  }
  k_mean[d] = p.smooth_k ? quant::mean_from_sum(k_sum, p.layout.len_kv) : 0.0f;
  if (!need_v) return;
  v_mean[d] = p.smooth_v ? quant::mean_from_sum(v_sum, p.layout.len_kv) : 0.0f;
  // Rounding is monotonic, so max |v - mean| over tokens is reached at the largest or the
  // smallest v: the same fp32 value the CPU finds by scanning the smoothed channel.
  const float amax = fmaxf(0.0f, fmaxf(fabsf(v_max - v_mean[d]), fabsf(v_min - v_mean[d])));
  v_scale[d] = p.fp8_v ? quant::fp8_channel_scale(amax) : 0.0f;
  v_inv[d] = p.fp8_v ? quant::fp8_inverse_scale(amax) : 0.0f;
}

// Largest |x| of a row, reduced over the lanes that share it (consecutive lanes of one warp).
template <int D>
__device__ inline float row_amax(const float (&x)[kChannelsPerThread]) {
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < kChannelsPerThread; ++i) amax = quant::amax_update(amax, x[i]);
#pragma unroll
  for (int offset = TileThreads<D>::kLanesPerRow / 2; offset > 0; offset /= 2) {
    amax = quant::max_nan(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, offset));
  }
  return amax;
}

// Non-negative floats order like their bit patterns, so an unsigned atomicMax is a float max.
__device__ inline void atomic_max_nonnegative(float* target, float value) {
  atomicMax(reinterpret_cast<unsigned int*>(target), __float_as_uint(value));
}

}  // namespace sageattn::cuda::prepass
