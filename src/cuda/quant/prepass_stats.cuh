// Pre-pass launch 1: per-chunk statistics of K and V (fp64 channel sums for the means, V's
// channel min/max for the fp8 scales), one CTA per (token chunk, batch x kv head).
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"

namespace sageattn::cuda::prepass {

inline constexpr int kStatsCtasPerSm = 2;  // memory-bound: occupancy before registers
inline constexpr int kStatsRowsInFlight = 4;  // rows each thread loads before it adds them up

// The per-thread channel statistics of a chunk, and their reduction over the CTA.
struct ChannelStats {
  double k_sum[kChannelsPerThread] = {};
  double v_sum[kChannelsPerThread] = {};
  float v_min[kChannelsPerThread];
  float v_max[kChannelsPerThread];

  __device__ ChannelStats() {
#pragma unroll
    for (int i = 0; i < kChannelsPerThread; ++i) {
      v_min[i] = INFINITY;
      v_max[i] = -INFINITY;
    }
  }

  // Folds the rows of a warp (lanes kLanesPerRow apart share channels) with shuffles. The fp64
  // sums are exact (prepass_common.hpp), so any order gives the same bits.
  template <int D>
  __device__ void fold_warp() {
#pragma unroll
    for (int i = 0; i < kChannelsPerThread; ++i) {
      for (int offset = TileThreads<D>::kLanesPerRow; offset < 32; offset *= 2) {
        k_sum[i] += __shfl_xor_sync(0xFFFFFFFFu, k_sum[i], offset);
        v_sum[i] += __shfl_xor_sync(0xFFFFFFFFu, v_sum[i], offset);
        v_min[i] = fminf(v_min[i], __shfl_xor_sync(0xFFFFFFFFu, v_min[i], offset));
        v_max[i] = fmaxf(v_max[i], __shfl_xor_sync(0xFFFFFFFFu, v_max[i], offset));
      }
    }
  }
};

template <int D>
__global__ void __launch_bounds__(kThreads, kStatsCtasPerSm)
    stats_kernel(const __grid_constant__ PrepassParams p) {
  using Threads = TileThreads<D>;
  __shared__ double k_sums[D];
  __shared__ double v_sums[D];
  __shared__ float v_min[D];
  __shared__ float v_max[D];
  const int chunk = blockIdx.x;
  const std::int64_t kv_head = blockIdx.y;
  const std::int64_t b = kv_head / p.layout.heads_kv;
  const std::int64_t h = kv_head % p.layout.heads_kv;
  for (int d = threadIdx.x; d < D; d += kThreads) {
    k_sums[d] = 0.0;
    v_sums[d] = 0.0;
    v_min[d] = INFINITY;
    v_max[d] = -INFINITY;
  }

  const std::int64_t begin = chunk * p.layout.stats_chunk_len;
  const std::int64_t end = min(p.layout.len_kv, begin + p.layout.stats_chunk_len);
  const bool need_v = p.smooth_v || p.fp8_v;
  ChannelStats stats;
  for (std::int64_t n0 = begin + Threads::row(); n0 < end; n0 += kStatsRowsInFlight * Threads::kRows) {
    // All loads first, so each thread has kStatsRowsInFlight x 2 requests in flight; held as the
    // packed 16-bit inputs (a quarter of the registers of floats) until they are added up.
    std::uint32_t k[kStatsRowsInFlight][kChannelsPerThread / 2] = {};
    std::uint32_t v[kStatsRowsInFlight][kChannelsPerThread / 2] = {};
#pragma unroll
    for (int u = 0; u < kStatsRowsInFlight; ++u) {
      const std::int64_t n = n0 + u * Threads::kRows;
      if (n >= end) continue;
      if (p.smooth_k) load8_words(token_row(p.k, b, h, n) + Threads::channel(), p.vector_loads, k[u]);
      if (need_v) load8_words(token_row(p.v, b, h, n) + Threads::channel(), p.vector_loads, v[u]);
    }
    // Only the statistics the options use: fp64 conversions and adds run at 1/4 and 1/2 of the
    // fp32 rate, and V's sum is unused without smooth_v (the default).
    // Rows past `end` were loaded as zeros: they leave the sums alone, and V's min/max skips them.
    if (p.smooth_k) {
#pragma unroll
      for (int u = 0; u < kStatsRowsInFlight; ++u) {
#pragma unroll
        for (int i = 0; i < kChannelsPerThread; ++i) stats.k_sum[i] += element_to_float(word_half(k[u], i), p.bf16);
      }
    }
    if (p.smooth_v) {
#pragma unroll
      for (int u = 0; u < kStatsRowsInFlight; ++u) {
#pragma unroll
        for (int i = 0; i < kChannelsPerThread; ++i) stats.v_sum[i] += element_to_float(word_half(v[u], i), p.bf16);
      }
    }
#pragma unroll
    for (int u = 0; u < kStatsRowsInFlight; ++u) {
      if (n0 + u * Threads::kRows >= end) continue;
#pragma unroll
      for (int i = 0; i < kChannelsPerThread; ++i) {
        const float vf = element_to_float(word_half(v[u], i), p.bf16);
        stats.v_min[i] = fminf(stats.v_min[i], vf);
        stats.v_max[i] = fmaxf(stats.v_max[i], vf);
      }
    }
  }
  stats.fold_warp<D>();
  // Then the warps one after the other: no shared-memory atomics (fp64 add is a CAS loop there).
  const int warp = threadIdx.x / 32;
  for (int w = 0; w < kThreads / 32; ++w) {
    __syncthreads();
    if (warp == w && threadIdx.x % 32 < Threads::kLanesPerRow) {
#pragma unroll
      for (int i = 0; i < kChannelsPerThread; ++i) {
        const int d = Threads::channel() + i;
        k_sums[d] += stats.k_sum[i];
        v_sums[d] += stats.v_sum[i];
        v_min[d] = fminf(v_min[d], stats.v_min[i]);
        v_max[d] = fmaxf(v_max[d], stats.v_max[i]);
      }
    }
  }
  __syncthreads();

  const StatsView out = stats_view(p);
  for (int d = threadIdx.x; d < D; d += kThreads) {
    const std::size_t at = (static_cast<std::size_t>(kv_head) * p.layout.stats_chunks + chunk) * D + d;
    out.k_sum[at] = k_sums[d];
    out.v_sum[at] = v_sums[d];
    out.v_min[at] = v_min[d];
    out.v_max[at] = v_max[d];
  }
}

}  // namespace sageattn::cuda::prepass
